package i18n

import (
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"

	"github.com/kh-edu/kmsprobe/finding"
)

// Languages of the catalog.
const (
	English = "en"
	Chinese = "zh-TW"
)

// Langs lists the supported languages, English first.
var Langs = []string{English, Chinese}

// Check refuses a language the catalog does not have, with the fix.
func Check(lang string) error {
	for _, l := range Langs {
		if lang == l {
			return nil
		}
	}
	return fmt.Errorf("language %q is not supported; use %s", lang, strings.Join(Langs, " or "))
}

// Args are a message's template arguments ({{.Server}}).
type Args = map[string]any

//go:embed locales/*.toml
var files embed.FS

// A missing argument is an error, never the text "<no value>" in a
// report: the caller then falls back to the English sentence it has.
var parser = &template.TextParser{Option: "missingkey=error"}

type catalog struct {
	bundle     *goi18n.Bundle
	localizers map[string]*goi18n.Localizer
	ids        map[string]map[string]bool // lang -> ids
	err        error
}

var (
	once sync.Once
	cat  *catalog
)

func load() *catalog {
	once.Do(func() { cat = loadFS(files, "locales") })
	return cat
}

// loadFS reads every <area>.<lang>.toml under dir.
func loadFS(fsys fs.FS, dir string) *catalog {
	c := &catalog{
		bundle:     goi18n.NewBundle(language.English),
		localizers: map[string]*goi18n.Localizer{},
		ids:        map[string]map[string]bool{},
	}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		c.err = err
		return c
	}
	var errs []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		lang, ok := fileLang(e.Name())
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: name it <area>.<lang>.toml with lang one of %s", e.Name(), strings.Join(Langs, ", ")))
			continue
		}
		buf, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		mf, err := c.bundle.ParseMessageFileBytes(buf, e.Name())
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", e.Name(), err))
			continue
		}
		if c.ids[lang] == nil {
			c.ids[lang] = map[string]bool{}
		}
		for _, m := range mf.Messages {
			c.ids[lang][m.ID] = true
		}
	}
	for _, l := range Langs {
		c.localizers[l] = goi18n.NewLocalizer(c.bundle, l)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		c.err = fmt.Errorf("translation files: %s", strings.Join(errs, "; "))
	}
	return c
}

func fileLang(name string) (string, bool) {
	parts := strings.Split(strings.TrimSuffix(name, ".toml"), ".")
	if len(parts) != 2 || parts[0] == "" {
		return "", false
	}
	return parts[1], Check(parts[1]) == nil
}

// Err reports a translation file that did not load; the tests fail on
// it, and at run time the texts fall back to English.
func Err() error { return load().err }

// Has reports whether id has a text in lang itself (no fallback).
func Has(lang, id string) bool { return load().ids[lang][id] }

// IDs lists the ids of lang, sorted.
func IDs(lang string) []string {
	var out []string
	for id := range load().ids[lang] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Lookup is id's text in lang itself with args filled in, or false when
// lang has no such id or an argument is missing.
func Lookup(lang, id string, args any) (string, bool) {
	c := load()
	if !c.ids[lang][id] {
		return "", false
	}
	l := c.localizers[lang]
	if l == nil {
		return "", false
	}
	s, err := l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: args, TemplateParser: parser})
	if err != nil {
		return "", false
	}
	return s, true
}

// T is id's text in lang, else in English, else the id itself: a person
// always reads something, and a test finds the id.
func T(lang, id string, args any) string {
	if s, ok := Lookup(lang, id, args); ok {
		return s
	}
	if s, ok := Lookup(English, id, args); ok {
		return s
	}
	return id
}

// stoppedID words finding.MarkStopped's wrapper around a message.
const stoppedID = "finding.stopped"

const stoppedPrefix = "the audit was stopped before this check finished ("

// Message is f's message in lang. It is translated only when the
// English text of f.ID with f.Args is exactly f.Message, so an id that
// does not describe the message (changed after judging, a leg's text
// drifting from its catalog entry) never puts a wrong sentence in front
// of an admin: the English message is shown instead.
func Message(lang string, f finding.Finding) string {
	return translate(lang, f.ID, f.Args, f.Message)
}

// Remedy is f's remedy in lang, under the same rule as Message with
// f.RemedyID; empty when f has no remedy.
func Remedy(lang string, f finding.Finding) string {
	if f.Remedy == "" {
		return ""
	}
	return translate(lang, f.RemedyID, f.Args, f.Remedy)
}

func translate(lang, id string, args map[string]string, english string) string {
	if lang == English || lang == "" || id == "" {
		return english
	}
	if inner, ok := strings.CutPrefix(english, stoppedPrefix); ok && strings.HasSuffix(inner, ")") {
		inner = strings.TrimSuffix(inner, ")")
		t := translate(lang, id, args, inner)
		if s, ok := Lookup(lang, stoppedID, Args{"Message": t}); ok {
			return s
		}
		return english
	}
	en, ok := Lookup(English, id, args)
	if !ok || en != english {
		return english
	}
	if s, ok := Lookup(lang, id, args); ok && s != "" {
		return s
	}
	return english
}

