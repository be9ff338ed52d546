package probe

import (
	"context"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// DiscoverOptions configure Discover.
type DiscoverOptions struct {
	Client  dnscheck.Client
	Expect  dnscheck.Expect
	Servers []string // asked in order, like a PC's primary and secondary DNS
	// Reference are the KMS host's addresses from witnesses the asked
	// servers do not control (kms.addresses, the city resolvers). When
	// empty, LookupHost (the probe host's own resolver) is asked.
	Reference []net.IP
	// Witnesses are city resolvers asked for the KMS host's addresses.
	Witnesses  []string
	LookupHost func(ctx context.Context, host string) []net.IP
	// KMS checks one address; Discover stops at the first whose kms.rpc
	// passes, as a client stops at the first host that activates it.
	KMS Leg
	// Shuffle draws the weighted order within a priority; nil uses
	// math/rand. Tests make it deterministic.
	Rand *rand.Rand
}

// Discover finds the KMS host for suffix the way a Windows client does:
// the SRV record from the first DNS server that answers, targets tried in
// priority order and by weight within a priority (RFC 2782), each target
// resolved through the same server, each address tried until one
// activates. It judges through the same functions as an audit and
// connects only to addresses a witness vouches for (§4.1). It returns
// every finding along the way.
func Discover(ctx context.Context, suffix string, o DiscoverOptions) []finding.Finding {
	p := Plan{Expect: o.Expect, KMSPort: int(o.Expect.Port), PerAttempt: o.Client.Timeout, KnownAddrs: o.Reference, HaveKMS: o.KMS != nil}
	var out []finding.Finding
	var srvAns dnscheck.Answer
	for _, s := range o.Servers {
		a := o.Client.Exchange(ctx, dnscheck.NewQuery(s, dnscheck.SRVName(suffix), dns.TypeSRV))
		out = append(out, dnscheck.JudgeSRV(a, suffix, o.Expect, dnscheck.SchoolDNS, o.Client.Timeout))
		// A PC moves to its next DNS server only when one does not answer;
		// an NXDOMAIN is an answer.
		if a.Msg != nil {
			srvAns = a
			break
		}
	}
	if srvAns.Msg == nil {
		return append(out, skipKMS("no DNS server answered the SRV question")...)
	}
	recs := OrderSRV(dnscheck.Followable(dnscheck.SRVRecords(srvAns)), o.Rand)
	if len(recs) == 0 {
		return append(out, skipKMS("no SRV record to follow")...)
	}
	order := make([]string, len(recs))
	for i, r := range recs {
		order[i] = dnsname.Canonical(r.Target) + ":" + strconv.Itoa(int(r.Port))
	}
	out[len(out)-1].Evidence.Set("client_order", order)

	m := Measurements{DNS: map[dnscheck.Query]dnscheck.Answer{}}
	for _, w := range o.Witnesses {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			q := dnscheck.NewQuery(w, o.Expect.Host, t)
			p.Reference = append(p.Reference, q)
			m.DNS[q] = o.Client.Exchange(ctx, q)
		}
	}
	if NeedsHostResolver(p, m) && o.LookupHost != nil && net.ParseIP(o.Expect.Host) == nil {
		m.HostResolver = o.LookupHost(ctx, o.Expect.Host)
	}
	ref := reference(p, m)
	loopbackOK := p.loopbackOK()
	server := srvAns.Query.Server
	tried := false
	for _, r := range recs {
		target := dnsname.FQDN(r.Target)
		a4 := o.Client.Exchange(ctx, dnscheck.NewQuery(server, target, dns.TypeA))
		a6 := o.Client.Exchange(ctx, dnscheck.NewQuery(server, target, dns.TypeAAAA))
		f, addrs := judgeTarget(p, server, target, a4, a6, ref, loopbackOK)
		out = append(out, f)
		if o.KMS == nil {
			continue
		}
		for _, ip := range addrs {
			tried = true
			addr := net.JoinHostPort(ip.String(), strconv.Itoa(int(r.Port)))
			fs := judged(Measured{Measurement: o.KMS.Measure(ctx, addr), Stopped: ctx.Err() != nil})
			out = append(out, fs...)
			for _, f := range fs {
				if f.Check == finding.KMSRPC && f.Status == finding.Pass {
					return out
				}
			}
		}
	}
	if !tried && o.KMS != nil {
		out = append(out, skipKMS("no SRV target led to an address the KMS host is known to have")...)
	}
	return out
}

// OrderSRV sorts records the way RFC 2782 asks a client to try them:
// ascending priority, and within one priority a random order weighted by
// weight (a weight-0 record is tried last among its peers, but still
// tried).
func OrderSRV(recs []*dns.SRV, rng *rand.Rand) []*dns.SRV {
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	byPrio := map[uint16][]*dns.SRV{}
	var prios []int
	for _, r := range recs {
		if _, ok := byPrio[r.Priority]; !ok {
			prios = append(prios, int(r.Priority))
		}
		byPrio[r.Priority] = append(byPrio[r.Priority], r)
	}
	sort.Ints(prios)
	var out []*dns.SRV
	for _, p := range prios {
		group := append([]*dns.SRV(nil), byPrio[uint16(p)]...)
		for len(group) > 0 {
			total := 0
			for _, r := range group {
				total += int(r.Weight)
			}
			i := 0
			if total > 0 {
				pick := 1 + rng.IntN(total)
				sum := 0
				for j, r := range group {
					sum += int(r.Weight)
					if sum >= pick && r.Weight > 0 {
						i = j
						break
					}
				}
			}
			out = append(out, group[i])
			group = append(group[:i], group[i+1:]...)
		}
	}
	return out
}
