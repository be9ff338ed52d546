package dnscheck_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
)

const (
	suffix  = "school.example"
	kmsHost = "kms.example"
	kmsIP   = "127.0.0.88"
)

var exp = dnscheck.Expect{Host: kmsHost, Port: 1688}

func srvLine(target string, port int) string {
	return "_vlmcs._tcp.school.example. 300 IN SRV 0 0 " + strconv.Itoa(port) + " " + target + "."
}

func start(t *testing.T, fault sim.Fault, lines ...string) *sim.Server {
	t.Helper()
	s, err := sim.Listen("127.0.0.1", sim.Records{}.Add(lines...), fault)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

var client = dnscheck.Client{Timeout: 300 * time.Millisecond, Attempts: 2}

func ask(t *testing.T, s *sim.Server, name string, qtype uint16) dnscheck.Answer {
	t.Helper()
	return client.Exchange(context.Background(), dnscheck.NewQuery(s.Addr, name, qtype))
}

// TestJudgeSRV has one case per cell of the dns.srv row of DESIGN.md §4,
// each measured against a real (in-process) DNS server.
func TestJudgeSRV(t *testing.T) {
	hostA := kmsHost + ". 300 IN A " + kmsIP
	cases := []struct {
		name      string
		fault     sim.Fault
		records   []string
		status    finding.Status
		short     string
		msg       string // substring of the message
		transport string
	}{
		{"pass: expected target and port", sim.Healthy, []string{srvLine(kmsHost, 1688), hostA}, finding.Pass, "ok", "-> kms.example port 1688", "udp"},
		{"pass: target case and dot do not matter", sim.Healthy, []string{srvLine("KMS.Example", 1688)}, finding.Pass, "ok", "", "udp"},
		{"warn: right port, other target", sim.Healthy, []string{srvLine("alias.example", 1688)}, finding.Warn, "other target", "points at alias.example", "udp"},
		{"warn: extra record to another target", sim.Healthy, []string{srvLine(kmsHost, 1688), srvLine("old.example", 1688)}, finding.Warn, "extra records", "1 extra (old.example:1688)", "udp"},
		{"warn: extra record to another port", sim.Healthy, []string{srvLine(kmsHost, 1688), srvLine(kmsHost, 1689)}, finding.Warn, "extra records", "kms.example:1689", "udp"},
		{"fail: NXDOMAIN", sim.Healthy, []string{hostA}, finding.Fail, "NXDOMAIN", "NXDOMAIN for _vlmcs._tcp.school.example", "udp"},
		{"fail: NODATA", sim.Healthy, []string{"_vlmcs._tcp.school.example. 300 IN TXT \"x\""}, finding.Fail, "NODATA", "has no SRV record", "udp"},
		{"fail: no record with the expected port", sim.Healthy, []string{srvLine(kmsHost, 1689)}, finding.Fail, "wrong port", "no record with port 1688 (found kms.example:1689)", "udp"},
		{"fail: REFUSED", sim.Refuse, nil, finding.Fail, "REFUSED", "REFUSED", "udp"},
		{"fail: SERVFAIL", sim.ServFail, nil, finding.Fail, "SERVFAIL", "SERVFAIL", "udp"},
		{"fail: timeout", sim.Dead, nil, finding.Fail, "timeout", "did not answer in 2 attempt(s)", "udp"},
		{"pass: truncated over UDP, complete over TCP", sim.TruncateUDP, []string{srvLine(kmsHost, 1688)}, finding.Pass, "ok", "", "tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.fault, tc.records...)
			a := ask(t, s, dnscheck.SRVName(suffix), dns.TypeSRV)
			f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, 300*time.Millisecond)
			if f.Status != tc.status || f.Short != tc.short {
				t.Fatalf("got %s %q (%s), want %s %q", f.Status, f.Short, f.Message, tc.status, tc.short)
			}
			if !strings.Contains(f.Message, tc.msg) {
				t.Errorf("message %q lacks %q", f.Message, tc.msg)
			}
			if f.Check != finding.DNSSRV || f.Server != s.Addr {
				t.Errorf("check/server = %s/%s", f.Check, f.Server)
			}
			if got := f.Evidence.Value("transport"); got != tc.transport {
				t.Errorf("transport = %v, want %s", got, tc.transport)
			}
			if tc.status != finding.Pass && f.Remedy == "" {
				t.Errorf("a %s has no remedy", tc.status)
			}
		})
	}
}

