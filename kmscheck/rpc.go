package kmscheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DCE/RPC packet types used by KMS (PROTOCOL.md §2).
const (
	ptRequest          = 0
	ptResponse         = 2
	ptFault            = 3
	ptBind             = 11
	ptBindAck          = 12
	ptBindNak          = 13
	ptAlterContext     = 14
	ptAlterContextResp = 15
)

const (
	pfcFirstFrag = 0x01
	pfcLastFrag  = 0x02
	pfcConcMpx   = 0x10

	rpcHeaderLen = 16
	// maxPDU caps what we read from a peer. KMS PDUs are at most ~340
	// bytes; a few KiB leave room for a chatty bind_ack without letting a
	// hostile frag_length make us allocate or wait for much.
	maxPDU = 4096
	// maxFrag is what we advertise, as vlmcs and Windows do.
	maxFrag = 5840
)

var (
	kmsInterface = mustUUID("51c82175-844e-4750-b0d8-ec255555bc06")
	syntaxNDR32  = mustUUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
	syntaxNDR64  = mustUUID("71710533-beba-4937-8319-b5dbef9ccc36")
	// btfnPrefix is the first 8 wire bytes of a bind-time feature
	// negotiation "syntax"; the last 8 are a bitmask.
	btfnPrefix = []byte{0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45}
)

// btfnFeatures is what Windows offers: security context multiplexing and
// keep-connection-on-orphan.
const btfnFeatures = 0x03

// Syntax is the NDR transfer syntax a request is encoded in.
type Syntax int

const (
	NDR32 Syntax = iota
	NDR64
)

func (s Syntax) String() string {
	if s == NDR64 {
		return "ndr64"
	}
	return "ndr32"
}

// ProtocolError means the peer spoke something that is not well-formed
// DCE/RPC for KMS: the port is open but whatever listens is not a KMS host
// (or is broken).
type ProtocolError struct {
	Detail string
	// Service names what answered instead, when its first bytes say so:
	// "http", "tls", "ssh", "smtp", "ftp" or "smtp_or_ftp"; "" otherwise.
	Service string
}

func (e *ProtocolError) Error() string { return "not a KMS (DCE/RPC) answer: " + e.Detail }

func perr(format string, args ...any) error {
	return &ProtocolError{Detail: fmt.Sprintf(format, args...)}
}

type pduHeader struct {
	ptype   byte
	flags   byte
	fragLen uint16
	authLen uint16
	callID  uint32
}

func putHeader(b []byte, ptype, flags byte, callID uint32) {
	b[0], b[1], b[2], b[3] = 5, 0, ptype, flags
	b[4], b[5], b[6], b[7] = 0x10, 0, 0, 0
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	binary.LittleEndian.PutUint16(b[10:], 0)
	binary.LittleEndian.PutUint32(b[12:], callID)
}

// parsePDU checks the invariants every KMS PDU keeps (PROTOCOL.md §2.1)
// and that b holds exactly one complete PDU.
func parsePDU(b []byte) (pduHeader, error) {
	var h pduHeader
	if len(b) < rpcHeaderLen {
		return h, perr("%d bytes is shorter than an RPC header", len(b))
	}
	if b[0] != 5 || b[1] != 0 {
		return h, perr("RPC version %d.%d, want 5.0", b[0], b[1])
	}
	if b[4] != 0x10 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return h, perr("data representation % x, want little-endian ASCII (10 00 00 00)", b[4:8])
	}
	h.ptype, h.flags = b[2], b[3]
	h.fragLen = binary.LittleEndian.Uint16(b[8:])
	h.authLen = binary.LittleEndian.Uint16(b[10:])
	h.callID = binary.LittleEndian.Uint32(b[12:])
	if int(h.fragLen) != len(b) {
		return h, perr("fragment length %d but the PDU has %d bytes", h.fragLen, len(b))
	}
	if h.authLen != 0 {
		return h, perr("authenticated RPC (auth_length %d); KMS uses none", h.authLen)
	}
	if h.flags&(pfcFirstFrag|pfcLastFrag) != pfcFirstFrag|pfcLastFrag {
		return h, perr("fragmented PDU (flags %#02x); KMS PDUs are single fragments", h.flags)
	}
	return h, nil
}

