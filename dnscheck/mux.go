package dnscheck

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Sockets is a small pool of shared UDP sockets that questions are asked
// over: a question is a map entry and a timer, not a socket of its own.
// A socket per question (socket, connect, epoll add, close) was half of
// an audit's CPU.
//
// Source-port randomness is part of what keeps an off-path spoofer out,
// beside the random id: each question goes out on one of several sockets
// picked at random, and every socket is retired after rotateAfter
// questions and replaced by a fresh one on a new random port, so a port a
// hostile school server learns from our questions is soon useless.
//
// A refused port still reads as port-closed: the sockets ask the kernel
// for ICMP errors (IP_RECVERR), which name the server and carry the
// question's id.
type Sockets struct {
	mu     sync.Mutex
	closed bool
	slots  [2][]*usock // per family: IPv4, IPv6
	// rotateAfter bounds the questions one socket sends before a fresh
	// socket replaces it.
	rotateAfter int
	// open counts the sockets not yet closed, retired ones included;
	// made all that were opened.
	open, made atomic.Int64

	// srtt is each server's smoothed round-trip time in this pass, from
	// answers to questions sent once: how soon a question it has not
	// answered is probably lost rather than slow.
	rttMu sync.Mutex
	srtt  map[netip.AddrPort]time.Duration
	// answered and resent count answers and second sends in this pass:
	// the resend budget.
	answered, resent atomic.Int64
}

// A server that answers but loses a packet (a busy server's full socket
// queue, a congested link) would cost the audit a whole timeout for that
// question: with 256 questions in flight to one Knot process on a 2-core
// machine, 10 to 50 of 60,000 questions were dropped per audit, and each
// stretched the audit by the 1 s timeout. So a question still unanswered
// after its server's retransmission timeout is sent once more within the
// same attempt, as recursive resolvers do; the original stays welcome
// until the attempt's deadline, so a slow server is never judged by the
// resend, and the attempt counts stay what probe.attempts says. The
// timeout is resendFactor times the server's smoothed round-trip time
// in this pass (at least minResend), or, for a server that has not
// answered yet, unknownResend (the 376 ms unbound waits for a server it
// knows nothing of). No resend comes after half the attempt. The budget
// (resendBurst plus one per resendPer answers) keeps a city of dead or
// drowning servers from being asked twice as often: resending is for
// the odd lost packet, not a second stream.
const (
	resendFactor  = 4
	minResend     = 100 * time.Millisecond
	unknownResend = 376 * time.Millisecond
	resendBurst   = 64
	resendPer     = 8
)

// resendAfter is how long to wait for to's answer before asking again,
// or 0 when the resend would come after half the attempt.
func (p *Sockets) resendAfter(to netip.AddrPort, timeout time.Duration) time.Duration {
	p.rttMu.Lock()
	rtt, known := p.srtt[canonicalAP(to)]
	p.rttMu.Unlock()
	after := unknownResend
	if known {
		after = max(resendFactor*rtt, minResend)
	}
	if after > timeout/2 {
		return 0
	}
	return after
}

// sample adds one round trip of a question sent once (Karn: a resent
// question's answer may be to either copy).
func (p *Sockets) sample(to netip.AddrPort, rtt time.Duration) {
	to = canonicalAP(to)
	p.rttMu.Lock()
	defer p.rttMu.Unlock()
	if p.srtt == nil {
		p.srtt = map[netip.AddrPort]time.Duration{}
	}
	if old, ok := p.srtt[to]; ok {
		rtt = old - old/8 + rtt/8
	}
	p.srtt[to] = rtt
}

// mayResend takes one resend from the budget, or reports it spent.
func (p *Sockets) mayResend() bool {
	if p.resent.Add(1) > resendBurst+p.answered.Load()/resendPer {
		p.resent.Add(-1)
		return false
	}
	return true
}

