package i18n

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
)

// emitters are the packages that create findings (or their cell words):
// every message id they can put in a report is a string literal there,
// whole or as a prefix completed at run time.
var emitters = []string{"dnscheck", "kmscheck", "clockcheck", "dhcpcheck", "delegation", "probe", "legs", "city", "finding", "onboard"}

// messageID is the shape of a catalog id an emitter writes; a literal
// ending in "." or "_" is a prefix ("kms.rpc.failed." + code).
var messageID = regexp.MustCompile(`^(dns|kms|clock|dhcp|delegation|city|finding|infra|init|short)\.[a-z0-9_]+(\.[a-z0-9_]+)*[._]?$`)

// checkIDs are literals of the same shape that name a check, not a
// message: finding's check constants and the city view's stale-probe
// pseudo-check (city.CheckStale, not imported: city depends on i18n).
var checkIDs = map[string]bool{
	finding.DNSSRV: true, finding.DNSTarget: true, finding.DNSConsistency: true, finding.KMSTCP: true, finding.KMSRPC: true,
	finding.ClockOffset: true, finding.DHCPOffer: true, finding.DHCPSuffix: true, finding.DHCPDNS: true, finding.DHCPRogue: true,
	finding.DHCPSearch: true, finding.DNSDelegation: true, "probe.stale": true,
}

// emittedIDs lists every id-shaped string literal in the emitters'
// non-test sources, with where it was found.
func emittedIDs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range emitters {
		srcs, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil || len(srcs) == 0 {
			t.Fatalf("no Go sources in ../%s (%v): is the emitter list stale?", dir, err)
		}
		for _, p := range srcs {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			file, err := goparser.ParseFile(fset, p, src, goparser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || !messageID.MatchString(s) || checkIDs[s] {
					return true
				}
				if _, seen := out[s]; !seen {
					out[s] = fset.Position(lit.Pos()).String()
				}
				return true
			})
		}
	}
	return out
}

// TestEmittedIDsInEveryLocale: every message id the program can emit
// has a text in every language, with the arguments the English text
// documents, so no finding is left in English for want of an entry. A
// prefix completed at run time must at least start some id; the legs'
// own catalog tests run their judges over every case.
func TestEmittedIDsInEveryLocale(t *testing.T) {
	texts := map[string]map[string]string{}
	for name, ids := range localeFiles(t) {
		lang, _ := fileLang(name)
		if texts[lang] == nil {
			texts[lang] = map[string]string{}
		}
		maps.Copy(texts[lang], ids)
	}
	ids := emittedIDs(t)
	if len(ids) < 150 {
		t.Errorf("found only %d ids in the sources; is the pattern stale?", len(ids))
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		where := ids[id]
		if strings.HasSuffix(id, ".") || strings.HasSuffix(id, "_") {
			for _, l := range Langs {
				if !slices.ContainsFunc(slices.Collect(maps.Keys(texts[l])), func(k string) bool { return strings.HasPrefix(k, id) }) {
					t.Errorf("%s: no %s id starts with %q", where, l, id)
				}
			}
			continue
		}
		en, ok := texts[English][id]
		if !ok {
			t.Errorf("%s: %q has no %s text", where, id, English)
			continue
		}
		want := fields(t, id, en)
		for _, l := range Langs[1:] {
			text, ok := texts[l][id]
			if !ok {
				t.Errorf("%s: %q has no %s text", where, id, l)
				continue
			}
			if got := fields(t, id, text); !slices.Equal(got, want) {
				t.Errorf("%s: %s %q uses arguments %v; English uses %v", where, l, id, got, want)
			}
		}
	}
}

