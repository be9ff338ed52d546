package kmscheck

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Version is a KMS protocol version as carried in every message.
type Version struct{ Major, Minor uint16 }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

const (
	baseRequestLen  = 236
	workstationLen  = 128 // bytes of UTF-16LE, NUL included
	maxEPIDBytes    = 128
	baseResponseFix = 44 // base response length without the ePID

	// maxKMSMessage bounds what we accept from a host. The largest
	// legitimate response (V6, ePID of 128 bytes) is 4+16+pad16(44+128+88)
	// = 292 bytes.
	maxKMSMessage = 512
)

// ActivationRequest is one KMS activation request before encryption. Every field that
// varies between runs (CMID, time, salt) is explicit so that tests can
// rebuild captured requests byte for byte.
type ActivationRequest struct {
	Version       Version
	VM            bool
	LicenseStatus uint32 // 2 = out-of-box grace, as a fresh client
	GraceMinutes  uint32
	AppID         UUID
	SKUID         UUID
	KMSID         UUID
	CMID          UUID
	RequiredCount uint32
	Time          uint64 // FILETIME
	PreviousCMID  UUID
	Workstation   string
	Salt          [16]byte // CBC IV for V5/V6; unused for V4
}

// filetimeEpochDelta is the number of seconds between 1601-01-01 and 1970-01-01.
const filetimeEpochDelta = 11644473600

// FileTime converts t to a Windows FILETIME (100 ns ticks since 1601 UTC).
func FileTime(t time.Time) uint64 {
	return uint64(t.Unix()+filetimeEpochDelta)*1e7 + uint64(t.Nanosecond()/100)
}

// TimeFromFileTime is the inverse of FileTime.
func TimeFromFileTime(ft uint64) time.Time {
	sec := int64(ft/1e7) - filetimeEpochDelta
	return time.Unix(sec, int64(ft%1e7)*100).UTC()
}

// encodeBase lays out the 236-byte base request (PROTOCOL.md §4).
func (r ActivationRequest) encodeBase() ([]byte, error) {
	b := make([]byte, baseRequestLen)
	le := binary.LittleEndian
	le.PutUint16(b[0:], r.Version.Minor)
	le.PutUint16(b[2:], r.Version.Major)
	if r.VM {
		le.PutUint32(b[4:], 1)
	}
	le.PutUint32(b[8:], r.LicenseStatus)
	le.PutUint32(b[12:], r.GraceMinutes)
	for i, u := range []UUID{r.AppID, r.SKUID, r.KMSID, r.CMID} {
		w := u.wire()
		copy(b[16+16*i:], w[:])
	}
	le.PutUint32(b[80:], r.RequiredCount)
	le.PutUint64(b[84:], r.Time)
	w := r.PreviousCMID.wire()
	copy(b[92:], w[:])
	units := utf16.Encode([]rune(r.Workstation))
	if len(units) > workstationLen/2-1 {
		return nil, fmt.Errorf("workstation name %q is longer than the 63 UTF-16 units KMS allows; use a shorter host name", r.Workstation)
	}
	for i, u := range units {
		le.PutUint16(b[108+2*i:], u)
	}
	return b, nil
}

// sentRequest is what the client must remember to verify the answer.
type sentRequest struct {
	version Version
	cmid    UUID
	time    uint64
	salt    [16]byte
	dsalt   [16]byte // raw block decryption of the salt (V5/V6)
}

// marshal builds the KMS request message (the opaque byte array inside the
// RPC stub): V4 is the base request plus a MAC; V5 and V6 are the clear
// version, the salt and the encrypted base request (PROTOCOL.md §6).
func (r ActivationRequest) marshal() ([]byte, sentRequest, error) {
	base, err := r.encodeBase()
	if err != nil {
		return nil, sentRequest{}, err
	}
	st := sentRequest{version: r.Version, cmid: r.CMID, time: r.Time, salt: r.Salt}
	switch {
	case r.Version.Major < 4:
		return nil, st, fmt.Errorf("KMS protocol version %s does not exist; use 4, 5 or 6", r.Version)
	case r.Version.Major == 4:
		mac := v4MAC(base)
		return append(base, mac[:]...), st, nil
	}
	c := cipherFor(r.Version.Major)
	c.decrypt(st.dsalt[:], r.Salt[:])
	plain := append(base, 4, 4, 4, 4) // PKCS#7 to 240
	msg := make([]byte, 0, 4+16+len(plain))
	msg = binary.LittleEndian.AppendUint16(msg, r.Version.Minor)
	msg = binary.LittleEndian.AppendUint16(msg, r.Version.Major)
	msg = append(msg, r.Salt[:]...)
	msg = append(msg, cbcEncrypt(c, r.Salt[:], plain)...)
	return msg, st, nil
}

