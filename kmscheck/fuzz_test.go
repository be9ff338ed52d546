package kmscheck

import (
	"bytes"
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

// FuzzRPCPDU throws arbitrary bytes at every PDU parser. None may panic,
// and readPDU must never return more than maxPDU bytes.
func FuzzRPCPDU(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := readPDU(bytes.NewReader(b)); err == nil {
			if len(p) > maxPDU {
				t.Fatalf("readPDU returned %d bytes", len(p))
			}
		}
		parsePDU(b)
		parseBindAck(b)
		for _, syn := range []Syntax{NDR32, NDR64} {
			if m, err := parseResponsePDU(b, 2, syn); err == nil && len(m) > maxKMSMessage {
				t.Fatalf("response message of %d bytes", len(m))
			}
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
