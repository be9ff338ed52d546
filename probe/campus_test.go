package probe_test

import (
	"context"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// fakeCampus is a LAN whose PCs get one DNS server and two search domains.
type fakeCampus struct {
	server string
	got    map[probe.CampusQuestion]finding.Finding
}

func (c *fakeCampus) Measure(context.Context) (probe.CampusView, error) { return c, nil }
func (c *fakeCampus) School() string                                    { return "s0" }
func (c *fakeCampus) Findings() []finding.Finding {
	return []finding.Finding{{Check: finding.DHCPOffer, Status: finding.Pass}}
}
func (c *fakeCampus) Questions() []probe.CampusQuestion {
	return []probe.CampusQuestion{{Server: c.server, Domain: "s0.example"}, {Server: c.server, Domain: "other.example"}}
}
func (c *fakeCampus) Judge(srv map[probe.CampusQuestion]finding.Finding) []finding.Finding {
	c.got = srv
	return []finding.Finding{{Check: finding.DHCPSearch, Status: finding.Pass}}
}

// TestCampusQuestionsAreAskedAndJudged: every (server, domain) a PC on
// the LAN would ask goes through the DNS judging, and the campus judge
// gets the dns.srv finding of each.
func TestCampusQuestionsAreAskedAndJudged(t *testing.T) {
	c, resolvers, _ := city(t, 1, nil)
	lan := &fakeCampus{server: resolvers[0].Addr}
	rep, err := probe.Run(context.Background(), c, probe.Options{Schools: []string{"s0"}, Legs: probe.Legs{Campus: lan}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Probe.Vantage != "campus" {
		t.Errorf("vantage = %q", rep.Probe.Vantage)
	}
	if len(lan.got) != 2 {
		t.Fatalf("campus judge got %d answers, want 2: %v", len(lan.got), lan.got)
	}
	if f := lan.got[probe.CampusQuestion{Server: resolvers[0].Addr, Domain: "s0.example"}]; f.Status != finding.Pass {
		t.Errorf("s0.example at the resolver = %+v, want pass", f)
	}
	if f := lan.got[probe.CampusQuestion{Server: resolvers[0].Addr, Domain: "other.example"}]; f.Check != finding.DNSSRV || f.Status != finding.Fail {
		t.Errorf("other.example at the resolver = %+v, want a failing dns.srv (no such record)", f)
	}
	var checks []string
	for _, f := range rep.Schools[0].Findings {
		checks = append(checks, f.Check)
	}
	if checks[0] != finding.DHCPOffer || checks[1] != finding.DHCPSearch {
		t.Errorf("findings start %v, want the campus findings first", checks)
	}
}
