package delegation

import (
	"context"
	"errors"
	"fmt"
	"github.com/kh-edu/kmsprobe/internal/defaults"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Client is the network budget of the leg. The zero value is usable: 2 s
// per attempt, 2 attempts, 8 exchanges in flight per zone.
type Client struct {
	Timeout  time.Duration // per attempt
	Attempts int           // UDP attempts before giving up
	// Concurrency bounds the exchanges in flight for one zone; the caller
	// bounds how many zones run at once.
	Concurrency int
	// NSPort is the port the zone's name servers are asked on (53). Only
	// labs and tests, whose servers cannot bind port 53, change it.
	NSPort int
}

func (c Client) withDefaults() Client {
	if c.Timeout <= 0 {
		c.Timeout = defaults.PerAttempt // only a hand-built client; commands pass config.Budgets()
	}
	if c.Attempts <= 0 {
		c.Attempts = defaults.Attempts
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.NSPort <= 0 {
		c.NSPort = 53
	}
	return c
}

// Reply is what one exchange produced: a message, or why there was none.
type Reply struct {
	Server    string        `json:"server"`
	Msg       *dns.Msg      `json:"-"`
	Fail      string        `json:"fail,omitempty"` // timeout, refused-port, unreachable, mismatch, cancelled, error
	Err       string        `json:"error,omitempty"`
	RTT       time.Duration `json:"-"`
	Transport string        `json:"transport,omitempty"`
}

// Rcode is the response code, or -1 without a response.
func (r Reply) Rcode() int {
	if r.Msg == nil {
		return -1
	}
	return r.Msg.Rcode
}

// Failure kinds of a Reply.
const (
	FailTimeout     = "timeout"
	FailPortClosed  = "port-closed"
	FailUnreachable = "unreachable"
	FailMismatch    = "mismatch"
	FailCancelled   = "cancelled"
	FailError       = "error"
)

var errMismatch = errors.New("answer does not match the question")

// Exchange asks one question. rd is the recursion-desired bit: set for the
// city resolvers, clear for authoritative servers, so a name server that
// also recurses answers from its own zone data and not from its cache.
// It retries over UDP and falls back to TCP on truncation; every wait is
// bounded by the per-attempt timeout and by ctx.
func (c Client) Exchange(ctx context.Context, server, name string, qtype uint16, rd bool) Reply {
	c = c.withDefaults()
	r := Reply{Server: server}
	for range c.Attempts {
		if ctx.Err() != nil {
			r.Fail, r.Err = FailCancelled, ctx.Err().Error()
			return r
		}
		msg, rtt, err := c.once(ctx, server, name, qtype, rd, "udp")
		r.RTT, r.Transport = rtt, "udp"
		if err == nil && msg.Truncated {
			msg, rtt, err = c.once(ctx, server, name, qtype, rd, "tcp")
			r.RTT, r.Transport = rtt, "tcp"
			if err != nil {
				r.Fail, r.Err = classify(ctx, err), err.Error()
				return r
			}
		}
		if err == nil {
			r.Msg, r.Fail, r.Err = msg, "", ""
			return r
		}
		r.Fail, r.Err = classify(ctx, err), err.Error()
		if r.Fail == FailCancelled {
			return r
		}
	}
	return r
}

func (c Client) once(ctx context.Context, server, name string, qtype uint16, rd bool, network string) (*dns.Msg, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = rd
	m.SetEdns0(1232, false)
	cl := &dns.Client{Net: network, Timeout: c.Timeout, UDPSize: 1232}
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	co, err := cl.DialContext(actx, server)
	if err != nil {
		return nil, time.Since(start), err
	}
	defer co.Close()
	// miekg/dns honours only a context's deadline; closing the socket is
	// what makes a cancelled audit return at once.
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	resp, _, err := cl.ExchangeWithConnContext(actx, m, co)
	rtt := time.Since(start)
	if err != nil {
		return nil, rtt, err
	}
	if !resp.Response || resp.Id != m.Id {
		return nil, rtt, fmt.Errorf("%w: id or QR bit wrong", errMismatch)
	}
	if len(resp.Question) == 1 {
		q := resp.Question[0]
		if !strings.EqualFold(q.Name, m.Question[0].Name) || q.Qtype != qtype {
			return nil, rtt, fmt.Errorf("%w: answered %s %s", errMismatch, q.Name, dns.TypeToString[q.Qtype])
		}
	} else if len(resp.Question) > 1 || resp.Rcode == dns.RcodeSuccess && !resp.Truncated {
		// A refusal or a TC answer may leave the question out; an
		// answer claiming data may not.
		return nil, rtt, fmt.Errorf("%w: %d questions in the answer", errMismatch, len(resp.Question))
	}
	return resp, rtt, nil
}

func classify(ctx context.Context, err error) string {
	if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
		return FailCancelled
	}
	var ne net.Error
	switch {
	case errors.Is(err, errMismatch), errors.Is(err, dns.ErrId):
		return FailMismatch
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return FailPortClosed
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return FailUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailTimeout
	}
	return FailError
}