// CheckFinding is for the legs' tests: it says why f would not be
// translated (no id, an id missing in a language, an argument missing, or
// an English template that does not reproduce f.Message), or nil.
func CheckFinding(f finding.Finding) error {
	check := func(id, english, what string) error {
		if id == "" {
			return fmt.Errorf("%s %q has no id", what, english)
		}
		for _, l := range Langs {
			if !Has(l, id) {
				return fmt.Errorf("%s id %q is missing from the %s translation files", what, id, l)
			}
			if _, ok := Lookup(l, id, f.Args); !ok {
				return fmt.Errorf("%s id %q in %s does not execute with args %v", what, id, l, f.Args)
			}
		}
		en, _ := Lookup(English, id, f.Args)
		if en != english {
			return fmt.Errorf("%s id %q: the English template gives %q, the finding says %q", what, id, en, english)
		}
		return nil
	}
	if err := check(f.ID, f.Message, "message"); err != nil {
		return err
	}
	if f.Remedy != "" {
		return check(f.RemedyID, f.Remedy, "remedy")
	}
	return nil
}

// shortPrefix names the catalog's cell words (locales/short.*.toml).
const shortPrefix = "short."

// ShortKey is the catalog id of a cell word: "wrong port" ->
// "short.wrong_port", "mismatched-id" -> "short.mismatched_id".
func ShortKey(word string) string {
	var b strings.Builder
	b.WriteString(shortPrefix)
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(word)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > len(shortPrefix) {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return b.String()
}

// Short is a finding's cell word ("wrong port", "count 50") in lang. The
// English word is the finding's own Short, byte for byte; a word the
// catalog does not have (NXDOMAIN, an HRESULT, a clock offset) is a term
// the admin reads as it is, and stays.
func Short(lang, word string) string {
	if lang == English || lang == "" || word == "" {
		return word
	}
	if s, ok := shortWord(lang, word); ok {
		return s
	}
	// "lame: timeout", "win10 refused" (a product's key before the word):
	// the known words translated, the rest kept.
	if head, rest, ok := strings.Cut(word, ": "); ok {
		return Short(lang, head) + T(lang, "short.colon", nil) + Short(lang, rest)
	}
	if head, rest, ok := strings.Cut(word, " "); ok {
		if s, ok := shortWord(lang, rest); ok {
			return head + " " + s
		}
	}
	return word
}

// shortWords are the cell words with numbers in them.
var shortWords = []struct {
	re   *regexp.Regexp
	id   string
	args []string
}{
	{regexp.MustCompile(`^count (\d+)$`), "short.count", []string{"Count"}},
	{regexp.MustCompile(`^count (\d+)<(\d+)$`), "short.count_low", []string{"Count", "Min"}},
	{regexp.MustCompile(`^serial (\d+)<(\d+)$`), "short.serial", []string{"Serial", "Newest"}},
}

func shortWord(lang, word string) (string, bool) {
	if id := ShortKey(word); id != shortPrefix && Has(lang, id) && Has(English, id) {
		return Lookup(lang, id, nil)
	}
	for _, w := range shortWords {
		m := w.re.FindStringSubmatch(word)
		if m == nil {
			continue
		}
		args := Args{}
		for i, name := range w.args {
			args[name] = m[i+1]
		}
		return Lookup(lang, w.id, args)
	}
	return "", false
}

// FlagHelp is a flag's -h text in lang: the catalog's flag.<name> when
// its English text is exactly english, the help the flag was registered
// with (a flag whose help changed keeps its English until the catalog
// follows), else english.
func FlagHelp(lang, name, english string) string {
	return translate(lang, "flag."+name, nil, english)
}

// TranslateFlags rewrites the help of every flag in fs into lang, for
// -h; call it in the flag set's Usage function before PrintDefaults.
func TranslateFlags(lang string, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) { f.Usage = FlagHelp(lang, f.Name, f.Usage) })
}

// LangEnv names the environment variable that sets the language of -h
// when the command line does not.
const LangEnv = "KMSPROBE_LANG"

// HelpLang is the language -h should speak: --lang (or -lang, with "="
// or as the next argument) anywhere in args, else $KMSPROBE_LANG, else
// English. The flag package runs -h as soon as it meets it, before a
// later --lang is parsed, so the arguments are read here first; an
// unsupported language is English (the normal parse then refuses it).
func HelpLang(args []string, getenv func(string) string) string {
	lang := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "lang" {
			continue
		}
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
		}
		lang = val
	}
	if lang == "" && getenv != nil {
		lang = getenv(LangEnv)
	}
	if Check(lang) != nil {
		return English
	}
	return lang
}
