package probe

import (
	"net"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Judge turns an audit's measurements into per-school findings and the
// shared-infrastructure list. It is pure: the same plan and measurements
// always give the same report, and it is table-tested without a network.
func Judge(p Plan, m Measurements) (schools []School, infra []Infra) {
	return judgeWith(p, m, judgeDNS(p, m))
}

// judgeWith is Judge with the DNS verdicts already made: Run makes them
// once for KMSTargets and the report (they are a third of an audit's CPU
// at 10,000 schools). It consumes dv: a school's DNS findings become its
// report's findings, in place, so a city's findings are never held twice.
func judgeWith(p Plan, m Measurements, dv dnsVerdicts) (schools []School, infra []Infra) {
	schools = make([]School, 0, len(p.Schools))
	// The clock finding is the probe's, and a KMS address's findings are
	// the address's: the same for every school, judged once and copied.
	var clock []finding.Finding
	kms := kmsVerdicts{}
	if !p.DNSOnly {
		clock = judgeClock(p, m)
	}
	for i, sp := range p.Schools {
		sd := dv.schools[i]
		fs := sd.findings
		if m.Campus != nil && m.Campus.School() == sp.School.ID {
			fs = append([]finding.Finding(nil), m.Campus.Findings()...)
			fs = append(fs, m.Campus.Judge(campusSRV(m.Campus, sd))...)
			fs = append(fs, sd.findings...)
		}
		if m.Zones != nil {
			zone := judgeZone(m, sp.School.Suffix)
			fs = append(fs, zone...)
			negativeTTL(fs, zone)
		}
		if !p.DNSOnly {
			fs = kms.judge(fs, p, m, sd)
			fs = append(fs, clock...)
		}
		schools = append(schools, School{ID: sp.School.ID, Name: sp.School.Name, Suffix: sp.School.Suffix, Findings: fs})
	}
	infra = shareInfrastructure(p, m, dv.resolvers, schools)
	return schools, infra
}

// KMSTargets are the KMS addresses the schools' DNS chains lead to: the
// follow-up stage after DNS. Only addresses a witness vouches for are
// listed (§4.1), so no school's server can steer where the probe connects.
func KMSTargets(p Plan, m Measurements) []string {
	return judgeDNS(p, m).kmsTargets()
}

func (dv dnsVerdicts) kmsTargets() []string {
	var out []string
	for _, sd := range dv.schools {
		for _, a := range sd.kms {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// NeedsHostResolver reports whether the KMS host's addresses have no
// witness but the probe host's own resolver: no city resolver answered
// them and kms.addresses is not written.
func NeedsHostResolver(p Plan, m Measurements) bool {
	return len(p.KnownAddrs) == 0 && len(resolverWitness(p, m)) == 0 && net.ParseIP(p.Expect.Host) == nil
}

type schoolDNS struct {
	findings []finding.Finding
	kms      []string                   // KMS addresses this school's chains reach
	srv      map[string]finding.Finding // dns.srv per "server domain", only for the campus school
	// Until the targets are judged: the targets, in finding order, and
	// the dns.consistency finding that follows them.
	targets     []targetKey
	consistency finding.Finding
}

type dnsVerdicts struct {
	ref     []net.IP
	schools []schoolDNS
	// resolvers is what the shared-infrastructure rule needs of the
	// answers: with it the answers can go before KMS and the zones are
	// measured (a third of a city audit's live memory).
	resolvers map[string]resolverAnswers
}

// targetKey is one SRV target as resolved by one server: a city resolver
// gives every school behind it the same verdict.
type targetKey struct{ server, target string }

// targetVerdict is a target's finding and the addresses the KMS leg may
// dial, as host:port, sorted.
type targetVerdict struct {
	f   finding.Finding
	kms []string
}

// minParallel is the city below which the judge stays on one goroutine:
// a tiny audit's judging costs less than starting workers.
const minParallel = 64

// judgeDNS judges every school's SRV and target answers against the
// witnessed reference addresses, on every core the runtime may use.
func judgeDNS(p Plan, m Measurements) dnsVerdicts {
	return judgeDNSOn(p, m, runtime.GOMAXPROCS(0))
}

// judgeDNSOn is judgeDNS on at most workers goroutines. Every stage
// writes only its own index of a slice made before it starts, so the
// verdicts are the serial loop's whatever the workers' order.
func judgeDNSOn(p Plan, m Measurements, workers int) dnsVerdicts {
	dv := dnsVerdicts{ref: reference(p, m), schools: make([]schoolDNS, len(p.Schools)), resolvers: summarizeResolvers(p, m)}
	// Each school's dns.srv findings and the targets its answers lead to.
	// The workers call nothing of the campus view: its school is asked
	// here, once.
	campus, hasCampus := "", m.Campus != nil
	if hasCampus {
		campus = m.Campus.School()
	}
	forEach(len(p.Schools), workers, func(i int) {
		sp := p.Schools[i]
		dv.schools[i] = judgeSRVs(p, m, sp, hasCampus && sp.School.ID == campus)
	})

	// A target's verdict at one server depends only on that server's
	// A/AAAA answers: every school behind a city resolver gets the same
	// one, judged once (and its evidence shared, as Judged shares it).
	// The distinct targets are listed on one goroutine, judged on all.
	index := map[targetKey]int{}
	var keys []targetKey
	for i := range dv.schools {
		for _, k := range dv.schools[i].targets {
			if _, ok := index[k]; !ok {
				index[k] = len(keys)
				keys = append(keys, k)
			}
		}
	}
	verdicts := make([]targetVerdict, len(keys))
	loopbackOK := p.loopbackOK()
	kmsPort := strconv.Itoa(p.KMSPort)
	forEach(len(keys), workers, func(i int) {
		k := keys[i]
		a4 := m.DNS[dnscheck.Query{Server: k.server, Name: k.target, Type: dns.TypeA}]
		a6 := m.DNS[dnscheck.Query{Server: k.server, Name: k.target, Type: dns.TypeAAAA}]
		f, addrs := judgeTarget(p, k.server, k.target, a4, a6, dv.ref, loopbackOK)
		v := targetVerdict{f: f}
		for _, ip := range addrs {
			if a := net.JoinHostPort(ip.String(), kmsPort); !slices.Contains(v.kms, a) {
				v.kms = append(v.kms, a)
			}
		}
		sort.Strings(v.kms)
		verdicts[i] = v
	})

	// The verdicts in each school's order, then its consistency; index is
	// only read from here on.
	forEach(len(p.Schools), workers, func(i int) {
		sd := &dv.schools[i]
		for _, k := range sd.targets {
			v := &verdicts[index[k]]
			sd.findings = append(sd.findings, v.f)
			sd.kms = mergeSorted(sd.kms, v.kms)
		}
		sd.findings = append(sd.findings, sd.consistency)
		sd.targets, sd.consistency = nil, finding.Finding{}
	})
	return dv
}

// judgeSRVs judges one school's SRV answers and their consistency, and
// lists the targets they lead to, each once per server, in the order
// their findings take.
func judgeSRVs(p Plan, m Measurements, sp schoolPlan, isCampus bool) schoolDNS {
	// Room for every finding the school's report gets: dns.srv and
	// (usually one) dns.target per server, dns.consistency, kms.tcp,
	// kms.rpc and clock.offset, and dns.delegation when it runs, so
	// judgeWith appends in place: a slice that grows holds twice the
	// room to the end of the report (30 MB at 10,000 schools).
	room := 2*len(sp.Servers) + 4
	if p.HaveZone {
		room++
	}
	sd := schoolDNS{
		findings: make([]finding.Finding, 0, room),
		targets:  make([]targetKey, 0, len(sp.Servers)), // usually one per server
	}
	if isCampus {
		sd.srv = map[string]finding.Finding{}
	}
	// The answers compared for consistency; a school has a few servers,
	// so they stay on the stack.
	var sameBuf [8]dnscheck.Answer
	var rolesBuf [8]dnscheck.Role
	same, roles := sameBuf[:0], rolesBuf[:0]
	for j, srv := range sp.Servers {
		a := m.DNS[sp.SRV[j]]
		f, targets := dnscheck.JudgeSRVTargets(a, srv.Suffix, p.Expect, srv.Role, p.PerAttempt)
		if sd.srv != nil {
			sd.srv[srv.Addr+" "+dnsname.Canonical(srv.Suffix)] = f
		}
		// Another domain a PC on the LAN searches feeds dhcp.search
		// and dhcp.dns only: its missing record is not the school's
		// own dns.srv failure.
		if otherDomain(srv, sp.School) {
			continue
		}
		sd.findings = append(sd.findings, f)
		for _, t := range targets {
			sd.targets = append(sd.targets, targetKey{sp.SRV[j].Server, t})
		}
		// Consistency is about the servers the school itself relies
		// on; a DHCP-offered server with another suffix is a
		// different question that dhcp.dns and dhcp.search judge.
		if dnsname.Equal(srv.Suffix, sp.School.Suffix) {
			same = append(same, a)
			roles = append(roles, srv.Role)
		}
	}
	sd.consistency = dnscheck.JudgeConsistency(sp.School.ID, p.Expect, same, roles)
	return sd
}

// mergeSorted adds the sorted addresses add to the sorted set have. A
// school that reaches one target's addresses only shares that target's
// slice (clipped, so a later merge copies instead of writing into it).
func mergeSorted(have, add []string) []string {
	switch {
	case len(add) == 0:
		return have
	case len(have) == 0:
		return slices.Clip(add)
	}
	var out []string
	for _, a := range add {
		if !slices.Contains(have, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return have
	}
	out = append(out, have...)
	sort.Strings(out)
	return out
}

// forEach calls fn(i) for every i in [0, n) on at most workers
// goroutines, a few indexes at a time; a small n runs in a plain loop.
// fn must write only what belongs to its i.
func forEach(n, workers int, fn func(i int)) {
	if workers <= 1 || n < minParallel {
		for i := range n {
			fn(i)
		}
		return
	}
	// Chunks amortise the shared counter; small enough that a worker
	// stuck on a school with 1,700 records does not hold up the rest.
	const chunk = 16
	workers = min(workers, (n+chunk-1)/chunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}

// otherDomain reports whether srv is a campus question for a domain other
// than the school's suffix (an option 119, DHCPv6 24 or DNSSL entry, or an
// offer's wrong option 15). Its answer feeds dhcp.search and dhcp.dns,
// which judge it in the PC's terms; on its own it is no school finding: a
// searched kh.edu.tw without an SRV record is normal, and a wrong option
// 15 is dhcp.suffix's and dhcp.dns's to report.
func otherDomain(srv serverRef, school config.School) bool {
	return srv.Role == dnscheck.OfferedDNS && !dnsname.Equal(srv.Suffix, school.Suffix)
}

// judgeTarget judges one SRV target's addresses at one server and returns
// the addresses the KMS leg may dial: usable, and vouched for by a
// witness. Audit and Discover both judge targets here.
func judgeTarget(p Plan, server, target string, a4, a6 dnscheck.Answer, ref []net.IP, loopbackOK bool) (finding.Finding, []net.IP) {
	f := dnscheck.JudgeTarget(server, target, a4, a6, p.Expect, ref)
	if len(ref) == 0 && (f.Status == finding.Pass || f.Status == finding.Warn) {
		f = unwitnessed(f)
	}
	if f.Status != finding.Pass && f.Status != finding.Warn {
		return f, nil
	}
	var dial []net.IP
	for _, ip := range append(dnscheck.Addresses(a4), dnscheck.Addresses(a6)...) {
		if dnscheck.UsableKMSAddress(ip, loopbackOK) && slices.ContainsFunc(ref, ip.Equal) {
			dial = append(dial, ip)
		}
	}
	return f, dial
}

// reference returns the KMS host's addresses as witnesses no school
// controls give them (§4.1): the city resolvers and kms.addresses, else
// the probe host's own resolver. Addresses a PC could never use are left
// out: a witness that says 0.0.0.0 vouches for nothing.
func reference(p Plan, m Measurements) []net.IP {
	loopbackOK := p.loopbackOK()
	var out []net.IP
	add := func(ips []net.IP) {
		for _, ip := range ips {
			if dnscheck.UsableKMSAddress(ip, loopbackOK) && !slices.ContainsFunc(out, ip.Equal) {
				out = append(out, ip)
			}
		}
	}
	if ip := net.ParseIP(p.Expect.Host); ip != nil {
		add([]net.IP{ip})
	}
	add(p.KnownAddrs)
	add(resolverWitness(p, m))
	if len(out) == 0 {
		add(m.HostResolver)
	}
	return out
}

func resolverWitness(p Plan, m Measurements) []net.IP {
	var out []net.IP
	for _, q := range p.Reference {
		out = append(out, dnscheck.Addresses(m.DNS[q])...)
	}
	return out
}

// loopbackOK: loopback is the probe host itself, never a KMS host a PC
// could use — unless the admin said so: kms.host is a loopback address,
// or kms.addresses lists one (tests and the demo run on 127.0.0.0/8).
func (p Plan) loopbackOK() bool {
	return isLoopbackHost(p.Expect.Host) || slices.ContainsFunc(p.KnownAddrs, net.IP.IsLoopback)
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() || dnsname.Equal(host, "localhost")
}

// unwitnessed turns a target verdict into unknown when nothing but the
// school's own server vouches for the KMS host's addresses: that server
// could name any address, and the probe will not connect there.
func unwitnessed(f finding.Finding) finding.Finding {
	f.Status, f.Short = finding.Unknown, "no witness"
	f.ID, f.RemedyID = "dns.target.no_witness", "dns.target.no_witness.fix"
	f.Args = map[string]string{"Server": f.Server}
	f.Message, f.Remedy = english(f.ID, f.Args), english(f.RemedyID, f.Args)
	return f
}

// campusSRV gives the campus judge the dns.srv finding of each question a
// PC on the LAN would ask.
func campusSRV(v CampusView, sd schoolDNS) map[CampusQuestion]finding.Finding {
	out := map[CampusQuestion]finding.Finding{}
	for _, q := range v.Questions() {
		if f, ok := sd.srv[q.Server+" "+dnsname.Canonical(q.Domain)]; ok {
			out[q] = f
		}
	}
	return out
}

func skipKMS(id string) []finding.Finding {
	why := english(id, nil)
	return []finding.Finding{
		{Check: finding.KMSTCP, Status: finding.Skip, Short: "-", Message: why, ID: id},
		{Check: finding.KMSRPC, Status: finding.Skip, Short: "-", Message: why, ID: id},
	}
}

// kmsVerdicts are the KMS findings judged so far, by address (or by
// skip id): every school that reaches an address gets the same ones.
type kmsVerdicts map[string][]finding.Finding

// judge appends the school's KMS findings to fs.
func (v kmsVerdicts) judge(fs []finding.Finding, p Plan, m Measurements, sd schoolDNS) []finding.Finding {
	switch {
	case !p.HaveKMS:
		return append(fs, v.once("kms.skip.not_run", func() []finding.Finding { return skipKMS("kms.skip.not_run") })...)
	case len(sd.kms) == 0:
		return append(fs, v.once("kms.skip.no_path", func() []finding.Finding { return skipKMS("kms.skip.no_path") })...)
	}
	for _, a := range sd.kms {
		fs = append(fs, v.once(a, func() []finding.Finding { return judgeKMSAddr(m, a) })...)
	}
	return fs
}

func (v kmsVerdicts) once(key string, judge func() []finding.Finding) []finding.Finding {
	fs, ok := v[key]
	if !ok {
		fs = judge()
		v[key] = fs
	}
	return fs
}

// judgeKMSAddr is the KMS findings of one address a school's chain reaches.
func judgeKMSAddr(m Measurements, a string) []finding.Finding {
	ms, ok := m.KMS[a]
	if !ok {
		msg := english("kms.not_asked", nil)
		return []finding.Finding{
			{Check: finding.KMSTCP, Server: a, Status: finding.Unknown, Short: "stopped", Message: msg, ID: "kms.not_asked"},
			{Check: finding.KMSRPC, Server: a, Status: finding.Unknown, Short: "stopped", Message: msg, ID: "kms.not_asked"},
		}
	}
	return judged(ms)
}

// negativeTTL tells, under an NXDOMAIN, how long the city resolvers may
// keep the negative answer after the record is added (the zone's SOA
// negative TTL): "I fixed it and it still fails" is the first question
// an admin asks.
func negativeTTL(fs, zone []finding.Finding) {
	var ttl time.Duration
	for _, z := range zone {
		if d, ok := delegation.NegativeTTLOf(z); ok && d > ttl {
			ttl = d
		}
	}
	if ttl <= 0 {
		return
	}
	for i := range fs {
		f := &fs[i]
		if f.Check != finding.DNSSRV || f.ID != "dns.srv.nxdomain" || f.Remedy == "" {
			continue
		}
		// The remedy's own id with the TTL: the whole sentence translates.
		id := f.RemedyID + ".negative_ttl"
		if !i18n.Has(i18n.English, id) {
			continue // a remedy this note was not written for: leave it whole
		}
		f.Args = withArgs(f.Args, "NegativeTTL", ttl.String())
		f.RemedyID, f.Remedy = id, english(id, f.Args)
	}
}

// judgeZone is the school zone's dns.delegation verdict; a zone the
// stopped audit never reached is unknown, never blamed.
func judgeZone(m Measurements, suffix string) []finding.Finding {
	ms, ok := m.Zones[dnsname.Canonical(suffix)]
	if !ok {
		args := map[string]string{"Zone": dnsname.Canonical(suffix)}
		return []finding.Finding{{Check: finding.DNSDelegation, Status: finding.Unknown, Short: "stopped", ID: "dns.delegation.stopped", Args: args, Message: english("dns.delegation.stopped", args)}}
	}
	return judged(ms)
}

func judgeClock(p Plan, m Measurements) []finding.Finding {
	if m.Clock == nil {
		return []finding.Finding{{Check: finding.ClockOffset, Status: finding.Skip, Short: "-", Message: english("clock.not_checked", nil), ID: "clock.not_checked"}}
	}
	return judged(*m.Clock)
}

// judged runs a measurement's judge and, when the audit was stopped while
// it was taken, turns what did not pass into unknown.
func judged(ms Measured) []finding.Finding {
	fs := ms.Judge()
	if ms.Stopped {
		finding.MarkStopped(fs)
	}
	return fs
}