// Response is a verified KMS answer.
type Response struct {
	Version            Version
	EPID               string
	CMID               UUID
	ClientTime         uint64 // FILETIME echoed from the request
	Count              uint32 // current client count in the host's pool for this application
	ActivationInterval uint32 // minutes
	RenewalInterval    uint32 // minutes
	HwID               []byte // 8 bytes, V6 only
	// EmulatorHints lists signs, documented by vlmcsd itself, that the
	// answer came from an emulator rather than a Windows KMS host. They
	// are evidence, not a verdict: the probe checks reachability, not
	// licensing compliance.
	EmulatorHints []string
}

// VerifyError says which integrity check a response failed. Each one means
// the bytes were not produced by a KMS host for this request: corruption,
// a middlebox, or something that only imitates KMS.
type VerifyError struct{ Check, Detail string }

func (e *VerifyError) Error() string {
	if e.Detail == "" {
		return "response failed verification: " + e.Check
	}
	return "response failed verification: " + e.Check + ": " + e.Detail
}

func verr(check, format string, args ...any) error {
	return &VerifyError{Check: check, Detail: fmt.Sprintf(format, args...)}
}

// parseBaseResponse decodes the 44+P byte base response at the start of b
// and returns it with its length.
func parseBaseResponse(b []byte) (Response, int, error) {
	var r Response
	if len(b) < baseResponseFix {
		return r, 0, verr("length", "%d bytes is too short for a base response", len(b))
	}
	le := binary.LittleEndian
	r.Version = Version{Minor: le.Uint16(b[0:]), Major: le.Uint16(b[2:])}
	p := le.Uint32(b[4:])
	if p > maxEPIDBytes || p < 2 || p%2 != 0 {
		return r, 0, verr("epid", "ePID size %d is not an even number of bytes up to 128", p)
	}
	n := baseResponseFix + int(p)
	if len(b) < n {
		return r, 0, verr("length", "ePID size %d runs past the end of the message", p)
	}
	units := make([]uint16, p/2)
	for i := range units {
		units[i] = le.Uint16(b[8+2*i:])
	}
	for i, u := range units {
		if (u == 0) != (i == len(units)-1) {
			return r, 0, verr("epid", "ePID is not a NUL-terminated string")
		}
		// An ePID is digits, dashes and a dot. Requiring printable ASCII
		// (vlmcs does not) is what catches a tampered V5 answer: V5 has
		// no MAC over the base response, but a changed ciphertext block
		// decrypts to 16 random bytes.
		if i < len(units)-1 && (u < 0x20 || u > 0x7e) {
			return r, 0, verr("epid", "ePID contains a non-ASCII character %#04x", u)
		}
	}
	r.EPID = string(utf16.Decode(units[:len(units)-1]))
	o := 8 + int(p)
	r.CMID = uuidFromWire(b[o:])
	r.ClientTime = le.Uint64(b[o+16:])
	r.Count = le.Uint32(b[o+24:])
	r.ActivationInterval = le.Uint32(b[o+28:])
	r.RenewalInterval = le.Uint32(b[o+32:])
	return r, n, nil
}

// decodeResponse verifies and decodes a KMS response message against the
// request it answers: every check vlmcs makes (PROTOCOL.md §6.3, §6.5).
// V4 is a plain base response with a MAC; V5 and V6 are decrypted, their
// base response checked, then the version's own tail.
func decodeResponse(msg []byte, st sentRequest) (Response, error) {
	if len(msg) > maxKMSMessage {
		return Response{}, verr("length", "%d bytes is longer than any KMS response", len(msg))
	}
	if st.version.Major == 4 {
		return decodeV4(msg, st)
	}
	w, plain, err := decryptResponse(msg, st)
	if err != nil {
		return Response{}, err
	}
	s, body := plain[:16], plain[16:]
	r, n, err := parseBaseResponse(body)
	if err != nil {
		return r, err
	}
	if err := checkEncryptedBase(msg, body, n, r, st); err != nil {
		return r, err
	}
	if st.version.Major == 5 {
		if !bytes.Equal(w[:16], st.salt[:]) {
			return r, verr("salt", "V5 response does not echo the request salt")
		}
		return r, nil
	}
	return decodeV6Tail(r, plain, s, body[n:], st)
}

// decodeV4 checks a V4 response: the base response and its MAC.
func decodeV4(msg []byte, st sentRequest) (Response, error) {
	r, n, err := parseBaseResponse(msg)
	if err != nil {
		return r, err
	}
	if len(msg) != n+16 {
		return r, verr("length", "V4 response is %d bytes, want %d", len(msg), n+16)
	}
	mac := v4MAC(msg[:n])
	if !hmac.Equal(mac[:], msg[n:]) {
		return r, verr("v4 mac", "MAC does not match")
	}
	return r, checkEcho(r, st)
}

