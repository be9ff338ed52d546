package dhcpcheck

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
	"github.com/mdlayher/ndp"

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

// raBytes marshals an RA with mdlayher/ndp, as a router would send it.
func raBytes(tb testing.TB, opts ...ndp.Option) []byte {
	tb.Helper()
	b, err := ndp.MarshalMessage(&ndp.RouterAdvertisement{CurrentHopLimit: 64, OtherConfiguration: true, RouterLifetime: 1800 * time.Second, Options: opts})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzParseRA feeds Router Advertisements as any host on the LAN could
// send them. Invariants: no panic; only an RA (ICMPv6 type 134) is
// accepted; a decoded RA's DNS servers and domains are exactly those of
// ndp's own decoding with a lifetime, canonical, none empty; a malformed
// one keeps its source.
func FuzzParseRA(f *testing.F) {
	f.Add(raBytes(f,
		&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: net.HardwareAddr{2, 0, 0, 0, 0, 1}},
		&ndp.RecursiveDNSServer{Lifetime: time.Hour, Servers: []netip.Addr{netip.MustParseAddr("2001:db8::53")}},
		&ndp.DNSSearchList{Lifetime: time.Hour, DomainNames: []string{"Demo-JH.kh.edu.tw", "kh.edu.tw"}}))
	f.Add(raBytes(f, &ndp.RecursiveDNSServer{Lifetime: 0, Servers: []netip.Addr{netip.MustParseAddr("2001:db8::54")}}))
	f.Add([]byte{134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 31, 1, 0})
	f.Add([]byte{133, 0, 0, 0, 0, 0, 0, 0})
	src := net.ParseIP("fe80::1")
	f.Fuzz(func(t *testing.T, b []byte) {
		ra, ok := parseRA(b, src)
		if !ok {
			if len(b) > 0 && b[0] == 134 {
				t.Fatal("an RA (type 134) was dropped instead of kept as malformed")
			}
			return
		}
		if len(b) == 0 || b[0] != 134 {
			t.Fatalf("accepted ICMPv6 type %d as an RA", b[0])
		}
		if !ra.Source.Equal(src) {
			t.Fatal("RA lost its source")
		}
		if ra.Malformed != "" {
			if len(ra.RDNSS)+len(ra.DNSSL) > 0 {
				t.Fatal("a malformed RA carries DNS settings")
			}
			return
		}
		m, err := ndp.ParseMessage(b)
		if err != nil {
			t.Fatalf("parseRA accepted what ndp refuses: %v", err)
		}
		var want []net.IP
		for _, o := range m.(*ndp.RouterAdvertisement).Options {
			if r, ok := o.(*ndp.RecursiveDNSServer); ok && r.Lifetime > 0 {
				for _, s := range r.Servers {
					want = append(want, net.IP(s.AsSlice()))
				}
			}
		}
		if len(want) != len(ra.RDNSS) {
			t.Fatalf("RDNSS %v, ndp decoded %v", ra.RDNSS, want)
		}
		for i := range want {
			if !want[i].Equal(ra.RDNSS[i]) {
				t.Fatalf("RDNSS %v, ndp decoded %v", ra.RDNSS, want)
			}
		}
		for _, d := range ra.DNSSL {
			if d == "" || d != dnsname.Canonical(d) {
				t.Fatalf("DNSSL entry %q is not canonical", d)
			}
		}
	})
}

// FuzzParseReply6 feeds DHCPv6 messages. Invariants: no panic; only a
// Reply with the probe's transaction id is kept; a kept reply has a
// server id or says why not; its domains are canonical.
func FuzzParseReply6(f *testing.F) {
	xid := dhcpv6.TransactionID{1, 2, 3}
	reply, _ := dhcpv6.NewMessage(func(d dhcpv6.DHCPv6) {
		m := d.(*dhcpv6.Message)
		m.MessageType, m.TransactionID = dhcpv6.MessageTypeReply, xid
	}, dhcpv6.WithServerID(&dhcpv6.DUIDLL{HWType: 1, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}}),
		dhcpv6.WithDNS(net.ParseIP("2001:db8::53")), dhcpv6.WithDomainSearchList("Demo-JH.kh.edu.tw", "kh.edu.tw"))
	f.Add(reply.ToBytes())
	f.Add([]byte{7, 1, 2, 3, 0, 2, 0, 1})
	f.Add([]byte{7, 9, 9, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := parseReply6(b, xid, net.ParseIP("fe80::2"), nil)
		if !ok {
			return
		}
		if len(b) < 4 || b[0] != 7 || [3]byte(b[1:4]) != xid {
			t.Fatal("kept a message that is not a Reply to our transaction")
		}
		if r.ServerDUID == "" && r.Malformed == "" {
			t.Fatal("a Reply without a server id is not marked malformed")
		}
		if r.ID() == "" {
			t.Fatal("a kept Reply has no name for dhcp.rogue")
		}
		for _, d := range r.Domains {
			if d == "" || d != dnsname.Canonical(d) {
				t.Fatalf("domain %q is not canonical", d)
			}
		}
	})
}