func TestTimeoutIsToldApartFromClosedPort(t *testing.T) {
	// A UDP port with nothing behind it answers with ICMP port
	// unreachable: that is not a timeout, and the admin's fix differs.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	a := client.Exchange(context.Background(), dnscheck.NewQuery(addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, 300*time.Millisecond)
	if f.Status != finding.Fail || f.Short != "port-closed" || !strings.Contains(f.Message, "no DNS service") {
		t.Fatalf("got %s %q: %s", f.Status, f.Short, f.Message)
	}
	if strings.Contains(f.Message, "timeout") {
		t.Errorf("closed port worded as a timeout: %s", f.Message)
	}
}

func TestTruncatedAndTCPFails(t *testing.T) {
	// A server that sets TC over UDP but has no TCP: the PC cannot get the
	// answer either.
	addr := scripted(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Truncated = true
		_ = w.WriteMsg(m)
	})
	a := client.Exchange(context.Background(), dnscheck.NewQuery(addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, 300*time.Millisecond)
	if f.Status != finding.Fail || !strings.HasPrefix(f.Short, "TC, TCP") || !strings.Contains(f.Message, "truncated") {
		t.Fatalf("got %s %q: %s", f.Status, f.Short, f.Message)
	}
	if f.Evidence.Value("truncated_udp") != true || f.Evidence.Value("transport") != "tcp" {
		t.Errorf("evidence = %v", f.Evidence)
	}
	if _, port, _ := net.SplitHostPort(addr); !strings.Contains(f.Remedy, "TCP port "+port+" ") {
		t.Errorf("remedy = %q", f.Remedy)
	}
}

func TestAnswerToAnotherQuestionIsRejected(t *testing.T) {
	addr := scripted(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Question[0].Name = "other.example."
		_ = w.WriteMsg(m)
	})
	a := client.Exchange(context.Background(), dnscheck.NewQuery(addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	if a.Fail != dnscheck.Mismatch || a.Attempts != 2 {
		t.Fatalf("fail = %q after %d attempts, want mismatch after 2", a.Fail, a.Attempts)
	}
	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, 300*time.Millisecond)
	if f.Status != finding.Fail || !strings.Contains(f.Message, "different question") {
		t.Fatalf("got %s: %s", f.Status, f.Message)
	}
}

