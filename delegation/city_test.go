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

// TestCityOf400 measures every school zone of a simulated city with one
// shared Prober, as the audit will: every delegated or city-hosted zone
// passes and a school without a zone is a skip.
func TestCityOf400(t *testing.T) {
	c, err := delegationtest.StartCity(400, 1688)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var zones []string
	for i := range 400 {
		zones = append(zones, fmt.Sprintf("s%03d.kh.edu.tw", i))
	}
	p := delegation.NewProber(delegation.Client{Timeout: time.Second, Attempts: 2, NSPort: c.Port}, []string{c.Resolver})
	targets := delegation.Plan(zones...)
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
