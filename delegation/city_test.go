package delegation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/delegation/delegationtest"
	"github.com/kh-edu/kmsprobe/finding"
)

// startCity400 is the simulated city of 400 school zones (s000–s399 under
// kh.edu.tw, all served in-process on 127.0.0.0/8) and the leg's targets.
func startCity400(tb testing.TB) (*delegationtest.City, []delegation.Target) {
	tb.Helper()
	c, err := delegationtest.StartCity(400, 1688)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	var zones []string
	for i := range 400 {
		zones = append(zones, fmt.Sprintf("s%03d.kh.edu.tw", i))
	}
	return c, delegation.Plan(zones...)
}

// TestCityOf400 measures every school zone of a simulated city with one
// shared Prober, as the audit will: every delegated or city-hosted zone
// passes and a school without a zone is a skip.
func TestCityOf400(t *testing.T) {
	c, targets := startCity400(t)
	p := delegation.NewProber(delegation.Client{Timeout: time.Second, Attempts: 2, NSPort: c.Port}, []string{c.Resolver})
	statuses := make([]finding.Status, len(targets))
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for i, tg := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fs := delegation.Judge(p.Measure(context.Background(), tg))
			statuses[i] = fs[0].Status
			if len(fs) != 1 {
				statuses[i] = finding.Unknown // more than one finding: something differed
			}
		})
	}
	wg.Wait()
	t.Logf("dns.delegation of 400 zones: %s", time.Since(start).Round(time.Millisecond))
	count := map[finding.Status]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[finding.Pass] != c.Own+c.Hosted || count[finding.Skip] != c.Skipped {
		t.Errorf("statuses %v; want %d pass, %d skip", count, c.Own+c.Hosted, c.Skipped)
	}
}

// TestCityQuestionsOnceCapped measures a city's zones 64 at a time, as an
// audit does, against a parent server that answers slowly: the parent
// (which also hosts every fourth zone) and the resolver never have more
// than PerServer questions in flight, and no server is asked the same
// question twice (a hosted zone's NS set was asked at the parent as the
// delegation and again as its own name server's view).
func TestCityQuestionsOnceCapped(t *testing.T) {
	c, err := delegationtest.StartCity(200, 1688)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	parent, resolver := c.Host("127.0.0.10"), c.Host("127.0.0.2")
	parent.SetDelay(2 * time.Millisecond)
	resolver.SetDelay(2 * time.Millisecond)
	const perServer = 4
	// A generous timeout: a retry would be a second question.
	p := delegation.NewProber(delegation.Client{Timeout: 10 * time.Second, Attempts: 1, NSPort: c.Port, PerServer: perServer}, []string{c.Resolver})
	var zones []string
	for i := range 200 {
		zones = append(zones, fmt.Sprintf("s%03d.kh.edu.tw", i))
	}
	pass := 0
	var mu sync.Mutex
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for _, tg := range delegation.Plan(zones...) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fs := delegation.Judge(p.Measure(context.Background(), tg))
			if len(fs) == 1 && fs[0].Status == finding.Pass {
				mu.Lock()
				pass++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if pass != c.Own+c.Hosted {
		t.Errorf("%d zones pass, want %d", pass, c.Own+c.Hosted)
	}
	for _, h := range []*delegationtest.Host{parent, resolver} {
		if h.Peak() > perServer {
			t.Errorf("%s had %d questions in flight at once, want at most %d", h.IP, h.Peak(), perServer)
		}
		for q, n := range h.Asked() {
			if n > 1 {
				t.Errorf("%s was asked %q %d times", h.IP, q, n)
			}
		}
	}
	sent, peak := p.Load()
	if peak > perServer || peak < 1 {
		t.Errorf("the prober's own peak per server is %d, want 1..%d", peak, perServer)
	}
	var answered int64
	for _, h := range []*delegationtest.Host{parent, resolver} {
		answered += h.Queries()
	}
	t.Logf("%d exchanges; parent %d questions (peak %d in flight), resolver %d (peak %d)", sent, parent.Queries(), parent.Peak(), resolver.Queries(), resolver.Peak())
	if answered > int64(sent) {
		t.Errorf("the parent and the resolver got %d questions, more than the %d the prober sent", answered, sent)
	}
}
