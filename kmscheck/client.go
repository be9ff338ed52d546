package kmscheck

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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
	return ModeActivate, fmt.Errorf("kmscheck: unknown KMS mode %q; use tcp, bind or activate", s)
}

func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// Defaults.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultMinCount = 25
	DefaultPort     = "1688"
	// defaultLicenseStatus and defaultGraceMinutes make the probe look like
	// a fresh out-of-box client, as vlmcs does by default.
	defaultLicenseStatus = 2
	defaultGraceMinutes  = 43200
)

// Options configure one probe of one address. The zero value is a full
// Windows 10/11 Enterprise V6 check with the host's stable identity.
type Options struct {
	// Timeout bounds the whole exchange: connect, bind and activation.
	Timeout time.Duration
	Mode    Mode
	// Product is a key or name from Products(); "" is DefaultProduct.
	Product string
	// Protocol is the KMS major version, 4, 5 or 6; 0 is the product's own.
	Protocol int
	// MinCount is the count the host must report (config kms.min_count,
	// DESIGN.md §4: pass when count >= min_count). 0 means the product's
	// own threshold N (25 for Windows client editions, 5 for Office and
	// servers).
	MinCount int
	// Negotiation is the RPC bind style; the zero value binds like Windows.
	Negotiation Negotiation
	// ClientID is the CMID. Leave it zero to use MachineIdentity(); pass
	// LoadIdentity's result to use a state file.
	ClientID UUID
	// Workstation is sent for the host's event log; "" is the host name.
	Workstation string
	// Now and Rand are injectable for tests that replay captures.
	Now  func() time.Time
	Rand io.Reader
	// EditRequest, when set, may change the request just before it is
	// sent. It exists so that replays can reproduce captures the options
	// cannot express (such as the protocol 7.0 refusal); probes leave it nil.
	EditRequest func(*Request)
}

// Threshold is the count this probe requires, see Options.MinCount.
func Threshold(minCount int, p Product) int {
	if minCount > 0 {
		return minCount
	}
	return p.N
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// BuildRequest turns options into the request the probe sends, drawing the
// salt from Rand and the time from Now.
func (o Options) BuildRequest() (Request, Product, error) {
	o = o.withDefaults()
	p, err := LookupProduct(o.Product)
	if err != nil {
		return Request{}, p, err
	}
	proto := o.Protocol
	if proto == 0 {
		proto = p.Protocol
	}
	if proto < 4 || proto > 6 {
		return Request{}, p, fmt.Errorf("kmscheck: KMS protocol %d is not one clients speak; use 4, 5 or 6", proto)
	}
	cmid := o.ClientID
	if cmid.IsZero() {
		if cmid, err = MachineIdentity(); err != nil {
			return Request{}, p, err
		}
	}
	ws := o.Workstation
	if ws == "" {
		// The host name only helps an admin find the probe in the KMS
		// event log, so an over-long one is cut rather than refused.
		ws, _ = os.Hostname()
		if u := []rune(ws); len(u) > 63 {
			ws = string(u[:63])
		}
	}
	r := Request{
		Version:       Version{Major: uint16(proto)},
		LicenseStatus: defaultLicenseStatus,
		GraceMinutes:  defaultGraceMinutes,
		AppID:         p.AppID,
		SKUID:         p.SKUID,
		KMSID:         p.KMSID,
		CMID:          cmid,
		RequiredCount: uint32(p.N),
		Time:          FileTime(o.Now()),
		Workstation:   ws,
	}
	if proto >= 5 {
		if _, err := io.ReadFull(o.Rand, r.Salt[:]); err != nil {
			return Request{}, p, fmt.Errorf("kmscheck: no randomness for the request salt: %w", err)
		}
	}
	if o.EditRequest != nil {
		o.EditRequest(&r)
	}
	if _, err := r.encodeBase(); err != nil {
		return Request{}, p, err
	}
	return r, p, nil
}

// TCPOutcome classifies a connect attempt.
type TCPOutcome int

const (
	TCPConnected TCPOutcome = iota
	TCPRefused
	TCPTimeout
	TCPUnreachable
	TCPError
)

var tcpOutcomeNames = [...]string{"connected", "refused", "timeout", "unreachable", "error"}

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

// Dial connects to addr ("ip:port"), classifying the outcome. The caller
// owns the returned connection, which is nil unless Outcome is TCPConnected.
func Dial(ctx context.Context, addr string) (net.Conn, TCPResult) {
	var d net.Dialer
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", addr)
	r := TCPResult{Addr: addr, RTT: time.Since(start), Err: err}
	r.Outcome = classifyDial(ctx, err)
	return c, r
}

func classifyDial(ctx context.Context, err error) TCPOutcome {
	var ne net.Error
	switch {
	case err == nil:
		return TCPConnected
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

func (e *BindError) Error() string { return "kmscheck: RPC bind rejected: " + e.Detail }

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
func (s *Session) Activate(ctx context.Context, req Request) (Response, Syntax, error) {
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
	Request  Request
	Product  Product
	Syntax   Syntax    // of the activation request
	Response *Response // nil unless verified
	RTT      time.Duration
	Err      error
}

// Handshake runs the KMS protocol on an open connection: bind, then (in
// ModeActivate) one activation request. It never closes conn.
func Handshake(ctx context.Context, conn net.Conn, req Request, neg Negotiation, mode Mode) Exchange {
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
