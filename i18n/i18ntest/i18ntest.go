package i18ntest

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/BurntSushi/toml"

	"github.com/kh-edu/kmsprobe/finding"
)

// Locale reads i18n/locales/<area>.<lang>.toml: message id -> template.
// Ids are quoted (["dns.srv.ok"]) or bare dotted keys ([kms.tcp.ok]); both
// give the same id.
func Locale(t testing.TB, area, lang string) map[string]string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("i18ntest: cannot find the locale files (no caller information)")
	}
	path := filepath.Join(filepath.Dir(self), "..", "locales", area+"."+lang+".toml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := toml.Unmarshal(b, &tree); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	flatten(t, path, "", tree, out)
	return out
}

// flatten walks nested tables down to their "other" texts.
func flatten(t testing.TB, path, prefix string, tree map[string]any, out map[string]string) {
	t.Helper()
	for k, v := range tree {
		switch v := v.(type) {
		case string:
			if k != "other" {
				t.Fatalf("%s: %s%s: only other = \"text\" is used", path, prefix, k)
			}
			out[strings.TrimSuffix(prefix, ".")] = v
		case map[string]any:
			flatten(t, path, prefix+k+".", v, out)
		default:
			t.Fatalf("%s: %s%s is %T, want a table or other = \"text\"", path, prefix, k, v)
		}
	}
}

// CheckCatalog checks a leg's English templates (one map or several, such
// as messages and remedies) against <area>.en.toml and <area>.zh-TW.toml:
// the English file holds exactly each text, the Chinese one a text with the
// same placeholders, and neither file has an id the leg does not use.
func CheckCatalog(t testing.TB, area string, english ...map[string]string) {
	t.Helper()
	en, zh := Locale(t, area, "en"), Locale(t, area, "zh-TW")
	all := map[string]string{}
	for _, m := range english {
		for id, text := range m {
			all[id] = text
		}
	}
	for id, text := range all {
		if en[id] != text {
			t.Errorf("%s.en %s = %q, Go has %q", area, id, en[id], text)
		}
		if zh[id] == "" {
			t.Errorf("%s.zh-TW lacks %s", area, id)
		} else if a, b := finding.Placeholders(zh[id]), finding.Placeholders(text); !slices.Equal(a, b) {
			t.Errorf("%s.zh-TW %s uses %v, English %v", area, id, a, b)
		}
	}
	for lang, m := range map[string]map[string]string{"en": en, "zh-TW": zh} {
		for id := range m {
			if _, ok := all[id]; !ok {
				t.Errorf("%s.%s has %s, which no finding uses", area, lang, id)
			}
		}
	}
}

// CheckFindings checks findings against the locale files of area: each
// has an id, its ids are in both files, and the English entry, rendered
// by text/template with the finding's Args, is exactly its Message (and
// the remedy entry its Remedy).
func CheckFindings(t testing.TB, area string, fs []finding.Finding) {
	t.Helper()
	en, zh := Locale(t, area, "en"), Locale(t, area, "zh-TW")
	for _, f := range fs {
		if f.ID == "" {
			t.Errorf("%s %v %q has no message id", f.Check, f.Status, f.Message)
			continue
		}
		if (f.Remedy == "") != (f.RemedyID == "") {
			t.Errorf("%s: remedy %q but remedy id %q", f.ID, f.Remedy, f.RemedyID)
		}
		for _, id := range []string{f.ID, f.RemedyID} {
			if _, ok := en[id]; id != "" && !ok {
				t.Errorf("%s: id %q missing from %s.en.toml", f.Check, id, area)
			}
			if _, ok := zh[id]; id != "" && !ok {
				t.Errorf("%s: id %q missing from %s.zh-TW.toml", f.Check, id, area)
			}
		}
		checkRender(t, f.ID, en[f.ID], f.Args, f.Message)
		if f.RemedyID != "" {
			checkRender(t, f.RemedyID, en[f.RemedyID], f.Args, f.Remedy)
		}
	}
}

func checkRender(t testing.TB, id, tmpl string, args map[string]string, want string) {
	t.Helper()
	tpl, err := template.New(id).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		t.Errorf("%s: %v", id, err)
		return
	}
	var b strings.Builder
	if err := tpl.Execute(&b, args); err != nil {
		t.Errorf("%s: template needs an argument the finding lacks: %v", id, err)
		return
	}
	if b.String() != want {
		t.Errorf("%s: English template gives\n  %q\nbut the finding has\n  %q", id, b.String(), want)
	}
}
