package i18n

import (
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"text/template/parse"

	"github.com/BurntSushi/toml"

	"github.com/kh-edu/kmsprobe/finding"
)

// reserved are go-i18n's message keys; a TOML table holding one of them
// is a message, its path the id.
var reserved = map[string]bool{"id": true, "description": true, "hash": true, "leftdelim": true, "rightdelim": true,
	"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true}

// rawIDs reads a locale file as plain TOML and lists its message ids with
// their "other" text, independently of go-i18n: an id that go-i18n would
// swallow (a message table with a child table) shows up as a mismatch.
func rawIDs(t *testing.T, name string) map[string]string {
	t.Helper()
	buf, err := fs.ReadFile(files, "locales/"+name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(buf, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			id := k
			if prefix != "" {
				id = prefix + "." + k
			}
			if reserved[k] {
				switch v := v.(type) {
				case string:
					if k == "other" {
						out[prefix] = v
					}
				case map[string]any:
					// A child table named like a reserved key
					// ("kms.rpc.refused.other") is a message of its own.
					walk(id, v)
				}
				continue
			}
			switch v := v.(type) {
			case map[string]any:
				walk(id, v)
			case string:
				out[id] = v // the short form id = "text"
			default:
				t.Errorf("%s: %s is a %T, want a table with other = \"...\"", name, id, v)
			}
		}
	}
	walk("", doc)
	return out
}

func localeFiles(t *testing.T) map[string]map[string]string {
	t.Helper()
	entries, err := fs.ReadDir(files, "locales")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, e := range entries {
		out[e.Name()] = rawIDs(t, e.Name())
	}
	return out
}

func TestCatalogLoads(t *testing.T) {
	if err := Err(); err != nil {
		t.Fatal(err)
	}
	for name, ids := range localeFiles(t) {
		lang, ok := fileLang(name)
		if !ok {
			t.Errorf("%s: not named <area>.<lang>.toml with a supported language", name)
			continue
		}
		for id, text := range ids {
			if !Has(lang, id) {
				t.Errorf("%s: %q is in the file but go-i18n did not load it (a message table with child tables?)", name, id)
			}
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: %q has an empty text", name, id)
			}
		}
	}
}

