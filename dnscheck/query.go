package dnscheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/kh-edu/kmsprobe/internal/defaults"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Query is one question to one server. It is comparable so the orchestrator
// can ask each distinct question once, however many schools share it.
type Query struct {
	Server string // host:port
	Name   string // FQDN, lower case, with the trailing dot
	Type   uint16 // dns.TypeSRV, dns.TypeA, dns.TypeAAAA
}

// NewQuery canonicalises the name so equal questions compare equal.
func NewQuery(server, name string, qtype uint16) Query {
	return Query{Server: server, Name: dnsname.FQDN(name), Type: qtype}
}

func (q Query) String() string {
	return fmt.Sprintf("%s %s @%s", dns.TypeToString[q.Type], q.Name, q.Server)
}

// FailKind says why no usable answer came back. Admins act differently on
// each: a timeout means a dead or filtered server, "refused" a host with no
// DNS service, a mismatch a broken middlebox or spoofing.
type FailKind string

const (
	NoFailure   FailKind = ""
	Timeout     FailKind = "timeout"
	PortClosed  FailKind = "port-closed" // ICMP port unreachable / TCP RST
	Unreachable FailKind = "unreachable" // no route, host down
	Mismatch    FailKind = "mismatch"    // only answers to another question (or not answers at all)
	// MismatchedID: something answered, but only ever with another id. A
	// NAT or firewall rewriting ids, or a spoofer: not a silent server.
	MismatchedID FailKind = "mismatched-id"
	Malformed    FailKind = "malformed" // only bytes that do not parse as DNS
	// TruncatedTCP: TC was set on the TCP answer too, so no transport ever
	// gives the full answer. Not NODATA: the data may well exist.
	TruncatedTCP FailKind = "truncated-tcp"
	Cancelled    FailKind = "cancelled" // the audit was stopped
	NetError     FailKind = "error"
)

// maxIgnored bounds the packets an Answer names: a flood of junk must not
// grow the report, the count says how many there were.
const maxIgnored = 8

// Answer is what one query produced: either a response (Msg non-nil) or a
// failure kind with the last error.
type Answer struct {
	Query     Query
	Msg       *dns.Msg
	Fail      FailKind
	Err       error
	RTT       time.Duration // of the exchange that produced Msg (or the last try)
	Transport string        // "udp" or "tcp": how Msg arrived
	Attempts  int           // exchanges sent, TCP retries included
	// Resent counts questions sent a second time within an attempt: the
	// server answers, but had not answered this one in a few of its
	// round-trip times (see resendAfter).
	Resent    int
	Truncated bool // the UDP answer had TC set, so TCP was tried
	// Ignored names, in arrival order, the packets that were not the
	// answer (another id, another question, junk), at most maxIgnored;
	// IgnoredCount counts them all.
	Ignored      []string
	IgnoredCount int
}

// Rcode is the response code, or -1 when there was no response.
func (a Answer) Rcode() int {
	if a.Msg == nil {
		return -1
	}
	return a.Msg.Rcode
}

// Client asks questions with the retry policy of the probe. miekg/dns's
// Exchange neither retries nor falls back to TCP on truncation, and takes
// the first packet with the right id as the answer; a Windows resolver
// retries, falls back to TCP and, like every stub resolver, keeps
// listening past a packet that does not answer its question. The probe
// must do the same or it reports failures PCs would not see.
type Client struct {
	Timeout  time.Duration // per attempt
	Attempts int           // UDP attempts before giving up
	// UDPSize is the EDNS0 buffer size advertised. 1232 is the DNS flag day
	// 2020 value: large enough for a few SRV records, small enough to avoid
	// IP fragmentation.
	UDPSize uint16
	// Sockets are the shared UDP sockets questions go out on; nil means
	// the process's own pool. An audit brings its own and closes it.
	Sockets *Sockets
	// NoRecursion clears the RD bit: for asking an authoritative server
	// about its own zone (a server that also recurses must answer from
	// its zone data, not its cache). A PC's question has RD set.
	NoRecursion bool
	// FullAnswers keeps every section of an answer. The judge reads only
	// the answer section and the SOA, and a city audit holds tens of
	// thousands of answers, so by default the rest is dropped; a
	// delegation check reads referrals and glue and needs it.
	FullAnswers bool
}

