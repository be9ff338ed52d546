package dhcpcheck

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseMessage feeds the whole-packet decoder, seeded with real offers
// from dnsmasq and Kea. Invariants: no panic; a Present option decodes the
// same way on its own; the typed fields agree with the raw bytes.
func FuzzParseMessage(f *testing.F) {
	for _, n := range []string{"offer-dnsmasq-2.90.bin", "offer-kea-2.2.0.bin", "discover-kmsprobe.bin"} {
		f.Add(readPacket(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			return
		}
		o := newOffer(m, nil, nil)
		for code := range o.Malformed {
			if o.State(code) != Malformed {
				t.Fatalf("option %d listed malformed but State says %v", code, o.State(code))
			}
		}
		if o.State(OptDNS) == Present && len(o.DNS)*4 != len(o.Options[OptDNS]) {
			t.Fatalf("option 6 present with %d bytes but %d addresses", len(o.Options[OptDNS]), len(o.DNS))
		}
		if o.State(OptDomainName) == Present {
			if _, err := decodeSuffix(o.Options[OptDomainName]); err != nil {
				t.Fatalf("option 15 present but does not decode: %v", err)
			}
		}
		if o.State(OptLeaseTime) == Present && uint32(o.LeaseTime.Seconds()) != binary.BigEndian.Uint32(o.Options[OptLeaseTime]) {
			t.Fatalf("lease %v does not match its bytes", o.LeaseTime)
		}
		if o.State(OptDomainSearch) == Present {
			if _, err := decodeSearchList(o.Options[OptDomainSearch]); err != nil {
				t.Fatalf("option 119 present but does not decode: %v", err)
			}
		}
		// Evidence must be buildable for anything a server can send.
		offerEvidence(o)
	})
}

// FuzzSearchList checks option 119 decoding: no panic, no endless loop on
// crafted pointers, and decode -> encode (uncompressed) -> decode gives the
// same names.
func FuzzSearchList(f *testing.F) {
	f.Add(unhex(f, dnsmasq119))
	f.Add(unhex(f, "03656e67056170706c6503636f6d00096d61726b6574696e67c004"))
	f.Add([]byte{0, 5, 'a', 'b', 'c', 'd', 'e', 0xc0, 1})
	f.Add([]byte{0xc0, 0})
	f.Add([]byte{3, 'a', '.', 'b', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := decodeSearchList(b)
		if err != nil {
			return
		}
		wire, err := encodeSearchList(names)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it again: %v", names, err)
		}
		again, err := decodeSearchList(wire)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", wire, err)
		}
		if diff := cmp.Diff(names, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
