package render

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
)

// TestRenderIDsInCatalog: every message id the renderers name exists in
// both languages, so no report ever shows an id instead of a sentence.
func TestRenderIDsInCatalog(t *testing.T) {
	re := regexp.MustCompile(`"((?:render|checklist)\.[a-z0-9_.]+)"`)
	srcs, _ := filepath.Glob("*.go")
	n := 0
	for _, p := range srcs {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			id := m[1]
			if strings.HasSuffix(id, ".") {
				continue // a prefix completed at run time, checked below
			}
			n++
			for _, l := range Langs {
				if !i18n.Has(l, id) {
					t.Errorf("%s: id %q has no %s text", p, id, l)
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("found only %d ids in the sources; is the pattern stale?", n)
	}
	for _, st := range []finding.Status{finding.Pass, finding.Warn, finding.Fail, finding.Unknown, finding.Skip} {
		for _, l := range Langs {
			if !i18n.Has(l, "render.status."+st.String()) {
				t.Errorf("status %s has no %s word", st, l)
			}
		}
	}
	for _, c := range []string{finding.DNSSRV, finding.DNSTarget, finding.DNSConsistency, finding.KMSTCP, finding.KMSRPC, finding.ClockOffset,
		finding.DHCPOffer, finding.DHCPSuffix, finding.DHCPDNS, finding.DHCPRogue, finding.DHCPSearch, finding.DNSDelegation} {
		for _, l := range Langs {
			if !i18n.Has(l, "render.check."+c) {
				t.Errorf("check %s has no %s title", c, l)
			}
		}
	}
}

// TestCellWordsTranslate: a cell's words follow the report's language;
// the English cell is the finding's own Short.
func TestCellWordsTranslate(t *testing.T) {
	fs := []finding.Finding{
		{Check: finding.DNSSRV, Server: "a", Status: finding.Fail, Short: "wrong port"},
		{Check: finding.DNSSRV, Server: "b", Status: finding.Pass, Short: "ok"},
	}
	for _, c := range []struct{ lang, want string }{
		{English, "✗ wrong port at 1 of 2 servers"},
		{Chinese, "✗ 連接埠錯誤 （2 台伺服器中 1 台）"},
	} {
		if got := Cell(fs, c.lang); got != c.want {
			t.Errorf("%s: %q, want %q", c.lang, got, c.want)
		}
	}
}
