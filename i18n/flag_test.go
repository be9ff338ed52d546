package i18n

import (
	"flag"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var backquoted = regexp.MustCompile("`[^`]*`")

// registeredHelp reads, from the command's sources, the help each flag
// is registered with (fs.StringVar(&x, "name", "", help) and kin), where
// the help is a literal or a constant; a help put together at run time
// from other packages' constants is left out.
func registeredHelp(t *testing.T) map[string][]string {
	t.Helper()
	srcs, _ := filepath.Glob("../cmd/kmsprobe/*.go")
	fset := token.NewFileSet()
	var files []*ast.File
	consts := map[string]string{}
	for _, p := range srcs {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, p, nil, goparser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == len(vs.Values) {
				for i, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						consts[vs.Names[i].Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
			return true
		})
	}
	str := func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil && e.Kind == token.STRING
		case *ast.Ident:
			s, ok := consts[e.Name]
			return s, ok
		}
		return "", false
	}
	out := map[string][]string{}
	// The help of -c and --school may come in a command's spec.
	specFlag := map[string]string{"Config": "c", "Schools": "school"}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && specFlag[k.Name] != "" {
					if help, ok := str(kv.Value); ok {
						out[specFlag[k.Name]] = append(out[specFlag[k.Name]], help)
					}
				}
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 3 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Var") {
				return true
			}
			name, ok1 := str(call.Args[1])
			help, ok2 := str(call.Args[len(call.Args)-1])
			if ok1 && ok2 {
				out[name] = append(out[name], help)
			}
			return true
		})
	}
	return out
}

// TestFlagHelpCatalog: each flag.<name> entry's English is the help the
// command registers that flag with (so it is translated, not left in
// English by the stale-text rule), and every language keeps the
// backquoted value name -h prints.
func TestFlagHelpCatalog(t *testing.T) {
	reg := registeredHelp(t)
	if len(reg) < 8 {
		t.Fatalf("found %d flags in the command's sources; is the scan stale?", len(reg))
	}
	n := 0
	for _, id := range IDs(English) {
		name, ok := strings.CutPrefix(id, "flag.")
		if !ok || name == "usage" || name == "heading" {
			continue
		}
		n++
		en, _ := Lookup(English, id, nil)
		if helps, ok := reg[name]; ok && !slices.Contains(helps, en) {
			t.Errorf("%s: English %q is not the help -%s is registered with (%q)", id, en, name, helps)
		}
		zh, _ := Lookup(Chinese, id, nil)
		if got, want := backquoted.FindAllString(zh, -1), backquoted.FindAllString(en, -1); !slices.Equal(got, want) {
			t.Errorf("%s: zh-TW keeps %v in backquotes, English has %v", id, got, want)
		}
	}
	if n < 10 {
		t.Errorf("only %d flag entries", n)
	}
}

func TestTranslateFlags(t *testing.T) {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.String("o", "", "write the output to `FILE` instead of standard output (a regular file is replaced atomically keeping its mode; symlinks, FIFOs and devices such as /dev/stdout are written through)")
	fs.String("lang", "", "a help the catalog does not have")
	fs.Bool("own", false, "a command's own flag")
	TranslateFlags(Chinese, fs)
	if u := fs.Lookup("o").Usage; !strings.HasPrefix(u, "把輸出寫到檔案 `FILE`") {
		t.Errorf("-o help = %q", u)
	}
	if name, _ := flag.UnquoteUsage(fs.Lookup("o")); name != "FILE" {
		t.Errorf("-o value name = %q, want FILE", name)
	}
	if u := fs.Lookup("lang").Usage; u != "a help the catalog does not have" {
		t.Errorf("a changed help was translated: %q", u)
	}
	if u := fs.Lookup("own").Usage; u != "a command's own flag" {
		t.Errorf("%q", u)
	}
}

func TestHelpLang(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == LangEnv {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-h", "--lang", "zh-TW"}, "", Chinese},
		{[]string{"-h", "--lang=zh-TW"}, "", Chinese},
		{[]string{"-lang", "zh-TW", "-h"}, "", Chinese},
		{[]string{"-h"}, "zh-TW", Chinese},
		{[]string{"-h", "--lang", "en"}, "zh-TW", English},
		{[]string{"-h", "--lang", "fr"}, "", English},
		{[]string{"-h", "--", "--lang", "zh-TW"}, "", English},
		{[]string{"-h"}, "", English},
	} {
		if got := HelpLang(c.args, env(c.env)); got != c.want {
			t.Errorf("HelpLang(%q, %s=%q) = %s, want %s", c.args, LangEnv, c.env, got, c.want)
		}
	}
}