// readPDU reads exactly one PDU. It reads the fixed header first and trusts
// frag_length only after bounding it, so a hostile length can make us
// neither allocate nor wait for more than maxPDU bytes. Deadlines are the
// caller's (set on the connection).
func readPDU(r io.Reader) ([]byte, error) {
	var hdr [rpcHeaderLen]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, notRPC(r, hdr[:n], perr("the service sent %d bytes (% x) and closed the connection", n, hdr[:n]))
		}
		if n > 0 {
			// A short banner and then silence (a mail or file server
			// waiting for its command): name it if it says who it is.
			if pe := notRPC(r, hdr[:n], perr("the service sent %d bytes (% x) and then nothing more", n, hdr[:n])); pe.(*ProtocolError).Service != "" {
				return nil, pe
			}
		}
		return nil, err
	}
	if hdr[0] != 5 || hdr[1] != 0 || hdr[4] != 0x10 {
		return nil, notRPC(r, hdr[:], perr("the service answered % x…, which is not DCE/RPC 5.0", hdr[:8]))
	}
	fl := int(binary.LittleEndian.Uint16(hdr[8:]))
	if fl < rpcHeaderLen || fl > maxPDU {
		return nil, perr("fragment length %d is outside 16..%d", fl, maxPDU)
	}
	b := make([]byte, fl)
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[rpcHeaderLen:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, perr("connection closed in the middle of a %d-byte PDU", fl)
		}
		return nil, err
	}
	return b, nil
}

// bannerWait is how long the probe waits for the rest of a "220" banner
// that the first bytes did not tell apart (SMTP or FTP); the banner is
// sent in one write, so it is normally there already.
const bannerWait = 200 * time.Millisecond

// notRPC names the service behind first, when its first bytes say who it
// is, and returns pe with Service set.
func notRPC(r io.Reader, first []byte, err error) error {
	pe := err.(*ProtocolError)
	pe.Service = identifyService(first)
	if pe.Service == "smtp_or_ftp" {
		if c, ok := r.(net.Conn); ok {
			more := make([]byte, 240)
			c.SetReadDeadline(time.Now().Add(bannerWait))
			n, _ := c.Read(more)
			pe.Service = identifyService(append(append([]byte(nil), first...), more[:n]...))
		}
	}
	return pe
}

// identifyService recognises the greeting or error of common services
// that end up on a KMS port by mistake.
func identifyService(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("HTTP/")):
		return "http"
	case len(b) >= 3 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 3 && b[2] <= 4:
		return "tls" // a TLS alert or handshake record
	case bytes.HasPrefix(b, []byte("SSH-")):
		return "ssh"
	case len(b) >= 4 && bytes.HasPrefix(b, []byte("220")) && (b[3] == ' ' || b[3] == '-'):
		u := bytes.ToUpper(b)
		switch {
		case bytes.Contains(u, []byte("FTP")):
			return "ftp"
		case bytes.Contains(u, []byte("SMTP")), bytes.Contains(u, []byte("MAIL")):
			return "smtp"
		}
		return "smtp_or_ftp"
	}
	return ""
}

// contextItem is one presentation context offered in a bind.
type contextItem struct {
	id     uint16
	syntax UUID   // transfer syntax (ignored for BTFN)
	ver    uint32 // transfer syntax version
	btfn   bool
}

// Negotiation chooses which presentation contexts the bind offers.
type Negotiation int

const (
	// NegotiateWindows offers NDR32, NDR64 and bind-time feature
	// negotiation, as Windows clients and vlmcs do, and follows with an
	// alter_context for NDR32 when the host accepts only NDR64.
	NegotiateWindows Negotiation = iota
	// NegotiateNDR32 offers one NDR32 context: the minimal client that
	// most captured vectors show.
	NegotiateNDR32
)

func (n Negotiation) String() string {
	if n == NegotiateNDR32 {
		return "ndr32"
	}
	return "windows"
}

