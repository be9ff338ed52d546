package dnscheck_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
)

func answer(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(q, dns.RcodeNameError)
	return m
}

// A server that answers but drops one packet: the question is asked again
// within the same attempt, long before the attempt's timeout, whether the
// server has answered before in this pass (its own round-trip time) or
// not (the fixed wait for an unknown server).
func TestLostQuestionIsAskedAgain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		warm  bool // one question answered before the lost one
		lose  int  // the packet number the server drops
		after time.Duration
	}{
		{"known server", true, 1, 100 * time.Millisecond},
		{"first question to a server", false, 0, 376 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := scriptedUDP(t, func(n int, q *dns.Msg) (*dns.Msg, time.Duration) {
				if n == tc.lose {
					return nil, 0
				}
				return answer(q), 0
			})
			const timeout = 3 * time.Second
			cl := dnscheck.Client{Timeout: timeout, Attempts: 1, Sockets: dnscheck.NewSockets()}
			defer cl.Sockets.Close()
			if tc.warm {
				if a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "warm.example.", dns.TypeA)); a.Msg == nil {
					t.Fatalf("warm-up question: %v", a.Err)
				}
			}
			a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "lost.example.", dns.TypeA))
			if a.Msg == nil || a.Resent != 1 || a.Attempts != 1 {
				t.Fatalf("msg=%v resent=%d attempts=%d err=%v; want the answer to the second copy, within attempt 1", a.Msg != nil, a.Resent, a.Attempts, a.Err)
			}
			if a.RTT < tc.after || a.RTT >= timeout {
				t.Errorf("answered after %v; want the resend at %v, well before the %v timeout", a.RTT, tc.after, timeout)
			}
		})
	}
}

// A slow server answers the first copy late and ignores the second: the
// late answer to the original is the answer; nothing is ignored, and the
// slow server is never judged by the resend.
func TestSlowServerIsAnsweredByTheOriginal(t *testing.T) {
	addr := scriptedUDP(t, func(n int, q *dns.Msg) (*dns.Msg, time.Duration) {
		if n == 0 {
			return answer(q), 700 * time.Millisecond
		}
		return nil, 0
	})
	cl := dnscheck.Client{Timeout: 3 * time.Second, Attempts: 1, Sockets: dnscheck.NewSockets()}
	defer cl.Sockets.Close()
	a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "slow.example.", dns.TypeA))
	if a.Msg == nil || a.Msg.Rcode != dns.RcodeNameError || a.Resent != 1 || a.IgnoredCount != 0 {
		t.Fatalf("msg=%v resent=%d ignored=%q err=%v; want the original's answer after one resend, nothing ignored", a.Msg != nil, a.Resent, a.Ignored, a.Err)
	}
}

// Silent servers cannot draw a second stream of questions: past the
// budget's first resendBurst resends nothing is sent twice, and a silent
// server is still a timeout after the attempts probe.attempts says.
func TestResendsAreBudgeted(t *testing.T) {
	var got atomic.Int64
	addr := scriptedUDP(t, func(n int, q *dns.Msg) (*dns.Msg, time.Duration) {
		got.Add(1)
		return nil, 0
	})
	const questions = 100
	cl := dnscheck.Client{Timeout: time.Second, Attempts: 1, Sockets: dnscheck.NewSockets()}
	defer cl.Sockets.Close()
	var wg sync.WaitGroup
	var resent atomic.Int64
	for i := range questions {
		wg.Go(func() {
			a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, fmt.Sprintf("q%d.example.", i), dns.TypeA))
			if a.Fail != dnscheck.Timeout || a.Attempts != 1 {
				t.Errorf("fail=%q attempts=%d, want a timeout after 1 attempt", a.Fail, a.Attempts)
			}
			resent.Add(int64(a.Resent))
		})
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // the last packets reach the server
	if r := resent.Load(); r != 64 || got.Load() != questions+r {
		t.Errorf("%d resends, %d packets at the server; want the budget's 64 resends and %d packets", r, got.Load(), questions+64)
	}
}

// With a short timeout no resend fits in half an attempt: every question
// is sent once per attempt, as configured.
func TestNoResendWithinAShortAttempt(t *testing.T) {
	var got atomic.Int64
	addr := scriptedUDP(t, func(n int, q *dns.Msg) (*dns.Msg, time.Duration) {
		got.Add(1)
		return nil, 0
	})
	cl := dnscheck.Client{Timeout: 500 * time.Millisecond, Attempts: 2, Sockets: dnscheck.NewSockets()}
	defer cl.Sockets.Close()
	a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "short.example.", dns.TypeA))
	time.Sleep(50 * time.Millisecond)
	if a.Resent != 0 || got.Load() != 2 {
		t.Errorf("resent=%d, %d packets; want 2 packets, one per attempt", a.Resent, got.Load())
	}
}

// A server that answers both copies: the first answer is the answer and
// the second is dropped quietly, never recorded as a stray packet.
func TestBothCopiesAnswered(t *testing.T) {
	addr := scriptedUDP(t, func(n int, q *dns.Msg) (*dns.Msg, time.Duration) {
		if n == 0 {
			return answer(q), 0 // the warm-up
		}
		if n == 1 {
			return answer(q), 1200 * time.Millisecond // the original, late
		}
		return answer(q), 0 // the resend, at once
	})
	cl := dnscheck.Client{Timeout: 3 * time.Second, Attempts: 1, Sockets: dnscheck.NewSockets()}
	defer cl.Sockets.Close()
	if a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "warm.example.", dns.TypeA)); a.Msg == nil {
		t.Fatalf("warm-up question: %v", a.Err)
	}
	a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "both.example.", dns.TypeA))
	// A later question on the same sockets sees nothing of the late copy.
	time.Sleep(1300 * time.Millisecond)
	b := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "after.example.", dns.TypeA))
	if a.Msg == nil || a.Resent != 1 || a.IgnoredCount != 0 || b.Msg == nil || b.IgnoredCount != 0 {
		t.Fatalf("first: msg=%v resent=%d ignored=%q; after: msg=%v ignored=%q", a.Msg != nil, a.Resent, a.Ignored, b.Msg != nil, b.Ignored)
	}
}