// TestEveryIDInBothLanguages: an id in any locale file exists in English
// and Traditional Chinese, and each area has both files.
func TestEveryIDInBothLanguages(t *testing.T) {
	files := localeFiles(t)
	for name := range files {
		area := strings.SplitN(name, ".", 2)[0]
		for _, l := range Langs {
			if _, ok := files[area+"."+l+".toml"]; !ok {
				t.Errorf("%s has no %s.%s.toml beside it", name, area, l)
			}
		}
	}
	all := map[string]bool{}
	for _, l := range Langs {
		for _, id := range IDs(l) {
			all[id] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(all)) {
		for _, l := range Langs {
			if !Has(l, id) {
				t.Errorf("%q has no %s text", id, l)
			}
		}
	}
	if len(all) < 50 {
		t.Errorf("only %d ids loaded; the render catalog alone has more", len(all))
	}
}

// fields lists the {{.Arg}} names a template uses.
func fields(t *testing.T, id, text string) []string {
	t.Helper()
	trees, err := parse.Parse(id, text, "{{", "}}")
	if err != nil {
		t.Errorf("%q: %v", id, err)
		return nil
	}
	set := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			set[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, tr := range trees {
		walk(tr.Root)
	}
	out := slices.Sorted(maps.Keys(set))
	return out
}

// TestTemplatesExecute: the English template documents an id's
// arguments; every language uses the same ones and executes with them.
func TestTemplatesExecute(t *testing.T) {
	texts := map[string]map[string]string{} // lang -> id -> text
	for name, ids := range localeFiles(t) {
		lang, _ := fileLang(name)
		if texts[lang] == nil {
			texts[lang] = map[string]string{}
		}
		maps.Copy(texts[lang], ids)
	}
	for id, en := range texts[English] {
		want := fields(t, id, en)
		args := map[string]string{}
		for _, f := range want {
			args[f] = "ARG_" + f
		}
		for _, l := range Langs {
			text, ok := texts[l][id]
			if !ok {
				continue // TestEveryIDInBothLanguages reports it
			}
			if got := fields(t, id, text); !slices.Equal(got, want) {
				t.Errorf("%s %q uses arguments %v; the English text documents %v", l, id, got, want)
			}
			out, ok := Lookup(l, id, args)
			if !ok {
				t.Errorf("%s %q does not execute with %v", l, id, args)
				continue
			}
			for _, f := range want {
				if !strings.Contains(out, "ARG_"+f) {
					t.Errorf("%s %q drops argument %s: %q", l, id, f, out)
				}
			}
			if strings.Contains(out, "<no value>") {
				t.Errorf("%s %q: %q", l, id, out)
			}
		}
	}
}

func TestLoadFSReportsBadFiles(t *testing.T) {
	c := loadFS(fstest.MapFS{
		"l/a.en.toml":    {Data: []byte("[\"x.y\"]\nother = \"ok\"\n")},
		"l/b.fr.toml":    {Data: []byte("[\"x.y\"]\nother = \"oui\"\n")},
		"l/c.zh-TW.toml": {Data: []byte("[\"x.y\"\nother = ")},
	}, "l")
	if c.err == nil {
		t.Fatal("a file in an unsupported language and a broken file loaded without error")
	}
	for _, want := range []string{"b.fr.toml", "c.zh-TW.toml"} {
		if !strings.Contains(c.err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, c.err)
		}
	}
}

func TestFindingTranslation(t *testing.T) {
	stopped := finding.Finding{ID: "finding.stopped", Args: map[string]string{"Message": "x"}}
	tests := []struct {
		name string
		f    finding.Finding
		lang string
		want string
	}{
		{"english is the message itself", finding.Finding{ID: "render.summary", Message: "as judged"}, English, "as judged"},
		{"no id", finding.Finding{Message: "plain"}, Chinese, "plain"},
		{"unknown id", finding.Finding{ID: "no.such.id", Message: "plain"}, Chinese, "plain"},
		{"translated", finding.Finding{ID: "finding.stopped", Args: map[string]string{"Message": "x"}, Message: "the audit was stopped before this check finished (x)"}, Chinese, "稽核在此項檢查完成前被中止（x）"},
		{"missing argument", finding.Finding{ID: "render.col.resolver", Message: "city 192.0.2.1"}, Chinese, "city 192.0.2.1"},
		{"argument present", finding.Finding{ID: "render.col.resolver", Args: map[string]string{"Addr": "192.0.2.1"}, Message: "city 192.0.2.1"}, Chinese, "市網 192.0.2.1"},
		{"id does not describe the message", finding.Finding{ID: stopped.ID, Args: stopped.Args, Message: "something else"}, Chinese, "something else"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Message(tc.lang, tc.f); got != tc.want {
				t.Errorf("Message = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStoppedWrapperTranslated(t *testing.T) {
	// A finding whose message was wrapped by finding.MarkStopped keeps
	// its id: the inner sentence is translated when it can be, and the
	// wrapper always is.
	f := finding.Finding{ID: "render.col.resolver", Args: map[string]string{"Addr": "192.0.2.1"}, Message: "city 192.0.2.1", Status: finding.Fail}
	fs := []finding.Finding{f}
	finding.MarkStopped(fs)
	if got, want := Message(Chinese, fs[0]), "稽核在此項檢查完成前被中止（市網 192.0.2.1）"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRemedy(t *testing.T) {
	if got := Remedy(Chinese, finding.Finding{RemedyID: "render.fix"}); got != "" {
		t.Errorf("a finding without a remedy got %q", got)
	}
	f := finding.Finding{RemedyID: "render.fix", Remedy: "fix:"}
	if got := Remedy(Chinese, f); got != "修正：" {
		t.Errorf("got %q", got)
	}
	if err := CheckFinding(finding.Finding{ID: "render.fix", Message: "fix:", RemedyID: "render.fix", Remedy: "fix:"}); err != nil {
		t.Error(err)
	}
	if err := CheckFinding(finding.Finding{ID: "render.fix", Message: "fixed"}); err == nil {
		t.Error("CheckFinding accepted an English template that does not give the message")
	}
}

func TestT(t *testing.T) {
	if got := T(Chinese, "no.such", nil); got != "no.such" {
		t.Errorf("a missing id reads %q, want the id itself", got)
	}
	if got := T("fr", "render.title", nil); got != "KMS activation audit" {
		t.Errorf("an unsupported language reads %q, want English", got)
	}
	if err := Check("zh-tw"); err == nil {
		t.Error("zh-tw accepted; the catalog's tag is zh-TW")
	}
	ids := IDs(English)
	if !sort.StringsAreSorted(ids) {
		t.Error("IDs not sorted")
	}
}