func TestCancelledIsUnknownNotFail(t *testing.T) {
	s := start(t, sim.Dead)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := client.Exchange(ctx, dnscheck.NewQuery(s.Addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, 300*time.Millisecond)
	if f.Status != finding.Unknown {
		t.Fatalf("a stopped audit must not blame the server: got %s %s", f.Status, f.Message)
	}
}

// TestJudgeTarget covers the dns.target row: each SRV target resolved
// through the same server, compared with the KMS host's addresses.
func TestJudgeTarget(t *testing.T) {
	s := start(t, sim.Healthy,
		kmsHost+". 300 IN A "+kmsIP,
		kmsHost+". 300 IN AAAA ::1",
		"alias.example. 300 IN A "+kmsIP,
		"elsewhere.example. 300 IN A 127.0.0.99",
		"noaddr.example. 300 IN TXT \"no address\"",
		"pub.example. 300 IN A 192.0.2.10", // documentation address: only ever text here
	)
	ref := []net.IP{net.ParseIP(kmsIP), net.ParseIP("::1")}
	cases := []struct {
		target string
		ref    []net.IP
		status finding.Status
		short  string
		msg    string
	}{
		{kmsHost, ref, finding.Pass, "ok", "kms.example -> 127.0.0.88, ::1"},
		{"alias.example", ref, finding.Warn, "alias", "another name for the KMS host"},
		{"elsewhere.example", ref, finding.Fail, "elsewhere", "127.0.0.99 is not the KMS host"},
		{"noaddr.example", ref, finding.Fail, "no address", "no A or AAAA record"},
		{"gone.example", ref, finding.Fail, "dangling", "NXDOMAIN"},
		// Without a witness, nothing says the KMS host lives on loopback:
		// a loopback answer is then no address a PC could use.
		{kmsHost, nil, finding.Fail, "unusable address", "kms.example resolves to 127.0.0.88, ::1"},
		{"pub.example", nil, finding.Warn, "unverified", "cannot be compared"},
	}
	for _, tc := range cases {
		t.Run(tc.target+"/"+tc.short, func(t *testing.T) {
			a4 := ask(t, s, tc.target, dns.TypeA)
			a6 := ask(t, s, tc.target, dns.TypeAAAA)
			f := dnscheck.JudgeTarget(s.Addr, tc.target, a4, a6, exp, tc.ref)
			if f.Status != tc.status || f.Short != tc.short || !strings.Contains(f.Message, tc.msg) {
				t.Fatalf("got %s %q %q, want %s %q ~%q", f.Status, f.Short, f.Message, tc.status, tc.short, tc.msg)
			}
			if f.Check != finding.DNSTarget {
				t.Errorf("check = %s", f.Check)
			}
		})
	}
}

// TestJudgeTargetWrongAddressForKMSHost: a school server with a stale
// override for the KMS host's own name is named as the culprit.
func TestJudgeTargetWrongAddressForKMSHost(t *testing.T) {
	s := start(t, sim.Healthy, kmsHost+". 300 IN A 127.0.0.77")
	f := dnscheck.JudgeTarget(s.Addr, kmsHost, ask(t, s, kmsHost, dns.TypeA), ask(t, s, kmsHost, dns.TypeAAAA), exp, []net.IP{net.ParseIP(kmsIP)})
	if f.Status != finding.Fail || !strings.Contains(f.Remedy, "remove the local override") {
		t.Fatalf("got %s %q remedy %q", f.Status, f.Message, f.Remedy)
	}
}

func TestSRVRemedyHasZoneLineAndWindowsCmdlet(t *testing.T) {
	got := dnscheck.SRVRemedy("Demo-JH.kh.edu.tw.", dnscheck.Expect{Host: "ap24.kh.edu.tw", Port: 1688}, dnscheck.SchoolDNS)
	for _, want := range []string{
		"_vlmcs._tcp.demo-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 ap24.kh.edu.tw.",                                                                              // text only: nothing is sent
		`Add-DnsServerResourceRecord -ZoneName "demo-jh.kh.edu.tw" -Srv -Name "_vlmcs._tcp" -DomainName "ap24.kh.edu.tw" -Priority 0 -Weight 0 -Port 1688`, // text only
	} {
		if !strings.Contains(got, want) {
			t.Errorf("remedy %q\nlacks %q", got, want)
		}
	}
}

// TestRefusalWithoutQuestion: unbound's access-control "refuse" answers
// REFUSED with an empty question section; that is a refusal, not spoofing.
func TestRefusalWithoutQuestion(t *testing.T) {
	addr := scripted(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeRefused)
		m.Question = nil
		_ = w.WriteMsg(m)
	})
	a := client.Exchange(context.Background(), dnscheck.NewQuery(addr, dnscheck.SRVName(suffix), dns.TypeSRV))
	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, 300*time.Millisecond)
	if f.Status != finding.Fail || f.Short != "REFUSED" || f.Evidence.Value("rcode") != "REFUSED" {
		t.Fatalf("got %s %q %v: %s", f.Status, f.Short, f.Evidence, f.Message)
	}
}

// scripted starts a UDP-only DNS server on 127.0.0.1 that answers with
// handle (its own handler, never the global mux) and returns its address.
func scripted(t *testing.T, handle dns.HandlerFunc) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: handle}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
