package dhcpcheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

const ipv6HdrLen = 40

// Listen6 sends one DHCPv6 Information-Request to ff02::1:2 and one
// Router Solicitation to ff02::2 on opts.Iface, and returns every Reply
// and every Router Advertisement that arrives within the window (periodic
// RAs included: a PC takes those too). It never sends a Solicit, so no
// DHCPv6 server hands the probe an address.
//
// Errors are the probe's own trouble: no interface, no IPv6 link-local
// address (matches ErrNoIPv6), no privilege (matches ErrPermission).
func Listen6(ctx context.Context, opts Options) ([]Reply6, []RouterAdvert, error) {
	window := opts.Window
	if window <= 0 {
		window = DefaultWindow
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("DHCPv6 was not asked: %w", err)
	}
	ifi, err := net.InterfaceByName(opts.Iface)
	if err != nil {
		return nil, nil, fmt.Errorf("no interface %q on this machine (`ip -br link` lists them): %w", opts.Iface, err)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, nil, fmt.Errorf("interface %s is down: bring it up with `ip link set %s up`", ifi.Name, ifi.Name)
	}
	mac := opts.MAC
	if mac == nil {
		mac = ifi.HardwareAddr
	}
	if len(mac) != 6 {
		return nil, nil, fmt.Errorf("interface %q has no Ethernet MAC address (got %q): DHCPv6 needs an Ethernet interface, or pass a MAC", opts.Iface, mac.String())
	}
	src, err := linkLocal(ifi)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(window)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}

	var (
		wg       sync.WaitGroup
		replies  []Reply6
		adverts  []RouterAdvert
		errD, eR error
	)
	wg.Add(2)
	go func() { defer wg.Done(); replies, errD = infoRequest(ctx, ifi, mac, src, deadline) }()
	go func() { defer wg.Done(); adverts, eR = solicitRouters(ctx, ifi, src, deadline) }()
	wg.Wait()
	if err := errors.Join(errD, eR); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return replies, adverts, fmt.Errorf("%w on %s (%v): run as root, or grant the capabilities once: %s", ErrPermission, ifi.Name, err, SetcapCommand())
		}
		return replies, adverts, err
	}
	return replies, adverts, nil
}

// endOfWindow reports whether a read error is the window closing (or a
// cancel pulling it in) rather than a socket failure.
func endOfWindow(ctx context.Context, err error) (bool, error) {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true, fmt.Errorf("stopped while waiting for IPv6 answers: %w", ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return true, nil
	}
	return false, err
}

// infoRequest runs the DHCPv6 half on an AF_PACKET socket, as the DHCPv4
// leg does: it needs no UDP port 546 (which the host's own DHCPv6 client
// may hold) and sees the Ethernet source of each Reply.
func infoRequest(ctx context.Context, ifi *net.Interface, mac net.HardwareAddr, src netip.Addr, deadline time.Time) ([]Reply6, error) {
	pc, err := packet.Listen(ifi, packet.Datagram, unix.ETH_P_IPV6, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot open a raw IPv6 socket on %s: %w", ifi.Name, err)
	}
	defer pc.Close()
	ir, err := newInfoRequest(mac)
	if err != nil {
		return nil, err
	}
	if err := pc.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Now()) })
	defer stop()
	frame := udp6(ir.ToBytes(), src.AsSlice(), clientPort6, allDHCPServers, serverPort6)
	// 33:33 + the group's low 32 bits (RFC 2464 §7).
	dst := net.HardwareAddr{0x33, 0x33, 0, 1, 0, 2}
	if _, err := pc.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
		return nil, fmt.Errorf("cannot send the DHCPv6 Information-Request on %s: %w", ifi.Name, err)
	}
	var out []Reply6
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if done, err := endOfWindow(ctx, err); done {
				return out, err
			}
			return out, fmt.Errorf("reading DHCPv6 replies on %s: %w", ifi.Name, err)
		}
		payload, sip, sport, ok := stripUDP6(buf[:n], clientPort6)
		if !ok || sport != serverPort6 {
			continue
		}
		var smac net.HardwareAddr
		if pa, ok := from.(*packet.Addr); ok {
			smac = pa.HardwareAddr
		}
		r, ok := parseReply6(payload, ir.TransactionID, sip, smac)
		if ok && len(out) < MaxReplies6 {
			out = append(out, r)
		}
	}
}

