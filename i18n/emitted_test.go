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
