package probe_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/probe"
)

// TestPerServerCap: a resolver serving every school never has more than
// probe.per_server questions in flight from one audit, counted at the
// server, while the global concurrency is far higher.
func TestPerServerCap(t *testing.T) {
	var inFlight, peak atomic.Int64
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\nkms: {host: kms.example, addresses: [127.0.0.88]}\nresolvers: [%q]\nprobe: {timeout: 2s, attempts: 1, concurrency: 256, per_server: 4}\nschools:\n", pc.LocalAddr().String())
	for i := range 100 {
		fmt.Fprintf(&y, "  - {id: s%d, suffix: s%d.example}\n", i, i)
	}
	c := mustParse(t, y.String())
	rep, err := probe.Run(context.Background(), c, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Fail != 100 {
		t.Errorf("summary = %+v, want 100 fail (NXDOMAIN)", rep.Summary)
	}
	if got := peak.Load(); got > 4 || got < 1 {
		t.Errorf("peak in flight at the server = %d, want 1..4", got)
	}
	if rep.Probe.PeakPerServer > 4 {
		t.Errorf("reported peak per server = %d, want <= 4", rep.Probe.PeakPerServer)
	}
}
