package probe

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
)

// The judge is pure: these cases build answers by hand and never touch
// the network.

func planOf(t *testing.T, y string) Plan {
	t.Helper()
	c, err := config.Parse("judge.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	p := MakePlan(c, c.Schools, nil)
	p.HaveKMS = true
	return p
}

func answer(q dnscheck.Query, rrs ...string) dnscheck.Answer {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	m.Response = true
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	return dnscheck.Answer{Query: q, Msg: m, Transport: "udp", Attempts: 1}
}

func dead(q dnscheck.Query) dnscheck.Answer {
	return dnscheck.Answer{Query: q, Fail: dnscheck.Timeout, Attempts: 2}
}

// world answers every planned question and its follow-ups: SRV with
// srvTarget, addresses from addrs per name; servers in down time out.
type world struct {
	srv   map[string]string   // suffix -> SRV rdata owner target
	addrs map[string][]string // name -> addresses
	down  map[string]bool
}

func (w world) measure(p Plan) Measurements {
	m := Measurements{DNS: map[dnscheck.Query]dnscheck.Answer{}}
	var ask func(q dnscheck.Query)
	ask = func(q dnscheck.Query) {
		if _, ok := m.DNS[q]; ok {
			return
		}
		if w.down[q.Server] {
			m.DNS[q] = dead(q)
			return
		}
		var rrs []string
		switch q.Type {
		case dns.TypeSRV:
			for sfx, target := range w.srv {
				if dnscheck.SRVName(sfx) == q.Name {
					rrs = append(rrs, q.Name+" 300 IN SRV 0 0 1688 "+target)
				}
			}
		case dns.TypeA, dns.TypeAAAA:
			for _, a := range w.addrs[q.Name] {
				ip := net.ParseIP(a)
				if (ip.To4() != nil) == (q.Type == dns.TypeA) {
					typ := "A"
					if q.Type == dns.TypeAAAA {
						typ = "AAAA"
					}
					rrs = append(rrs, q.Name+" 300 IN "+typ+" "+a)
				}
			}
		}
		m.DNS[q] = answer(q, rrs...)
		for _, f := range followUps(q, m.DNS[q], p.Expect) {
			ask(f)
		}
	}
	for _, q := range p.Queries {
		ask(q)
	}
	return m
}

func find(fs []finding.Finding, check, server string) (finding.Finding, bool) {
	i := slices.IndexFunc(fs, func(f finding.Finding) bool { return f.Check == check && f.Server == server })
	if i < 0 {
		return finding.Finding{}, false
	}
	return fs[i], true
}

const twoSchools = `version: 1
kms: {host: kms.example, port: 1688}
resolvers: [192.0.2.21, 192.0.2.22]
schools:
  - {id: a, suffix: a.example, dns: [198.51.100.1]}
  - {id: b, suffix: b.example}
`

func healthy() world {
	return world{
		srv:   map[string]string{"a.example": "kms.example.", "b.example": "kms.example."},
		addrs: map[string][]string{"kms.example.": {"203.0.113.24"}},
		down:  map[string]bool{},
	}
}

func kmsPass(addr string) Measured {
	return Measured{Measurement: Judged{
		{Check: finding.KMSTCP, Server: addr, Status: finding.Pass},
		{Check: finding.KMSRPC, Server: addr, Status: finding.Pass},
	}}
}

func TestJudgeDeadCityResolverIsReportedOnce(t *testing.T) {
	p := planOf(t, twoSchools)
	w := healthy()
	w.down["192.0.2.21:53"] = true
	m := w.measure(p)
	m.KMS = map[string]Measured{"203.0.113.24:1688": kmsPass("203.0.113.24:1688")}
	schools, infra := Judge(p, m)

	if len(infra) != 1 || infra[0].Server != "192.0.2.21:53" || infra[0].Status != finding.Fail || infra[0].Affects != 2 {
		t.Fatalf("infrastructure = %+v, want one failing entry for 192.0.2.21:53 affecting 2 schools", infra)
	}
	if infra[0].Remedy == "" {
		t.Error("the infrastructure entry carries the remedy for the city's operators")
	}
	for _, s := range schools {
		f, ok := find(s.Findings, finding.DNSSRV, "192.0.2.21:53")
		if !ok {
			t.Fatalf("%s: no dns.srv finding for the dead resolver", s.ID)
		}
		// Each school still has a working server, so the shared fault
		// is a warning there, pointing at the one remedy.
		if f.Status != finding.Warn || f.DependsOn != "dns.srv@192.0.2.21:53" || f.Remedy != "" {
			t.Errorf("%s: %+v, want warn, depends_on the resolver, no remedy of its own", s.ID, f)
		}
	}
}

func TestJudgeSchoolWithNoWorkingPathFails(t *testing.T) {
	p := planOf(t, twoSchools)
	w := healthy()
	w.down["192.0.2.21:53"] = true
	w.down["192.0.2.22:53"] = true
	m := w.measure(p)
	schools, infra := Judge(p, m)
	if len(infra) != 2 {
		t.Fatalf("infrastructure = %+v, want both resolvers", infra)
	}
	b := schools[1]
	for _, r := range []string{"192.0.2.21:53", "192.0.2.22:53"} {
		f, _ := find(b.Findings, finding.DNSSRV, r)
		if f.Status != finding.Fail || f.DependsOn == "" {
			t.Errorf("school b at %s: %+v, want fail (no working path) with depends_on", r, f)
		}
	}
	if finding.Worst(b.Findings) != finding.Fail {
		t.Errorf("school b = %s, want fail", finding.Worst(b.Findings))
	}
}

func TestJudgeOneSchoolsRecordIsNotInfrastructure(t *testing.T) {
	p := planOf(t, twoSchools)
	w := healthy()
	delete(w.srv, "b.example") // NXDOMAIN-ish: no record for b anywhere
	m := w.measure(p)
	m.KMS = map[string]Measured{"203.0.113.24:1688": kmsPass("203.0.113.24:1688")}
	schools, infra := Judge(p, m)
	if len(infra) != 0 {
		t.Errorf("infrastructure = %+v, want none: the resolvers answer, b's record is missing", infra)
	}
	f, _ := find(schools[1].Findings, finding.DNSSRV, "192.0.2.21:53")
	if f.Status != finding.Fail || f.DependsOn != "" || f.Remedy == "" {
		t.Errorf("b at resolver: %+v, want the school's own fail with its remedy", f)
	}
}

func TestJudgeKMSHostDown(t *testing.T) {
	p := planOf(t, twoSchools)
	m := healthy().measure(p)
	addr := "203.0.113.24:1688"
	m.KMS = map[string]Measured{addr: {Measurement: Judged{
		{Check: finding.KMSTCP, Server: addr, Status: finding.Fail, Short: "refused", Remedy: "start the KMS service"},
		{Check: finding.KMSRPC, Server: addr, Status: finding.Skip},
	}}}
	schools, infra := Judge(p, m)
	if len(infra) != 1 || infra[0].Check != finding.KMSTCP || infra[0].Affects != 2 || infra[0].Remedy == "" {
		t.Fatalf("infrastructure = %+v, want kms.tcp once for 2 schools with the remedy", infra)
	}
	for _, s := range schools {
		f, _ := find(s.Findings, finding.KMSTCP, addr)
		if f.Status != finding.Fail || f.DependsOn != "kms.tcp@"+addr || f.Remedy != "" {
			t.Errorf("%s: %+v", s.ID, f)
		}
	}
}

func TestJudgeWitnesses(t *testing.T) {
	for _, c := range []struct {
		name        string
		yaml        string
		addrs       []string // what every server says the KMS host is
		wantTargets []string
		wantTarget  finding.Status // school a's dns.target at its own server
	}{
		{
			name:        "city resolvers witness",
			yaml:        twoSchools,
			addrs:       []string{"203.0.113.24"},
			wantTargets: []string{"203.0.113.24:1688"},
			wantTarget:  finding.Pass,
		},
		{
			name:       "0.0.0.0 everywhere is never dialed",
			yaml:       twoSchools,
			addrs:      []string{"0.0.0.0"},
			wantTarget: finding.Fail,
		},
		{
			name:       "multicast",
			yaml:       twoSchools,
			addrs:      []string{"224.0.0.1"},
			wantTarget: finding.Fail,
		},
		{
			name:       "link-local v6",
			yaml:       twoSchools,
			addrs:      []string{"fe80::1"},
			wantTarget: finding.Fail,
		},
		{
			name:       "loopback when kms.host is a name",
			yaml:       twoSchools,
			addrs:      []string{"127.0.0.1"},
			wantTarget: finding.Fail,
		},
		{
			// No resolver and no kms.addresses: the school's own server
			// cannot vouch for the address it hands out.
			name:       "school server is no witness",
			yaml:       "version: 1\nkms: {host: kms.example}\nresolvers: []\nschools: [{id: a, suffix: a.example, dns: [198.51.100.1]}]\n",
			addrs:      []string{"198.51.100.66"},
			wantTarget: finding.Unknown,
		},
		{
			name:        "kms.addresses witnesses",
			yaml:        "version: 1\nkms: {host: kms.example, addresses: [198.51.100.66]}\nresolvers: []\nschools: [{id: a, suffix: a.example, dns: [198.51.100.1]}]\n",
			addrs:       []string{"198.51.100.66"},
			wantTargets: []string{"198.51.100.66:1688"},
			wantTarget:  finding.Pass,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := planOf(t, c.yaml)
			w := healthy()
			w.addrs["kms.example."] = c.addrs
			m := w.measure(p)
			if got := KMSTargets(p, m); !slices.Equal(got, c.wantTargets) {
				t.Errorf("KMS targets = %v, want %v", got, c.wantTargets)
			}
			schools, _ := Judge(p, m)
			f, ok := find(schools[0].Findings, finding.DNSTarget, "198.51.100.1:53")
			if !ok || f.Status != c.wantTarget {
				t.Errorf("dns.target at the school's server = %+v, want %s", f, c.wantTarget)
			}
		})
	}
}