func (c Client) withDefaults() Client {
	if c.Timeout <= 0 {
		c.Timeout = defaults.PerAttempt // only a hand-built client; commands pass config.Budgets()
	}
	if c.Attempts <= 0 {
		c.Attempts = 1
	}
	if c.UDPSize == 0 {
		c.UDPSize = 1232
	}
	return c
}

// buffers are reused across the exchanges that dial (TCP, and UDP to a
// server given by name): a 64 KiB read buffer each would dominate the
// allocations.
type buffers struct {
	out [dns.MaxMsgSize + 2]byte // the query, with room for the TCP length
	in  [dns.MaxMsgSize]byte
}

var bufPool = sync.Pool{New: func() any { return new(buffers) }}

// maxQuery holds any query packQuery writes: header, a name of at most
// 255 bytes, type and class, the OPT record.
const maxQuery = 12 + 255 + 4 + 11

var queryPool = sync.Pool{New: func() any { return new([maxQuery]byte) }}

// Exchange asks q, retrying over UDP up to Attempts times and over TCP
// when the UDP answer is truncated. Every wait is bounded by Timeout and
// by ctx.
func (c Client) Exchange(ctx context.Context, q Query) Answer {
	c = c.withDefaults()
	ans := Answer{Query: q}
	for i := 0; i < c.Attempts; i++ {
		if ctx.Err() != nil {
			ans.Fail, ans.Err = Cancelled, ctx.Err()
			return ans
		}
		msg, err := c.udp(ctx, q, &ans)
		if err == nil && msg.Truncated {
			ans.Truncated = true
			msg, err = c.once(ctx, q, "tcp", &ans)
			if err == nil && msg.Truncated {
				ans.Fail, ans.Err = TruncatedTCP, errors.New("the answer over TCP has the TC bit set too")
				return ans
			}
			if err == nil {
				ans.Msg, ans.Fail, ans.Err = c.keep(msg, q), NoFailure, nil
				return ans
			}
			// A server that truncates but has no TCP is broken the same
			// way for a PC: report the TCP failure, do not retry UDP.
			ans.Fail, ans.Err = classify(ctx, err), err
			return ans
		}
		if err == nil {
			ans.Msg, ans.Fail, ans.Err = c.keep(msg, q), NoFailure, nil
			return ans
		}
		ans.Fail, ans.Err = classify(ctx, err), err
		if ans.Fail == Cancelled {
			return ans
		}
	}
	return ans
}

// keep trims an accepted answer to what is judged: the header, the
// answer section and the SOA of the authority section (how long a cache
// keeps a negative answer, RFC 2308). The question was matched before the
// answer was taken and Answer.Query says it; the OPT record and any
// referral or glue are never read. A city audit holds tens of thousands
// of answers until it is judged.
func (c Client) keep(m *dns.Msg, q Query) *dns.Msg {
	if c.FullAnswers {
		return m
	}
	m.Question, m.Extra = nil, nil
	for _, rr := range m.Answer {
		// The owner is the name asked, as a copy of its own: share one.
		if h := rr.Header(); h.Name == q.Name {
			h.Name = q.Name
		}
	}
	isSOA := func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeSOA }
	if !slices.ContainsFunc(m.Ns, func(rr dns.RR) bool { return !isSOA(rr) }) {
		return m
	}
	var soa []dns.RR // a new array: the old one would keep the rest alive
	for _, rr := range m.Ns {
		if isSOA(rr) {
			soa = append(soa, rr)
		}
	}
	m.Ns = soa
	return m
}

// junkError is an attempt that saw only packets that were not the answer.
type junkError struct {
	kind   FailKind
	detail string
}

func (e *junkError) Error() string { return e.detail }

