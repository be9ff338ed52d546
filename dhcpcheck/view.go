package dhcpcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// View is what a Windows PC on the LAN would be told, from both address
// families: every DHCPv4 offer, every DHCPv6 Reply to an Information-
// Request and every Router Advertisement of one window. It is the campus
// leg's typed result; the judges read it, and it round-trips through JSON
// (the namespace tests carry it between processes).
type View struct {
	Iface  string        `json:"iface"`
	Window time.Duration `json:"window"`
	// Offers are the DHCPv4 offers, in arrival order.
	Offers []Offer `json:"offers"`
	// Replies are the DHCPv6 Replies, Adverts the Router Advertisements.
	Replies []Reply6       `json:"replies6"`
	Adverts []RouterAdvert `json:"adverts"`
	// IPv6Error says why the IPv6 half was not observed (the probe box
	// has IPv6 off on the interface); empty when it was.
	IPv6Error string `json:"ipv6_error,omitempty"`
}

// Source names where a PC got a search domain or a DNS server from.
type Source string

const (
	SrcOption15   Source = "dhcpv4 option 15"  // connection-specific suffix
	SrcOption119  Source = "dhcpv4 option 119" // domain search list (Windows 10 1803+)
	SrcDHCPv6List Source = "dhcpv6 option 24"  // domain list
	SrcRADNSSL    Source = "ra dnssl"          // RFC 8106 DNS search list
	SrcOption6    Source = "dhcpv4 option 6"
	SrcDHCPv6DNS  Source = "dhcpv6 option 23"
	SrcRARDNSS    Source = "ra rdnss"
)

// SearchDomain is one domain a PC would search, with where it came from.
// Origin names the sender: the DHCPv4 server id, the DHCPv6 server's
// DUID, or the router's address.
type SearchDomain struct {
	Domain string `json:"domain"`
	Source Source `json:"source"`
	Origin string `json:"origin"`
}

// DNSServer is one DNS server a PC would ask ("ip:53", "[v6]:53", a
// link-local one with its zone), with where it came from.
type DNSServer struct {
	Addr   string `json:"addr"`
	Source Source `json:"source"`
	Origin string `json:"origin"`
}

// Domains lists every search domain of the view, in the order Windows
// tries them for one connection (the connection-specific suffix first,
// then the search lists), each (domain, source, origin) once. Names are
// canonical (dnsname.Canonical).
func (v View) Domains() []SearchDomain {
	var d distinct[SearchDomain]
	add := func(names []string, s Source, origin string) {
		for _, n := range names {
			if n = dnsname.Canonical(n); n != "" {
				d.add(SearchDomain{Domain: n, Source: s, Origin: origin})
			}
		}
	}
	for _, o := range v.Offers {
		if o.State(OptDomainName) == Present {
			add([]string{o.Suffix}, SrcOption15, ipText(o.ServerID))
		}
	}
	for _, h := range v.handouts() {
		add(h.domains, h.domainSrc, h.origin)
	}
	return d.out
}

// Servers lists every DNS server of the view with its source, each
// (address, source, origin) once.
func (v View) Servers() []DNSServer {
	var d distinct[DNSServer]
	for _, h := range v.handouts() {
		for _, ip := range h.dns {
			if ip != nil {
				d.add(DNSServer{Addr: v.dnsAddr(ip), Source: h.dnsSrc, Origin: h.origin})
			}
		}
	}
	return d.out
}

// handout is what one sender gave a PC: search domains and DNS servers,
// each list with the source it came in.
type handout struct {
	origin    string // DHCP server id, DUID or router address
	domainSrc Source
	domains   []string
	dnsSrc    Source
	dns       []net.IP
}

// handouts lists the view's senders, DHCPv4 before DHCPv6 before routers.
func (v View) handouts() []handout {
	var hs []handout
	for _, o := range v.Offers {
		hs = append(hs, handout{ipText(o.ServerID), SrcOption119, o.SearchList, SrcOption6, o.DNS})
	}
	for _, r := range v.Replies {
		hs = append(hs, handout{r.ID(), SrcDHCPv6List, r.Domains, SrcDHCPv6DNS, r.DNS})
	}
	for _, ra := range v.Adverts {
		hs = append(hs, handout{ipText(ra.Source), SrcRADNSSL, ra.DNSSL, SrcRARDNSS, ra.RDNSS})
	}
	return hs
}

// distinct collects values once each, in the order first met.
type distinct[T comparable] struct {
	seen map[T]bool
	out  []T
}

func (d *distinct[T]) add(v T) {
	if d.seen == nil {
		d.seen = map[T]bool{}
	}
	if !d.seen[v] {
		d.seen[v] = true
		d.out = append(d.out, v)
	}
}

// dnsAddr is DNSAddr with the interface as zone for a link-local server,
// which is reachable only through that interface.
func (v View) dnsAddr(ip net.IP) string {
	if ip.To4() == nil && ip.IsLinkLocalUnicast() && v.Iface != "" {
		return net.JoinHostPort(ip.String()+"%"+v.Iface, "53")
	}
	return DNSAddr(ip)
}

