package dnscheck_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/dnscheck/dnstest"
	"github.com/kh-edu/kmsprobe/finding"
)

// BenchmarkJudgeSRV measures the pure judge on the answers an audit sees
// most: a correct record, a set with extra records, an NXDOMAIN and a
// timeout. It needs no network; the judge runs once per school and server,
// so a 1,000-school audit calls it about 4,000 times.
func BenchmarkJudgeSRV(b *testing.B) {
	exp := dnscheck.Expect{Host: "kms.example.edu.tw", Port: 1688}
	const suffix = "demo-jh.kh.edu.tw"
	q := dnscheck.NewQuery("127.0.0.1:53", dnscheck.SRVName(suffix), dns.TypeSRV)
	answer := func(rcode int, lines ...string) dnscheck.Answer {
		m := new(dns.Msg)
		m.SetQuestion(q.Name, q.Type)
		m.Response, m.Rcode = true, rcode
		for _, l := range lines {
			rr, err := dns.NewRR(l)
			if err != nil {
				b.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		return dnscheck.Answer{Query: q, Msg: m, RTT: 1200 * time.Microsecond, Transport: "udp", Attempts: 1}
	}
	srv := func(prio, port int, target string) string {
		return fmt.Sprintf("%s 3600 IN SRV %d 0 %d %s.", q.Name, prio, port, target)
	}
	for _, tc := range []struct {
		name string
		a    dnscheck.Answer
		want finding.Status
	}{
		{"pass", answer(dns.RcodeSuccess, srv(0, 1688, "kms.example.edu.tw")), finding.Pass},
		{"extra", answer(dns.RcodeSuccess, srv(0, 1688, "kms.example.edu.tw"), srv(10, 1688, "kms-old.kh.edu.tw"), srv(20, 1689, "kms.example.edu.tw")), finding.Warn},
		{"nxdomain", answer(dns.RcodeNameError), finding.Fail},
		{"timeout", dnscheck.Answer{Query: q, Fail: dnscheck.Timeout, Attempts: 2, Transport: "udp"}, finding.Fail},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if f := dnscheck.JudgeSRV(tc.a, suffix, exp, dnscheck.SchoolDNS, 2*time.Second); f.Status != tc.want {
				b.Fatalf("status %s, want %s: %s", f.Status, tc.want, f.Message)
			}
			b.ReportAllocs()
			for b.Loop() {
				dnscheck.JudgeSRV(tc.a, suffix, exp, dnscheck.SchoolDNS, 2*time.Second)
			}
		})
	}
}

// BenchmarkExchange measures one UDP exchange with a loopback server: the
// hot path of an audit (a city audit makes thousands).
func BenchmarkExchange(b *testing.B) {
	s := dnstest.Start(b, dnstest.Behaviour{}, "_vlmcs._tcp.demo-jh.kh.edu.tw. 300 IN SRV 0 0 1688 kms.example.edu.tw.")
	cl := dnscheck.Client{Timeout: 2 * time.Second, Attempts: 1}
	q := dnscheck.NewQuery(s.Addr, dnscheck.SRVName("demo-jh.kh.edu.tw"), dns.TypeSRV)
	b.ReportAllocs()
	for b.Loop() {
		if a := cl.Exchange(b.Context(), q); a.Msg == nil {
			b.Fatalf("no answer: %v", a.Err)
		}
	}
}