const (
	// DefaultSocketsPerFamily: 8 sockets keep a few bits of port entropy
	// while each reader still sees enough traffic to be worth a goroutine.
	DefaultSocketsPerFamily = 8
	defaultRotateAfter      = 256
)

// NewSockets opens nothing yet: sockets are made on first use.
func NewSockets() *Sockets {
	p := &Sockets{rotateAfter: defaultRotateAfter}
	for f := range p.slots {
		p.slots[f] = make([]*usock, DefaultSocketsPerFamily)
	}
	return p
}

// Close closes the sockets. Questions still waiting fail at their
// deadline; call it when no exchange is running.
func (p *Sockets) Close() {
	p.mu.Lock()
	p.closed = true
	var open []*usock
	for f := range p.slots {
		for i, s := range p.slots[f] {
			if s != nil {
				open = append(open, s)
				p.slots[f][i] = nil
			}
		}
	}
	p.mu.Unlock()
	for _, s := range open {
		s.mu.Lock()
		s.retired = true
		idle := len(s.pending) == 0
		s.mu.Unlock()
		if idle {
			s.close()
		}
	}
}

var (
	defaultSocketsOnce sync.Once
	defaultSockets     *Sockets
)

// processSockets is the pool of a Client without one of its own. It lives
// as long as the process; its sockets rotate like any pool's.
func processSockets() *Sockets {
	defaultSocketsOnce.Do(func() { defaultSockets = NewSockets() })
	return defaultSockets
}

// errNoShared: without IP_RECVERR an unconnected socket cannot tell a
// refused port from a silent one, so questions go the dialled way there.
var errNoShared = errors.New("shared DNS sockets need Linux")

var errSocketsClosed = errors.New("the probe's DNS sockets are closed (the audit ended)")

// mkey is what a reply is matched by before its content is looked at:
// the server it came from and its id.
type mkey struct {
	from netip.AddrPort
	id   uint16
}

// usock is one shared socket and the questions waiting on it.
type usock struct {
	owner *Sockets
	conn  *net.UDPConn
	rc    syscall.RawConn
	local net.Addr

	mu      sync.Mutex
	pending map[mkey]*waiter
	// finished are keys whose question is over (answered, timed out,
	// abandoned): a late or duplicate answer to one is dropped, as it
	// was when it reached a closed socket, and never charged to another
	// question as a mismatched id. Bounded by rotateAfter.
	finished map[mkey]struct{}
	sends    int
	retired  bool // no new questions; closed when pending drains
	isClosed bool
	broken   atomic.Bool // the reader stopped on an error
}

// waiter is one attempt waiting for its answer.
type waiter struct {
	s    *usock
	key  mkey
	q    Query
	done chan struct{} // closed when msg or err is set

	// Under s.mu:
	msg  *dns.Msg
	err  error
	over bool
	junk *junkError
	only bool // every ignored packet had another id
	ign  []string
	ignN int
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// serverAddrPort parses a server given as an IP address and port; a name
// (not used by the audit) goes the dialled way.
func serverAddrPort(server string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(server)
	if err != nil || !ap.Addr().IsValid() {
		return netip.AddrPort{}, false
	}
	return ap, true
}

// canonicalAP is the form both a question's server and a reply's source
// take in the key: IPv4 unmapped, no zone (replies carry the scope as a
// number, questions as a name).
func canonicalAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// register picks a socket at random and a random id no other question to
// the same server is waiting on there, and enters the question before it
// is sent, so an answer can never arrive ahead of its entry.
func (p *Sockets) register(server netip.AddrPort, q Query) (*waiter, error) {
	to := canonicalAP(server)
	f := family(to.Addr())
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errSocketsClosed
	}
	i := rand.IntN(len(p.slots[f]))
	s := p.slots[f][i]
	if s != nil && s.broken.Load() {
		s = nil // its reader stopped (see read); the waiting drain away
	}
	if s == nil {
		var err error
		if s, err = openShared(f == 1); err != nil {
			return nil, err
		}
		s.owner = p
		p.open.Add(1)
		p.made.Add(1)
		p.slots[f][i] = s
	}
	w := &waiter{s: s, q: q, done: make(chan struct{}), only: true}
	s.mu.Lock()
	for {
		w.key = mkey{from: to, id: dns.Id()}
		_, busy := s.pending[w.key]
		_, old := s.finished[w.key]
		if !busy && !old {
			break
		}
	}
	s.pending[w.key] = w
	s.sends++
	if s.sends >= p.rotateAfter {
		s.retired = true
		p.slots[f][i] = nil
	}
	s.mu.Unlock()
	return w, nil
}

