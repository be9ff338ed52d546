package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// TestNoEmptySuffixInHeadings: the pseudo-school of `kmsprobe dhcp`
// without a suffix to expect (and of `kmsprobe kms HOST`) has none, and
// its heading in the fixes used to read "dhcp (DHCP on the campus LAN, )".
// A school without a suffix is headed by its name alone; one with a suffix
// keeps "(name, suffix)".
func TestNoEmptySuffixInHeadings(t *testing.T) {
	fail := finding.Finding{Check: finding.DHCPOffer, Server: "eth1", Status: finding.Fail, Message: "no DHCP offer in 4s", Remedy: "Check the cable."}
	for _, tc := range []struct {
		suffix    string
		want, not []string
	}{
		{"", []string{"dhcp (DHCP on the campus LAN)\n", "DHCP on the campus LAN</"}, []string{", )", " · <", " · \n"}},
		{"demo-jh.kh.edu.tw", []string{"dhcp (DHCP on the campus LAN, demo-jh.kh.edu.tw)\n", "DHCP on the campus LAN · demo-jh.kh.edu.tw"}, nil},
	} {
		r := probe.Single(probe.School{ID: "dhcp", Name: "DHCP on the campus LAN", Suffix: tc.suffix, Findings: []finding.Finding{fail}}, "test", "campus", time.Now())
		var all strings.Builder
		for _, format := range []string{"table", "text", "html"} {
			var b bytes.Buffer
			if err := Write(&b, r, Options{Format: format, Lang: "en"}); err != nil {
				t.Fatal(err)
			}
			all.WriteString(b.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(all.String(), w) {
				t.Errorf("suffix %q: no %q in:\n%s", tc.suffix, w, all.String())
			}
		}
		for _, n := range tc.not {
			if strings.Contains(all.String(), n) {
				t.Errorf("suffix %q: %q in:\n%s", tc.suffix, n, all.String())
			}
		}
	}
}
