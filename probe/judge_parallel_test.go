package probe

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
)

// mixedCity plans and measures, without a network, a city of n schools
// with every case the judge tests build by hand, spread over the schools
// so that workers judging neighbouring schools meet different ones and
// share target verdicts: own servers that are dead or absent, NXDOMAIN
// (with the SOA a negative answer carries), a city resolver with a stale
// cache, a wrong target, an alias, extra records, an unusable address, a
// target the stopped audit never asked, and one city resolver that
// answers nothing at all.
func mixedCity(tb testing.TB, n int) (Plan, Measurements) {
	tb.Helper()
	const kmsHost = "kms.mixed.example."
	var y strings.Builder
	y.WriteString("version: 1\nkms: {host: kms.mixed.example, port: 1688}\n")
	y.WriteString("resolvers: [192.0.2.21, 192.0.2.22, 192.0.2.23]\nschools:\n")
	own := map[string]int{} // a school's own server -> the school
	for i := range n {
		if i%5 == 4 {
			fmt.Fprintf(&y, "  - {id: s%03d, suffix: S%03d.Mixed.Example.}\n", i, i)
			continue
		}
		srv := fmt.Sprintf("10.%d.%d.1:53", i/256, i%256)
		own[srv] = i
		fmt.Fprintf(&y, "  - {id: s%03d, suffix: s%03d.mixed.example, dns: [%s]}\n", i, i, srv)
	}
	c, err := config.Parse("mixed.yaml", []byte(y.String()))
	if err != nil {
		tb.Fatal(err)
	}
	p := MakePlan(c, c.Schools, nil)
	p.HaveKMS = true
	school := func(name string) int {
		var i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "_vlmcs._tcp."), "s%03d.", &i); err != nil {
			return -1
		}
		return i
	}
	// srvAt answers a school's SRV question at one server: the records,
	// or the rcode when there are none.
	srvAt := func(server, name string, i int) ([]string, int) {
		isOwn := own[server] == i && server != "192.0.2.22:53"
		switch {
		case i%11 == 5:
			return nil, dns.RcodeNameError
		case server == "192.0.2.22:53" && i%13 == 6:
			return []string{name + " 120 IN SRV 0 0 1688 old.mixed.example."}, dns.RcodeSuccess
		case isOwn && i%17 == 8:
			return []string{name + " 300 IN SRV 0 0 1688 Alias.Mixed.Example."}, dns.RcodeSuccess
		case isOwn && i%19 == 2:
			return []string{name + " 300 IN SRV 0 0 1688 " + kmsHost, name + " 300 IN SRV 10 0 1689 other.mixed.example."}, dns.RcodeSuccess
		case isOwn && i%31 == 7:
			return []string{name + " 300 IN SRV 0 0 1688 wrong.mixed.example."}, dns.RcodeSuccess
		}
		return []string{name + " 300 IN SRV 0 0 1688 " + kmsHost}, dns.RcodeSuccess
	}
	// addrAt answers an A question; AAAA is NODATA everywhere.
	addrAt := func(server, name string) []string {
		switch name {
		case "old.mixed.example.", "wrong.mixed.example.":
			return []string{"198.51.100.9"}
		case "alias.mixed.example.", kmsHost:
			if i, ok := own[server]; ok && i%23 == 1 {
				return []string{"0.0.0.0"}
			}
			return []string{"203.0.113.24"}
		}
		return nil
	}
	m := Measurements{DNS: map[dnscheck.Query]dnscheck.Answer{}}
	var ask func(q dnscheck.Query)
	ask = func(q dnscheck.Query) {
		if _, ok := m.DNS[q]; ok {
			return
		}
		i, isOwn := own[q.Server]
		switch {
		case q.Server == "192.0.2.23:53", isOwn && i%7 == 3:
			m.DNS[q] = dead(q)
			return
		case isOwn && i%29 == 3 && q.Type != dns.TypeSRV:
			m.DNS[q] = dnscheck.Answer{Query: q, Fail: dnscheck.Cancelled}
			return
		}
		var a dnscheck.Answer
		switch q.Type {
		case dns.TypeSRV:
			rrs, rcode := srvAt(q.Server, q.Name, school(q.Name))
			a = answer(q, rrs...)
			a.Msg.Rcode = rcode
			if rcode == dns.RcodeNameError {
				soa, err := dns.NewRR("mixed.example. 3600 IN SOA ns.mixed.example. hostmaster.mixed.example. 1 3600 600 86400 900")
				if err != nil {
					tb.Fatal(err)
				}
				a.Msg.Ns = append(a.Msg.Ns, soa)
			}
		case dns.TypeA:
			var rrs []string
			for _, ip := range addrAt(q.Server, q.Name) {
				rrs = append(rrs, q.Name+" 300 IN A "+ip)
			}
			a = answer(q, rrs...)
		default:
			a = answer(q)
		}
		m.DNS[q] = a
		for _, f := range followUps(q, a, p.Expect) {
			ask(f)
		}
	}
	for _, q := range p.Queries {
		ask(q)
	}
	m.KMS = map[string]Measured{"203.0.113.24:1688": kmsPass("203.0.113.24:1688")}
	return p, m
}

