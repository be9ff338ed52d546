package dnscheck_test

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/dnscheck/dnstest"
	"github.com/kh-edu/kmsprobe/finding"
)

// TestConsistencyLeavesOutServerFaults: a resolver that refuses or fails
// every question holds no record set, stale or otherwise: it is left out
// of the comparison (dns.srv and the infrastructure list report it) and
// the evidence names it as not compared. Never "flush your cache" for a
// server that answers nothing.
func TestConsistencyLeavesOutServerFaults(t *testing.T) {
	own := dnscheck.SRVName(suffix)
	right := srvLine(kmsHost, 1688)
	school := dnstest.Start(t, dnstest.Behaviour{}, right)
	school2 := dnstest.Start(t, dnstest.Behaviour{}, right)
	stale := dnstest.Start(t, dnstest.Behaviour{}, srvLine("old.example", 1688))
	refused := dnstest.Start(t, dnstest.Behaviour{Kind: dnstest.Refused}, right)
	servfail := dnstest.Start(t, dnstest.Behaviour{Kind: dnstest.ServFail}, right)
	garbage := dnstest.Start(t, dnstest.Behaviour{Kind: dnstest.Garbage}, right)
	ask := func(s *dnstest.Server) dnscheck.Answer { return askAt(s.Addr, own, dns.TypeSRV) }
	type srv struct {
		s    *dnstest.Server
		role dnscheck.Role
	}
	faulty := []*dnstest.Server{refused, servfail, garbage}
	cases := []struct {
		name   string
		srvs   []srv
		status finding.Status
		id     string
		odd    []string
	}{
		{"school right, every city resolver faulty: nothing to compare",
			[]srv{{school, dnscheck.SchoolDNS}, {refused, dnscheck.CityResolver}, {servfail, dnscheck.CityResolver}, {garbage, dnscheck.CityResolver}},
			finding.Skip, "dns.consistency.skip", nil},
		{"two school servers agree beside faulty resolvers",
			[]srv{{school, dnscheck.SchoolDNS}, {school2, dnscheck.SchoolDNS}, {refused, dnscheck.CityResolver}, {servfail, dnscheck.CityResolver}, {garbage, dnscheck.CityResolver}},
			finding.Pass, "dns.consistency.agree", nil},
		{"a stale cache is still found beside faulty resolvers",
			[]srv{{school, dnscheck.SchoolDNS}, {stale, dnscheck.CityResolver}, {refused, dnscheck.CityResolver}, {servfail, dnscheck.CityResolver}, {garbage, dnscheck.CityResolver}},
			finding.Warn, "dns.consistency.stale_one", []string{stale.Addr}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var as []dnscheck.Answer
			var roles []dnscheck.Role
			for _, s := range tc.srvs {
				as = append(as, ask(s.s))
				roles = append(roles, s.role)
			}
			f := dnscheck.JudgeConsistency("school", exp, as, roles)
			checkIDs(t, f)
			if f.Status != tc.status || f.ID != tc.id {
				t.Fatalf("got %s %s: %s / %s; want %s %s", f.Status, f.ID, f.Message, f.Remedy, tc.status, tc.id)
			}
			for _, bad := range faulty {
				if strings.Contains(f.Message, bad.Addr) || strings.Contains(f.Remedy, bad.Addr) {
					t.Errorf("a faulty server is compared: %s / %s", f.Message, f.Remedy)
				}
			}
			for _, word := range []string{"REFUSED", "SERVFAIL"} {
				if strings.Contains(f.Message, word) {
					t.Errorf("a fault is taken for a record set: %s", f.Message)
				}
			}
			ev, ok := dnscheck.ConsistencyEvidenceOf(f)
			if !ok {
				t.Fatal("no evidence")
			}
			if strings.Join(ev.Odd, ",") != strings.Join(tc.odd, ",") {
				t.Errorf("odd = %v, want %v", ev.Odd, tc.odd)
			}
			for s, want := range map[*dnstest.Server]string{refused: "REFUSED", servfail: "SERVFAIL", garbage: "garbage"} {
				if _, compared := ev.Sets[s.Addr]; compared {
					t.Errorf("%s (%s) is in the compared sets", s.Addr, want)
				}
				if got := ev.NotCompared[s.Addr]; !strings.Contains(got, want) {
					t.Errorf("evidence does not name %s as not compared (%s): %q", s.Addr, want, got)
				}
			}
		})
	}
	// A dead server is named as not compared too.
	dead := dnscheck.Answer{Query: dnscheck.NewQuery("127.0.0.1:9", own, dns.TypeSRV), Fail: dnscheck.Timeout}
	f := dnscheck.JudgeConsistency("school", exp, []dnscheck.Answer{ask(school), dead}, []dnscheck.Role{dnscheck.SchoolDNS, dnscheck.CityResolver})
	if ev, _ := dnscheck.ConsistencyEvidenceOf(f); ev.NotCompared["127.0.0.1:9"] == "" || f.Status != finding.Skip {
		t.Errorf("dead server: %s, not compared %v", f.Status, ev.NotCompared)
	}
}
