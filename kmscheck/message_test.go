package kmscheck

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The request builder must reproduce every captured request byte for byte:
// base request, KMS message and the whole PDU.
func TestRequestReproducesCaptures(t *testing.T) {
	for _, v := range loadVectors(t) {
		for i, s := range v.manifest.Summary {
			if s.Request == nil {
				continue
			}
			t.Run(v.name+"/"+s.RequestPDU, func(t *testing.T) {
				req := v.request(t, i)
				base, err := req.encodeBase()
				if err != nil {
					t.Fatal(err)
				}
				x := v.manifest.Exchanges[i].Request
				if got, want := hex.EncodeToString(base), x.PlainBase; got != want {
					t.Errorf("base request\n got %s\nwant %s", got, want)
				}
				msg, st, err := req.marshal()
				if err != nil {
					t.Fatal(err)
				}
				if got, want := hex.EncodeToString(msg), x.KMSMessage; got != want {
					t.Errorf("KMS message\n got %s\nwant %s", got, want)
				}
				if x.DSalt != "" && hex.EncodeToString(st.dsalt[:]) != x.DSalt {
					t.Errorf("Dsalt = %x, want %s", st.dsalt, x.DSalt)
				}
				want := v.pdu(t, s.RequestPDU)
				ctxID, syn := captureContext(want)
				got := requestPDU(callIDOf(want), ctxID, syn, msg)
				if !bytes.Equal(got, want) {
					t.Errorf("request PDU\n got %x\nwant %x", got, want)
				}
			})
		}
	}
}

func callIDOf(pdu []byte) uint32 {
	return uint32(pdu[12]) | uint32(pdu[13])<<8 | uint32(pdu[14])<<16 | uint32(pdu[15])<<24
}

// captureContext reads the context id and, from the stub shape, the syntax
// a captured request used (NDR64 puts 4 zero bytes after the size).
func captureContext(pdu []byte) (uint16, Syntax) {
	ctx := uint16(pdu[20]) | uint16(pdu[21])<<8
	if len(pdu) >= 32 && bytes.Equal(pdu[28:32], []byte{0, 0, 0, 0}) {
		return ctx, NDR64
	}
	return ctx, NDR32
}

// decodeCapture runs the response PDU of summary[i] through the stub parser
// and the verifier.
func decodeCapture(t *testing.T, v vector, i int, resp []byte) (Response, error) {
	t.Helper()
	req := v.request(t, i)
	_, st, err := req.marshal()
	if err != nil {
		t.Fatal(err)
	}
	reqPDU := v.pdu(t, v.manifest.Summary[i].RequestPDU)
	_, syn := captureContext(reqPDU)
	m, err := parseResponsePDU(resp, callIDOf(reqPDU), syn)
	if err != nil {
		return Response{}, err
	}
	return decodeResponse(m, st)
}

