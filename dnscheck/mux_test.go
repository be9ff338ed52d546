package dnscheck_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/internal/testenv"
)

// scriptedUDP runs a raw UDP server on 127.0.0.1 whose reply to each
// question is decided by reply (nil: no reply; delay: when to send it).
func scriptedUDP(t *testing.T, reply func(n int, q *dns.Msg) (m *dns.Msg, delay time.Duration)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for n := 0; ; n++ {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:k]) != nil {
				continue
			}
			m, delay := reply(n, q)
			if m == nil {
				continue
			}
			b, err := m.Pack()
			if err != nil {
				panic(err)
			}
			time.AfterFunc(delay, func() { _, _ = pc.WriteTo(b, from) })
		}
	}()
	return pc.LocalAddr().String()
}

// TestLateAnswerIsNotAMismatchedID: the answer to the first attempt
// arrives after its deadline, while the second attempt waits on a shared
// socket. It is not the second attempt's answer (another id) and not a
// mismatched id either: the server is slow, and a slow server that never
// answers in time is a timeout.
func TestLateAnswerIsNotAMismatchedID(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := scriptedUDP(t, func(n int, q *dns.Msg) (*dns.Msg, time.Duration) {
		if n > 0 {
			return nil, 0
		}
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		return m, timeout + timeout/2
	})
	// One socket: both attempts wait on it, so the late answer reaches
	// the second one's socket.
	cl := dnscheck.Client{Timeout: timeout, Attempts: 2, Sockets: dnscheck.NewSocketsN(1)}
	defer cl.Sockets.Close()
	a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "slow.example.", dns.TypeA))
	if a.Fail != dnscheck.Timeout || a.IgnoredCount != 0 || a.Attempts != 2 {
		t.Fatalf("fail=%q attempts=%d ignored=%q (%v), want a timeout after 2 attempts with nothing ignored", a.Fail, a.Attempts, a.Ignored, a.Err)
	}
}

// TestWrongIDIsChargedToTheQuestionItRepeats: many questions wait on the
// same server over shared sockets; the server answers one of them with
// another id. Only that question sees it (mismatched id); the others
// get their answers with nothing ignored.
func TestWrongIDIsChargedToTheQuestionItRepeats(t *testing.T) {
	addr := scriptedUDP(t, func(_ int, q *dns.Msg) (*dns.Msg, time.Duration) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		if q.Question[0].Name == "bad.example." {
			m.Id = q.Id + 1
		}
		return m, 20 * time.Millisecond // so the questions overlap
	})
	cl := dnscheck.Client{Timeout: 500 * time.Millisecond, Attempts: 1, Sockets: dnscheck.NewSocketsN(1)}
	defer cl.Sockets.Close()
	names := []string{"bad.example."}
	// 15 others: the wrong id (asked id + 1) is someone else's id on the
	// shared socket with a chance of 15 in 65,536.
	for i := range 15 {
		names = append(names, fmt.Sprintf("good%d.example.", i))
	}
	answers := make([]dnscheck.Answer, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { answers[i] = cl.Exchange(context.Background(), dnscheck.NewQuery(addr, n, dns.TypeA)) })
	}
	wg.Wait()
	for i, a := range answers {
		switch {
		case i == 0 && (a.Fail != dnscheck.MismatchedID || a.IgnoredCount != 1):
			t.Errorf("%s: fail=%q ignored=%q, want mismatched-id with the one packet", names[i], a.Fail, a.Ignored)
		case i > 0 && (a.Rcode() != dns.RcodeNameError || a.IgnoredCount != 0):
			t.Errorf("%s: fail=%q rcode=%d ignored=%q, want its NXDOMAIN and nothing ignored", names[i], a.Fail, a.Rcode(), a.Ignored)
		}
	}
}

// TestClosedPortBesideHealthyServers: an ICMP port unreachable on a
// shared socket fails the question it was about at once, and only that
// one; questions to a healthy server on the same sockets are answered.
func TestClosedPortBesideHealthyServers(t *testing.T) {
	healthy := scriptedUDP(t, func(_ int, q *dns.Msg) (*dns.Msg, time.Duration) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		return m, 10 * time.Millisecond
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	cl := dnscheck.Client{Timeout: 3 * time.Second, Attempts: 2, Sockets: dnscheck.NewSockets()}
	defer cl.Sockets.Close()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			server := healthy
			if i%4 == 0 {
				server = closed
			}
			a := cl.Exchange(context.Background(), dnscheck.NewQuery(server, fmt.Sprintf("q%d.example.", i), dns.TypeA))
			switch {
			case server == closed && (a.Fail != dnscheck.PortClosed || a.RTT > time.Second):
				t.Errorf("closed port: fail=%q after %v (%v), want port-closed at once", a.Fail, a.RTT, a.Err)
			case server == healthy && a.Rcode() != dns.RcodeNameError:
				t.Errorf("healthy server: fail=%q (%v)", a.Fail, a.Err)
			}
		})
	}
	wg.Wait()
}