// emittedShorts lists the cell words the emitters write as literals: a
// Short field set to a literal, the word argument of delegation's
// newFinding, the literals a function returns as its named result short
// or why (dnscheck's failure words), the dnscheck FailKind constants (a
// target's cell is string(a.Fail)) and the services kmscheck recognises.
func emittedShorts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	add := func(e ast.Expr) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return
		}
		if _, seen := out[s]; !seen {
			out[s] = fset.Position(lit.Pos()).String()
		}
	}
	for _, dir := range emitters {
		srcs, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
		for _, p := range srcs {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			file, err := goparser.ParseFile(fset, p, nil, goparser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Short" {
						add(n.Value)
					}
				case *ast.AssignStmt:
					for i, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Short" && len(n.Rhs) == len(n.Lhs) {
							add(n.Rhs[i])
						}
					}
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "newFinding" && len(n.Args) > 3 {
						add(n.Args[3])
					}
				case *ast.FuncDecl:
					shortResults(n, add)
				case *ast.ValueSpec:
					if id, ok := n.Type.(*ast.Ident); ok && id.Name == "FailKind" {
						for _, v := range n.Values {
							add(v)
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// shortResults adds what fn returns as a cell word: its named results
// short and why, and every literal identifyService returns.
func shortResults(fn *ast.FuncDecl, add func(ast.Expr)) {
	if fn.Body == nil {
		return
	}
	var idx []int
	if fn.Name.Name == "identifyService" {
		idx = []int{0}
	} else if fn.Type.Results != nil {
		i := 0
		for _, f := range fn.Type.Results.List {
			for _, name := range f.Names {
				if name.Name == "short" || name.Name == "why" {
					idx = append(idx, i)
				}
				i++
			}
			if len(f.Names) == 0 {
				i++
			}
		}
	}
	if len(idx) == 0 {
		return
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if r, ok := n.(*ast.ReturnStmt); ok {
			for _, i := range idx {
				if i < len(r.Results) {
					add(r.Results[i])
				}
			}
		}
		return true
	})
}

// keptShorts are cell words that are the same in every language: DNS
// terms and protocol names an admin looks up as they are, and the marks
// for "nothing to say".
var keptShorts = map[string]bool{"": true, "-": true, "ok": true, "NODATA": true, "REFUSED": true, "SERVFAIL": true,
	"http": true, "tls": true, "ssh": true, "smtp": true, "ftp": true}

// TestEmittedShortsInEveryLocale: every cell word the emitters write has
// a catalog entry whose English is the word itself, so the zh-TW table
// never shows an English cell and the English one stays byte for byte.
func TestEmittedShortsInEveryLocale(t *testing.T) {
	shorts := emittedShorts(t)
	if len(shorts) < 40 {
		t.Errorf("found only %d cell words in the sources; is the scan stale?", len(shorts))
	}
	for _, w := range slices.Sorted(maps.Keys(shorts)) {
		if keptShorts[w] {
			continue
		}
		id := ShortKey(w)
		for _, l := range Langs {
			if !Has(l, id) {
				t.Errorf("%s: cell word %q has no %s entry %s", shorts[w], w, l, id)
			}
		}
		if got := Short(English, w); got != w {
			t.Errorf("English cell %q became %q", w, got)
		}
		if zh := Short(Chinese, w); Has(Chinese, id) && zh == w {
			t.Errorf("%s: zh-TW cell for %q is still the English word", shorts[w], w)
		}
	}
}

func TestShort(t *testing.T) {
	for _, c := range []struct{ en, zh string }{
		{"wrong port", "連接埠錯誤"},
		{"port-closed", "連接埠關閉"},
		{"count 50", "數量 50"},
		{"count 3<25", "數量 3<25"},
		{"serial 7<9", "序號 7<9"},
		{"lame: refused", "失效：拒絕"},
		{"win10 refused", "win10 拒絕"},
		{"connect refused", "連線被拒"},
		{"NXDOMAIN", "NXDOMAIN"},
		{"0xC004F074", "0xC004F074"},
		{"+0.4s", "+0.4s"},
		{"no such word", "no such word"},
		{"", ""},
	} {
		if got := Short(English, c.en); got != c.en {
			t.Errorf("English %q became %q", c.en, got)
		}
		if got := Short(Chinese, c.en); got != c.zh {
			t.Errorf("zh-TW %q = %q, want %q", c.en, got, c.zh)
		}
	}
	if got := ShortKey("no IPv6 here"); got != "short.no_ipv6_here" {
		t.Errorf("ShortKey = %q", got)
	}
}
