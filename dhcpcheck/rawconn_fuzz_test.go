//go:build linux

package dhcpcheck

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// FuzzStripUDP4 feeds the IPv4/UDP unwrapper with raw frames as anyone on
// the LAN could send them. Invariants: an accepted payload is exactly the
// bytes the UDP length field covers after the UDP header, inside the IPv4
// total length, from a packet to the asked port; its source is the IPv4
// source field.
func FuzzStripUDP4(f *testing.F) {
	pkt := udp4Frame(readPacket(f, "offer-dnsmasq-2.90.bin"))
	f.Add(pkt)
	f.Add(pkt[:20])
	f.Add([]byte{0x4f, 0, 0xff, 0xff})
	f.Add(udp4(readPacket(f, "offer-kea-2.2.0.bin"), net.IPv4(10, 0, 0, 2), 67, net.IPv4bcast, 68))
	f.Fuzz(func(t *testing.T, p []byte) {
		payload, src, sport, ok := stripUDP4(p, 68)
		if !ok {
			return
		}
		ihl := int(p[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(p[2:4]))
		udp := p[ihl:]
		ulen := int(binary.BigEndian.Uint16(udp[4:6]))
		if ihl+ulen > total || total > len(p) {
			t.Fatalf("UDP length %d at offset %d runs past the IPv4 total length %d (packet %d bytes)", ulen, ihl, total, len(p))
		}
		if !bytes.Equal(payload, udp[udpHdrLen:ulen]) || len(payload) != ulen-udpHdrLen {
			t.Fatalf("payload (%d bytes) is not the %d bytes the UDP length field covers", len(payload), ulen-udpHdrLen)
		}
		if binary.BigEndian.Uint16(udp[2:4]) != 68 {
			t.Fatal("accepted a packet to another port")
		}
		if int(binary.BigEndian.Uint16(udp[0:2])) != sport || !src.Equal(net.IP(p[12:16])) {
			t.Fatalf("source %v:%d does not match the headers", src, sport)
		}
	})
}

// FuzzStripUDP6 is FuzzStripUDP4's invariant for the DHCPv6 half.
func FuzzStripUDP6(f *testing.F) {
	ir, _ := newInfoRequest(net.HardwareAddr{2, 0, 0, 0, 0, 1})
	pkt := udp6(ir.ToBytes(), net.ParseIP("fe80::1"), 547, net.ParseIP("fe80::2"), 546)
	f.Add(pkt)
	f.Add(pkt[:40])
	f.Add(append(pkt[:44:44], 0, 200, 0, 0))
	f.Fuzz(func(t *testing.T, p []byte) {
		payload, src, sport, ok := stripUDP6(p, 546)
		if !ok {
			return
		}
		plen := int(binary.BigEndian.Uint16(p[4:6]))
		udp := p[ipv6HdrLen:]
		ulen := int(binary.BigEndian.Uint16(udp[4:6]))
		if ulen > plen || ipv6HdrLen+plen > len(p) {
			t.Fatalf("UDP length %d past the IPv6 payload length %d (packet %d bytes)", ulen, plen, len(p))
		}
		if !bytes.Equal(payload, udp[udpHdrLen:ulen]) {
			t.Fatalf("payload is not the bytes the UDP length field covers")
		}
		if binary.BigEndian.Uint16(udp[2:4]) != 546 || int(binary.BigEndian.Uint16(udp[0:2])) != sport || !src.Equal(net.IP(p[8:24])) {
			t.Fatal("ports or source do not match the headers")
		}
	})
}

func TestUDP6RoundTrip(t *testing.T) {
	ir, err := newInfoRequest(net.HardwareAddr{2, 0, 0, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	msg := ir.ToBytes()
	pkt := udp6(msg, net.ParseIP("fe80::1"), 546, allDHCPServers, 547)
	payload, src, sport, ok := stripUDP6(pkt, 547)
	if !ok || !bytes.Equal(payload, msg) || sport != 546 || !src.Equal(net.ParseIP("fe80::1")) {
		t.Fatalf("round trip: ok=%v src=%v sport=%d", ok, src, sport)
	}
	// The checksum over the pseudo-header sums to all ones.
	var pseudo [40]byte
	copy(pseudo[0:16], net.ParseIP("fe80::1"))
	copy(pseudo[16:32], allDHCPServers)
	binary.BigEndian.PutUint32(pseudo[32:36], uint32(len(pkt)-ipv6HdrLen))
	pseudo[39] = 17
	if s := sum16(sum16(0, pseudo[:]), pkt[ipv6HdrLen:]); s != 0xffff {
		t.Errorf("UDP checksum does not verify: sum %#x", s)
	}
	if pkt[7] != 1 {
		t.Errorf("hop limit %d: a link-scoped Information-Request must not be forwarded", pkt[7])
	}
}

func TestStripUDP4Seed(t *testing.T) {
	offer := readPacket(t, "offer-dnsmasq-2.90.bin")
	pkt := udp4Frame(offer)
	payload, src, sport, ok := stripUDP4(pkt, 68)
	if !ok || len(payload) != len(offer) || src.String() != "10.0.0.1" || sport != 67 {
		t.Fatalf("got ok=%v len=%d src=%v sport=%d", ok, len(payload), src, sport)
	}
	if _, _, _, ok := stripUDP4(pkt, 67); ok {
		t.Error("accepted a packet to the wrong port")
	}
}

// udp4Frame wraps a DHCP payload in the IPv4+UDP headers of an offer from
// 10.0.0.1:67 to port 68, as the raw socket receives it.
func udp4Frame(payload []byte) []byte {
	pkt := make([]byte, 28+len(payload))
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:4], uint16(len(pkt)))
	pkt[9] = 17
	copy(pkt[12:16], []byte{10, 0, 0, 1})
	binary.BigEndian.PutUint16(pkt[20:22], 67)
	binary.BigEndian.PutUint16(pkt[22:24], 68)
	binary.BigEndian.PutUint16(pkt[24:26], uint16(8+len(payload)))
	copy(pkt[28:], payload)
	return pkt
}
