package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
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
	return Query{Server: server, Name: dns.Fqdn(strings.ToLower(name)), Type: qtype}
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
	Mismatch    FailKind = "mismatch"    // an answer to another question
	Malformed   FailKind = "malformed"   // bytes that do not parse as DNS
	Cancelled   FailKind = "cancelled"   // the audit was stopped
	NetError    FailKind = "error"
)

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
	Truncated bool          // the UDP answer had TC set, so TCP was tried
}

// Rcode is the response code, or -1 when there was no response.
func (a Answer) Rcode() int {
	if a.Msg == nil {
		return -1
	}
	return a.Msg.Rcode
}

// Client asks questions with the retry policy of the probe. miekg/dns's
// Exchange neither retries nor falls back to TCP on truncation; a Windows
// resolver does both, so the probe must too or it reports failures PCs
// would not see.
type Client struct {
	Timeout  time.Duration // per attempt
	Attempts int           // UDP attempts before giving up
	// UDPSize is the EDNS0 buffer size advertised. 1232 is the DNS flag day
	// 2020 value: large enough for a few SRV records, small enough to avoid
	// IP fragmentation.
	UDPSize uint16
}

func (c Client) withDefaults() Client {
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 1
	}
	if c.UDPSize == 0 {
		c.UDPSize = 1232
	}
	return c
}

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
		msg, rtt, err := c.once(ctx, q, "udp")
		ans.Attempts++
		ans.RTT = rtt
		if err == nil && msg.Truncated {
			ans.Truncated = true
			msg, rtt, err = c.once(ctx, q, "tcp")
			ans.Attempts++
			ans.RTT = rtt
			if err == nil {
				ans.Msg, ans.Transport, ans.Fail, ans.Err = msg, "tcp", NoFailure, nil
				return ans
			}
			// A server that truncates but has no TCP is broken the same
			// way for a PC: report the TCP failure, do not retry UDP.
			ans.Transport = "tcp"
			ans.Fail, ans.Err = classify(ctx, err), err
			return ans
		}
		if err == nil {
			ans.Msg, ans.Transport, ans.Fail, ans.Err = msg, "udp", NoFailure, nil
			return ans
		}
		ans.Transport = "udp"
		ans.Fail, ans.Err = classify(ctx, err), err
		if ans.Fail == Cancelled {
			return ans
		}
	}
	return ans
}

func (c Client) once(ctx context.Context, q Query, network string) (*dns.Msg, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	m.RecursionDesired = true
	m.SetEdns0(c.UDPSize, false)
	cl := &dns.Client{Net: network, Timeout: c.Timeout, UDPSize: c.UDPSize}
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	co, err := cl.DialContext(actx, q.Server)
	if err != nil {
		return nil, time.Since(start), err
	}
	defer co.Close()
	// miekg/dns takes only the deadline from a context, not its
	// cancellation: closing the socket is what makes Ctrl-C prompt.
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	r, _, err := cl.ExchangeWithConnContext(actx, m, co)
	rtt := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, rtt, err
	}
	if err := matches(m, r); err != nil {
		return nil, rtt, err
	}
	return r, rtt, nil
}

// errMismatch marks an answer that is not for our question.
var errMismatch = errors.New("answer does not match the question")

// matches checks what miekg/dns does not: that the answer is a response to
// the very question asked (miekg checks only the id).
func matches(q, r *dns.Msg) error {
	if !r.Response {
		return fmt.Errorf("%w: QR bit not set", errMismatch)
	}
	if r.Id != q.Id {
		return fmt.Errorf("%w: id %d, asked %d", errMismatch, r.Id, q.Id)
	}
	if len(r.Question) == 0 && (r.Truncated || r.Rcode != dns.RcodeSuccess) {
		// Some servers leave the question out of a TC answer (TCP
		// follows) or of a refusal (unbound's access-control refuse):
		// the id matched, so it is the answer to our question.
		return nil
	}
	if len(r.Question) != 1 {
		return fmt.Errorf("%w: %d questions in the answer", errMismatch, len(r.Question))
	}
	got, want := r.Question[0], q.Question[0]
	if !strings.EqualFold(got.Name, want.Name) || got.Qtype != want.Qtype || got.Qclass != want.Qclass {
		return fmt.Errorf("%w: answered %s %s, asked %s %s", errMismatch,
			got.Name, dns.TypeToString[got.Qtype], want.Name, dns.TypeToString[want.Qtype])
	}
	return nil
}

func classify(ctx context.Context, err error) FailKind {
	// The audit's own stop or deadline (the socket deadline may fire just
	// before ctx.Err is set); per-attempt timeouts live on a child context.
	if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
		return Cancelled
	}
	var ne net.Error
	switch {
	case errors.Is(err, errMismatch), errors.Is(err, dns.ErrId):
		return Mismatch
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return PortClosed
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return Unreachable
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Timeout
	case strings.Contains(err.Error(), "unpack"), strings.Contains(err.Error(), "overflow"),
		strings.Contains(err.Error(), "bad rdata"), strings.Contains(err.Error(), "buffer size too small"):
		return Malformed
	}
	return NetError
}
