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
	city, err := cityServers(ctx, p, zone, o.Resolvers)
	if err != nil {
		return err
	}
	var todo []int
	for i, e := range es {
		if e.Written() && !e.DNSFixed {
			todo = append(todo, i)
		}
	}
	res := lookupNS(ctx, p, es, todo, o)
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
		es[i].takeFound(ctx, p, res[i], nsContext{zone: zone, city: city, uses: uses, port: o.Client.NSPort})
	}
	return nil
}

// cityNS is the city zone's own name servers, by name and by address.
type cityNS struct {
	names map[string]bool
	addrs map[netip.Addr]bool
}

// cityServers looks up the city zone's name servers and their addresses;
// none is an error, since nothing could then be told apart.
func cityServers(ctx context.Context, p *delegation.Prober, zone string, resolvers []string) (cityNS, error) {
	names, _, fail := p.NS(ctx, zone)
	if len(names) == 0 {
		if err := ctx.Err(); err != nil {
			return cityNS{}, err
		}
		return cityNS{}, fmt.Errorf("the resolvers (%s) gave no name servers for %s (%s); check --resolver and --zone",
			strings.Join(resolvers, ", "), zone, orText(fail, "no NS records"))
	}
	c := cityNS{names: map[string]bool{}, addrs: map[netip.Addr]bool{}}
	for _, n := range names {
		c.names[n] = true
		as, _ := p.Addrs(ctx, n)
		for _, a := range as {
			c.addrs[a] = true
		}
	}
	return c, nil
}

// has reports whether the name server n with addresses as is the city's.
func (c cityNS) has(n string, as []netip.Addr) bool {
	return c.names[n] || slices.ContainsFunc(as, func(a netip.Addr) bool { return c.addrs[a] })
}

// nsFound is what the NS lookup of one school's suffix gave.
type nsFound struct {
	names []string
	rcode int
	fail  string
}

// lookupNS asks the NS of every todo entry's suffix, Concurrency at once,
// and warms the prober's address cache for the names found.
func lookupNS(ctx context.Context, p *delegation.Prober, es []Entry, todo []int, o DiscoverOptions) []nsFound {
	res := make([]nsFound, len(es))
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
			res[i] = nsFound{names, rcode, fail}
			if o.Progress != nil {
				progMu.Lock()
				o.Progress(int(done.Add(1)), len(todo))
				progMu.Unlock()
			}
		})
	}
	wg.Wait()
	return res
}

// nsContext is what judging one school's name servers needs to know about
// all the others.
type nsContext struct {
	zone string
	city cityNS
	uses map[string]int // name server -> schools listing it
	port int            // the port the name servers listen on
}

// takeFound sets e's DNS to the addresses of its own name servers and notes
// what the lookup found.
func (e *Entry) takeFound(ctx context.Context, p *delegation.Prober, r nsFound, nc nsContext) {
	if len(r.names) == 0 {
		e.Notes = append(e.Notes, noNSNote(e.Suffix, r, nc.zone))
		return
	}
	var k nsKinds
	for _, n := range r.names {
		as, _ := p.Addrs(ctx, n)
		inZone := dns.IsSubDomain(dnsname.FQDN(e.Suffix), dnsname.FQDN(n))
		k.add(n, as, inZone, nc.city.has(n, as), nc.uses[n])
	}
	slices.SortFunc(k.addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	e.DNS = nil
	for _, a := range slices.Compact(k.addrs) {
		e.DNS = append(e.DNS, dnsAddr(a, nc.port))
	}
	e.Notes = append(e.Notes, "discover: "+k.note())
}

// noNSNote says why a school's NS lookup gave no names.
func noNSNote(suffix string, r nsFound, zone string) string {
	switch {
	case r.fail != "":
		return fmt.Sprintf("discover: the NS lookup for %s failed (%s); dns: left empty", suffix, r.fail)
	case r.rcode == dns.RcodeNameError:
		return fmt.Sprintf("discover: %s does not exist (NXDOMAIN); check the suffix; dns: left empty", suffix)
	case r.rcode > 0:
		return fmt.Sprintf("discover: the NS lookup for %s answered %s; dns: left empty", suffix, dns.RcodeToString[r.rcode])
	}
	return fmt.Sprintf("discover: %s is not a zone of its own (no NS records): its names live in %s; dns: left empty", suffix, zone)
}

// nsKinds sorts a school's name servers into its own (with their
// addresses), shared ones and those without an address.
type nsKinds struct {
	own, shared, noAddr []string
	addrs               []netip.Addr
}

// add sorts one name server: outside the school's zone, the city's or one
// listed by more than SharedLimit schools is shared.
func (k *nsKinds) add(n string, as []netip.Addr, inZone, isCity bool, uses int) {
	switch {
	case !inZone && isCity:
		k.shared = append(k.shared, n+" (the city's)")
	case !inZone && uses > SharedLimit:
		k.shared = append(k.shared, fmt.Sprintf("%s (listed by %d schools)", n, uses))
	case len(as) == 0:
		k.noAddr = append(k.noAddr, n)
	default:
		k.own = append(k.own, n+" "+joinAddrs(as))
		k.addrs = append(k.addrs, as...)
	}
}

// note is the discovery note for the school.
func (k nsKinds) note() string {
	var parts []string
	if len(k.own) > 0 {
		parts = append(parts, "own name servers "+strings.Join(k.own, ", "))
	}
	if len(k.shared) > 0 {
		parts = append(parts, "shared name servers "+strings.Join(k.shared, ", ")+" not listed")
	}
	if len(k.noAddr) > 0 {
		parts = append(parts, "no address for "+strings.Join(k.noAddr, ", "))
	}
	if len(k.own) == 0 {
		parts = append(parts, "dns: left empty, the city resolvers are asked")
	}
	return strings.Join(parts, "; ")
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
