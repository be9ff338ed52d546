package delegation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/dnscheck"
)

// BenchmarkMeasureCity is the leg over a city of 400 zones as an audit
// runs it: one Prober and one socket pool per pass, 256 zones at a time.
// The in-process servers' own CPU is part of the figure; the profile
// tells the two apart.
func BenchmarkMeasureCity(b *testing.B) {
	c, targets := startCity400(b)
	b.ReportAllocs()
	for b.Loop() {
		socks := dnscheck.NewSockets()
		p := delegation.NewProber(delegation.Client{Timeout: 2 * time.Second, Attempts: 2, NSPort: c.Port, Sockets: socks}, []string{c.Resolver})
		sem := make(chan struct{}, 256)
		var wg sync.WaitGroup
		for _, tg := range targets {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if m := p.Measure(context.Background(), tg); m.Stopped {
					b.Error("stopped")
				}
			})
		}
		wg.Wait()
		socks.Close()
	}
}