func newUsock(conn *net.UDPConn) *usock {
	return &usock{
		conn:     conn,
		local:    conn.LocalAddr(),
		pending:  map[mkey]*waiter{},
		finished: map[mkey]struct{}{},
	}
}

// end takes w off its socket and reports what it got. A socket retired
// and now idle is closed.
func (w *waiter) end() (msg *dns.Msg, err error, junk *junkError, ign []string, ignN int) {
	s := w.s
	s.mu.Lock()
	if !w.over {
		w.over = true
		delete(s.pending, w.key)
		s.finished[w.key] = struct{}{}
	}
	msg, err, ign, ignN = w.msg, w.err, w.ign, w.ignN
	if w.junk != nil {
		j := *w.junk
		if w.only {
			j.kind = MismatchedID
		}
		junk = &j
	}
	idle := s.retired && len(s.pending) == 0
	s.mu.Unlock()
	if idle {
		s.close()
	}
	return msg, err, junk, ign, ignN
}

func (s *usock) close() {
	s.mu.Lock()
	already := s.isClosed
	s.isClosed = true
	s.mu.Unlock()
	if !already {
		_ = s.conn.Close()
		s.owner.open.Add(-1)
	}
}

// write sends the query. A UDP socket reports an ICMP error that arrived
// for an earlier question on the next send too: that error is someone
// else's, so it is handed to them and the send tried again.
func (s *usock) write(wire []byte, to netip.AddrPort) error {
	var err error
	for range 3 {
		if _, err = s.conn.WriteToUDPAddrPort(wire, to); err == nil || !icmpErrno(err) {
			return err
		}
		s.drainErrors()
	}
	return err
}

// finishLocked ends w with a result; the caller holds s.mu.
func (s *usock) finishLocked(w *waiter, msg *dns.Msg, err error) {
	if w.over {
		return
	}
	w.over = true
	w.msg, w.err = msg, err
	delete(s.pending, w.key)
	s.finished[w.key] = struct{}{}
	close(w.done)
}

// ignoreLocked records a packet that did not answer w.
func (w *waiter) ignoreLocked(kind FailKind, why string) {
	w.ignN++
	if len(w.ign) < maxIgnored {
		w.ign = append(w.ign, "udp: "+why)
	}
	w.junk = &junkError{kind: kind, detail: why}
	if kind != MismatchedID {
		w.only = false
	}
}

// read demultiplexes the socket's packets until it is closed.
func (s *usock) read() {
	bp := readBufPool.Get().(*[dns.MaxMsgSize]byte)
	defer readBufPool.Put(bp)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(bp[:])
		if err != nil {
			if icmpErrno(err) {
				s.drainErrors()
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Anything else leaves the socket unusable: retire it so
			// no new question waits on it; those waiting time out.
			s.broken.Store(true)
			s.mu.Lock()
			s.retired = true
			idle := len(s.pending) == 0
			s.mu.Unlock()
			if idle {
				s.close()
			}
			return
		}
		s.deliver(canonicalAP(from), bp[:n])
	}
}

var readBufPool = sync.Pool{New: func() any { return new([dns.MaxMsgSize]byte) }}

