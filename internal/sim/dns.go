package sim

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Fault makes a server misbehave the way real ones do.
type Fault int

const (
	Healthy     Fault = iota
	Dead              // reads questions and never answers: a timeout
	TruncateUDP       // answers UDP with TC set and no records; TCP has the data
	Refuse            // REFUSED to everything
	ServFail          // SERVFAIL to everything
)

// Records is a tiny authoritative data set: name -> records. Names are
// matched case-insensitively; a name with no record of the asked type
// answers NODATA, an absent name NXDOMAIN.
type Records map[string][]dns.RR

// Add parses zone-file lines ("_vlmcs._tcp.a.example. 300 IN SRV 0 0 1688
// kms.example.") into the set. It panics on a bad line: records are
// written by programmers, not read from users.
func (r Records) Add(lines ...string) Records {
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			panic(fmt.Sprintf("bad record %q: %v", l, err))
		}
		name := strings.ToLower(rr.Header().Name)
		r[name] = append(r[name], rr)
	}
	return r
}

// Server is one simulated DNS server listening on UDP and TCP of one
// address.
type Server struct {
	Addr    string // ip:port
	records Records
	fault   Fault
	udp     *dns.Server
	tcp     *dns.Server
	// deadConn is the socket of a Dead server, which has no dns.Server.
	deadConn net.PacketConn
	queries  atomic.Int64
	mu       sync.Mutex
	byQ      map[string]int
}

// Queries counts the questions the server received (all transports).
func (s *Server) Queries() int64 { return s.queries.Load() }

// Asked counts how often one question ("name/TYPE") was received.
func (s *Server) Asked(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byQ[strings.ToLower(dns.Fqdn(name))+"/"+dns.TypeToString[qtype]]
}

// Close stops the server.
func (s *Server) Close() {
	if s.udp != nil {
		_ = s.udp.Shutdown()
	}
	if s.tcp != nil {
		_ = s.tcp.Shutdown()
	}
	if s.deadConn != nil {
		_ = s.deadConn.Close()
	}
}

// ErrNotLoopback guards the network-safety rule.
var ErrNotLoopback = errors.New("refusing to listen outside 127.0.0.0/8 and ::1")

// Listen starts a server on ip (a loopback address) and a free port, with
// UDP and TCP on the same port, and returns once both accept.
func Listen(ip string, recs Records, fault Fault) (*Server, error) {
	if p := net.ParseIP(ip); p == nil || !p.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, ip)
	}
	s := &Server{records: recs, fault: fault, byQ: map[string]int{}}
	// The UDP port is chosen first; TCP on the same number can be taken
	// by another process, so retry a few times.
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = pc.LocalAddr().String()
		if fault == Dead {
			// Swallow every question; close the TCP listener so a TCP
			// try fails fast too (a dead host would time out, but
			// only UDP is asked of a server that never answered).
			ln.Close()
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, _, err := pc.ReadFrom(buf); err != nil {
						return
					}
					s.queries.Add(1)
				}
			}()
			s.deadConn = pc
			return s, nil
		}
		started := make(chan struct{}, 2)
		s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serveUDP), NotifyStartedFunc: func() { started <- struct{}{} }}
		s.tcp = &dns.Server{Listener: ln, Handler: dns.HandlerFunc(s.serveTCP), NotifyStartedFunc: func() { started <- struct{}{} }}
		go func() { _ = s.udp.ActivateAndServe() }()
		go func() { _ = s.tcp.ActivateAndServe() }()
		for range 2 {
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				s.Close()
				return nil, errors.New("DNS server did not start within 5s")
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("no free UDP+TCP port pair on %s: %v", ip, lastErr)
}

func (s *Server) serveUDP(w dns.ResponseWriter, q *dns.Msg) { s.serve(w, q, false) }
func (s *Server) serveTCP(w dns.ResponseWriter, q *dns.Msg) { s.serve(w, q, true) }

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg, tcp bool) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	m.RecursionAvailable = true
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	s.mu.Lock()
	s.byQ[name+"/"+dns.TypeToString[qq.Qtype]]++
	s.mu.Unlock()
	switch s.fault {
	case Refuse:
		m.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(m)
		return
	case ServFail:
		m.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(m)
		return
	case TruncateUDP:
		if !tcp {
			m.Truncated = true
			_ = w.WriteMsg(m)
			return
		}
	}
	rrs, exists := s.records[name]
	if !exists {
		m.Rcode = dns.RcodeNameError
		_ = w.WriteMsg(m)
		return
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == qq.Qtype {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
	}
	_ = w.WriteMsg(m)
}

// Cluster is a set of servers to close together.
type Cluster struct {
	Servers []*Server
}

// Start adds a server to the cluster.
func (c *Cluster) Start(ip string, recs Records, fault Fault) (*Server, error) {
	s, err := Listen(ip, recs, fault)
	if err != nil {
		return nil, err
	}
	c.Servers = append(c.Servers, s)
	return s, nil
}

// Close stops every server.
func (c *Cluster) Close() {
	for _, s := range c.Servers {
		s.Close()
	}
}
