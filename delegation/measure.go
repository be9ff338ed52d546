package delegation

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Target is one zone to check. Zone and Parent are canonical names
// (lower case, no trailing dot).
type Target struct {
	Zone   string
	Parent string
}

// Plan turns school suffixes into deduplicated targets, in input order.
// The parent is the zone without its first label: a school's suffix
// (abc.kh.edu.tw) is delegated from the city zone (kh.edu.tw).
func Plan(zones ...string) []Target {
	seen := map[string]bool{}
	var out []Target
	for _, z := range zones {
		z = dnsname.Canonical(z)
		if z == "" || seen[z] {
			continue
		}
		seen[z] = true
		out = append(out, Target{Zone: z, Parent: ParentOf(z)})
	}
	return out
}

// ParentOf is the zone a name is delegated from: the name without its
// first label ("" for a top-level name).
func ParentOf(zone string) string {
	zone = dnsname.Canonical(zone)
	if i := strings.IndexByte(zone, '.'); i >= 0 {
		return zone[i+1:]
	}
	return ""
}

// Server is what one address of one name server said about the zone.
type Server struct {
	NS   string `json:"ns"`             // the name server's name
	Addr string `json:"addr,omitempty"` // ip:port asked; empty when the name has no address
	// Rcode of the SOA question ("" without a response).
	Rcode  string `json:"rcode,omitempty"`
	AA     bool   `json:"aa"`
	Serial uint32 `json:"serial,omitempty"`
	// NSSet is the zone's NS set as this server serves it.
	NSSet []string `json:"ns_set,omitempty"`
	// Lame is why this server does not serve the zone ("" when it does):
	// timeout, refused, not authoritative, servfail, nxdomain, no SOA,
	// no address.
	Lame  string  `json:"lame,omitempty"`
	RTTms float64 `json:"rtt_ms,omitempty"`
	// SOA is set when the server answered the zone's SOA record; NegTTL
	// is then min(SOA TTL, SOA MINIMUM) in seconds (RFC 2308).
	SOA    bool   `json:"soa"`
	NegTTL uint32 `json:"negative_ttl_s,omitempty"`
}

// Measurement is everything Measure saw for one zone. Judge reads only
// this; tests build it by hand.
type Measurement struct {
	Target
	// ParentServer is the parent zone's server whose answer is ParentNS;
	// ParentNS is the delegation it holds (the referral's NS set).
	ParentServer string   `json:"parent_server,omitempty"`
	ParentNS     []string `json:"parent_ns,omitempty"`
	// ParentHosts is set when the parent's server answered for the zone
	// with authority: the city's servers host the zone themselves.
	ParentHosts bool `json:"parent_hosts,omitempty"`
	// NotDelegated is set when the parent answered authoritatively that
	// the zone has no NS records: its names live in the parent zone.
	NotDelegated bool `json:"not_delegated,omitempty"`
	// ParentProblem says why no parent view was obtained.
	ParentProblem string `json:"parent_problem,omitempty"`
	// ResolverNS is the NS set the city resolvers return (the view every
	// PC behind them gets).
	ResolverNS []string `json:"resolver_ns,omitempty"`
	Servers    []Server `json:"servers,omitempty"`
	// Stopped is set when ctx ended before the measurement finished.
	Stopped bool `json:"-"`
}

// Prober measures zones through one set of city resolvers. Name server
// addresses and the parent zones' servers are looked up once and shared
// by every zone measured with the same Prober, so a city of 400 schools
// asks for kh.edu.tw's servers once, not 400 times. Its questions to any
// one server, whichever zone they are for, are capped at the client's
// PerServer in flight. A Prober caches for its life: make one per audit.
type Prober struct {
	c         Client
	resolvers []string

	mu    sync.Mutex
	cache map[string]*entry
	// slots hold a token per exchange in flight to a server (host:port).
	slots map[string]chan struct{}
	peak  int
	sent  int
}

type entry struct {
	done  chan struct{}
	addrs []netip.Addr
	names []string
	rcode int
	fail  string
}

// NewProber returns a Prober asking resolvers (host:port) with c's budget.
func NewProber(c Client, resolvers []string) *Prober {
	return &Prober{c: c.withDefaults(), resolvers: resolvers, cache: map[string]*entry{}, slots: map[string]chan struct{}{}}
}

// Load is how many exchanges the Prober sent and the most it had in
// flight to one server at once.
func (p *Prober) Load() (sent, peakPerServer int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent, p.peak
}

