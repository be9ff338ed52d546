package dnscheck_test

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
)

// TestTargetRemedyNamesTheKMSHostZone: the fix for a KMS host name that
// does not resolve names the zone of the configured kms.host, never a
// zone of its own.
func TestTargetRemedyNamesTheKMSHostZone(t *testing.T) {
	for _, tc := range []struct{ host, zone string }{
		{"kms.test", "the test zone"},
		{"ap24.kh.edu.tw.", "the kh.edu.tw zone"},
		{"KMS.Campus.Example", "the campus.example zone"},
	} {
		e := dnscheck.Expect{Host: tc.host, Port: 1688}
		name := tc.host
		q4 := dnscheck.NewQuery("127.0.0.1:53", name, dns.TypeA)
		q6 := dnscheck.NewQuery("127.0.0.1:53", name, dns.TypeAAAA)
		fqdn := strings.ToLower(strings.TrimSuffix(tc.host, ".")) + "."
		for _, c := range []struct {
			id     string
			a4, a6 dnscheck.Answer
		}{
			{"dns.target.cname_no_address", built(q4, dns.RcodeSuccess, fqdn+" 300 IN CNAME noaddr.example."), built(q6, dns.RcodeSuccess, fqdn+" 300 IN CNAME noaddr.example.")},
			{"dns.target.foreign_only", built(q4, dns.RcodeSuccess, "other.example. 300 IN A 192.0.2.1"), built(q6, dns.RcodeSuccess)},
			{"dns.target.dangling", built(q4, dns.RcodeNameError), built(q6, dns.RcodeNameError)},
		} {
			f := dnscheck.JudgeTarget("127.0.0.1:53", name, c.a4, c.a6, e, nil)
			checkIDs(t, f)
			if f.ID != c.id || f.RemedyID != "dns.target.fix_resolution" {
				t.Errorf("%s: got %s / %s: %s", tc.host, f.ID, f.RemedyID, f.Message)
				continue
			}
			if !strings.Contains(f.Remedy, tc.zone) || (tc.zone != "the kh.edu.tw zone" && strings.Contains(f.Remedy, "kh.edu.tw")) {
				t.Errorf("%s %s: remedy %q, want %q", tc.host, c.id, f.Remedy, tc.zone)
			}
		}
	}
}
