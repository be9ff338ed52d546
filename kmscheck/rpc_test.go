package kmscheck

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBindBuilderReproducesCaptures(t *testing.T) {
	min := loadVector(t, "testdata/vectors/v6-win10-ent")
	full := loadVector(t, "testdata/vectors/v6-win10-ent-full-negotiation")
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"ndr32 only", bindPDU(ptBind, 2, NegotiateNDR32.contexts()), min.pdu(t, "01-bind")},
		{"windows", bindPDU(ptBind, 2, NegotiateWindows.contexts()), full.pdu(t, "01-bind")},
		{"alter_context", bindPDU(ptAlterContext, 2, NegotiateNDR32.contexts()), full.pdu(t, "03-alter_context")},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s:\n got %x\nwant %x", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseBindAck(t *testing.T) {
	min := loadVector(t, "testdata/vectors/v6-win10-ent")
	full := loadVector(t, "testdata/vectors/v6-win10-ent-full-negotiation")
	zero := UUID{}
	tests := []struct {
		name string
		pdu  []byte
		want bindAck
	}{
		{"port 11688, no pad", min.pdu(t, "02-bind_ack"), bindAck{ptype: ptBindAck, callID: 2, assocGroup: 0x9bde3234, secAddr: "11688",
			results: []bindResult{{result: 0, syntax: syntaxNDR32, ver: 2}}}},
		{"port 1688, 1-byte pad, three results", full.pdu(t, "02-bind_ack"), bindAck{ptype: ptBindAck, callID: 2, assocGroup: 0x260dbeb4, secAddr: "1688",
			results: []bindResult{{result: 2, reason: 2, syntax: zero}, {result: 0, syntax: syntaxNDR64, ver: 1}, {result: 3, reason: 3, syntax: zero}}}},
		{"alter_context_resp, empty address, 2-byte pad", full.pdu(t, "04-alter_context_resp"), bindAck{ptype: ptAlterContextResp, callID: 2, assocGroup: 0x260dbeb4,
			results: []bindResult{{result: 0, syntax: syntaxNDR32, ver: 2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBindAck(tt.pdu)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(bindAck{}, bindResult{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResponsePDURefusalsAndFault(t *testing.T) {
	tests := []struct {
		vector, file string
		hresult      uint32
		fault        uint32
	}{
		{"refuse-unknown-kmsid", "04-response", HRUnknownProduct, 0},
		{"refuse-time-skew", "04-response", HRTimeSkew, 0},
		{"refuse-bad-version", "04-response", HRInvalidData, 0},
		{"rpc-fault-unknown-context", "04-fault", 0, 0x1c010003},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			v := loadVector(t, "testdata/vectors/"+tt.vector)
			_, err := parseResponsePDU(v.pdu(t, tt.file), 2, NDR32)
			var re *RefusalError
			var fe *FaultError
			switch {
			case tt.hresult != 0:
				if !errors.As(err, &re) || re.HRESULT != tt.hresult {
					t.Errorf("err = %v, want refusal %#x", err, tt.hresult)
				}
			default:
				if !errors.As(err, &fe) || fe.Status != tt.fault {
					t.Errorf("err = %v, want fault %#x", err, tt.fault)
				}
			}
		})
	}
}

func TestReadPDUBounds(t *testing.T) {
	hdr := []byte{5, 0, 12, 3, 0x10, 0, 0, 0, 0xff, 0xff, 0, 0, 2, 0, 0, 0}
	_, err := readPDU(bytes.NewReader(hdr))
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a ProtocolError for frag_length 65535", err)
	}
	hdr[8], hdr[9] = 8, 0 // shorter than a header
	if _, err := readPDU(bytes.NewReader(hdr)); !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a ProtocolError for frag_length 8", err)
	}
}

// Every captured PDU must pass the generic header checks.
func TestEveryCapturedPDUParses(t *testing.T) {
	for _, v := range loadVectors(t) {
		for _, name := range v.order {
			p := v.pdus[name]
			if _, err := parsePDU(p); err != nil {
				t.Errorf("%s/%s: %v", v.name, name, err)
			}
			if got, err := readPDU(bytes.NewReader(p)); err != nil || !bytes.Equal(got, p) {
				t.Errorf("%s/%s: readPDU = %v", v.name, name, err)
			}
		}
	}
}