// deliver hands packet p from server from to the question it answers, or
// names it in the evidence of the questions to that server it might have
// been meant for.
func (s *usock) deliver(from netip.AddrPort, p []byte) {
	if len(p) >= 2 {
		k := mkey{from: from, id: binary.BigEndian.Uint16(p)}
		s.mu.Lock()
		w := s.pending[k]
		_, late := s.finished[k]
		s.mu.Unlock()
		if late && w == nil {
			return
		}
		if w != nil {
			m, kind, why := check(p, k.id, w.q)
			s.mu.Lock()
			if !w.over {
				if m != nil {
					s.finishLocked(w, m, nil)
				} else {
					w.ignoreLocked(kind, why)
				}
			}
			s.mu.Unlock()
			return
		}
	}
	// Another id (or too short to have one): a connected socket would
	// have shown it to the one question on it. Here it goes to the
	// questions to that server whose question it repeats, or, when it
	// names none of them, to every question waiting on that server.
	var qname string
	var qtype uint16
	if len(p) >= 12 {
		var m dns.Msg
		if m.Unpack(p) == nil && len(m.Question) == 1 {
			qname, qtype = m.Question[0].Name, m.Question[0].Qtype
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all, same []*waiter
	for k, w := range s.pending {
		if k.from != from {
			continue
		}
		all = append(all, w)
		if qname != "" && w.q.Type == qtype && strings.EqualFold(w.q.Name, qname) {
			same = append(same, w)
		}
	}
	if len(same) > 0 {
		all = same
	}
	for _, w := range all {
		_, kind, why := check(p, w.key.id, w.q)
		w.ignoreLocked(kind, why)
	}
}

// icmpFailed ends the question whose packet the ICMP error quotes: its
// id, or every question to that server when the quote is too short.
func (s *usock) icmpFailed(to netip.AddrPort, quoted []byte, errno error) {
	to = canonicalAP(to)
	var err error
	if en, ok := errno.(syscall.Errno); ok {
		err = s.failure(to, en, false)
	} else {
		err = &net.OpError{Op: "read", Net: "udp", Source: s.local, Addr: net.UDPAddrFromAddrPort(to), Err: os.NewSyscallError("read", errno)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(quoted) >= 2 {
		if w := s.pending[mkey{from: to, id: binary.BigEndian.Uint16(quoted)}]; w != nil {
			s.finishLocked(w, nil, err)
		}
		return
	}
	for k, w := range s.pending {
		if k.from == to {
			s.finishLocked(w, nil, err)
		}
	}
}

// timeoutError reads like the error of a socket read that hit its
// deadline, which is what an admin has seen from every DNS tool.
func (s *usock) timeoutError(to netip.AddrPort) error { return s.failure(to, 0, true) }

// failure is the error of an attempt that got no answer, worded as a
// connected socket's read error was ("read udp …->…: connection
// refused", "…: i/o timeout"). The words are made once: the judge puts
// them in the evidence and the message, and a city of dead or closed
// servers keeps one per question until the report is written.
func (s *usock) failure(to netip.AddrPort, errno syscall.Errno, timeout bool) error {
	var cause error = os.ErrDeadlineExceeded
	if !timeout {
		cause = os.NewSyscallError("read", errno)
	}
	op := &net.OpError{Op: "read", Net: "udp", Source: s.local, Addr: net.UDPAddrFromAddrPort(to), Err: cause}
	return &exchangeError{msg: op.Error(), errno: errno, timeout: timeout}
}

// exchangeError keeps of a failed attempt only its words and what
// classify asks of it: the errno (errors.Is) and whether it timed out
// (net.Error).
type exchangeError struct {
	msg     string
	errno   syscall.Errno
	timeout bool
}

func (e *exchangeError) Error() string   { return e.msg }
func (e *exchangeError) Timeout() bool   { return e.timeout }
func (e *exchangeError) Temporary() bool { return e.timeout }

func (e *exchangeError) Unwrap() error {
	if e.timeout {
		return os.ErrDeadlineExceeded
	}
	return e.errno
}
