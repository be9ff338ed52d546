package probe_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

func mustParse(t testing.TB, y string) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMakePlanAsksEachQuestionOnce(t *testing.T) {
	c := mustParse(t, `version: 1
kms: {host: kms.example}
resolvers: [127.0.0.21, 127.0.0.22]
schools:
  - {id: a, suffix: a.example, dns: [127.0.1.1, 127.0.0.21]}
  - {id: b, suffix: b.example, dns: [127.0.1.1]}
  - {id: c, suffix: a.example}
`)
	p := probe.MakePlan(c, c.Schools, nil)
	var got []string
	for _, q := range p.Queries {
		got = append(got, q.String())
	}
	want := []string{
		"SRV _vlmcs._tcp.a.example. @127.0.1.1:53",
		"SRV _vlmcs._tcp.a.example. @127.0.0.21:53", // school a lists a resolver as its own: asked once
		"SRV _vlmcs._tcp.a.example. @127.0.0.22:53",
		"SRV _vlmcs._tcp.b.example. @127.0.1.1:53",
		"SRV _vlmcs._tcp.b.example. @127.0.0.21:53",
		"SRV _vlmcs._tcp.b.example. @127.0.0.22:53",
		// school c shares a's suffix: no new question
		"A kms.example. @127.0.0.21:53",
		"AAAA kms.example. @127.0.0.21:53",
		"A kms.example. @127.0.0.22:53",
		"AAAA kms.example. @127.0.0.22:53",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if n := len(p.Schools[0].Servers); n != 3 {
		t.Errorf("school a has %d servers, want 3 (own + resolver listed twice counts once)", n)
	}
}

// city starts n schools sharing three resolvers; schools whose index is in
// dead get a dead own DNS server.
func city(t testing.TB, n int, dead map[int]bool) (*config.Config, []*sim.Server, []*sim.Server) {
	t.Helper()
	var cl sim.Cluster
	t.Cleanup(cl.Close)
	recs := sim.Records{}.Add("kms.example. 300 IN A 127.0.0.88")
	for i := range n {
		recs.Add(fmt.Sprintf("_vlmcs._tcp.s%d.example. 300 IN SRV 0 0 1688 kms.example.", i))
	}
	var resolvers []*sim.Server
	var y strings.Builder
	y.WriteString("version: 1\nkms: {host: kms.example, addresses: [127.0.0.88]}\nresolvers: [")
	for i := range 3 {
		r, err := cl.Start(fmt.Sprintf("127.0.0.%d", 21+i), recs, sim.Healthy)
		if err != nil {
			t.Fatal(err)
		}
		resolvers = append(resolvers, r)
		if i > 0 {
			y.WriteString(", ")
		}
		y.WriteString(r.Addr)
	}
	y.WriteString("]\nprobe: {timeout: 300ms, attempts: 2, concurrency: 64}\nschools:\n")
	var own []*sim.Server
	for i := range n {
		fault := sim.Healthy
		if dead[i] {
			fault = sim.Dead
		}
		s, err := cl.Start(fmt.Sprintf("127.0.2.%d", 1+i), recs, fault)
		if err != nil {
			t.Fatal(err)
		}
		own = append(own, s)
		fmt.Fprintf(&y, "  - {id: s%d, suffix: s%d.example, dns: [%s]}\n", i, i, s.Addr)
	}
	return mustParse(t, y.String()), resolvers, own
}

func TestRunSharesResolverAnswersAcrossSchools(t *testing.T) {
	c, resolvers, own := city(t, 5, nil)
	var kmsCalls []string
	legs := probe.Legs{KMS: probe.LegFunc(func(ctx context.Context, addr string) []finding.Finding {
		kmsCalls = append(kmsCalls, addr)
		return []finding.Finding{{Check: finding.KMSTCP, Server: addr, Status: finding.Pass, Message: "connected"}}
	})}
	rep, err := probe.Run(context.Background(), c, probe.Options{Legs: legs})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary != (probe.Summary{Schools: 5, Pass: 5}) {
		t.Fatalf("summary = %+v", rep.Summary)
	}
	for _, r := range resolvers {
		// one SRV per school, the KMS host's A and AAAA once as the
		// reference, nothing more: targets reuse the reference answers.
		if got := r.Asked("kms.example", dns.TypeA); got != 1 {
			t.Errorf("%s asked A kms.example %d times, want 1", r.Addr, got)
		}
		if got := r.Queries(); got != 5+2 {
			t.Errorf("%s received %d questions, want 7", r.Addr, got)
		}
	}
	for _, s := range own {
		if s.Queries() != 3 { // SRV, then A and AAAA of the target
			t.Errorf("%s received %d questions, want 3", s.Addr, s.Queries())
		}
	}
	if diff := cmp.Diff([]string{"127.0.0.88:1688"}, kmsCalls); diff != "" {
		t.Errorf("the KMS address must be checked once for all schools (-want +got):\n%s", diff)
	}
	for _, s := range rep.Schools {
		var checks []string
		for _, f := range s.Findings {
			checks = append(checks, f.Check)
		}
		want := []string{"dns.srv", "dns.srv", "dns.srv", "dns.srv", "dns.target", "dns.target", "dns.target", "dns.target", "dns.consistency", "kms.tcp", "clock.offset"}
		if diff := cmp.Diff(want, checks); diff != "" {
			t.Errorf("%s findings (-want +got):\n%s", s.ID, diff)
		}
	}
}

// TestDeadServersCostOneTimeout: twenty dead servers are waited for in
// parallel, so the audit costs about one timeout × attempts, not twenty.
func TestDeadServersCostOneTimeout(t *testing.T) {
	dead := map[int]bool{}
	for i := range 20 {
		dead[i] = true
	}
	c, _, _ := city(t, 20, dead)
	start := time.Now()
	rep, err := probe.Run(context.Background(), c, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	budget := c.Probe.Timeout.Duration * time.Duration(c.Probe.Attempts) // 600ms
	if elapsed > 3*budget {
		t.Errorf("20 dead servers took %v; one timeout×attempts is %v", elapsed, budget)
	}
	if rep.Summary.Fail != 20 {
		t.Errorf("summary = %+v, want 20 fail", rep.Summary)
	}
	for _, s := range rep.Schools {
		f := s.Findings[0]
		if f.Check != finding.DNSSRV || f.Status != finding.Fail || f.Short != "timeout" {
			t.Errorf("%s: first finding %+v, want a dns.srv timeout", s.ID, f)
		}
	}
}

func TestCancelledAuditIsIncompleteAndPrompt(t *testing.T) {
	dead := map[int]bool{0: true, 1: true}
	c, _, _ := city(t, 3, dead)
	c.Probe.Timeout.Duration = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	rep, err := probe.Run(ctx, c, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if !rep.Incomplete || rep.Reason == "" {
		t.Errorf("report not marked incomplete: %+v", rep)
	}
	// The healthy school's chain completed before the stop (its targets
	// are asked as soon as its SRV answers arrive) and keeps its verdict;
	// what was never answered is unknown, never blamed.
	if rep.Schools[2].Status != finding.Pass {
		t.Errorf("school s2 = %s, want pass", rep.Schools[2].Status)
	}
	for _, s := range rep.Schools[:2] {
		if s.Findings[0].Status != finding.Unknown {
			t.Errorf("%s: %+v, want unknown", s.ID, s.Findings[0])
		}
	}
}

func TestSelectUnknownSchool(t *testing.T) {
	c, _, _ := city(t, 1, nil)
	_, err := probe.Run(context.Background(), c, probe.Options{Schools: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), `unknown school "nope"`) || !strings.Contains(err.Error(), "s0") {
		t.Fatalf("err = %v", err)
	}
}

func TestNoChainSkipsKMS(t *testing.T) {
	c := mustParse(t, "version: 1\nresolvers: []\nprobe: {timeout: 100ms, attempts: 1}\nschools: [{id: a, suffix: a.example, dns: [\"127.0.0.1:1\"]}]\n")
	called := false
	rep, err := probe.Run(context.Background(), c, probe.Options{Legs: probe.Legs{KMS: probe.LegFunc(func(context.Context, string) []finding.Finding {
		called = true
		return nil
	})}})
	if err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("KMS leg called without any DNS chain")
	}
	var kms []finding.Finding
	for _, f := range rep.Schools[0].Findings {
		if strings.HasPrefix(f.Check, "kms.") {
			kms = append(kms, f)
		}
	}
	if len(kms) != 2 || kms[0].Status != finding.Skip || !strings.Contains(kms[0].Message, "fix dns.srv") {
		t.Errorf("kms findings = %+v", kms)
	}
}

var _ = dnscheck.SRVName
