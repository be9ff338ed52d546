package probe_test

import (
	"context"
	"sync"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// auditLeg records how an audit used it: the zone leg keeps a cache and
// sockets for one audit only.
type auditLeg struct {
	mu        sync.Mutex
	scopes    int
	ended     int
	measured  map[int]int // scope → zones measured in it
	afterEnd  int         // measurements after their scope ended
	unscoped  int         // measurements on the leg itself
	scopeOpen map[int]bool
}

type scopedLeg struct {
	a     *auditLeg
	scope int
}

func (a *auditLeg) Measure(ctx context.Context, zone string) probe.Measurement {
	a.mu.Lock()
	a.unscoped++
	a.mu.Unlock()
	return probe.Judged{{Check: finding.DNSDelegation, Status: finding.Pass}}
}

func (a *auditLeg) ForAudit() (probe.Leg, func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scopes++
	s := a.scopes
	a.scopeOpen[s] = true
	return scopedLeg{a, s}, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.ended++
		a.scopeOpen[s] = false
	}
}

func (l scopedLeg) Measure(ctx context.Context, zone string) probe.Measurement {
	l.a.mu.Lock()
	defer l.a.mu.Unlock()
	l.a.measured[l.scope]++
	if !l.a.scopeOpen[l.scope] {
		l.a.afterEnd++
	}
	return probe.Judged{{Check: finding.DNSDelegation, Status: finding.Pass}}
}

// TestZoneLegScopedPerAudit: every audit measures its zones with a leg of
// its own and ends it when they are all measured, so nothing one audit
// learned is carried into the next.
func TestZoneLegScopedPerAudit(t *testing.T) {
	c, _, _ := city(t, 3, nil)
	a := &auditLeg{measured: map[int]int{}, scopeOpen: map[int]bool{}}
	for range 2 {
		if _, err := probe.Run(context.Background(), c, probe.Options{Legs: probe.Legs{Zone: a}}); err != nil {
			t.Fatal(err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scopes != 2 || a.ended != 2 {
		t.Errorf("%d scopes begun, %d ended; want 2 and 2", a.scopes, a.ended)
	}
	if a.unscoped != 0 || a.afterEnd != 0 {
		t.Errorf("%d zones measured outside an audit's leg, %d after it ended", a.unscoped, a.afterEnd)
	}
	if a.measured[1] != 3 || a.measured[2] != 3 {
		t.Errorf("zones measured per audit: %v, want 3 in each", a.measured)
	}
}
