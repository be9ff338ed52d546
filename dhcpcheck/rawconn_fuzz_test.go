//go:build linux

package dhcpcheck

import (
	"encoding/binary"
	"testing"
)

// FuzzStripUDP4 feeds the IPv4/UDP unwrapper with raw frames as anyone on
// the LAN could send them. Invariants: no panic, and an accepted payload
// lies inside the packet and is addressed to the asked port.
func FuzzStripUDP4(f *testing.F) {
	pkt := udp4Frame(readPacket(f, "offer-dnsmasq-2.90.bin"))
	f.Add(pkt)
	f.Add(pkt[:20])
	f.Add([]byte{0x4f, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		payload, _, _, ok := stripUDP4(p, 68)
		if !ok {
			return
		}
		if len(payload) > len(p) {
			t.Fatalf("payload of %d bytes from a %d-byte packet", len(payload), len(p))
		}
		ihl := int(p[0]&0x0f) * 4
		if binary.BigEndian.Uint16(p[ihl+2:ihl+4]) != 68 {
			t.Fatal("accepted a packet to another port")
		}
	})
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