func (n Negotiation) contexts() []contextItem {
	if n == NegotiateNDR32 {
		return []contextItem{{id: 0, syntax: syntaxNDR32, ver: 2}}
	}
	return []contextItem{
		{id: 0, syntax: syntaxNDR32, ver: 2},
		{id: 1, syntax: syntaxNDR64, ver: 1},
		{id: 2, btfn: true, ver: 1},
	}
}

// bindPDU builds a bind or alter_context.
func bindPDU(ptype byte, callID uint32, items []contextItem) []byte {
	b := make([]byte, 28+44*len(items))
	putHeader(b, ptype, pfcFirstFrag|pfcLastFrag|pfcConcMpx, callID)
	le := binary.LittleEndian
	le.PutUint16(b[16:], maxFrag)
	le.PutUint16(b[18:], maxFrag)
	b[24] = byte(len(items))
	iface := kmsInterface.wire()
	for i, it := range items {
		e := b[28+44*i:]
		le.PutUint16(e[0:], it.id)
		e[2] = 1
		copy(e[4:], iface[:])
		le.PutUint16(e[20:], 1) // interface version 1.0
		if it.btfn {
			copy(e[24:], btfnPrefix)
			le.PutUint64(e[32:], btfnFeatures)
		} else {
			w := it.syntax.wire()
			copy(e[24:], w[:])
		}
		le.PutUint32(e[40:], it.ver)
	}
	return b
}

// Bind results (PROTOCOL.md §2.3).
const (
	resultAcceptance   = 0
	resultUserReject   = 1
	resultProvReject   = 2
	resultNegotiateAck = 3
)

type bindResult struct {
	result uint16
	reason uint16
	syntax UUID
	ver    uint32
}

type bindAck struct {
	ptype      byte
	callID     uint32
	assocGroup uint32
	secAddr    string
	results    []bindResult
}

// BindNakError is a bind_nak: the RPC server refused the association.
type BindNakError struct{ Reason uint16 }

func (e *BindNakError) Error() string {
	return fmt.Sprintf("RPC bind refused (bind_nak, reason %d)", e.Reason)
}

