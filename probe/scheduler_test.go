package probe

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/miekg/dns"
)

// The busiest server stays at its cap from the start, and a slot it gets
// back is used at once, not after every other server had its turn: the
// city resolvers, asked for every school, set the audit's length.
func TestSchedulerLongestBacklogFirst(t *testing.T) {
	const perServer = 4
	s := newScheduler(perServer)
	add := func(server string, n int) {
		sq := s.queue(server)
		for i := range n {
			sq.todo = append(sq.todo, dnscheck.NewQuery(server, fmt.Sprintf("q%d.example", i), dns.TypeSRV))
			s.pending++
		}
		s.wake(sq)
	}
	for i := range 500 {
		add(fmt.Sprintf("127.1.%d.%d:53", i/250, i%250), 1)
	}
	add("127.0.0.121:53", 1000)
	add("127.0.0.122:53", 600)

	var order []string
	take := func(n int) {
		for range n {
			q, ok := s.next()
			if !ok {
				t.Fatal("nothing to send while questions are pending")
			}
			order = append(order, q.Server)
		}
	}
	take(8)
	for i, srv := range order {
		want := "127.0.0.121:53"
		if i >= perServer {
			want = "127.0.0.122:53"
		}
		if srv != want {
			t.Fatalf("dispatch %d went to %s, want %s (order %v)", i, srv, want, order)
		}
	}
	take(3)
	for _, srv := range order[8:] {
		if srv == "127.0.0.121:53" || srv == "127.0.0.122:53" {
			t.Fatalf("a resolver at its cap got a ninth question: %v", order)
		}
	}
	// A resolver's answer frees a slot: the next question is its own.
	sq := s.queue("127.0.0.121:53")
	sq.inFlight--
	s.pending--
	s.wake(sq)
	take(1)
	if got := order[len(order)-1]; got != "127.0.0.121:53" {
		t.Errorf("after the resolver's answer the next question went to %s, want the resolver", got)
	}
	if s.peak != perServer {
		t.Errorf("peak per server %d, want %d", s.peak, perServer)
	}
	// Equal backlogs go in turn, in order of arrival.
	first, second := order[8], order[9]
	if first != "127.1.0.0:53" || second != "127.1.0.1:53" {
		t.Errorf("servers with one question each went %s, %s; want them in arrival order", first, second)
	}
}

func TestStallWaitFollowsTheAnswers(t *testing.T) {
	const maxStall = 250 * time.Millisecond
	for _, tc := range []struct {
		rtt, want time.Duration
	}{
		{0, maxStall},                                   // nothing answered yet: the full wait
		{time.Millisecond, minStall},                    // a fast city: never below minStall
		{20 * time.Millisecond, 160 * time.Millisecond}, // stallFactor × RTT
		{time.Second, maxStall},                         // a slow city: never above the cap
	} {
		if got := stallWait(tc.rtt, maxStall); got != tc.want {
			t.Errorf("stallWait(%v) = %v, want %v", tc.rtt, got, tc.want)
		}
	}
	var r atomic.Int64
	smooth(&r, 8*time.Millisecond)
	smooth(&r, 16*time.Millisecond)
	if got := time.Duration(r.Load()); got != 9*time.Millisecond {
		t.Errorf("smoothed RTT %v, want 9ms (8ms, then 1/8 of the way to 16ms)", got)
	}
}