// reportJSON is the JSON of the report Judge makes from dv.
func reportJSON(tb testing.TB, p Plan, m Measurements, dv dnsVerdicts) []byte {
	tb.Helper()
	r := Report{Schema: Schema}
	r.Schools, r.Infrastructure = judgeWith(p, m, dv)
	r.Finish()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestMixedCityHasEveryCase keeps mixedCity honest: a parallel judge
// compared with the serial one on a city of passes alone would prove
// little.
func TestMixedCityHasEveryCase(t *testing.T) {
	p, m := mixedCity(t, 300)
	schools, infra := Judge(p, m)
	seen := map[string]int{}
	for _, s := range schools {
		for _, f := range s.Findings {
			seen[f.ID]++
		}
	}
	for _, id := range []string{
		"dns.srv.ok", "dns.srv.timeout", "dns.srv.nxdomain", "dns.srv.extra", "dns.srv.other_target",
		"dns.target.ok", "dns.target.elsewhere", "dns.target.alias", "dns.target.unusable", "dns.target.stopped",
		"dns.consistency.agree", "dns.consistency.stale_one", "dns.consistency.stale",
	} {
		if seen[id] == 0 {
			t.Errorf("no finding %s in the mixed city; have %v", id, seen)
		}
	}
	if len(infra) != 1 || infra[0].Server != "192.0.2.23:53" || infra[0].Status != finding.Fail {
		t.Errorf("infrastructure = %+v, want the dead city resolver 192.0.2.23:53", infra)
	}
}

// TestParallelJudgeIsTheSerialJudge: judging a city on many goroutines
// gives the report, byte for byte, that one goroutine gives. Four
// workers even where GOMAXPROCS is 1, so -race sees them interleave.
func TestParallelJudgeIsTheSerialJudge(t *testing.T) {
	for _, n := range []int{minParallel - 1, 400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p, m := mixedCity(t, n)
			serial := reportJSON(t, p, m, judgeDNSOn(p, m, 1))
			for _, workers := range []int{2, 5} {
				if got := reportJSON(t, p, m, judgeDNSOn(p, m, workers)); !bytes.Equal(got, serial) {
					t.Fatalf("%d workers: the report differs from the serial judge's (%d and %d bytes) from byte %d",
						workers, len(got), len(serial), firstDiff(got, serial))
				}
			}
			dv1, dv4 := judgeDNSOn(p, m, 1), judgeDNSOn(p, m, 4)
			if a, b := dv1.kmsTargets(), dv4.kmsTargets(); !slices.Equal(a, b) {
				t.Fatalf("KMS targets: serial %v, parallel %v", a, b)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestForEachVisitsEveryIndexOnce: every index once, whatever the
// workers and the size around the chunk and the plain-loop threshold.
func TestForEachVisitsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, minParallel - 1, minParallel, 100, 1000, 1025} {
		for _, workers := range []int{0, 1, 2, 3, 64} {
			seen := make([]int32, n)
			forEach(n, workers, func(i int) { seen[i]++ })
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("forEach(%d, %d): index %d visited %d times", n, workers, i, c)
				}
			}
		}
	}
}
