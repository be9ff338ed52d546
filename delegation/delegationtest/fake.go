package delegationtest

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Mode is how a host misbehaves.
type Mode int

const (
	Serve  Mode = iota // answer from its zones
	Refuse             // REFUSED to everything (a server that dropped the zone)
	NoAA               // answer, but without the authority flag (a cache, not the zone)
	Silent             // never answer: a timeout
)

// Host is one fake server on one loopback address.
type Host struct {
	IP   string
	Mode Mode
	// Zones are the zones the host is authoritative for: origin ->
	// zone-file lines. A name below the origin with NS records is a
	// delegation: questions under it get a referral with glue.
	Zones map[string][]string
	// Cache, when set, makes the host a caching resolver: it answers from
	// these lines with RA and without AA, whatever the question's RD.
	Cache []string

	zones   map[string][]dns.RR
	cache   map[string][]dns.RR
	queries atomic.Int64
	delay   atomic.Int64

	mu       sync.Mutex
	inFlight int
	peak     int
	asked    map[string]int
}

// Queries counts the questions the host received.
func (h *Host) Queries() int64 { return h.queries.Load() }

// SetDelay holds every answer d, so questions pile up and a test sees
// how many a client keeps in flight to the host at once.
func (h *Host) SetDelay(d time.Duration) { h.delay.Store(int64(d)) }

// Peak is the most questions the host was answering at once.
func (h *Host) Peak() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

// Asked counts the questions the host answered, by "name type rd=0|1".
func (h *Host) Asked() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.asked)
}

// Host is the host listening on ip, nil when there is none.
func (n *Net) Host(ip string) *Host {
	for _, h := range n.hosts {
		if h.IP == ip {
			return h
		}
	}
	return nil
}

// Net is a set of hosts listening on one port.
type Net struct {
	Port    int
	hosts   []*Host
	servers []*dns.Server
	conns   []net.PacketConn
}

// Addr is ip:port of a host on this net.
func (n *Net) Addr(ip string) string { return net.JoinHostPort(ip, strconv.Itoa(n.Port)) }

// Close stops every host.
func (n *Net) Close() {
	for _, s := range n.servers {
		_ = s.Shutdown()
	}
	for _, c := range n.conns {
		_ = c.Close()
	}
}

// Start is Listen for tests: it fails the test on error and closes the
// hosts when the test ends.
func Start(t testing.TB, hosts ...*Host) *Net {
	t.Helper()
	n, err := Listen(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// Listen starts every host on its loopback address, UDP and TCP, all on
// one port, and returns once they all accept.
func Listen(hosts ...*Host) (*Net, error) {
	for _, h := range hosts {
		if ip := net.ParseIP(h.IP); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("delegationtest: refusing to listen on %q: only 127.0.0.0/8 and ::1", h.IP)
		}
		var err error
		if h.zones, err = parseZones(h.Zones); err != nil {
			return nil, err
		}
		if h.Cache != nil {
			if h.cache, err = parseSet(h.Cache); err != nil {
				return nil, err
			}
		}
	}
	var lastErr error
	for range 30 {
		n, err := bindAll(hosts)
		if err == nil {
			return n, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("delegationtest: no port free on every address: %v", lastErr)
}

func bindAll(hosts []*Host) (*Net, error) {
	first, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := first.LocalAddr().(*net.UDPAddr).Port
	first.Close()
	n := &Net{Port: port, hosts: hosts}
	pairs := make([]pair, len(hosts))
	for i, h := range hosts {
		addr := n.Addr(h.IP)
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			closePairs(pairs[:i])
			return nil, err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			pc.Close()
			closePairs(pairs[:i])
			return nil, err
		}
		pairs[i] = pair{pc, ln}
	}
	started := make(chan struct{}, 2*len(hosts))
	notify := func() { started <- struct{}{} }
	waiting := 0
	for i, h := range hosts {
		p := pairs[i]
		if h.Mode == Silent {
			// Read and drop, so the client's wait is a real timeout and
			// not an ICMP refusal.
			n.conns = append(n.conns, p.pc)
			go func() {
				buf := make([]byte, 2048)
				for {
					if _, _, err := p.pc.ReadFrom(buf); err != nil {
						return
					}
					h.queries.Add(1)
				}
			}()
			p.ln.Close()
			continue
		}
		u := &dns.Server{PacketConn: p.pc, Handler: h, NotifyStartedFunc: notify}
		t := &dns.Server{Listener: p.ln, Handler: h, NotifyStartedFunc: notify}
		n.servers = append(n.servers, u, t)
		waiting += 2
		go func() { _ = u.ActivateAndServe() }()
		go func() { _ = t.ActivateAndServe() }()
	}
	timeout := time.After(10 * time.Second)
	for range waiting {
		select {
		case <-started:
		case <-timeout:
			n.Close()
			return nil, errors.New("delegationtest: servers did not start within 10s")
		}
	}
	return n, nil
}

type pair struct {
	pc net.PacketConn
	ln net.Listener
}

func closePairs(ps []pair) {
	for _, p := range ps {
		p.pc.Close()
		p.ln.Close()
	}
}

func parseSet(lines []string) (map[string][]dns.RR, error) {
	m := map[string][]dns.RR{}
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			return nil, fmt.Errorf("delegationtest: bad record %q: %v", l, err)
		}
		name := strings.ToLower(rr.Header().Name)
		m[name] = append(m[name], rr)
	}
	return m, nil
}

