package probe

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
)

// benchCity plans a city of n schools, each with its own DNS server, and
// 3 city resolvers, and measures it without a network: every SRV points
// at the KMS host, every 10th school's own server is dead. It is the
// shape scripts/bench.sh audits.
func benchCity(tb testing.TB, n int) (Plan, Measurements) {
	tb.Helper()
	var y strings.Builder
	y.WriteString("version: 1\nkms: {host: kms.bench.example, port: 1688, addresses: [192.0.2.88]}\n")
	y.WriteString("resolvers: [192.0.2.121, 192.0.2.122, 192.0.2.123]\nschools:\n")
	down := map[string]bool{}
	for i := range n {
		srv := fmt.Sprintf("10.%d.%d.1:53", i/256, i%256)
		if i%10 == 9 {
			down[srv] = true
		}
		fmt.Fprintf(&y, "  - {id: s%04d, suffix: s%04d.bench.example, dns: [%s]}\n", i, i, srv)
	}
	c, err := config.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		tb.Fatal(err)
	}
	p := MakePlan(c, c.Schools, nil)
	p.HaveKMS = true
	m := Measurements{DNS: map[dnscheck.Query]dnscheck.Answer{}, KMS: map[string]Measured{}}
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	var ask func(q dnscheck.Query)
	ask = func(q dnscheck.Query) {
		if _, ok := m.DNS[q]; ok {
			return
		}
		if down[q.Server] {
			m.DNS[q] = dead(q)
			return
		}
		a := answer(q)
		a.RTT = 1200 * time.Microsecond
		switch q.Type {
		case dns.TypeSRV:
			a.Msg.Answer = append(a.Msg.Answer, rr(q.Name+" 3600 IN SRV 0 0 1688 kms.bench.example."))
		case dns.TypeA:
			a.Msg.Answer = append(a.Msg.Answer, rr(q.Name+" 3600 IN A 192.0.2.88"))
		}
		m.DNS[q] = a
		for _, f := range followUps(q, a, p.Expect) {
			ask(f)
		}
	}
	for _, q := range p.Queries {
		ask(q)
	}
	m.KMS["192.0.2.88:1688"] = Measured{Measurement: Judged{
		{Check: finding.KMSTCP, Server: "192.0.2.88:1688", Status: finding.Pass, Message: "connected", Short: "ok"},
		{Check: finding.KMSRPC, Server: "192.0.2.88:1688", Status: finding.Pass, Message: "activated", Short: "ok"},
	}}
	return p, m
}

// BenchmarkJudge1000 judges a 1,000-school city: one op is everything
// Run does after the network (the KMS targets, then Judge and Finish),
// so a regression in the judge or the evidence shows here.
func BenchmarkJudge1000(b *testing.B) { benchJudge(b, 1000) }

// BenchmarkJudge10000 is the same at the size of issue 15's profile,
// where the judge's wall time is added to every audit of the city.
func BenchmarkJudge10000(b *testing.B) { benchJudge(b, 10000) }

// BenchmarkJudgeDNS1000 and BenchmarkJudgeDNS10000 are the DNS verdicts
// alone (judgeDNS): most of the judge's CPU and allocations.
func BenchmarkJudgeDNS1000(b *testing.B)  { benchJudgeDNS(b, 1000) }
func BenchmarkJudgeDNS10000(b *testing.B) { benchJudgeDNS(b, 10000) }

func benchJudge(b *testing.B, n int) {
	p, m := benchCity(b, n)
	b.ReportAllocs()
	for b.Loop() {
		dv := judgeDNS(p, m)
		if t := dv.kmsTargets(); len(t) != 1 {
			b.Fatalf("KMS targets %v, want the one witnessed address", t)
		}
		schools, _ := judgeWith(p, m, dv)
		r := Report{Schools: schools}
		r.Finish()
		if r.Summary.Pass != n-n/10 || r.Summary.Fail != n/10 {
			b.Fatalf("summary %+v, want %d pass and %d fail (the dead servers)", r.Summary, n-n/10, n/10)
		}
	}
	b.ReportMetric(float64(n), "schools/op")
}

func benchJudgeDNS(b *testing.B, n int) {
	p, m := benchCity(b, n)
	b.ReportAllocs()
	for b.Loop() {
		if dv := judgeDNS(p, m); len(dv.schools) != n {
			b.Fatalf("%d schools judged, want %d", len(dv.schools), n)
		}
	}
	b.ReportMetric(float64(n), "schools/op")
}

// BenchmarkJudgeWith10000 is the rest of the judge at 10,000 schools:
// the KMS and clock findings and the shared infrastructure, after the
// DNS verdicts.
func BenchmarkJudgeWith10000(b *testing.B) {
	const n = 10000
	p, m := benchCity(b, n)
	dv := judgeDNS(p, m)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d := dnsVerdicts{ref: dv.ref, schools: make([]schoolDNS, len(dv.schools))}
		for i, sd := range dv.schools {
			// judgeWith appends to a school's findings in place: each
			// op gets its own, with the room judgeDNS made.
			d.schools[i] = sd
			d.schools[i].findings = append(make([]finding.Finding, 0, cap(sd.findings)), sd.findings...)
		}
		b.StartTimer()
		if schools, _ := judgeWith(p, m, d); len(schools) != n {
			b.Fatalf("%d schools, want %d", len(schools), n)
		}
	}
	b.ReportMetric(n, "schools/op")
}
