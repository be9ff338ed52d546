package kmscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Mode says how far a probe goes. The zero value is the full check.
type Mode int

const (
	// ModeActivate binds and sends one activation request (the default).
	ModeActivate Mode = iota
	// ModeBind stops after the RPC bind: it proves a DCE/RPC service with
	// the KMS interface listens, without asking for activation.
	ModeBind
	// ModeTCP only connects.
	ModeTCP
)

var modeNames = [...]string{ModeActivate: "activate", ModeBind: "bind", ModeTCP: "tcp"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode reads the --kms-mode flag; "" is the default, activate.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return ModeActivate, nil
	}
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return ModeActivate, fmt.Errorf("unknown KMS mode %q; use tcp, bind or activate", s)
}

func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// DefaultPort is the KMS port a client dials when DNS names none.
const DefaultPort = "1688"

// defaultLicenseStatus and defaultGraceMinutes make the probe look like
// a fresh out-of-box client, as vlmcs does by default.
const (
	defaultLicenseStatus = 2
	defaultGraceMinutes  = 43200
)

// TCPOutcome classifies a connect attempt.
type TCPOutcome int

const (
	TCPConnected TCPOutcome = iota
	TCPRefused
	TCPTimeout
	TCPUnreachable
	TCPError
	// TCPNoIPv6 means this probe host cannot send IPv6 at all (no route,
	// no address, IPv6 disabled): the probe's own limit, never the KMS
	// host's failure.
	TCPNoIPv6
)

var tcpOutcomeNames = [...]string{"connected", "refused", "timeout", "unreachable", "error", "no_ipv6"}

func (t TCPOutcome) String() string {
	if int(t) < len(tcpOutcomeNames) {
		return tcpOutcomeNames[t]
	}
	return fmt.Sprintf("outcome(%d)", int(t))
}

// TCPResult is what one connect attempt measured.
type TCPResult struct {
	Addr    string
	Outcome TCPOutcome
	RTT     time.Duration // time to establish, or to fail
	Err     error
}

// Dial connects to addr ("ip:port", "[v6]:port"), classifying the outcome.
// The caller owns the returned connection, which is nil unless Outcome is
// TCPConnected.
func Dial(ctx context.Context, addr string) (net.Conn, TCPResult) { return dial(ctx, addr, nil) }

func dial(ctx context.Context, addr string, fn func(context.Context, string, string) (net.Conn, error)) (net.Conn, TCPResult) {
	if fn == nil {
		var d net.Dialer
		fn = d.DialContext
	}
	start := time.Now()
	c, err := fn(ctx, "tcp", addr)
	r := TCPResult{Addr: addr, RTT: time.Since(start), Err: err}
	r.Outcome = classifyDial(ctx, addr, err)
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	return c, r
}

func classifyDial(ctx context.Context, addr string, err error) TCPOutcome {
	var ne net.Error
	switch {
	case err == nil:
		return TCPConnected
	case isIPv6(addr) && (errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EADDRNOTAVAIL) ||
		errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)):
		// The kernel refused before a packet left: no IPv6 route or
		// address here. An ICMPv6 unreachable from a router on the way
		// is EHOSTUNREACH and stays the path's failure.
		return TCPNoIPv6
	case errors.Is(err, syscall.ECONNREFUSED):
		return TCPRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(), ctx.Err() != nil:
		return TCPTimeout
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN),
		errors.Is(err, syscall.EADDRNOTAVAIL):
		return TCPUnreachable
	default:
		return TCPError
	}
}

// isIPv6 reports whether addr ("ip:port") names an IPv6 address.
func isIPv6(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		h = addr
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Is6() && !ip.Is4In6()
}

// BindInfo is what the RPC bind negotiated.
type BindInfo struct {
	Offered       []string // contexts offered: ndr32, ndr64, btfn
	NDR32         bool     // the host accepted NDR32 (in the bind or an alter_context)
	NDR64         bool
	BTFN          bool   // the host acknowledged bind-time feature negotiation
	BTFNFlags     uint16 // the feature bits it acknowledged
	AlterContext  bool   // an alter_context was needed to get NDR32
	AssocGroup    uint32
	SecondaryAddr string // the port the host says it listens on
	RTT           time.Duration
}

// BindError is a bind_ack that accepts no usable transfer syntax.
type BindError struct {
	NotKMS bool // the service does not offer the KMS interface at all
	Detail string
}

func (e *BindError) Error() string { return "RPC bind rejected: " + e.Detail }

// Session is one bound RPC connection to a KMS host.
type Session struct {
	conn   net.Conn
	Bind   BindInfo
	callID uint32
	sent   int
}

// firstCallID is what vlmcs and Windows use for the bind and first request.
const firstCallID = 2

// guard makes every read and write on conn obey ctx: its deadline becomes
// the connection's, and cancelling ctx unblocks I/O at once.
func guard(ctx context.Context, conn net.Conn) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

func exchange(conn net.Conn, pdu []byte) ([]byte, error) {
	if _, err := conn.Write(pdu); err != nil {
		return nil, err
	}
	return readPDU(conn)
}