// once sends q over network and reads until a packet answers it or the
// attempt's deadline passes. Packets that do not answer it are named in
// ans.Ignored and skipped.
func (c Client) once(ctx context.Context, q Query, network string, ans *Answer) (*dns.Msg, error) {
	bufs := bufPool.Get().(*buffers)
	defer bufPool.Put(bufs)
	ans.Attempts++
	ans.Transport = network
	start := time.Now()
	deadline := start.Add(c.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	defer func() { ans.RTT = time.Since(start) }()

	id := dns.Id()
	wire, err := packQuery(bufs.out[2:2], id, q, c.UDPSize, !c.NoRecursion)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, network, q.Server)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	// A stopped audit must not wait out the attempt: a past deadline
	// wakes the read at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tcp := network == "tcp"
	if tcp {
		binary.BigEndian.PutUint16(bufs.out[:2], uint16(len(wire)))
		_, err = conn.Write(bufs.out[:2+len(wire)])
	} else {
		_, err = conn.Write(wire)
	}
	if err != nil {
		return nil, err
	}

	var junk *junkError
	onlyIDs := true
	for {
		p, err := readPacket(conn, tcp, bufs.in[:])
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			if junk != nil && (isTimeout(err) || errors.Is(err, io.EOF)) {
				if onlyIDs {
					junk.kind = MismatchedID
				}
				return nil, junk
			}
			return nil, err
		}
		m, kind, why := check(p, id, q)
		if m != nil {
			return m, nil
		}
		ans.IgnoredCount++
		if len(ans.Ignored) < maxIgnored {
			ans.Ignored = append(ans.Ignored, network+": "+why)
		}
		junk = &junkError{kind: kind, detail: why}
		if kind != MismatchedID {
			onlyIDs = false
		}
		if tcp && kind == Malformed {
			// A TCP stream that carried junk has lost its framing:
			// nothing after it can be trusted to be a message.
			return nil, junk
		}
	}
}

