package delegation

import (
	"context"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/internal/defaults"
)

// Client is the network budget of the leg. The zero value is usable: 2 s
// per attempt, 2 attempts, 8 exchanges in flight per zone, 32 per server.
type Client struct {
	Timeout  time.Duration // per attempt
	Attempts int           // UDP attempts before giving up
	// Concurrency bounds the exchanges in flight for one zone; the caller
	// bounds how many zones run at once.
	Concurrency int
	// PerServer bounds the exchanges in flight to one server across every
	// zone a Prober measures: a city's zones share the parent's servers
	// and the resolvers, which must not get the whole audit's
	// concurrency at once (the audit's probe.per_server).
	PerServer int
	// NSPort is the port the zone's name servers are asked on (53). Only
	// labs and tests, whose servers cannot bind port 53, change it.
	NSPort int
	// Sockets are the shared UDP sockets the questions go out on (see
	// dnscheck.Sockets); nil is the process's own pool. An audit brings
	// its own and closes it when the leg is done.
	Sockets *dnscheck.Sockets
}

// DefaultPerServer is the per-server cap of a Client that sets none: the
// audit's own default (probe.per_server), for the same reason.
const DefaultPerServer = 32

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
	if c.PerServer <= 0 {
		c.PerServer = DefaultPerServer
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
	Fail      string        `json:"fail,omitempty"` // timeout, port-closed, unreachable, mismatch, cancelled, error
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

// Exchange asks one question. rd is the recursion-desired bit: set for the
// city resolvers, clear for authoritative servers, so a name server that
// also recurses answers from its own zone data and not from its cache.
// It goes out on the shared sockets of c.Sockets, retries over UDP and
// falls back to TCP on truncation; every wait is bounded by the
// per-attempt timeout and by ctx.
func (c Client) Exchange(ctx context.Context, server, name string, qtype uint16, rd bool) Reply {
	c = c.withDefaults()
	dc := dnscheck.Client{
		Timeout: c.Timeout, Attempts: c.Attempts, Sockets: c.Sockets,
		// Referrals and glue are read, not only the answer section.
		NoRecursion: !rd, FullAnswers: true,
	}
	a := dc.Exchange(ctx, dnscheck.NewQuery(server, name, qtype))
	r := Reply{Server: server, Msg: a.Msg, RTT: a.RTT, Transport: a.Transport}
	if a.Msg == nil {
		r.Fail = failOf(a.Fail)
		if a.Err != nil {
			r.Err = a.Err.Error()
		}
	}
	return r
}

// failOf names a failed exchange in the leg's words, which the findings
// quote ("lame: timeout"): dnscheck tells kinds of mismatch apart that
// this leg reports as one.
func failOf(k dnscheck.FailKind) string {
	switch k {
	case dnscheck.Timeout:
		return FailTimeout
	case dnscheck.PortClosed:
		return FailPortClosed
	case dnscheck.Unreachable:
		return FailUnreachable
	case dnscheck.Cancelled:
		return FailCancelled
	case dnscheck.Mismatch, dnscheck.MismatchedID, dnscheck.Malformed:
		return FailMismatch
	}
	return FailError
}
