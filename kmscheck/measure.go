package kmscheck

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// Budget is the time the KMS leg may spend. It is handed in by the caller
// (one table of named budgets built from schools.yaml); the package keeps
// no default of its own, so every command gives the same host the same time.
type Budget struct {
	// Handshake bounds one exchange with the host: TCP connect, RPC bind
	// and one activation request. Each product gets its own.
	Handshake time.Duration
}

// Request says what to ask one KMS address. The zero value (plus a
// ClientID) is a full Windows 10/11 Enterprise V6 check.
type Request struct {
	Mode Mode
	// Products are asked in order, one activation request each (see
	// Measure for why each gets its own connection). Empty means
	// DefaultProduct.
	Products []Product
	// Protocol is the KMS major version, 4, 5 or 6; 0 is each product's own.
	Protocol int
	// Negotiation is the RPC bind style; the zero value binds like Windows.
	Negotiation Negotiation
	// ClientID is the CMID: LoadIdentity's result, stable per probe host.
	ClientID UUID
	// Workstation is sent for the host's event log; "" is the host name.
	Workstation string
	// Now and Rand are injectable for tests that replay captures; nil
	// means the system clock and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// Edit, when set, may change each activation request just before it
	// is sent. It exists so that replays can reproduce captures the
	// fields above cannot express (such as the protocol 7.0 refusal);
	// probes leave it nil.
	Edit func(*ActivationRequest)
	// Dial replaces the TCP dialer; nil is net.Dialer. Tests use it to
	// play a host without IPv6 without touching the network.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// products returns what r asks for, the default product when none.
func (r Request) products() []Product {
	if len(r.Products) > 0 {
		return r.Products
	}
	p, _ := LookupProduct(DefaultProduct)
	return []Product{p}
}

// Build turns r into the activation request for product p, drawing the
// salt from Rand and the time from Now.
func (r Request) Build(p Product) (ActivationRequest, error) {
	now, rnd := r.Now, r.Rand
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	proto := r.Protocol
	if proto == 0 {
		proto = p.Protocol
	}
	if proto < 4 || proto > 6 {
		return ActivationRequest{}, fmt.Errorf("KMS protocol %d is not one clients speak; use 4, 5 or 6", proto)
	}
	cmid := r.ClientID
	if cmid.IsZero() {
		var err error
		if cmid, err = MachineIdentity(); err != nil {
			return ActivationRequest{}, err
		}
	}
	ws := r.Workstation
	if ws == "" {
		// The host name only helps an admin find the probe in the KMS
		// event log, so an over-long one is cut rather than refused.
		ws, _ = os.Hostname()
		if u := []rune(ws); len(u) > 63 {
			ws = string(u[:63])
		}
	}
	q := ActivationRequest{
		Version:       Version{Major: uint16(proto)},
		LicenseStatus: defaultLicenseStatus,
		GraceMinutes:  defaultGraceMinutes,
		AppID:         p.AppID,
		SKUID:         p.SKUID,
		KMSID:         p.KMSID,
		CMID:          cmid,
		RequiredCount: uint32(p.N),
		Time:          FileTime(now()),
		Workstation:   ws,
	}
	if proto >= 5 {
		if _, err := io.ReadFull(rnd, q.Salt[:]); err != nil {
			return ActivationRequest{}, fmt.Errorf("no randomness for the request salt: %w", err)
		}
	}
	if r.Edit != nil {
		r.Edit(&q)
	}
	if _, err := q.encodeBase(); err != nil {
		return ActivationRequest{}, err
	}
	return q, nil
}

// Measurement is everything Measure saw at one address; Judge reads it
// without touching the network.
type Measurement struct {
	Addr   string
	Mode   Mode
	Budget Budget // what the exchanges were given, for the judge's words
	// TCP is the first connect: the kms.tcp check.
	TCP TCPResult
	// Exchanges holds one entry per product in ModeActivate, one bind-only
	// entry in ModeBind, and none in ModeTCP or when TCP failed.
	Exchanges []Exchange
	// Products is what was asked, so that a product never reached still
	// has a verdict (skip) of its own.
	Products []Product
	// Stopped is set when the caller's context ended (Ctrl-C, the
	// audit's deadline) before Measure finished: what did not pass then
	// is not the host's fault.
	Stopped bool
}

// Measure runs the KMS checks against addr ("ip:port", "[v6]:port").
//
// Each product gets its own connection and its own Budget.Handshake. The
// RPC binding can carry several requests (the full-negotiation capture
// shows two on one connection), but a connection per product keeps every
// verdict independent: a host that drops the connection after refusing
// one product, or a broken answer, cannot turn the next product's verdict
// into a failure. It costs one TCP and bind round trip per product, a
// handful per audit, and the host counts requests, not connections.
func Measure(ctx context.Context, addr string, req Request, b Budget) (m Measurement) {
	m = Measurement{Addr: addr, Mode: req.Mode, Budget: b, Products: req.products()}
	defer func() { m.Stopped = ctx.Err() != nil }()
	for i, p := range m.Products {
		if req.Mode != ModeActivate && i > 0 {
			break
		}
		x, tcp := measureOne(ctx, addr, req, p, b)
		if i == 0 {
			m.TCP = tcp
			if tcp.Outcome != TCPConnected || req.Mode == ModeTCP {
				return m
			}
		}
		m.Exchanges = append(m.Exchanges, x)
		if ctx.Err() != nil {
			return m
		}
	}
	return m
}

func measureOne(ctx context.Context, addr string, req Request, p Product, b Budget) (Exchange, TCPResult) {
	ctx, cancel := context.WithTimeout(ctx, b.Handshake)
	defer cancel()
	conn, tcp := dial(ctx, addr, req.Dial)
	x := Exchange{Addr: addr, Mode: req.Mode, Product: p, Stage: StageConnect}
	if conn == nil {
		x.Err = &ConnectError{TCP: tcp}
		return x, tcp
	}
	defer conn.Close()
	if req.Mode == ModeTCP {
		return x, tcp
	}
	var q ActivationRequest
	if req.Mode == ModeActivate {
		var err error
		if q, err = req.Build(p); err != nil {
			// An empty Stage with an Err: the probe's own trouble.
			x.Stage, x.Err = "", err
			return x, tcp
		}
	}
	x = Handshake(ctx, conn, q, req.Negotiation, req.Mode)
	x.Addr, x.Product = addr, p
	return x, tcp
}

// ConnectError is a product's own connection failing after the first
// one (kms.tcp) succeeded.
type ConnectError struct{ TCP TCPResult }

func (e *ConnectError) Error() string {
	return fmt.Sprintf("TCP connect to %s: %s: %v", e.TCP.Addr, e.TCP.Outcome, e.TCP.Err)
}

// Check measures addr and judges what it saw: the kms.tcp finding, then
// one kms.rpc finding per product. It is Measure followed by Judge, for
// callers that need no measurement of their own.
func Check(ctx context.Context, addr string, req Request, b Budget, exp Expect) []finding.Finding {
	return Judge(Measure(ctx, addr, req, b), exp)
}