func parseZones(z map[string][]string) (map[string][]dns.RR, error) {
	out := map[string][]dns.RR{}
	for origin, lines := range z {
		set, err := parseSet(lines)
		if err != nil {
			return nil, err
		}
		var all []dns.RR
		for _, rrs := range set {
			all = append(all, rrs...)
		}
		out[dns.Fqdn(strings.ToLower(origin))] = all
	}
	return out, nil
}

// ServeDNS answers one question.
func (h *Host) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	h.queries.Add(1)
	h.mu.Lock()
	h.inFlight++
	h.peak = max(h.peak, h.inFlight)
	if len(q.Question) == 1 {
		if h.asked == nil {
			h.asked = map[string]int{}
		}
		rd := 0
		if q.RecursionDesired {
			rd = 1
		}
		h.asked[fmt.Sprintf("%s %s rd=%d", strings.ToLower(q.Question[0].Name), dns.TypeToString[q.Question[0].Qtype], rd)]++
	}
	h.mu.Unlock()
	if d := time.Duration(h.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	m := h.answer(q)
	// Out of flight before the answer leaves: the client may send its
	// next question the moment it has this one.
	h.mu.Lock()
	h.inFlight--
	h.mu.Unlock()
	_ = w.WriteMsg(m)
}

func (h *Host) answer(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	if h.Mode == Refuse {
		m.Rcode = dns.RcodeRefused
		return m
	}
	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	if h.cache != nil {
		m.RecursionAvailable = true
		answerFrom(m, h.cache[name], qq.Qtype, name)
		if _, ok := h.cache[name]; !ok {
			m.Rcode = dns.RcodeNameError
		}
		return m
	}
	h.authoritative(m, name, qq.Qtype)
	if h.Mode == NoAA {
		m.Authoritative = false
	}
	return m
}

func (h *Host) authoritative(m *dns.Msg, name string, qtype uint16) {
	zone := ""
	for origin := range h.zones {
		if dns.IsSubDomain(origin, name) && len(origin) > len(zone) {
			zone = origin
		}
	}
	if zone == "" {
		m.Rcode = dns.RcodeRefused
		return
	}
	rrs := h.zones[zone]
	// The deepest delegation between the zone and the name, if any.
	cut := ""
	for _, rr := range rrs {
		owner := strings.ToLower(rr.Header().Name)
		if rr.Header().Rrtype == dns.TypeNS && owner != zone && dns.IsSubDomain(owner, name) && len(owner) > len(cut) {
			cut = owner
		}
	}
	if cut != "" {
		for _, rr := range rrs {
			if ns, ok := rr.(*dns.NS); ok && strings.EqualFold(ns.Hdr.Name, cut) {
				m.Ns = append(m.Ns, dns.Copy(rr))
				for _, g := range rrs {
					t := g.Header().Rrtype
					if (t == dns.TypeA || t == dns.TypeAAAA) && strings.EqualFold(g.Header().Name, ns.Ns) {
						m.Extra = append(m.Extra, dns.Copy(g))
					}
				}
			}
		}
		return
	}
	m.Authoritative = true
	var own []dns.RR
	exists := false
	for _, rr := range rrs {
		if strings.EqualFold(rr.Header().Name, name) {
			exists = true
			own = append(own, rr)
		}
	}
	answerFrom(m, own, qtype, name)
	if len(m.Answer) == 0 {
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeSOA {
				m.Ns = append(m.Ns, dns.Copy(rr))
			}
		}
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
	}
}

func answerFrom(m *dns.Msg, rrs []dns.RR, qtype uint16, name string) {
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype && strings.EqualFold(rr.Header().Name, name) {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
	}
}
