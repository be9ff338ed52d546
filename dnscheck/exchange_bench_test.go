package dnscheck_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
)

// benchServer is an in-process authoritative server on 127.0.0.1 (a
// random port) that answers every question with one SRV record, the
// answer an audit gets most.
func benchServer(b *testing.B) string {
	b.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := dns.NewRR("_vlmcs._tcp.bench.example. 3600 IN SRV 0 0 1688 kms.bench.example.")
	if err != nil {
		b.Fatal(err)
	}
	started := make(chan struct{})
	s := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		if q.Question[0].Qtype == dns.TypeSRV {
			m.Answer = append(m.Answer, srv)
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = s.ActivateAndServe() }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		b.Fatal("the benchmark's DNS server did not start within 5s")
	}
	b.Cleanup(func() { _ = s.Shutdown() })
	return pc.LocalAddr().String()
}

// BenchmarkExchangeBesideFloor measures one question and its answer over UDP on
// loopback: dnscheck.Client.Exchange (what every audit question costs)
// beside a bare miekg/dns Client.Exchange (the floor scripts/bench.sh
// measures), one at a time and 64 in parallel. The server's own work is
// in both, so compare the two, not the absolute figures.
func BenchmarkExchangeBesideFloor(b *testing.B) {
	addr := benchServer(b)
	q := dnscheck.NewQuery(addr, "_vlmcs._tcp.bench.example.", dns.TypeSRV)
	cl := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 2}
	ctx := context.Background()
	check := func(b *testing.B, a dnscheck.Answer) {
		if a.Msg == nil || len(a.Msg.Answer) != 1 {
			b.Fatalf("no SRV answer: %s (%v)", a.Fail, a.Err)
		}
	}
	floor := func(b *testing.B, c *dns.Client) {
		m := new(dns.Msg)
		m.SetQuestion(q.Name, q.Type)
		r, _, err := c.Exchange(m, addr)
		if err != nil || len(r.Answer) != 1 {
			b.Fatalf("floor: %v", err)
		}
	}
	b.Run("dnscheck", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(b, cl.Exchange(ctx, q))
		}
	})
	b.Run("miekg-floor", func(b *testing.B) {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		b.ReportAllocs()
		for b.Loop() {
			floor(b, c)
		}
	})
	b.Run("dnscheck-parallel", func(b *testing.B) {
		b.SetParallelism(32) // 64 goroutines on 2 cores
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check(b, cl.Exchange(ctx, q))
			}
		})
	})
	b.Run("miekg-floor-parallel", func(b *testing.B) {
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			for pb.Next() {
				floor(b, c)
			}
		})
	})
}