// decryptResponse checks a V5/V6 message's outer version and decrypts it:
// w is the encrypted part, plain its plaintext without the padding.
func decryptResponse(msg []byte, st sentRequest) (w, plain []byte, err error) {
	le := binary.LittleEndian
	if len(msg) < 4+32 {
		return nil, nil, verr("length", "%d bytes is too short for a V%d response", len(msg), st.version.Major)
	}
	outer := Version{Minor: le.Uint16(msg[0:]), Major: le.Uint16(msg[2:])}
	if outer != st.version {
		return nil, nil, verr("version", "outer version %s, request was %s", outer, st.version)
	}
	w = msg[4:]
	if len(w)%16 != 0 {
		return nil, nil, verr("length", "encrypted part is %d bytes, not a multiple of 16", len(w))
	}
	plain = cbcDecrypt(cipherFor(st.version.Major), make([]byte, 16), w)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, nil, verr("padding", "PKCS#7 padding is wrong (wrong key, or corrupted)")
	}
	return w, plain[:len(plain)-pad], nil
}

// checkEncryptedBase checks what V5 and V6 share after the n-byte base
// response of body: the lengths, the echoed request, and the hash of the
// random value.
func checkEncryptedBase(msg, body []byte, n int, r Response, st sentRequest) error {
	tail := 48
	if st.version.Major >= 6 {
		tail = 88
	}
	if len(body) != n+tail {
		return verr("length", "decrypted body is %d bytes, want %d for a %d-byte ePID", len(body), n+tail, len(r.EPID)*2+2)
	}
	if want := 4 + 16 + (n+tail)/16*16 + 16; len(msg) != want {
		return verr("length", "message is %d bytes, want %d", len(msg), want)
	}
	if r.Version != st.version {
		return verr("version", "base response version %s, request was %s", r.Version, st.version)
	}
	if err := checkEcho(r, st); err != nil {
		return err
	}
	var random [16]byte
	for i := range random {
		random[i] = body[n+i] ^ st.dsalt[i]
	}
	hash := sha256.Sum256(random[:])
	if !hmac.Equal(hash[:], body[n+16:n+48]) {
		return verr("random hash", "SHA-256 of the random value does not match")
	}
	return nil
}

// decodeV6Tail checks V6's tail (after the base response, random and hash:
// HwID, XorSalts, HMAC) and notes the signs of an emulator. s is the
// response salt; plain the decrypted message whose first bytes the HMAC
// signs.
func decodeV6Tail(r Response, plain, s, tail []byte, st sentRequest) (Response, error) {
	r.HwID = append([]byte(nil), tail[48:56]...)
	if !bytes.Equal(tail[56:72], st.dsalt[:]) {
		return r, verr("xor salts", "XorSalts does not equal the decrypted request salt")
	}
	signed := plain[:len(plain)-len(tail)+72]
	if !v6HMACMatches(int64(r.ClientTime), signed, tail[72:88]) {
		return r, verr("hmac", "V6 HMAC does not match")
	}
	if bytes.Equal(s, st.dsalt[:]) {
		r.EmulatorHints = append(r.EmulatorHints, "response salt equals the decrypted request salt (V5-style reuse)")
	}
	if strings.EqualFold(fmt.Sprintf("%X", r.HwID), "3A1C049600B60076") {
		r.EmulatorHints = append(r.EmulatorHints, "HwId 3A1C049600B60076 is vlmcsd's built-in default")
	}
	return r, nil
}

// v6HMACMatches checks the V6 HMAC in the client time's slot and its
// neighbours: vlmcs's one-slot tolerance; harmless.
func v6HMACMatches(clientTime int64, signed, mac []byte) bool {
	for _, d := range []int64{0, -1, 1} {
		if hmac.Equal(v6HMAC(clientTime+d*v6TimeC1, signed), mac) {
			return true
		}
	}
	return false
}

func v6HMAC(t int64, signed []byte) []byte {
	slot := uint64(t)/v6TimeC1*v6TimeC2 + v6TimeC3
	var sb [8]byte
	binary.LittleEndian.PutUint64(sb[:], slot)
	k := sha256.Sum256(sb[:])
	m := hmac.New(sha256.New, k[16:])
	m.Write(signed)
	return m.Sum(nil)[16:]
}

func checkEcho(r Response, st sentRequest) error {
	if r.Version != st.version {
		return verr("version", "response version %s, request was %s", r.Version, st.version)
	}
	if r.CMID != st.cmid {
		return verr("cmid", "response is for client %s, not %s", r.CMID, st.cmid)
	}
	if r.ClientTime != st.time {
		return verr("time", "response echoes time %d, request sent %d", r.ClientTime, st.time)
	}
	return nil
}