func TestJudgeStoppedKMSNeverBlames(t *testing.T) {
	p := planOf(t, twoSchools)
	m := healthy().measure(p)
	addr := "203.0.113.24:1688"
	m.KMS = map[string]Measured{addr: {Stopped: true, Measurement: Judged{
		{Check: finding.KMSTCP, Server: addr, Status: finding.Fail, Short: "timeout"},
	}}}
	m.Clock = &Measured{Stopped: true, Measurement: Judged{{Check: finding.ClockOffset, Server: "ntp", Status: finding.Fail}}}
	schools, infra := Judge(p, m)
	if len(infra) != 0 {
		t.Errorf("a stopped audit put %+v in infrastructure", infra)
	}
	for _, s := range schools {
		for _, f := range s.Findings {
			if (f.Check == finding.KMSTCP || f.Check == finding.ClockOffset) && f.Status != finding.Unknown {
				t.Errorf("%s: %s = %s after a stop, want unknown", s.ID, f.Check, f.Status)
			}
		}
	}
}

// TestJudgeNXDOMAINSaysHowLongCachesKeepIt: the school zone's negative
// TTL (from dns.delegation) is added to dns.srv's NXDOMAIN remedy.
func TestJudgeNXDOMAINSaysHowLongCachesKeepIt(t *testing.T) {
	p := planOf(t, twoSchools)
	w := healthy()
	delete(w.srv, "b.example")
	m := w.measure(p)
	for q, a := range m.DNS {
		if q.Type == dns.TypeSRV && strings.Contains(q.Name, "b.example") {
			a.Msg.Rcode = dns.RcodeNameError
			m.DNS[q] = a
		}
	}
	m.Zones = map[string]Measured{
		"a.example": {Measurement: Judged{{Check: finding.DNSDelegation, Status: finding.Pass}}},
		"b.example": {Measurement: Judged{{Check: finding.DNSDelegation, Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"zone": "b.example", "negative_ttl_s": 900.0})}}},
	}
	schools, _ := Judge(p, m)
	f, _ := find(schools[1].Findings, finding.DNSSRV, "192.0.2.21:53")
	if f.ID != "dns.srv.nxdomain" || !strings.Contains(f.Remedy, "15m0s") {
		t.Errorf("b's NXDOMAIN remedy = %q (id %s), want the 15m negative TTL", f.Remedy, f.ID)
	}
	if _, ok := find(schools[1].Findings, finding.DNSDelegation, ""); !ok {
		t.Error("the delegation finding is missing from the school")
	}
}