// TestAnswerKeepsWhatIsJudged: a stored answer keeps its answer section
// and the SOA a negative answer's caching time is read from; the OPT
// record and referral records are not kept.
func TestAnswerKeepsWhatIsJudged(t *testing.T) {
	addr := scriptedUDP(t, func(_ int, q *dns.Msg) (*dns.Msg, time.Duration) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, l := range []string{
			"example. 300 IN NS ns1.example.",
			"example. 300 IN SOA ns1.example. admin.example. 1 3600 600 86400 120",
		} {
			rr, _ := dns.NewRR(l)
			m.Ns = append(m.Ns, rr)
		}
		glue, _ := dns.NewRR("ns1.example. 300 IN A 192.0.2.1")
		m.Extra = append(m.Extra, glue)
		m.SetEdns0(1232, false)
		return m, 0
	})
	a := client.Exchange(context.Background(), dnscheck.NewQuery(addr, "nodata.example.", dns.TypeAAAA))
	if a.Msg == nil {
		t.Fatalf("no answer: %s (%v)", a.Fail, a.Err)
	}
	if len(a.Msg.Ns) != 1 || a.Msg.Ns[0].Header().Rrtype != dns.TypeSOA || len(a.Msg.Extra) != 0 {
		t.Errorf("kept authority %v and additional %v, want the SOA only", a.Msg.Ns, a.Msg.Extra)
	}
	full := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 1, FullAnswers: true}
	a = full.Exchange(context.Background(), dnscheck.NewQuery(addr, "nodata.example.", dns.TypeAAAA))
	if a.Msg == nil || len(a.Msg.Ns) != 2 || len(a.Msg.Extra) != 2 || len(a.Msg.Question) != 1 { // glue and OPT
		t.Errorf("FullAnswers kept question %v, authority %v, additional %v, want all of them", a.Msg.Question, a.Msg.Ns, a.Msg.Extra)
	}
}

// TestSharedSocketsIPv6: a server on ::1 is asked over the IPv6 socket,
// and a closed port there is told from silence too.
func TestSharedSocketsIPv6(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("IPv6 loopback (::1): %v", err))
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	cl := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 1, Sockets: dnscheck.NewSockets()}
	defer cl.Sockets.Close()
	a := cl.Exchange(context.Background(), dnscheck.NewQuery(closed, "v6.example.", dns.TypeA))
	if a.Fail != dnscheck.PortClosed || a.RTT > time.Second {
		t.Errorf("closed port on ::1: fail=%q after %v (%v), want port-closed at once", a.Fail, a.RTT, a.Err)
	}
	pc6, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc6.Close()
	go func() {
		buf := make([]byte, 1500)
		n, from, err := pc6.ReadFrom(buf)
		if err != nil {
			return
		}
		q := new(dns.Msg)
		if q.Unpack(buf[:n]) != nil {
			return
		}
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		b, _ := m.Pack()
		_, _ = pc6.WriteTo(b, from)
	}()
	a = cl.Exchange(context.Background(), dnscheck.NewQuery(pc6.LocalAddr().String(), "v6.example.", dns.TypeA))
	if a.Rcode() != dns.RcodeNameError {
		t.Errorf("server on ::1: fail=%q (%v), want its NXDOMAIN", a.Fail, a.Err)
	}
}

// TestFailureWords: a refused port and a silent server read as a socket
// error always did, and classify still tells them apart.
func TestFailureWords(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()
	silent := scriptedUDP(t, func(int, *dns.Msg) (*dns.Msg, time.Duration) { return nil, 0 })
	cl := dnscheck.Client{Timeout: 200 * time.Millisecond, Attempts: 1}
	for _, tc := range []struct {
		server string
		fail   dnscheck.FailKind
		words  string
	}{
		{closed, dnscheck.PortClosed, "->" + closed + ": read: connection refused"},
		{silent, dnscheck.Timeout, "->" + silent + ": i/o timeout"},
	} {
		a := cl.Exchange(context.Background(), dnscheck.NewQuery(tc.server, "w.example.", dns.TypeA))
		if a.Fail != tc.fail || a.Err == nil || !strings.HasPrefix(a.Err.Error(), "read udp ") || !strings.HasSuffix(a.Err.Error(), tc.words) {
			t.Errorf("%s: fail=%q err=%v, want %q ending in %q", tc.server, a.Fail, a.Err, tc.fail, tc.words)
		}
	}
}

// TestNoRecursionClearsRD: a PC's question asks for recursion; one to an
// authoritative server about its own zone does not.
func TestNoRecursionClearsRD(t *testing.T) {
	rd := make(chan bool, 2)
	addr := scriptedUDP(t, func(_ int, q *dns.Msg) (*dns.Msg, time.Duration) {
		rd <- q.RecursionDesired
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		return m, 0
	})
	for _, no := range []bool{false, true} {
		cl := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 1, NoRecursion: no}
		if a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, "rd.example.", dns.TypeSOA)); a.Rcode() != dns.RcodeNameError {
			t.Fatalf("NoRecursion %v: %s (%v)", no, a.Fail, a.Err)
		}
		if got := <-rd; got == no {
			t.Errorf("NoRecursion %v: the server saw RD %v", no, got)
		}
	}
}