// exchange asks one question once a slot to its server is free. The wait
// for a slot is bounded by the exchanges ahead of it, each bounded by its
// own deadline, and by ctx.
func (p *Prober) exchange(ctx context.Context, server, name string, qtype uint16, rd bool) Reply {
	p.mu.Lock()
	slot := p.slots[server]
	if slot == nil {
		slot = make(chan struct{}, p.c.PerServer)
		p.slots[server] = slot
	}
	p.mu.Unlock()
	cancelled := func() Reply { return Reply{Server: server, Fail: FailCancelled, Err: ctx.Err().Error()} }
	if ctx.Err() != nil {
		return cancelled()
	}
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return cancelled()
	}
	defer func() { <-slot }()
	p.mu.Lock()
	p.sent++
	p.peak = max(p.peak, len(slot))
	p.mu.Unlock()
	return p.c.Exchange(ctx, server, name, qtype, rd)
}

// zoneAsker asks the questions of one zone's measurement, each distinct
// question once: a zone the city's servers host is asked for its NS set
// at the same server as its parent and as its own name server, and two
// names of one server share an address. Every question of a measurement
// names the zone, so nothing is shared with another zone's and the
// answers are dropped when the measurement ends.
type zoneAsker struct {
	p    *Prober
	zone string
	mu   sync.Mutex
	seen map[askKey]*asked
}

type askKey struct {
	server string
	qtype  uint16
	rd     bool
}

type asked struct {
	done chan struct{}
	r    Reply
}

func (p *Prober) asker(zone string) *zoneAsker {
	return &zoneAsker{p: p, zone: zone, seen: map[askKey]*asked{}}
}

// exchange asks server about the zone.
func (z *zoneAsker) exchange(ctx context.Context, server string, qtype uint16, rd bool) Reply {
	k := askKey{server, qtype, rd}
	z.mu.Lock()
	a, ok := z.seen[k]
	if !ok {
		a = &asked{done: make(chan struct{})}
		z.seen[k] = a
		z.mu.Unlock()
		a.r = z.p.exchange(ctx, server, z.zone, qtype, rd)
		close(a.done)
		return a.r
	}
	z.mu.Unlock()
	select {
	case <-a.done:
		return a.r
	case <-ctx.Done():
		return Reply{Server: server, Fail: FailCancelled, Err: ctx.Err().Error()}
	}
}

// Measure is NewProber(c, resolvers).Measure(ctx, t) for a single zone.
func Measure(ctx context.Context, t Target, c Client, resolvers []string) Measurement {
	return NewProber(c, resolvers).Measure(ctx, t)
}

// once runs fn for key at most once per Prober; concurrent callers wait
// for the first (or for ctx).
func (p *Prober) once(ctx context.Context, key string, fn func(*entry)) *entry {
	p.mu.Lock()
	e, ok := p.cache[key]
	if !ok {
		e = &entry{done: make(chan struct{})}
		p.cache[key] = e
		p.mu.Unlock()
		fn(e)
		close(e.done)
		if e.fail == FailCancelled {
			// A stopped lookup is no answer: the next caller asks again.
			p.mu.Lock()
			delete(p.cache, key)
			p.mu.Unlock()
		}
		return e
	}
	p.mu.Unlock()
	select {
	case <-e.done:
		return e
	case <-ctx.Done():
		return &entry{fail: FailCancelled}
	}
}

// ask asks the resolvers in order until one gives a response that is not
// SERVFAIL or REFUSED: one dead resolver must not hide the answer.
func (p *Prober) ask(ctx context.Context, name string, qtype uint16) Reply {
	var last Reply
	for _, r := range p.resolvers {
		last = p.exchange(ctx, r, name, qtype, true)
		if last.Msg != nil && last.Msg.Rcode != dns.RcodeServerFailure && last.Msg.Rcode != dns.RcodeRefused {
			return last
		}
		if last.Fail == FailCancelled {
			return last
		}
	}
	return last
}

// Addrs returns a host's IPv4 and IPv6 addresses through the resolvers.
func (p *Prober) Addrs(ctx context.Context, host string) ([]netip.Addr, string) {
	host = dnsname.Canonical(host)
	e := p.once(ctx, "addr "+host, func(e *entry) {
		if a, err := netip.ParseAddr(host); err == nil {
			e.addrs = []netip.Addr{a}
			return
		}
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			r := p.ask(ctx, host, qt)
			if r.Msg == nil {
				e.fail = r.Fail
				continue
			}
			e.addrs = append(e.addrs, addrsOf(r.Msg.Answer, host)...)
		}
		if len(e.addrs) > 0 {
			e.fail = ""
		}
	})
	return e.addrs, e.fail
}

