package kmscheck

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
)

// seedVectors adds every captured PDU to a fuzz corpus.
func seedVectors(f *testing.F) []vector {
	vs := loadVectors(f)
	for _, v := range vs {
		for _, name := range v.order {
			f.Add(v.pdus[name])
		}
	}
	return vs
}

// FuzzRPCPDU throws arbitrary bytes at every PDU parser and checks what
// they accepted against the bytes: a PDU read from a stream is a prefix of
// it exactly as long as its declared frag_length; a parsed header's fields
// are the bytes at their offsets; a bind_ack's secondary address and
// results lie inside the PDU; a response's KMS message is a slice of the
// PDU within the size bound.
func FuzzRPCPDU(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := readPDU(bytes.NewReader(b)); err == nil {
			declared := int(binary.LittleEndian.Uint16(b[8:]))
			if len(p) != declared || len(p) > maxPDU || !bytes.Equal(p, b[:len(p)]) {
				t.Fatalf("readPDU returned %d bytes for frag_length %d (input %d)", len(p), declared, len(b))
			}
			if p[0] != 5 || p[1] != 0 || p[4] != 0x10 {
				t.Fatalf("readPDU accepted a header that is not DCE/RPC 5.0: % x", p[:8])
			}
		}
		if h, err := parsePDU(b); err == nil {
			le := binary.LittleEndian
			if int(h.fragLen) != len(b) || h.ptype != b[2] || h.flags != b[3] || h.callID != le.Uint32(b[12:]) || h.authLen != 0 {
				t.Fatalf("parsePDU header %+v disagrees with the bytes % x", h, b[:16])
			}
		}
		if a, err := parseBindAck(b); err == nil {
			if len(a.secAddr) > len(b) || 24+len(a.secAddr)+4*len(a.results) > len(b) {
				t.Fatalf("bind_ack of %d bytes yielded address %q and %d results", len(b), a.secAddr, len(a.results))
			}
			if a.ptype != ptBindAck && a.ptype != ptAlterContextResp {
				t.Fatalf("bind_ack parser accepted packet type %d", a.ptype)
			}
		}
		for _, syn := range []Syntax{NDR32, NDR64} {
			m, err := parseResponsePDU(b, 2, syn)
			if err != nil {
				continue
			}
			if len(m) > maxKMSMessage || len(m) == 0 || !bytes.Contains(b, m) {
				t.Fatalf("response message of %d bytes is not inside the %d-byte PDU", len(m), len(b))
			}
			if binary.LittleEndian.Uint32(b[12:]) != 2 {
				t.Fatal("accepted a response to another call")
			}
		}
	})
}

// FuzzParseEPID checks that an accepted ePID's numbers re-render to the
// fields they came from (no sign, no leading zero, no overflow slips by)
// and that the host facts shown come from the tables only.
func FuzzParseEPID(f *testing.F) {
	for _, s := range []string{
		"03612-00206-566-392475-03-1033-17763.0000-3052019",
		"06401-00206-271-392041-03-1028-20348.0000-1002023",
		"03612-00206-566-392475-03-+1033-17763.0000-3052019",
		"03612-00206-566-392475-03-01033-17763.0000-3052019",
		"a-b-c-d-e-f-g-h", "", "--------",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ParseEPID(s)
		if !ok {
			return
		}
		parts := strings.Split(s, "-")
		build, _, _ := strings.Cut(parts[6], ".")
		if strconv.Itoa(h.LCID) != parts[5] || strconv.Itoa(h.Build) != build || h.Group != parts[1] || h.KeyDate != parts[7] {
			t.Fatalf("ParseEPID(%q) = %+v: the fields do not re-render to the input", s, h)
		}
		if h.OS != buildNames[h.Build] || h.Language != lcidNames[h.LCID] {
			t.Fatalf("ParseEPID(%q) invented host facts %+v", s, h)
		}
	})
}

// FuzzDecodeResponse feeds arbitrary KMS messages to the verifier for each
// protocol version. None may panic; anything accepted must echo the
// request's CMID and time.
func FuzzDecodeResponse(f *testing.F) {
	vs := loadVectors(f)
	var sts []sentRequest
	for _, v := range vs {
		for i, s := range v.manifest.Summary {
			if s.Request == nil {
				continue
			}
			req := v.request(f, i)
			_, st, err := req.marshal()
			if err != nil {
				f.Fatal(err)
			}
			sts = append(sts, st)
			if s.Response != nil && s.Response.EPID != "" {
				p := v.pdus[s.ResponsePDU[:len(s.ResponsePDU)-4]]
				off := 36
				if p[28] == 0 && p[29] == 0 && p[30] == 0 && p[31] == 0 {
					off = 48 // NDR64
				}
				n := int(p[24]) | int(p[25])<<8
				f.Add(uint8(len(sts)-1), p[off:off+n])
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, msg []byte) {
		st := sts[int(which)%len(sts)]
		r, err := decodeResponse(msg, st)
		if err != nil {
			return
		}
		if r.CMID != st.cmid || r.ClientTime != st.time || r.Version != st.version {
			t.Fatalf("accepted a response that does not echo the request: %+v", r)
		}
	})
}
