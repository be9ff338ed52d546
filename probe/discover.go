package probe

import (
	"context"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
)

// DiscoverOptions configure Discover.
type DiscoverOptions struct {
	Client  dnscheck.Client
	Expect  dnscheck.Expect
	Servers []string // asked in order, like a PC's primary and secondary DNS
	// KMS checks one address; Discover stops at the first whose kms.rpc
	// passes, as a client stops at the first host that activates it.
	KMS func(ctx context.Context, addr string) []finding.Finding
	// Shuffle draws the weighted order within a priority; nil uses
	// math/rand. Tests make it deterministic.
	Rand *rand.Rand
}

// Discover finds the KMS host for suffix the way a Windows client does:
// the SRV record from the first DNS server that answers, targets tried in
// priority order and by weight within a priority (RFC 2782), each target
// resolved through the same server, each address tried until one
// activates. It returns every finding along the way.
func Discover(ctx context.Context, suffix string, o DiscoverOptions) []finding.Finding {
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
	recs := OrderSRV(dnscheck.SRVRecords(srvAns), o.Rand)
	if len(recs) == 0 {
		return append(out, skipKMS("no SRV record to follow")...)
	}
	order := make([]string, len(recs))
	for i, r := range recs {
		order[i] = strings.TrimSuffix(r.Target, ".") + ":" + strconv.Itoa(int(r.Port))
	}
	out[len(out)-1].Evidence["client_order"] = order

	server := srvAns.Query.Server
	// The KMS host's own addresses, through the same server, are the
	// reference a target is compared with.
	host := dns.Fqdn(strings.ToLower(o.Expect.Host))
	ref := append(dnscheck.Addresses(o.Client.Exchange(ctx, dnscheck.NewQuery(server, host, dns.TypeA))),
		dnscheck.Addresses(o.Client.Exchange(ctx, dnscheck.NewQuery(server, host, dns.TypeAAAA)))...)
	tried := false
	for _, r := range recs {
		target := dns.Fqdn(strings.ToLower(r.Target))
		a4 := o.Client.Exchange(ctx, dnscheck.NewQuery(server, target, dns.TypeA))
		a6 := o.Client.Exchange(ctx, dnscheck.NewQuery(server, target, dns.TypeAAAA))
		out = append(out, dnscheck.JudgeTarget(server, target, a4, a6, o.Expect, ref))
		if o.KMS == nil {
			continue
		}
		for _, ip := range append(dnscheck.Addresses(a4), dnscheck.Addresses(a6)...) {
			tried = true
			fs := o.KMS(ctx, net.JoinHostPort(ip.String(), strconv.Itoa(int(r.Port))))
			out = append(out, fs...)
			for _, f := range fs {
				if f.Check == finding.KMSRPC && f.Status == finding.Pass {
					return out
				}
			}
		}
	}
	if !tried && o.KMS != nil {
		out = append(out, skipKMS("no SRV target resolved to an address")...)
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