// TestJudgeKMSWorkingPathIsPerProduct: a product the host refuses at one
// address is a warning only when another address activates that same
// product; another product passing elsewhere is no way around it.
func TestJudgeKMSWorkingPathIsPerProduct(t *testing.T) {
	p := planOf(t, twoSchools)
	w := healthy()
	w.addrs["kms.example."] = []string{"203.0.113.24", "203.0.113.25"}
	m := w.measure(p)
	rpc := func(addr, product string, st finding.Status) finding.Finding {
		return finding.Finding{Check: finding.KMSRPC, Server: addr, Status: st, Evidence: finding.EvidenceMap(map[string]any{"product": product})}
	}
	a, b := "203.0.113.24:1688", "203.0.113.25:1688"
	for _, c := range []struct {
		name      string
		officeAtB finding.Status
		want      finding.Status
	}{
		{"office activates at the other address", finding.Pass, finding.Warn},
		{"office refused everywhere", finding.Fail, finding.Fail},
	} {
		t.Run(c.name, func(t *testing.T) {
			m.KMS = map[string]Measured{
				a: {Measurement: Judged{rpc(a, "win10-ent", finding.Pass), rpc(a, "office2024-proplus", finding.Fail)}},
				b: {Measurement: Judged{rpc(b, "win10-ent", finding.Pass), rpc(b, "office2024-proplus", c.officeAtB)}},
			}
			schools, infra := Judge(p, m)
			if len(infra) == 0 {
				t.Fatal("the refusal is the KMS host's: want it in infrastructure")
			}
			var got finding.Finding
			for _, f := range schools[0].Findings {
				if f.Check == finding.KMSRPC && f.Server == a && f.Evidence.Value("product") == "office2024-proplus" {
					got = f
				}
			}
			if got.Status != c.want || got.DependsOn == "" {
				t.Errorf("office at %s = %s (depends_on %q), want %s", a, got.Status, got.DependsOn, c.want)
			}
		})
	}
}
