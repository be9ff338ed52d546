package dnscheck

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// udpServer answers every question on 127.0.0.1 with NXDOMAIN and records
// the source ports the questions came from.
func udpServer(t *testing.T) (addr string, ports func() map[int]int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	seen := map[int]int{}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			mu.Lock()
			seen[from.(*net.UDPAddr).Port]++
			mu.Unlock()
			m := new(dns.Msg)
			m.SetRcode(q, dns.RcodeNameError)
			b, _ := m.Pack()
			_, _ = pc.WriteTo(b, from)
		}
	}()
	return pc.LocalAddr().String(), func() map[int]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[int]int{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// TestSocketsRotateAndClose: questions leave from several source ports,
// no port serves more than rotateAfter questions, and every socket,
// retired ones included, is closed once the pool is and nothing waits.
func TestSocketsRotateAndClose(t *testing.T) {
	addr, ports := udpServer(t)
	p := NewSockets()
	p.rotateAfter = 4
	cl := Client{Timeout: 2 * time.Second, Attempts: 1, Sockets: p}
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := cl.Exchange(context.Background(), NewQuery(addr, "q"+string(rune('a'+i%26))+".example.", dns.TypeA))
			if a.Rcode() != dns.RcodeNameError {
				t.Errorf("question %d: %s (%v)", i, a.Fail, a.Err)
			}
		})
	}
	wg.Wait()
	// A closed socket's port may be handed out again, so the server may
	// count a little fewer ports than sockets were made.
	if made := p.made.Load(); made < n/4 {
		t.Errorf("%d questions went out on %d sockets, want at least %d (rotation after 4)", n, made, n/4)
	}
	if got := ports(); len(got) < n/8 {
		t.Errorf("%d questions left from %d ports, want at least %d", n, len(got), n/8)
	}
	p.Close()
	if o := p.open.Load(); o != 0 {
		t.Errorf("%d sockets still open after Close", o)
	}
	if a := cl.Exchange(context.Background(), NewQuery(addr, "late.example.", dns.TypeA)); a.Fail != NetError {
		t.Errorf("a closed pool asked anyway: %s (%v)", a.Fail, a.Err)
	}
}
