package dnstest

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Kind is one way of misbehaving.
type Kind int

const (
	Healthy     Kind = iota
	Silent           // reads every question and never answers
	Refused          // REFUSED to everything
	ServFail         // SERVFAIL to everything
	WrongID          // the answer carries another id
	NoQR             // the answer has the QR (response) bit unset
	NoQuestion       // the answer has no question section (rcode unchanged)
	WrongType        // the answer's question names another qtype
	WrongName        // the answer's question names another name
	Garbage          // bytes that do not parse as DNS, starting with the right id
	TruncateUDP      // TC over UDP with no records; TCP answers in full
	TruncateAll      // TC over UDP and over TCP: the full answer is never given
)

var kindNames = [...]string{"healthy", "silent", "refused", "servfail", "wrong-id", "no-qr",
	"no-question", "wrong-type", "wrong-name", "garbage", "truncate-udp", "truncate-all"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Behaviour is what the server does with every question.
type Behaviour struct {
	// Kind is the answer actually sent (Healthy: the zone's answer).
	Kind Kind
	// Before are packets sent first, over the same transport, each built
	// by its Kind from the same question (Healthy there means a correct
	// answer, which a test would not want first). This is the "junk before
	// the real answer" of an on-path spoofer or a confused middlebox.
	Before []Kind
	// Owner, when set, renames the owner of every answer record: the
	// server answers the question with records of another name.
	Owner string
	// Append are zone-file lines added to every answer section: strays of
	// unrelated owners.
	Append []string
	// OnlyUDP applies the misbehaviour to UDP only; TCP answers healthily.
	OnlyUDP bool
}

// Server is one hostile server. Addr serves UDP and TCP.
type Server struct {
	Addr    string
	zone    map[string][]dns.RR
	b       Behaviour
	appendR []dns.RR
	queries atomic.Int64
	tcpQ    atomic.Int64
}

// Queries counts questions received over both transports; TCPQueries
// those over TCP.
func (s *Server) Queries() int64    { return s.queries.Load() }
func (s *Server) TCPQueries() int64 { return s.tcpQ.Load() }

// Start runs a server answering from zone (zone-file lines) with b. It
// fails the test on a bad line or when no port pair is free.
func Start(t testing.TB, b Behaviour, zone ...string) *Server {
	t.Helper()
	s := &Server{zone: map[string][]dns.RR{}, b: b}
	for _, l := range zone {
		rr := mustRR(t, l)
		n := strings.ToLower(rr.Header().Name)
		s.zone[n] = append(s.zone[n], rr)
	}
	for _, l := range b.Append {
		s.appendR = append(s.appendR, mustRR(t, l))
	}
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = pc.LocalAddr().String()
		started := make(chan struct{}, 2)
		notify := func() { started <- struct{}{} }
		udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) { s.serve(w, q, false) }), NotifyStartedFunc: notify}
		tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) { s.serve(w, q, true) }), NotifyStartedFunc: notify}
		go func() { _ = udp.ActivateAndServe() }()
		go func() { _ = tcp.ActivateAndServe() }()
		t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
		for range 2 {
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				t.Fatal("dnstest: server did not start within 5s")
			}
		}
		return s
	}
	t.Fatalf("dnstest: no free UDP+TCP port pair on 127.0.0.1: %v", lastErr)
	return nil
}

func mustRR(t testing.TB, l string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(l)
	if err != nil || rr == nil {
		t.Fatalf("dnstest: bad record %q: %v", l, err)
	}
	return rr
}

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg, tcp bool) {
	s.queries.Add(1)
	if tcp {
		s.tcpQ.Add(1)
	}
	if len(q.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	b := s.b
	if tcp && b.OnlyUDP {
		b = Behaviour{Owner: b.Owner, Append: b.Append}
	}
	if b.Kind == Silent {
		return
	}
	for _, k := range b.Before {
		_, _ = w.Write(s.packet(q, k, tcp, maxSize(q, tcp)))
	}
	_, _ = w.Write(s.packet(q, b.Kind, tcp, maxSize(q, tcp)))
}

// maxSize is the largest answer the client can take: 64 KiB over TCP, its
// EDNS0 buffer (or 512) over UDP. A larger answer is truncated, as a real
// server does, so a big record set exercises the TCP fallback.
func maxSize(q *dns.Msg, tcp bool) int {
	if tcp {
		return dns.MaxMsgSize
	}
	if o := q.IsEdns0(); o != nil {
		return max(int(o.UDPSize()), dns.MinMsgSize)
	}
	return dns.MinMsgSize
}

// answer is the zone's answer to q: CNAMEs followed inside the zone, as a
// recursive resolver returns the chain.
func (s *Server) answer(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative, m.RecursionAvailable, m.Compress = true, true, true
	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	for hops := 0; hops < 8; hops++ {
		rrs, ok := s.zone[name]
		if !ok {
			if hops == 0 {
				m.Rcode = dns.RcodeNameError
			}
			break
		}
		var next string
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == qq.Qtype:
				m.Answer = append(m.Answer, dns.Copy(rr))
			case rr.Header().Rrtype == dns.TypeCNAME:
				m.Answer = append(m.Answer, dns.Copy(rr))
				next = strings.ToLower(rr.(*dns.CNAME).Target)
			}
		}
		if next == "" {
			break
		}
		name = next
	}
	if s.b.Owner != "" {
		for _, rr := range m.Answer {
			rr.Header().Name = dns.Fqdn(s.b.Owner)
		}
	}
	for _, rr := range s.appendR {
		m.Answer = append(m.Answer, dns.Copy(rr))
	}
	return m
}

func (s *Server) packet(q *dns.Msg, k Kind, tcp bool, limit int) []byte {
	m := s.answer(q)
	switch k {
	case Refused:
		m = new(dns.Msg)
		m.SetRcode(q, dns.RcodeRefused)
	case ServFail:
		m = new(dns.Msg)
		m.SetRcode(q, dns.RcodeServerFailure)
	case WrongID:
		m.Id = q.Id + 1
	case NoQR:
		m.Response = false
	case NoQuestion:
		m.Question = nil
	case WrongType:
		m.Question[0].Qtype = otherType(m.Question[0].Qtype)
	case WrongName:
		m.Question[0].Name = "wrong-name.invalid."
	case Garbage:
		// A full header claiming 65535 questions, then four bytes.
		b := []byte{0, 0, 0x81, 0x80, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}
		binary.BigEndian.PutUint16(b, q.Id)
		return b
	case TruncateUDP, TruncateAll:
		if !tcp || k == TruncateAll {
			m.Answer, m.Truncated = nil, true
		}
	}
	out, err := m.Pack()
	if err != nil {
		panic(fmt.Sprintf("dnstest: cannot pack the answer: %v", err))
	}
	if len(out) > limit {
		m.Answer, m.Ns, m.Extra, m.Truncated = nil, nil, nil, true
		out, _ = m.Pack()
	}
	return out
}

func otherType(t uint16) uint16 {
	if t == dns.TypeA {
		return dns.TypeAAAA
	}
	return dns.TypeA
}
