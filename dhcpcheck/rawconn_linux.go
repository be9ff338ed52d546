package dhcpcheck

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

const (
	clientPort = 68
	serverPort = 67
	ipv4HdrLen = 20
	udpHdrLen  = 8
)

// rawConn carries bare DHCP messages over an AF_PACKET datagram socket, so
// the probe can talk DHCP on an interface that has no address, and learn
// the Ethernet source of each answer (the server's or relay's MAC), which a
// UDP socket hides. It builds and strips the IPv4 and UDP headers itself.
type rawConn struct {
	pc *packet.Conn
}

func listenRaw(ifi *net.Interface) (*rawConn, error) {
	pc, err := packet.Listen(ifi, packet.Datagram, unix.ETH_P_IP, nil)
	if err != nil {
		return nil, err
	}
	return &rawConn{pc: pc}, nil
}

func (c *rawConn) ReadFrom(b []byte) (int, net.Addr, error) {
	buf := make([]byte, 60+udpHdrLen+len(b))
	for {
		n, from, err := c.pc.ReadFrom(buf)
		if err != nil {
			return 0, nil, err
		}
		payload, src, sport, ok := stripUDP4(buf[:n], clientPort)
		if !ok {
			continue
		}
		var mac net.HardwareAddr
		if pa, ok := from.(*packet.Addr); ok {
			mac = pa.HardwareAddr
		}
		return copy(b, payload), &PeerAddr{IP: src, Port: sport, MAC: mac}, nil
	}
}

func (c *rawConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua.IP.To4() == nil {
		return 0, fmt.Errorf("raw conn writes only to IPv4 UDP addresses, not %v", addr)
	}
	pkt := udp4(b, net.IPv4zero, clientPort, ua.IP, ua.Port)
	if _, err := c.pc.WriteTo(pkt, &packet.Addr{HardwareAddr: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *rawConn) Close() error                       { return c.pc.Close() }
func (c *rawConn) LocalAddr() net.Addr                { return c.pc.LocalAddr() }
func (c *rawConn) SetDeadline(t time.Time) error      { return c.pc.SetDeadline(t) }
func (c *rawConn) SetReadDeadline(t time.Time) error  { return c.pc.SetReadDeadline(t) }
func (c *rawConn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// udp4 wraps payload in IPv4 and UDP headers.
func udp4(payload []byte, src net.IP, sport int, dst net.IP, dport int) []byte {
	pkt := make([]byte, ipv4HdrLen+udpHdrLen+len(payload))
	ip := pkt[:ipv4HdrLen]
	ip[0] = 0x45 // version 4, 5 words of header
	binary.BigEndian.PutUint16(ip[2:], uint16(len(pkt)))
	ip[8] = 64 // TTL
	ip[9] = unix.IPPROTO_UDP
	copy(ip[12:16], src.To4())
	copy(ip[16:20], dst.To4())
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum16(0, ip)))

	udp := pkt[ipv4HdrLen:]
	binary.BigEndian.PutUint16(udp[0:], uint16(sport))
	binary.BigEndian.PutUint16(udp[2:], uint16(dport))
	binary.BigEndian.PutUint16(udp[4:], uint16(udpHdrLen+len(payload)))
	copy(udp[udpHdrLen:], payload)
	// Pseudo-header checksum; some relays drop UDP with a zero checksum.
	var pseudo [12]byte
	copy(pseudo[0:4], src.To4())
	copy(pseudo[4:8], dst.To4())
	pseudo[9] = unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(udp)))
	cs := ^uint16(sum16(sum16(0, pseudo[:]), udp))
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], cs)
	return pkt
}

func sum16(acc uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return acc
}

// stripUDP4 returns the UDP payload of an IPv4 packet to dport. Fragments
// and anything else are refused: an offer fits one frame.
func stripUDP4(p []byte, dport int) (payload []byte, src net.IP, sport int, ok bool) {
	if len(p) < ipv4HdrLen || p[0]>>4 != 4 {
		return nil, nil, 0, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < ipv4HdrLen || total < ihl+udpHdrLen || total > len(p) {
		return nil, nil, 0, false
	}
	if p[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(p[6:8])&0x3fff != 0 {
		return nil, nil, 0, false
	}
	udp := p[ihl:total]
	if int(binary.BigEndian.Uint16(udp[2:4])) != dport {
		return nil, nil, 0, false
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < udpHdrLen || ulen > len(udp) {
		return nil, nil, 0, false
	}
	src = net.IP(append([]byte(nil), p[12:16]...))
	return udp[udpHdrLen:ulen], src, int(binary.BigEndian.Uint16(udp[0:2])), true
}