// udp asks q once over a shared socket (see Sockets) and waits for the
// answer, the attempt's deadline or ctx, whichever comes first. What the
// socket's reader saw that was not the answer is named in ans.Ignored, as
// once does.
func (c Client) udp(ctx context.Context, q Query, ans *Answer) (*dns.Msg, error) {
	to, ok := serverAddrPort(q.Server)
	if !ok {
		return c.once(ctx, q, "udp", ans)
	}
	pool := c.Sockets
	if pool == nil {
		pool = processSockets()
	}
	start := time.Now()
	w, err := pool.register(to, q)
	if errors.Is(err, errNoShared) {
		return c.once(ctx, q, "udp", ans)
	}
	ans.Attempts++
	ans.Transport = "udp"
	deadline := start.Add(c.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	defer func() { ans.RTT = time.Since(start) }()
	if err != nil {
		return nil, err
	}
	// A question is at most 12+255+4+11 bytes: no 64 KiB buffer per
	// waiting question (256 workers held 32 MiB of them).
	out := queryPool.Get().(*[maxQuery]byte)
	defer queryPool.Put(out)
	wire, err := packQuery(out[:0], w.key.id, q, c.UDPSize, !c.NoRecursion)
	if err == nil {
		// The original address: a link-local server needs its zone.
		err = w.s.write(wire, to)
	}
	if err != nil {
		w.end()
		return nil, err
	}
	// One timer: first at the resend time when there is one, then at
	// the deadline (a timer per exchange is a city's largest garbage).
	resendAt := time.Time{}
	if after := pool.resendAfter(to, c.Timeout); after > 0 && time.Until(deadline) > after {
		resendAt = start.Add(after)
	}
	wake := deadline
	if !resendAt.IsZero() {
		wake = resendAt
	}
	timer := time.NewTimer(time.Until(wake))
	defer timer.Stop()
	var stopped, resent bool
wait:
	for {
		select {
		case <-w.done:
		case <-timer.C:
			if !resendAt.IsZero() {
				resendAt = time.Time{}
				if pool.mayResend() && w.s.write(wire, to) == nil {
					resent = true
					ans.Resent++
				}
				timer.Reset(time.Until(deadline))
				continue
			}
		case <-ctx.Done():
			stopped = true
		}
		break wait
	}
	msg, err, junk, ign, ignN := w.end()
	if msg != nil {
		pool.answered.Add(1)
		if !resent {
			pool.sample(to, time.Since(start))
		}
	}
	ans.IgnoredCount += ignN
	for _, s := range ign {
		if len(ans.Ignored) < maxIgnored {
			ans.Ignored = append(ans.Ignored, s)
		}
	}
	switch {
	case msg != nil:
		return msg, nil
	case err != nil:
		return nil, err
	case stopped || ctx.Err() != nil:
		return nil, fmt.Errorf("%w (waiting for %s)", ctx.Err(), q.Server)
	case junk != nil:
		return nil, junk
	}
	return nil, w.s.timeoutError(w.key.from)
}

func readPacket(conn net.Conn, tcp bool, buf []byte) ([]byte, error) {
	if !tcp {
		n, err := conn.Read(buf)
		return buf[:n], err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf[:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// packQuery writes a recursive query for q with an EDNS0 OPT record into
// b. Built by hand: it is the same few dozen bytes every time, and a
// dns.Msg per attempt is pure garbage for the collector.
func packQuery(b []byte, id uint16, q Query, udpSize uint16, rd bool) ([]byte, error) {
	b = b[:12]
	binary.BigEndian.PutUint16(b[0:], id)
	var flags uint16
	if rd {
		flags = 0x0100 // RD
	}
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], 1) // QDCOUNT
	binary.BigEndian.PutUint16(b[6:], 0)
	binary.BigEndian.PutUint16(b[8:], 0)
	binary.BigEndian.PutUint16(b[10:], 1) // ARCOUNT: the OPT record
	b = b[:cap(b)]
	off, err := dns.PackDomainName(q.Name, b, 12, nil, false)
	if err != nil {
		return nil, fmt.Errorf("cannot ask for %q: %w", q.Name, err)
	}
	b = b[:off]
	b = binary.BigEndian.AppendUint16(b, q.Type)
	b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
	// OPT: root owner, type 41, class = UDP size, TTL 0 (no DO), no rdata.
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, dns.TypeOPT)
	b = binary.BigEndian.AppendUint16(b, udpSize)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return b, nil
}

// check decides whether packet p answers the query with id sent for q.
// It returns the parsed message, or why the packet is not the answer. The
// cheap checks on the header come first: a flood of wrong ids costs no
// parsing.
func check(p []byte, id uint16, q Query) (*dns.Msg, FailKind, string) {
	if len(p) < 12 {
		return nil, Malformed, fmt.Sprintf("a %d-byte packet, too short to be DNS", len(p))
	}
	if got := binary.BigEndian.Uint16(p); got != id {
		return nil, MismatchedID, fmt.Sprintf("an answer with id %d (asked with id %d)", got, id)
	}
	if p[2]&0x80 == 0 {
		return nil, Mismatch, "a packet with the right id but the QR bit unset: a query, not an answer"
	}
	m := new(dns.Msg)
	if err := m.Unpack(p); err != nil {
		return nil, Malformed, fmt.Sprintf("%d bytes that do not parse as DNS (%v)", len(p), err)
	}
	if len(m.Question) == 0 {
		// Servers leave the question out of a TC answer (TCP follows)
		// or of an error they cannot or will not answer (unbound's
		// access-control refuse). A stub resolver takes those; an
		// answer with data or a NOERROR/NXDOMAIN says nothing about
		// which question it answers, and is not taken.
		switch {
		case m.Truncated,
			m.Rcode == dns.RcodeRefused, m.Rcode == dns.RcodeServerFailure,
			m.Rcode == dns.RcodeFormatError, m.Rcode == dns.RcodeNotImplemented:
			return m, NoFailure, ""
		}
		return nil, Mismatch, fmt.Sprintf("a %s answer with no question section", dns.RcodeToString[m.Rcode])
	}
	if len(m.Question) != 1 {
		return nil, Mismatch, fmt.Sprintf("an answer with %d questions", len(m.Question))
	}
	got := m.Question[0]
	if got.Qtype != q.Type || got.Qclass != dns.ClassINET || !strings.EqualFold(got.Name, q.Name) {
		return nil, Mismatch, fmt.Sprintf("an answer to another question (%s %s %s)",
			got.Name, dns.ClassToString[got.Qclass], dns.TypeToString[got.Qtype])
	}
	return m, NoFailure, ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func classify(ctx context.Context, err error) FailKind {
	// The audit's own stop or deadline (the socket deadline may fire just
	// before ctx.Err is set); per-attempt timeouts live on a child context.
	if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
		return Cancelled
	}
	var je *junkError
	switch {
	case errors.As(err, &je):
		return je.kind
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return PortClosed
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return Unreachable
	case isTimeout(err):
		return Timeout
	}
	return NetError
}