// NS returns the zone's NS set through the resolvers, the rcode (-1
// without a response) and, without one, why.
func (p *Prober) NS(ctx context.Context, zone string) ([]string, int, string) {
	zone = dnsname.Canonical(zone)
	e := p.once(ctx, "ns "+zone, func(e *entry) {
		r := p.ask(ctx, zone, dns.TypeNS)
		e.rcode, e.fail = r.Rcode(), r.Fail
		if r.Msg != nil {
			e.names = nsNames(r.Msg.Answer, zone)
		}
	})
	return e.names, e.rcode, e.fail
}

// parentServers are the addresses of the parent zone's name servers.
func (p *Prober) parentServers(ctx context.Context, parent string) ([]string, string) {
	names, _, fail := p.NS(ctx, parent)
	if len(names) == 0 {
		if fail == "" {
			fail = "no NS records"
		}
		return nil, "the city resolvers gave no name servers for " + parent + " (" + fail + ")"
	}
	var out []string
	for _, n := range names {
		addrs, _ := p.Addrs(ctx, n)
		for _, a := range addrs {
			out = append(out, p.nsAddr(a))
		}
	}
	if len(out) == 0 {
		return nil, "the name servers of " + parent + " (" + strings.Join(names, ", ") + ") have no address at the city resolvers"
	}
	return out, ""
}

func (p *Prober) nsAddr(a netip.Addr) string {
	return net.JoinHostPort(a.String(), strconv.Itoa(p.c.NSPort))
}

