package dnscheck_test

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/dnscheck/dnstest"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
)

// TestHostileServersTranslate: whatever a hostile server does, every
// finding judged from its answer carries an id whose English text is its
// message and remedy, so --lang zh-TW shows the whole sentence
// translated; and its cell word has a zh-TW entry.
func TestHostileServersTranslate(t *testing.T) {
	for k := dnstest.Healthy; k <= dnstest.TruncateAll; k++ {
		t.Run(k.String(), func(t *testing.T) {
			s := dnstest.Start(t, dnstest.Behaviour{Kind: k}, srvLine(kmsHost, 1688))
			a := askAt(s.Addr, dnscheck.SRVName(suffix), dns.TypeSRV)
			var fs []finding.Finding
			for _, role := range []dnscheck.Role{dnscheck.SchoolDNS, dnscheck.CityResolver} {
				fs = append(fs, dnscheck.JudgeSRV(a, suffix, exp, role, 300*time.Millisecond))
			}
			if f, ok := dnscheck.JudgeSharedServer(a, dnscheck.CityResolver, 300*time.Millisecond); ok {
				fs = append(fs, f)
			}
			if k == dnstest.WrongID && fs[0].ID != "dns.srv.mismatched_id_got" {
				t.Errorf("a wrong id reads %q (%s); want the ids as arguments", fs[0].Message, fs[0].ID)
			}
			for _, f := range fs {
				if err := i18n.CheckFinding(f); err != nil {
					t.Errorf("%v", err)
				}
				if f.Short != "" && i18n.Short(i18n.Chinese, f.Short) == f.Short && !kept[f.Short] {
					t.Errorf("cell %q has no zh-TW word", f.Short)
				}
			}
		})
	}
}

// kept are the cell words every language shows as they are.
var kept = map[string]bool{"ok": true, "-": true, "NXDOMAIN": true, "NODATA": true, "REFUSED": true, "SERVFAIL": true}