// parseBindAck decodes a bind_ack or alter_context_resp, computing the pad
// after the secondary address instead of assuming it.
func parseBindAck(b []byte) (bindAck, error) {
	var a bindAck
	h, err := parsePDU(b)
	if err != nil {
		return a, err
	}
	a.ptype, a.callID = h.ptype, h.callID
	le := binary.LittleEndian
	if h.ptype == ptBindNak {
		var reason uint16
		if len(b) >= 18 {
			reason = le.Uint16(b[16:])
		}
		return a, &BindNakError{Reason: reason}
	}
	if h.ptype != ptBindAck && h.ptype != ptAlterContextResp {
		return a, perr("expected bind_ack, got packet type %d", h.ptype)
	}
	if len(b) < 26 {
		return a, perr("bind_ack of %d bytes is truncated", len(b))
	}
	a.assocGroup = le.Uint32(b[20:])
	l := int(le.Uint16(b[24:]))
	o := 26 + l
	if o > len(b) {
		return a, perr("bind_ack secondary address runs past the PDU")
	}
	a.secAddr = string(trimNUL(b[26:o]))
	o = (o + 3) &^ 3
	if o+4 > len(b) {
		return a, perr("bind_ack has no result list")
	}
	n := int(b[o])
	o += 4
	if o+24*n > len(b) {
		return a, perr("bind_ack announces %d results but holds fewer", n)
	}
	for i := 0; i < n; i++ {
		e := b[o+24*i:]
		a.results = append(a.results, bindResult{
			result: le.Uint16(e[0:]),
			reason: le.Uint16(e[2:]),
			syntax: uuidFromWire(e[4:20]),
			ver:    le.Uint32(e[20:]),
		})
	}
	return a, nil
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// requestPDU wraps a KMS message in an opnum-0 request stub.
func requestPDU(callID uint32, ctxID uint16, syn Syntax, msg []byte) []byte {
	le := binary.LittleEndian
	var stub []byte
	if syn == NDR64 {
		stub = make([]byte, 16, 16+len(msg))
		le.PutUint32(stub[0:], uint32(len(msg)))
		le.PutUint64(stub[8:], uint64(len(msg)))
	} else {
		stub = make([]byte, 8, 8+len(msg))
		le.PutUint32(stub[0:], uint32(len(msg)))
		le.PutUint32(stub[4:], uint32(len(msg)))
	}
	stub = append(stub, msg...)
	b := make([]byte, 24+len(stub))
	putHeader(b, ptRequest, pfcFirstFrag|pfcLastFrag, callID)
	le.PutUint32(b[16:], uint32(len(stub)))
	le.PutUint16(b[20:], ctxID)
	copy(b[24:], stub)
	return b
}

// FaultError is an RPC fault PDU: the RPC layer, not the licensing logic,
// rejected the call.
type FaultError struct{ Status uint32 }

func (e *FaultError) Error() string {
	return fmt.Sprintf("RPC fault %#08x (%s)", e.Status, FaultMeaning(e.Status))
}

// RefusalError is a KMS answer with no message and a failing HRESULT: the
// host understood the request and declined it.
type RefusalError struct{ HRESULT uint32 }

func (e *RefusalError) Error() string {
	return fmt.Sprintf("KMS host refused: HRESULT 0x%08X (%s)", e.HRESULT, HRESULTMeaning(e.HRESULT))
}

// parseResponsePDU extracts the KMS message from a response stub, or the
// refusal or fault it carries instead (PROTOCOL.md §3.2, §3.3).
func parseResponsePDU(b []byte, callID uint32, syn Syntax) ([]byte, error) {
	h, err := parsePDU(b)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch h.ptype {
	case ptFault:
		// vlmcsd leaves cancel_count uninitialised and may send a fixed
		// call_id, so neither is checked on a fault.
		if len(b) < 28 {
			return nil, perr("fault PDU of %d bytes is truncated", len(b))
		}
		return nil, &FaultError{Status: le.Uint32(b[24:])}
	case ptResponse:
	default:
		return nil, perr("expected a response, got packet type %d", h.ptype)
	}
	// Old Wine servers always answer call_id 1 (noted by vlmcs).
	if h.callID != callID && h.callID != 1 {
		return nil, perr("response call_id %d, request was %d", h.callID, callID)
	}
	if len(b) < 24 {
		return nil, perr("response PDU of %d bytes is truncated", len(b))
	}
	stub := b[24:]
	w := 4 // NDR32 width of pointers and conformance
	if syn == NDR64 {
		w = 8
	}
	if len(stub) < 2*w {
		return nil, perr("response stub of %d bytes is truncated", len(stub))
	}
	size := le.Uint32(stub[0:])
	var ref uint64
	if w == 8 {
		ref = le.Uint64(stub[8:])
	} else {
		ref = uint64(le.Uint32(stub[4:]))
	}
	o := 2 * w
	var msg []byte
	if ref != 0 {
		if len(stub) < o+w {
			return nil, perr("response stub truncated before the array size")
		}
		var conf uint64
		if w == 8 {
			conf = le.Uint64(stub[o:])
		} else {
			conf = uint64(le.Uint32(stub[o:]))
		}
		o += w
		if conf != uint64(size) {
			return nil, perr("response size %d disagrees with array size %d", size, conf)
		}
		if size > maxKMSMessage || o+int(size) > len(stub) {
			return nil, perr("response array of %d bytes does not fit the %d-byte stub", size, len(stub))
		}
		msg = stub[o : o+int(size)]
		o = (o + int(size) + 3) &^ 3
	}
	if o+4 > len(stub) {
		return nil, perr("response stub has no return code")
	}
	if hr := le.Uint32(stub[o:]); hr != 0 {
		return nil, &RefusalError{HRESULT: hr}
	}
	if ref == 0 {
		return nil, perr("response has neither a KMS message nor an error code")
	}
	return msg, nil
}