// SearchedNames are the distinct domains of Domains, in order.
func (v View) SearchedNames() []string {
	var d distinct[string]
	for _, sd := range v.Domains() {
		d.add(sd.Domain)
	}
	return d.out
}

// ServerAddrs are the distinct addresses of Servers, in order.
func (v View) ServerAddrs() []string {
	var d distinct[string]
	for _, s := range v.Servers() {
		d.add(s.Addr)
	}
	return d.out
}

// maxSearchDomains bounds the domains followed, as maxDNSTargets bounds
// the servers: a forged offer or RA with hundreds of names must not make
// the probe ask hundreds of questions. Windows itself uses the first few.
const maxSearchDomains = 16

// SearchTargets lists the dns.srv questions JudgeSearch needs: every
// searched domain at every DNS server a PC gets, across the families (a
// PC with an IPv4 lease and IPv6 from the router combines both lists),
// bounded by maxDNSTargets servers and maxSearchDomains domains. The rest
// is named in dhcp.search's evidence as not followed.
func (v View) SearchTargets() []Target {
	var ts []Target
	domains, servers := v.SearchedNames(), v.ServerAddrs()
	for _, s := range servers[:min(len(servers), maxDNSTargets)] {
		for _, d := range domains[:min(len(domains), maxSearchDomains)] {
			ts = append(ts, Target{Server: s, Suffix: d})
		}
	}
	return ts
}

// Targets are all the dns.srv questions the campus leg needs answered:
// those of JudgeDNS (each server with the suffix of its own offer, or
// expectSuffix) and those of JudgeSearch, each once. The orchestrator asks
// each with the DNS leg's own judging and passes the findings back as
// SRVResults.
func (v View) Targets(expectSuffix string) []Target {
	var d distinct[Target]
	for _, t := range append(v.dnsTargets(expectSuffix), v.SearchTargets()...) {
		d.add(t)
	}
	return d.out
}

// dnsTargets extends DNSTargets to the IPv6 servers: a server from DHCPv6
// or an RA is asked for the school's suffix (or, without one, the first
// option 15 offered), the name a PC builds from its primary suffix.
func (v View) dnsTargets(expectSuffix string) []Target {
	ts := DNSTargets(v.Offers, expectSuffix)
	suffix := dnsname.Canonical(expectSuffix)
	if suffix == "" {
		for _, o := range v.Offers {
			if o.State(OptDomainName) == Present {
				suffix = dnsname.Canonical(o.Suffix)
				break
			}
		}
	}
	if suffix == "" {
		return ts
	}
	seen := map[string]bool{}
	for _, t := range ts {
		seen[t.Server] = true
	}
	for _, s := range v.Servers() {
		if s.Source == SrcOption6 || seen[s.Addr] || len(ts) >= 2*maxDNSTargets {
			continue
		}
		seen[s.Addr] = true
		ts = append(ts, Target{Server: s.Addr, Suffix: suffix})
	}
	return ts
}

// SRVResults are the dns.srv findings for the questions of Targets, keyed
// by the question: Target{Server: "10.1.2.3:53", Suffix: "demo.kh.edu.tw"}
// for _vlmcs._tcp.demo.kh.edu.tw at 10.1.2.3. Suffix is canonical.
type SRVResults map[Target]finding.Finding

// Observe runs the DHCPv4 DISCOVER, the DHCPv6 Information-Request and the
// Router Solicitation together, in one window, and returns the View. The
// DHCPv4 half decides the error: without privilege or interface nothing
// could be seen. An IPv6 half that cannot run because the interface has no
// IPv6 is recorded in View.IPv6Error, not returned, since the IPv4 result
// stands on its own; its lack of privilege is returned like IPv4's.
func Observe(ctx context.Context, opts Options) (View, error) {
	window := opts.Window
	if window <= 0 {
		window = DefaultWindow
	}
	v := View{Iface: opts.Iface, Window: window}
	var (
		wg   sync.WaitGroup
		err6 error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if opts.Conn != nil {
			// A test's in-memory DHCPv4 connection has no IPv6 to go with it.
			err6 = fmt.Errorf("%w: the DHCPv4 connection was given by the caller", ErrNoIPv6)
			return
		}
		v.Replies, v.Adverts, err6 = Listen6(ctx, opts)
	}()
	offers, err := Discover(ctx, opts)
	wg.Wait()
	v.Offers = offers
	if err != nil {
		return v, err
	}
	switch {
	case err6 == nil:
	case errors.Is(err6, os.ErrPermission) || ctx.Err() != nil:
		return v, err6
	default:
		v.IPv6Error = err6.Error()
	}
	return v, nil
}

// ResultsByServer builds SRVResults from dns.srv findings keyed by server
// address alone (what an orchestrator that asks each server one name
// collects): a finding counts for the target whose SRV name it asked
// (its "query" evidence), so a server asked for two domains is never
// credited with the wrong one.
func ResultsByServer(targets []Target, byServer map[string]finding.Finding) SRVResults {
	out := SRVResults{}
	for _, t := range targets {
		f, ok := byServer[t.Server]
		if !ok {
			continue
		}
		if q := f.Evidence.String("query"); q != "" && !dnsname.Equal(q, dnsname.SRVName(t.Suffix)) {
			continue
		}
		out[t] = f
	}
	return out
}