// Bind negotiates presentation contexts on conn (PROTOCOL.md §2.2-2.3),
// accepting whatever usable syntax the host picks.
func Bind(ctx context.Context, conn net.Conn, neg Negotiation) (*Session, error) {
	defer guard(ctx, conn)()
	s := &Session{conn: conn, callID: firstCallID}
	items := neg.contexts()
	for _, it := range items {
		switch {
		case it.btfn:
			s.Bind.Offered = append(s.Bind.Offered, "btfn")
		case it.syntax == syntaxNDR64:
			s.Bind.Offered = append(s.Bind.Offered, "ndr64")
		default:
			s.Bind.Offered = append(s.Bind.Offered, "ndr32")
		}
	}
	start := time.Now()
	b, err := exchange(conn, bindPDU(ptBind, s.callID, items))
	s.Bind.RTT = time.Since(start)
	if err != nil {
		return s, err
	}
	ack, err := parseBindAck(b)
	if err != nil {
		return s, err
	}
	if ack.ptype != ptBindAck {
		return s, perr("expected bind_ack, got packet type %d", ack.ptype)
	}
	if err := s.takeResults(ack, items); err != nil {
		return s, err
	}
	s.Bind.AssocGroup, s.Bind.SecondaryAddr = ack.assocGroup, ack.secAddr
	if !s.Bind.NDR32 && s.Bind.NDR64 {
		// Windows sends its first request in NDR32, so it asks again for
		// NDR32 alone when a host offered NDR64 only; vlmcs does the same.
		alter := []contextItem{{id: 0, syntax: syntaxNDR32, ver: 2}}
		b, err := exchange(conn, bindPDU(ptAlterContext, s.callID, alter))
		if err != nil {
			return s, err
		}
		ack, err := parseBindAck(b)
		if err != nil {
			return s, err
		}
		if ack.ptype != ptAlterContextResp {
			return s, perr("expected alter_context_resp, got packet type %d", ack.ptype)
		}
		s.Bind.AlterContext = true
		// A refusal here is no failure: NDR64 still works.
		_ = s.takeResults(ack, alter)
	}
	if !s.Bind.NDR32 && !s.Bind.NDR64 {
		return s, bindRejection(ack, items)
	}
	return s, nil
}

func (s *Session) takeResults(ack bindAck, items []contextItem) error {
	if ack.callID != s.callID && ack.callID != 1 {
		return perr("bind_ack call_id %d, bind was %d", ack.callID, s.callID)
	}
	if len(ack.results) != len(items) {
		return perr("bind_ack has %d results for %d offered contexts", len(ack.results), len(items))
	}
	for i, it := range items {
		r := ack.results[i]
		switch {
		case it.btfn:
			if r.result == resultNegotiateAck {
				s.Bind.BTFN, s.Bind.BTFNFlags = true, r.reason
			}
		case r.result != resultAcceptance:
		case it.syntax == syntaxNDR32 && r.syntax == syntaxNDR32 && r.ver == 2:
			s.Bind.NDR32 = true
		case it.syntax == syntaxNDR64 && r.syntax == syntaxNDR64 && r.ver == 1:
			s.Bind.NDR64 = true
		}
	}
	return nil
}

func bindRejection(ack bindAck, items []contextItem) error {
	for i, it := range items {
		if it.btfn || i >= len(ack.results) {
			continue
		}
		if r := ack.results[i]; r.result != resultAcceptance && r.reason == 1 {
			return &BindError{NotKMS: true, Detail: "the RPC service does not offer the KMS interface (abstract syntax not supported)"}
		}
	}
	return &BindError{Detail: "the host accepted neither NDR32 nor NDR64"}
}

// Activate sends one activation request and verifies the answer. Like
// Windows, the first request of a session uses NDR32 and later ones NDR64
// when the host offered it.
func (s *Session) Activate(ctx context.Context, req ActivationRequest) (Response, Syntax, error) {
	defer guard(ctx, s.conn)()
	msg, st, err := req.marshal()
	if err != nil {
		return Response{}, NDR32, err
	}
	syn, ctxID := NDR32, uint16(0)
	if s.Bind.NDR64 && (s.sent > 0 || !s.Bind.NDR32) {
		syn, ctxID = NDR64, 1
	}
	callID := s.callID + uint32(s.sent)
	s.sent++
	b, err := exchange(s.conn, requestPDU(callID, ctxID, syn, msg))
	if err != nil {
		return Response{}, syn, err
	}
	m, err := parseResponsePDU(b, callID, syn)
	if err != nil {
		return Response{}, syn, err
	}
	r, err := decodeResponse(m, st)
	return r, syn, err
}

// Stage names how far a handshake got, for messages.
type Stage string

const (
	StageConnect  Stage = "connect" // a product's own connection failed
	StageBind     Stage = "bind"
	StageActivate Stage = "activate"
	StageDone     Stage = "done"
)

// Exchange is everything one handshake measured.
type Exchange struct {
	Addr     string // the host's address, "ip:port"
	Stage    Stage  // the step that failed, or StageDone
	Mode     Mode
	Bind     BindInfo
	Request  ActivationRequest
	Product  Product
	Syntax   Syntax    // of the activation request
	Response *Response // nil unless verified
	RTT      time.Duration
	Err      error
}

// Handshake runs the KMS protocol on an open connection: bind, then (in
// ModeActivate) one activation request. It never closes conn.
func Handshake(ctx context.Context, conn net.Conn, req ActivationRequest, neg Negotiation, mode Mode) Exchange {
	x := Exchange{Stage: StageBind, Mode: mode, Request: req}
	if ra := conn.RemoteAddr(); ra != nil {
		x.Addr = ra.String()
	}
	start := time.Now()
	s, err := Bind(ctx, conn, neg)
	if s != nil {
		x.Bind = s.Bind
	}
	if err != nil || mode != ModeActivate {
		x.RTT, x.Err = time.Since(start), err
		if err == nil {
			x.Stage = StageDone
		}
		return x
	}
	x.Stage = StageActivate
	r, syn, err := s.Activate(ctx, req)
	x.RTT, x.Syntax, x.Err = time.Since(start), syn, err
	if err == nil {
		x.Stage, x.Response = StageDone, &r
	}
	return x
}
