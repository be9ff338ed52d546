package probe

import (
	"net"
	"slices"
	"sort"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// serverRef is one DNS server as one school sees it.
type serverRef struct {
	Addr string
	Role dnscheck.Role
	// Suffix is the suffix asked of this server: the school's, or for a
	// DHCP-offered server the suffix the same offer handed out, because
	// that is what a PC on that LAN asks.
	Suffix string
}

// schoolPlan is what one school's audit asks.
type schoolPlan struct {
	School  config.School
	Servers []serverRef
	SRV     []dnscheck.Query // one per server, same order
}

// Plan is the first phase of an audit: the SRV questions of every school
// and the questions that establish the KMS host's own addresses. It is
// pure, so which questions an audit asks is tested without a network.
type Plan struct {
	Schools []schoolPlan
	// Queries are the distinct questions, in a stable order.
	Queries []dnscheck.Query
	// Reference are the questions for the KMS host's addresses, asked of
	// the city resolvers: the yardstick dns.target compares targets with.
	Reference []dnscheck.Query
	// Resolvers are the city resolvers: shared infrastructure (§4.2).
	Resolvers []string

	// What the judge compares with, decided before any packet is sent.
	Expect     dnscheck.Expect
	KMSPort    int
	PerAttempt time.Duration
	Attempts   int
	// KnownAddrs are the KMS host's addresses written in kms.addresses.
	KnownAddrs []net.IP
	// DNSOnly stops after the DNS leg (kmsprobe dns, kmsprobe dhcp).
	DNSOnly bool
	// HaveKMS is false when the audit runs without the KMS leg.
	HaveKMS bool
	// HaveZone is true when the dns.delegation leg runs: one more
	// finding per school.
	HaveZone bool
}

// MakePlan plans the SRV phase for the given schools. campus adds the
// (server, domain) pairs a PC on one school's LAN would ask.
func MakePlan(cfg *config.Config, schools []config.School, campus CampusView) Plan {
	extra := map[string][]serverRef{}
	if campus != nil {
		for _, cq := range campus.Questions() {
			extra[campus.School()] = append(extra[campus.School()], serverRef{Addr: cq.Server, Role: dnscheck.OfferedDNS, Suffix: cq.Domain})
		}
	}
	budgets := cfg.Budgets() // the one table every command shares
	p := Plan{
		Resolvers:  cfg.Resolvers,
		Expect:     dnscheck.Expect{Host: cfg.KMS.Host, Port: uint16(cfg.KMS.Port)},
		KMSPort:    cfg.KMS.Port,
		PerAttempt: budgets.PerAttempt,
		Attempts:   budgets.Attempts,
		KnownAddrs: knownAddrs(cfg),
	}
	seen := map[dnscheck.Query]bool{}
	add := func(q dnscheck.Query) {
		if !seen[q] {
			seen[q] = true
			p.Queries = append(p.Queries, q)
		}
	}
	for _, s := range schools {
		sp := schoolPlan{School: s}
		have := map[string]bool{}
		push := func(r serverRef) {
			if r.Suffix == "" {
				r.Suffix = s.Suffix
			}
			key := r.Addr + " " + dnsname.Canonical(r.Suffix)
			if have[key] {
				return
			}
			have[key] = true
			sp.Servers = append(sp.Servers, r)
		}
		for _, a := range s.DNS {
			push(serverRef{Addr: a, Role: dnscheck.SchoolDNS})
		}
		for _, a := range cfg.Resolvers {
			push(serverRef{Addr: a, Role: dnscheck.CityResolver})
		}
		for _, r := range extra[s.ID] {
			push(r)
		}
		for _, srv := range sp.Servers {
			q := dnscheck.NewQuery(srv.Addr, dnscheck.SRVName(srv.Suffix), dns.TypeSRV)
			sp.SRV = append(sp.SRV, q)
			add(q)
		}
		p.Schools = append(p.Schools, sp)
	}
	// The KMS host's reference addresses come only from witnesses no
	// school controls (DESIGN §4.1): the city resolvers here, and
	// kms.addresses or the probe host's own resolver at judging time.
	p.witness(cfg.Resolvers, add)
	return p
}

// witness adds the questions for the KMS host's addresses at servers.
func (p *Plan) witness(servers []string, add func(dnscheck.Query)) {
	for _, r := range servers {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			q := dnscheck.NewQuery(r, p.Expect.Host, t)
			if !slices.Contains(p.Reference, q) {
				p.Reference = append(p.Reference, q)
				add(q)
			}
		}
	}
}

// AddWitnesses asks servers that are not judged (the city resolvers of
// schools.yaml when a command names its own servers to judge) for the KMS
// host's addresses.
func (p *Plan) AddWitnesses(servers []string) {
	p.witness(servers, func(q dnscheck.Query) {
		if !slices.Contains(p.Queries, q) {
			p.Queries = append(p.Queries, q)
		}
	})
}

// followUps plans the questions an answer leads to: for an SRV answer, the
// A and AAAA of each distinct target (bounded by dnscheck.Targets),
// through the same server. It is pure: the executor calls it as each
// answer arrives, so a school's chain completes while dead servers are
// still being waited for.
func followUps(q dnscheck.Query, a dnscheck.Answer, exp dnscheck.Expect) []dnscheck.Query {
	if q.Type != dns.TypeSRV {
		return nil
	}
	var next []dnscheck.Query
	for _, t := range dnscheck.Targets(a, exp) {
		next = append(next, dnscheck.NewQuery(q.Server, t, dns.TypeA), dnscheck.NewQuery(q.Server, t, dns.TypeAAAA))
	}
	return next
}

// targetQueries lists the follow-up questions of phase one that have no
// answer yet: after a stopped audit they are the ones never reached.
func targetQueries(p Plan, answers map[dnscheck.Query]dnscheck.Answer, exp dnscheck.Expect) []dnscheck.Query {
	seen := map[dnscheck.Query]bool{}
	var out []dnscheck.Query
	for _, sp := range p.Schools {
		for _, q := range sp.SRV {
			for _, tq := range followUps(q, answers[q], exp) {
				if _, done := answers[tq]; !done && !seen[tq] {
					seen[tq] = true
					out = append(out, tq)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// knownAddrs are the KMS host's addresses the admin wrote down.
func knownAddrs(cfg *config.Config) []net.IP {
	var out []net.IP
	for _, a := range cfg.KMS.Addresses {
		if ip := net.ParseIP(a); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}

// Zones are the distinct school zones (canonical suffixes), in plan order:
// the targets of the delegation leg.
func (p Plan) Zones() []string {
	var out []string
	seen := map[string]bool{}
	for _, sp := range p.Schools {
		z := dnsname.Canonical(sp.School.Suffix)
		if !seen[z] {
			seen[z] = true
			out = append(out, z)
		}
	}
	return out
}
