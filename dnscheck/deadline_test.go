package dnscheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/internal/sim"
)

// TestAuditDeadlineIsNotAServerTimeout: when the audit's own context
// reaches its deadline in the middle of an exchange, the server did not
// time out (it had 2s, it got 100ms); the answer is "cancelled", so the
// finding is unknown, not a fail that blames the school.
func TestAuditDeadlineIsNotAServerTimeout(t *testing.T) {
	s := start(t, sim.Dead)
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			cl := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 1}
			a := cl.Exchange(ctx, dnscheck.NewQuery(s.Addr, dnscheck.SRVName("a.example"), dns.TypeSRV))
			if a.Fail != dnscheck.Cancelled {
				t.Errorf("Fail = %q (%v), want %q", a.Fail, a.Err, dnscheck.Cancelled)
			}
		})
	}
}