// Measure asks the parent's servers for the delegation, the resolvers for
// the NS set PCs see, and every address of every name server either
// names for the zone's SOA and NS records.
func (p *Prober) Measure(ctx context.Context, t Target) Measurement {
	m := Measurement{Target: t}
	z := p.asker(t.Zone)
	glue := map[string][]netip.Addr{}
	if t.Parent == "" {
		m.ParentProblem = "a top-level name has no parent zone to ask"
	} else if servers, why := p.parentServers(ctx, t.Parent); why != "" {
		m.ParentProblem = why
	} else {
		p.askParent(ctx, z, &m, servers, glue)
	}
	if m.NotDelegated {
		m.Stopped = ctx.Err() != nil
		return m
	}
	m.ResolverNS, _, _ = p.NS(ctx, t.Zone)

	asked := map[string]bool{}
	names := union(m.ParentNS, m.ResolverNS)
	// Two rounds: the names the delegation and the resolvers list, then
	// any further name the zone's own servers list (a PC's resolver uses
	// the zone's own NS set once it has it). Bounded by construction.
	for round := 0; round < 2 && len(names) > 0; round++ {
		var todo []string
		for _, n := range names {
			if !asked[n] {
				asked[n] = true
				todo = append(todo, n)
			}
		}
		m.Servers = append(m.Servers, p.askServers(ctx, z, t.Zone, todo, glue)...)
		var more []string
		for _, s := range m.Servers {
			more = union(more, s.NSSet)
		}
		names = more
	}
	slices.SortFunc(m.Servers, func(a, b Server) int {
		if c := strings.Compare(a.NS, b.NS); c != 0 {
			return c
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	m.Stopped = ctx.Err() != nil
	return m
}

// askParent asks the parent's servers, in order, until one answers
// usefully, for the zone's NS records without recursion.
func (p *Prober) askParent(ctx context.Context, z *zoneAsker, m *Measurement, servers []string, glue map[string][]netip.Addr) {
	var problems []string
	for _, s := range servers {
		r := z.exchange(ctx, s, dns.TypeNS, false)
		switch {
		case r.Msg == nil:
			problems = append(problems, s+": "+r.Fail)
			if r.Fail == FailCancelled {
				m.ParentProblem = "stopped"
				return
			}
			continue
		case r.Msg.Rcode == dns.RcodeNameError && r.Msg.Authoritative:
			m.ParentServer, m.NotDelegated = s, true
			return
		case r.Msg.Rcode != dns.RcodeSuccess:
			problems = append(problems, s+": "+dns.RcodeToString[r.Msg.Rcode])
			continue
		}
		if ns := nsNames(r.Msg.Answer, m.Zone); len(ns) > 0 {
			m.ParentServer, m.ParentNS, m.ParentHosts = s, ns, r.Msg.Authoritative
			return
		}
		if ns := nsNames(r.Msg.Ns, m.Zone); len(ns) > 0 {
			m.ParentServer, m.ParentNS = s, ns
			for _, n := range ns {
				if a := addrsOf(r.Msg.Extra, n); len(a) > 0 {
					glue[n] = a
				}
			}
			return
		}
		if r.Msg.Authoritative {
			// NODATA with authority: the name exists in the parent zone
			// (a host record, say) but is not a zone of its own.
			m.ParentServer, m.NotDelegated = s, true
			return
		}
		problems = append(problems, s+": neither a referral nor an authoritative answer")
	}
	m.ParentProblem = "no server of " + m.Parent + " answered for the delegation (" + strings.Join(problems, "; ") + ")"
}

// askServers asks every address of every name for SOA and NS, bounded by
// the client's concurrency.
func (p *Prober) askServers(ctx context.Context, z *zoneAsker, zone string, names []string, glue map[string][]netip.Addr) []Server {
	type job struct{ ns, addr string }
	var jobs []job
	var out []Server
	for _, n := range names {
		addrs := glue[n]
		if len(addrs) == 0 {
			addrs, _ = p.Addrs(ctx, n)
		}
		if len(addrs) == 0 {
			out = append(out, Server{NS: n, Lame: "no address"})
			continue
		}
		for _, a := range addrs {
			jobs = append(jobs, job{n, p.nsAddr(a)})
		}
	}
	res := make([]Server, len(jobs))
	if len(jobs) == 1 {
		// The usual school: one server, asked in this goroutine.
		res[0] = p.askServer(ctx, z, zone, jobs[0].ns, jobs[0].addr)
		return append(out, res...)
	}
	sem := make(chan struct{}, p.c.Concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res[i] = p.askServer(ctx, z, zone, j.ns, j.addr)
		})
	}
	wg.Wait()
	return append(out, res...)
}

func (p *Prober) askServer(ctx context.Context, z *zoneAsker, zone, ns, addr string) Server {
	s := Server{NS: ns, Addr: addr}
	r := z.exchange(ctx, addr, dns.TypeSOA, false)
	s.RTTms = float64(r.RTT.Microseconds()/10) / 100
	if r.Msg == nil {
		s.Lame = r.Fail
		return s
	}
	s.Rcode, s.AA = dns.RcodeToString[r.Msg.Rcode], r.Msg.Authoritative
	switch {
	case r.Msg.Rcode == dns.RcodeRefused:
		s.Lame = "refused"
	case r.Msg.Rcode == dns.RcodeServerFailure:
		s.Lame = "servfail"
	case r.Msg.Rcode == dns.RcodeNameError:
		s.Lame = "nxdomain"
	case r.Msg.Rcode != dns.RcodeSuccess:
		s.Lame = strings.ToLower(dns.RcodeToString[r.Msg.Rcode])
	case !r.Msg.Authoritative:
		s.Lame = "not authoritative"
	}
	for _, rr := range r.Msg.Answer {
		if soa, ok := rr.(*dns.SOA); ok && dnsname.Equal(soa.Hdr.Name, zone) {
			s.Serial, s.NegTTL, s.SOA = soa.Serial, min(soa.Hdr.Ttl, soa.Minttl), true
		}
	}
	if s.Lame == "" && !s.SOA {
		s.Lame = "no SOA"
	}
	if s.Lame != "" {
		return s
	}
	if nr := z.exchange(ctx, addr, dns.TypeNS, false); nr.Msg != nil && nr.Msg.Authoritative {
		s.NSSet = nsNames(nr.Msg.Answer, zone)
	}
	return s
}

// NegativeTTL is how long resolvers may keep a "no such name" answer from
// the zone (RFC 2308: the SOA record's TTL or its MINIMUM, the smaller),
// from the newest serial's server; false when no server gave an SOA.
func (m Measurement) NegativeTTL() (time.Duration, bool) {
	best, ok := newest(m.Servers)
	if !ok {
		return 0, false
	}
	return time.Duration(best.NegTTL) * time.Second, true
}

func newest(servers []Server) (Server, bool) {
	var best Server
	found := false
	for _, s := range servers {
		if s.Lame != "" || !s.SOA {
			continue
		}
		if !found || serialNewer(s.Serial, best.Serial) {
			best, found = s, true
		}
	}
	return best, found
}

// serialNewer compares SOA serials in sequence-space arithmetic (RFC 1982),
// so a serial that wrapped past 2^32 is still newer.
func serialNewer(a, b uint32) bool { return a != b && int32(a-b) > 0 }

func nsNames(rrs []dns.RR, zone string) []string {
	var out []string
	for _, rr := range rrs {
		if ns, ok := rr.(*dns.NS); ok && dnsname.Equal(ns.Hdr.Name, zone) {
			out = append(out, dnsname.Canonical(ns.Ns))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// addrsOf returns the addresses owned by name (following no CNAME: a name
// server name must not be an alias, RFC 2181 §10.3).
func addrsOf(rrs []dns.RR, name string) []netip.Addr {
	var out []netip.Addr
	for _, rr := range rrs {
		if !dnsname.Equal(rr.Header().Name, name) {
			continue
		}
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A
		case *dns.AAAA:
			ip = v.AAAA
		default:
			continue
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