func TestDecodeAcceptsCaptures(t *testing.T) {
	for _, v := range loadVectors(t) {
		for i, s := range v.manifest.Summary {
			if s.Response == nil || s.Response.EPID == "" {
				continue
			}
			t.Run(v.name+"/"+s.ResponsePDU, func(t *testing.T) {
				got, err := decodeCapture(t, v, i, v.pdu(t, s.ResponsePDU))
				if err != nil {
					t.Fatal(err)
				}
				req := v.request(t, i)
				want := Response{
					Version:            req.Version,
					EPID:               s.Response.EPID,
					CMID:               req.CMID,
					ClientTime:         req.Time,
					Count:              s.Response.Count,
					ActivationInterval: s.Response.Activation,
					RenewalInterval:    s.Response.Renewal,
				}
				if s.Response.HwID != "" {
					want.HwID = mustHex(t, s.Response.HwID)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
				h, ok := ParseEPID(got.EPID)
				if !ok || h.Build != s.Response.Build || h.LCID != s.Response.LCID {
					t.Errorf("ParseEPID(%q) = %+v, %v; want build %d, LCID %d", got.EPID, h, ok, s.Response.Build, s.Response.LCID)
				}
			})
		}
	}
}

// Every single flipped byte of the KMS message must be caught: by the
// stub parser, the padding, the MAC, the hash, the HMAC or an echo check.
func TestDecodeRejectsFlippedByte(t *testing.T) {
	for _, v := range loadVectors(t) {
		for i, s := range v.manifest.Summary {
			if s.Response == nil || s.Response.EPID == "" {
				continue
			}
			t.Run(v.name+"/"+s.ResponsePDU, func(t *testing.T) {
				resp := v.pdu(t, s.ResponsePDU)
				reqPDU := v.pdu(t, s.RequestPDU)
				_, syn := captureContext(reqPDU)
				msgOff := 36
				if syn == NDR64 {
					msgOff = 48
				}
				msgLen := int(resp[24]) | int(resp[25])<<8
				for off := msgOff; off < msgOff+msgLen; off++ {
					b := bytes.Clone(resp)
					b[off] ^= 0x01
					if _, err := decodeCapture(t, v, i, b); err == nil {
						t.Errorf("flipped byte at PDU offset %d (message offset %d) was accepted", off, off-msgOff)
					}
				}
			})
		}
	}
}

func TestDecodeNegative(t *testing.T) {
	v6 := loadVector(t, "testdata/vectors/v6-win10-ent")
	v5 := loadVector(t, "testdata/vectors/v5-office2013-proplus")
	v4 := loadVector(t, "testdata/vectors/v4-win7-ent")
	msgOf := func(v vector) []byte {
		p := v.pdu(t, v.manifest.Summary[0].ResponsePDU)
		n := int(p[24]) | int(p[25])<<8
		return bytes.Clone(p[36 : 36+n])
	}
	stOf := func(v vector, edit func(*ActivationRequest)) sentRequest {
		r := v.request(t, 0)
		if edit != nil {
			edit(&r)
		}
		_, st, err := r.marshal()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name  string
		msg   []byte
		st    sentRequest
		check string
	}{
		{"other CMID", msgOf(v6), stOf(v6, func(r *ActivationRequest) { r.CMID[0] ^= 1 }), "cmid"},
		{"other time", msgOf(v6), stOf(v6, func(r *ActivationRequest) { r.Time++ }), "time"},
		{"other salt", msgOf(v6), stOf(v6, func(r *ActivationRequest) { r.Salt[3] ^= 1 }), "random hash"},
		{"truncated", msgOf(v6)[:len(msgOf(v6))-16], stOf(v6, nil), "padding"},
		{"lengthened", append(msgOf(v6), make([]byte, 16)...), stOf(v6, nil), "padding"},
		{"V6 answer read with V5 key", msgOf(v6), func() sentRequest { s := stOf(v6, nil); s.version.Major = 5; return s }(), "version"},
		{"V5 other salt", msgOf(v5), stOf(v5, func(r *ActivationRequest) { r.Salt[0] ^= 1 }), "random hash"},
		{"V4 MAC changed", func() []byte { m := msgOf(v4); m[len(m)-1] ^= 0x80; return m }(), stOf(v4, nil), "v4 mac"},
		{"V4 truncated", msgOf(v4)[:100], stOf(v4, nil), "length"},
		{"V4 other CMID", msgOf(v4), stOf(v4, func(r *ActivationRequest) { r.CMID[15] ^= 1 }), "cmid"},
		{"empty", nil, stOf(v6, nil), "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeResponse(tt.msg, tt.st)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a VerifyError", err)
			}
			if ve.Check != tt.check {
				t.Errorf("failed check %q (%v), want %q", ve.Check, err, tt.check)
			}
		})
	}
}

// A V6 answer decrypted with the V5 key (a host speaking the wrong cipher)
// must fail on padding or a check, never decode.
func TestDecodeV6WithV5Cipher(t *testing.T) {
	v := loadVector(t, "testdata/vectors/v6-win10-ent")
	p := v.pdu(t, "04-response")
	msg := bytes.Clone(p[36 : 36+260])
	msg[2] = 5 // make the outer version claim V5
	r := v.request(t, 0)
	r.Version.Major = 5
	_, st, _ := r.marshal()
	if _, err := decodeResponse(msg, st); err == nil {
		t.Fatal("V6 ciphertext decoded under the V5 key")
	}
}
