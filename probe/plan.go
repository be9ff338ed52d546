package probe

import (
	"sort"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
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
}

// MakePlan plans the SRV phase for the given schools. extra adds servers
// per school id (DHCP option 6 servers found on the campus LAN).
func MakePlan(cfg *config.Config, schools []config.School, extra map[string][]serverRef) Plan {
	var p Plan
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
			key := r.Addr + " " + r.Suffix
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
	// The reference comes from the city resolvers. Without any (a
	// campus-only or single-server check), every server asked is a
	// witness: a target is then judged against what they all say.
	witnesses := cfg.Resolvers
	if len(witnesses) == 0 {
		seenSrv := map[string]bool{}
		for _, sp := range p.Schools {
			for _, srv := range sp.Servers {
				if !seenSrv[srv.Addr] {
					seenSrv[srv.Addr] = true
					witnesses = append(witnesses, srv.Addr)
				}
			}
		}
	}
	for _, r := range witnesses {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			q := dnscheck.NewQuery(r, cfg.KMS.Host, t)
			p.Reference = append(p.Reference, q)
			add(q)
		}
	}
	return p
}

// targetQueries lists the distinct A and AAAA questions for the SRV
// targets found in phase one, each asked of the server that named it.
func targetQueries(p Plan, answers map[dnscheck.Query]dnscheck.Answer, exp dnscheck.Expect) []dnscheck.Query {
	seen := map[dnscheck.Query]bool{}
	var out []dnscheck.Query
	for _, sp := range p.Schools {
		for _, q := range sp.SRV {
			for _, t := range dnscheck.Targets(answers[q], exp) {
				for _, typ := range []uint16{dns.TypeA, dns.TypeAAAA} {
					tq := dnscheck.NewQuery(q.Server, t, typ)
					if _, done := answers[tq]; !done && !seen[tq] {
						seen[tq] = true
						out = append(out, tq)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
