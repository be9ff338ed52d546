package onboard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// SharedLimit is how many schools may list one name server before it
// counts as shared (the city's or a hosting provider's) rather than a
// school's own. A school's own pair serves its zone and perhaps a sibling
// school on the same campus; a server named by more is a service, and
// its address is not a DNS server the school's PCs are given.
const SharedLimit = 3

// DiscoverOptions is the budget and the servers of a discovery.
type DiscoverOptions struct {
	Zone        string   // the city zone, kh.edu.tw
	Resolvers   []string // host:port, asked with recursion
	Client      delegation.Client
	Concurrency int // schools looked up at once (default 64)
	// Progress, when set, is called after each school, one call at a time.
	Progress func(done, total int)
}

// Discover fills each written entry's DNS with the addresses of its own
// name servers, and notes per school what it found. A name server is the
// school's own when its name is inside the school's zone
// (ns1.abc.kh.edu.tw), or else when it is not one of the city zone's own
// name servers (by name or address) and no more than SharedLimit schools
// list it. Everything else is the city's or a provider's: the school's
// PCs do not ask it, the city resolvers are asked instead, so dns: stays
// empty for a school with no server of its own.
func Discover(ctx context.Context, es []Entry, o DiscoverOptions) error {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	zone := dnsname.Canonical(o.Zone)
	p := delegation.NewProber(o.Client, o.Resolvers)

	cityNames, _, fail := p.NS(ctx, zone)
	if len(cityNames) == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("the resolvers (%s) gave no name servers for %s (%s); check --resolver and --zone",
			strings.Join(o.Resolvers, ", "), zone, orText(fail, "no NS records"))
	}
	city := map[string]bool{}
	cityAddrs := map[netip.Addr]bool{}
	for _, n := range cityNames {
		city[n] = true
		as, _ := p.Addrs(ctx, n)
		for _, a := range as {
			cityAddrs[a] = true
		}
	}

	type found struct {
		names []string
		rcode int
		fail  string
	}
	res := make([]found, len(es))
	var todo []int
	for i, e := range es {
		if e.Written() && !e.DNSFixed {
			todo = append(todo, i)
		}
	}
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	var done atomic.Int64
	var progMu sync.Mutex
	for _, i := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			names, rcode, fail := p.NS(ctx, es[i].Suffix)
			for _, n := range names {
				p.Addrs(ctx, n) // warm the cache inside the bound
			}
			res[i] = found{names, rcode, fail}
			if o.Progress != nil {
				progMu.Lock()
				o.Progress(int(done.Add(1)), len(todo))
				progMu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	uses := map[string]int{}
	for _, i := range todo {
		for _, n := range res[i].names {
			uses[n]++
		}
	}
	for _, i := range todo {
		e := &es[i]
		r := res[i]
		if len(r.names) == 0 {
			switch {
			case r.fail != "":
				e.Notes = append(e.Notes, fmt.Sprintf("discover: the NS lookup for %s failed (%s); dns: left empty", e.Suffix, r.fail))
			case r.rcode == dns.RcodeNameError:
				e.Notes = append(e.Notes, fmt.Sprintf("discover: %s does not exist (NXDOMAIN); check the suffix; dns: left empty", e.Suffix))
			case r.rcode > 0:
				e.Notes = append(e.Notes, fmt.Sprintf("discover: the NS lookup for %s answered %s; dns: left empty", e.Suffix, dns.RcodeToString[r.rcode]))
			default:
				e.Notes = append(e.Notes, fmt.Sprintf("discover: %s is not a zone of its own (no NS records): its names live in %s; dns: left empty", e.Suffix, zone))
			}
			continue
		}
		var own, shared, noAddr []string
		var addrs []netip.Addr
		for _, n := range r.names {
			as, _ := p.Addrs(ctx, n)
			inZone := dns.IsSubDomain(dnsname.FQDN(e.Suffix), dnsname.FQDN(n))
			isCity := city[n] || slices.ContainsFunc(as, func(a netip.Addr) bool { return cityAddrs[a] })
			switch {
			case !inZone && isCity:
				shared = append(shared, n+" (the city's)")
			case !inZone && uses[n] > SharedLimit:
				shared = append(shared, fmt.Sprintf("%s (listed by %d schools)", n, uses[n]))
			case len(as) == 0:
				noAddr = append(noAddr, n)
			default:
				own = append(own, n+" "+joinAddrs(as))
				addrs = append(addrs, as...)
			}
		}
		slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
		addrs = slices.Compact(addrs)
		e.DNS = nil
		for _, a := range addrs {
			e.DNS = append(e.DNS, dnsAddr(a, o.Client.NSPort))
		}
		var parts []string
		if len(own) > 0 {
			parts = append(parts, "own name servers "+strings.Join(own, ", "))
		}
		if len(shared) > 0 {
			parts = append(parts, "shared name servers "+strings.Join(shared, ", ")+" not listed")
		}
		if len(noAddr) > 0 {
			parts = append(parts, "no address for "+strings.Join(noAddr, ", "))
		}
		if len(own) == 0 {
			parts = append(parts, "dns: left empty, the city resolvers are asked")
		}
		e.Notes = append(e.Notes, "discover: "+strings.Join(parts, "; "))
	}
	return nil
}

func joinAddrs(as []netip.Addr) string {
	if len(as) == 0 {
		return ""
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// dnsAddr is how an address is written under dns:: plain for port 53,
// ip:port for a lab's other port.
func dnsAddr(a netip.Addr, port int) string {
	if port == 0 || port == 53 {
		return a.String()
	}
	return net.JoinHostPort(a.String(), strconv.Itoa(port))
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
