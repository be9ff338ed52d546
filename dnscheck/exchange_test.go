package dnscheck_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/dnscheck/dnstest"
)

// TestExchangeAgainstHostileServers: one row per way a server, a
// middlebox or a spoofer can lie. The probe must take what a stub resolver
// takes (the first well-formed answer to its question, whatever came
// before it) and nothing else, and name what it ignored.
func TestExchangeAgainstHostileServers(t *testing.T) {
	good := srvLine(kmsHost, 1688)
	cases := []struct {
		name      string
		b         dnstest.Behaviour
		fail      dnscheck.FailKind // NoFailure: an answer is expected
		transport string
		ignored   string // substring of the first ignored packet; "" = none ignored
		attempts  int
	}{
		{"healthy", dnstest.Behaviour{}, dnscheck.NoFailure, "udp", "", 1},
		{"garbage with the right id, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.Garbage}}, dnscheck.NoFailure, "udp", "do not parse as DNS", 1},
		{"another qtype, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.WrongType}}, dnscheck.NoFailure, "udp", "another question", 1},
		{"another name, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.WrongName}}, dnscheck.NoFailure, "udp", "another question", 1},
		{"QR unset, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.NoQR}}, dnscheck.NoFailure, "udp", "QR bit unset", 1},
		{"NOERROR without question, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.NoQuestion}}, dnscheck.NoFailure, "udp", "no question section", 1},
		{"wrong id, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.WrongID}}, dnscheck.NoFailure, "udp", "with id", 1},
		{"three kinds of junk, then the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.WrongID, dnstest.Garbage, dnstest.WrongType}}, dnscheck.NoFailure, "udp", "with id", 1},
		{"only a wrong id", dnstest.Behaviour{Kind: dnstest.WrongID}, dnscheck.MismatchedID, "udp", "with id", 2},
		{"only QR unset", dnstest.Behaviour{Kind: dnstest.NoQR}, dnscheck.Mismatch, "udp", "QR bit unset", 2},
		{"only NOERROR without question", dnstest.Behaviour{Kind: dnstest.NoQuestion}, dnscheck.Mismatch, "udp", "NOERROR answer with no question section", 2},
		{"only another qtype", dnstest.Behaviour{Kind: dnstest.WrongType}, dnscheck.Mismatch, "udp", "(_vlmcs._tcp.school.example. IN A)", 2},
		{"only garbage", dnstest.Behaviour{Kind: dnstest.Garbage}, dnscheck.Malformed, "udp", "do not parse", 2},
		{"silence", dnstest.Behaviour{Kind: dnstest.Silent}, dnscheck.Timeout, "udp", "", 2},
		{"REFUSED", dnstest.Behaviour{Kind: dnstest.Refused}, dnscheck.NoFailure, "udp", "", 1},
		{"SERVFAIL", dnstest.Behaviour{Kind: dnstest.ServFail}, dnscheck.NoFailure, "udp", "", 1},
		{"TC over UDP, full over TCP", dnstest.Behaviour{Kind: dnstest.TruncateUDP}, dnscheck.NoFailure, "tcp", "", 2},
		{"TC over TCP too", dnstest.Behaviour{Kind: dnstest.TruncateAll}, dnscheck.TruncatedTCP, "tcp", "", 2},
		{"junk before the TCP answer", dnstest.Behaviour{Kind: dnstest.TruncateUDP, Before: []dnstest.Kind{dnstest.WrongType}}, dnscheck.NoFailure, "tcp", "udp: an answer to another question", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dnstest.Start(t, tc.b, good)
			a := askAt(s.Addr, dnscheck.SRVName(suffix), dns.TypeSRV)
			if a.Fail != tc.fail {
				t.Fatalf("Fail = %q (%v), want %q", a.Fail, a.Err, tc.fail)
			}
			if (a.Msg != nil) != (tc.fail == dnscheck.NoFailure) {
				t.Fatalf("Msg present = %v with Fail %q", a.Msg != nil, a.Fail)
			}
			if a.Transport != tc.transport || a.Attempts != tc.attempts {
				t.Errorf("transport/attempts = %s/%d, want %s/%d", a.Transport, a.Attempts, tc.transport, tc.attempts)
			}
			switch {
			case tc.ignored == "" && a.IgnoredCount != 0:
				t.Errorf("ignored %v, want none", a.Ignored)
			case tc.ignored != "" && (len(a.Ignored) == 0 || !strings.Contains(a.Ignored[0], tc.ignored)):
				t.Errorf("ignored %q, want the first to mention %q", a.Ignored, tc.ignored)
			}
			if tc.fail == dnscheck.NoFailure && a.Msg.Rcode == dns.RcodeSuccess {
				if n := len(dnscheck.SRVRecords(a)); n != 1 {
					t.Errorf("%d SRV records, want the server's 1", n)
				}
			}
		})
	}
}

func askAt(addr, name string, qtype uint16) dnscheck.Answer {
	return client.Exchange(context.Background(), dnscheck.NewQuery(addr, name, qtype))
}

// TestJunkDoesNotCostAnAttempt: a wrong packet before the answer must not
// make the probe give up the attempt (it used to fail both attempts when
// the junk came first every time).
func TestJunkDoesNotCostAnAttempt(t *testing.T) {
	s := dnstest.Start(t, dnstest.Behaviour{Before: []dnstest.Kind{dnstest.Garbage, dnstest.WrongType}}, srvLine(kmsHost, 1688))
	cl := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 1}
	a := cl.Exchange(context.Background(), dnscheck.NewQuery(s.Addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	if a.Msg == nil || a.Attempts != 1 || a.IgnoredCount != 2 {
		t.Fatalf("msg=%v attempts=%d ignored=%v (%v)", a.Msg != nil, a.Attempts, a.Ignored, a.Err)
	}
	// The answer came right after the junk: no waiting out the deadline.
	if a.RTT > time.Second {
		t.Errorf("RTT %v: the probe waited after the answer arrived", a.RTT)
	}
}

// TestManyTargetsComeOverTCP: 1,700 SRV records do not fit UDP; the
// server truncates and the TCP answer carries them all.
func TestManyTargetsComeOverTCP(t *testing.T) {
	var zone []string
	for i := range 1700 {
		zone = append(zone, srvLine(fmt.Sprintf("t%d.example", i), 1688))
	}
	s := dnstest.Start(t, dnstest.Behaviour{}, zone...)
	a := client.Exchange(context.Background(), dnscheck.NewQuery(s.Addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	if a.Msg == nil || a.Transport != "tcp" || !a.Truncated || len(dnscheck.SRVRecords(a)) != 1700 {
		t.Fatalf("fail=%q transport=%s truncated=%v records=%d", a.Fail, a.Transport, a.Truncated, len(dnscheck.SRVRecords(a)))
	}
}