// solicitRouters sends one Router Solicitation and keeps every Router
// Advertisement of the window, through mdlayher/ndp.
func solicitRouters(ctx context.Context, ifi *net.Interface, src netip.Addr, deadline time.Time) ([]RouterAdvert, error) {
	c, _, err := ndp.Listen(ifi, ndp.Addr(src.String()))
	if err != nil {
		return nil, fmt.Errorf("cannot open an ICMPv6 socket on %s: %w", ifi.Name, err)
	}
	defer c.Close()
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterAdvertisement)
	if err := c.SetICMPFilter(&f); err != nil {
		return nil, fmt.Errorf("ICMPv6 filter on %s: %w", ifi.Name, err)
	}
	if err := c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	rs := &ndp.RouterSolicitation{Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr}}}
	if len(ifi.HardwareAddr) != 6 {
		rs.Options = nil
	}
	if err := c.WriteTo(rs, nil, netip.MustParseAddr("ff02::2")); err != nil {
		return nil, fmt.Errorf("cannot send the Router Solicitation on %s: %w", ifi.Name, err)
	}
	var out []RouterAdvert
	buf := make([]byte, 65536)
	for {
		n, cm, from, err := c.ReadRaw(buf)
		if err != nil {
			if done, err := endOfWindow(ctx, err); done {
				return out, err
			}
			return out, fmt.Errorf("reading router advertisements on %s: %w", ifi.Name, err)
		}
		// RFC 4861 §6.1.2: an RA must come with hop limit 255 (it was
		// not forwarded). The control message carries it when the
		// kernel reports it.
		if cm != nil && cm.HopLimit != 0 && cm.HopLimit != ndp.HopLimit {
			continue
		}
		ra, ok := parseRA(buf[:n], net.IP(from.WithZone("").AsSlice()))
		if ok && len(out) < MaxAdverts {
			out = append(out, ra)
		}
	}
}

// udp6 wraps payload in IPv6 and UDP headers. The UDP checksum is
// mandatory over IPv6 (RFC 8200 §8.1).
func udp6(payload []byte, src net.IP, sport int, dst net.IP, dport int) []byte {
	ulen := udpHdrLen + len(payload)
	pkt := make([]byte, ipv6HdrLen+ulen)
	pkt[0] = 6 << 4
	binary.BigEndian.PutUint16(pkt[4:6], uint16(ulen))
	pkt[6] = unix.IPPROTO_UDP
	pkt[7] = 1 // link scope: nothing may forward it
	copy(pkt[8:24], src.To16())
	copy(pkt[24:40], dst.To16())
	udp := pkt[ipv6HdrLen:]
	binary.BigEndian.PutUint16(udp[0:], uint16(sport))
	binary.BigEndian.PutUint16(udp[2:], uint16(dport))
	binary.BigEndian.PutUint16(udp[4:], uint16(ulen))
	copy(udp[udpHdrLen:], payload)
	var pseudo [40]byte
	copy(pseudo[0:16], src.To16())
	copy(pseudo[16:32], dst.To16())
	binary.BigEndian.PutUint32(pseudo[32:36], uint32(ulen))
	pseudo[39] = unix.IPPROTO_UDP
	cs := ^uint16(sum16(sum16(0, pseudo[:]), udp))
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], cs)
	return pkt
}

// stripUDP6 returns the UDP payload of an IPv6 packet to dport whose UDP
// header follows the fixed header directly (DHCPv6 uses no extension
// headers on the link).
func stripUDP6(p []byte, dport int) (payload []byte, src net.IP, sport int, ok bool) {
	if len(p) < ipv6HdrLen+udpHdrLen || p[0]>>4 != 6 || p[6] != unix.IPPROTO_UDP {
		return nil, nil, 0, false
	}
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	if plen < udpHdrLen || ipv6HdrLen+plen > len(p) {
		return nil, nil, 0, false
	}
	udp := p[ipv6HdrLen : ipv6HdrLen+plen]
	if int(binary.BigEndian.Uint16(udp[2:4])) != dport {
		return nil, nil, 0, false
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < udpHdrLen || ulen > len(udp) {
		return nil, nil, 0, false
	}
	src = net.IP(append([]byte(nil), p[8:24]...))
	return udp[udpHdrLen:ulen], src, int(binary.BigEndian.Uint16(udp[0:2])), true
}
