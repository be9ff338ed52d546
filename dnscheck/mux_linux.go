package dnscheck

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketBuffer is the receive queue asked for each shared socket: about
// 4,000 answers of a few hundred bytes each.
const socketBuffer = 1 << 20

// openShared opens one shared socket on a random port and starts its
// reader. IP_RECVERR makes the kernel keep ICMP errors (port unreachable,
// host unreachable) for an unconnected socket, with the destination and
// the start of the packet that caused them: how a refused port is still
// told from a silent one.
func openShared(v6 bool) (*usock, error) {
	network, laddr := "udp4", &net.UDPAddr{IP: net.IPv4zero}
	level, opt := unix.IPPROTO_IP, unix.IP_RECVERR
	if v6 {
		network, laddr = "udp6", &net.UDPAddr{IP: net.IPv6unspecified}
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_RECVERR
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, 1) }); err != nil || serr != nil {
		conn.Close()
		return nil, errors.Join(err, serr)
	}
	// Every answer of a busy audit lands in a few sockets: their queues
	// must hold a burst while the reader is off the CPU, or answers are
	// dropped and cost a retry. Best effort: net.core.rmem_max caps it.
	_ = conn.SetReadBuffer(socketBuffer)
	s := newUsock(conn)
	s.rc = rc
	go s.read()
	return s, nil
}

// icmpErrno reports whether err is an ICMP error the kernel reports on a
// socket read or send, rather than a fault of the socket itself.
func icmpErrno(err error) bool {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return false
	}
	switch en {
	case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN,
		unix.ECONNRESET, unix.EPROTO, unix.EMSGSIZE, unix.ETIMEDOUT, unix.EACCES:
		return true
	}
	return false
}

// drainErrors reads the socket's error queue and fails the questions the
// errors are about. It never blocks (MSG_DONTWAIT) and runs beside the
// reader (Control, not Read: the reader holds the read lock while it
// waits).
func (s *usock) drainErrors() {
	var buf [512]byte
	var oob [512]byte
	_ = s.rc.Control(func(fd uintptr) {
		for {
			n, oobn, _, from, err := unix.Recvmsg(int(fd), buf[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return
			}
			errno, ok := icmpOrigin(oob[:oobn])
			if !ok {
				continue
			}
			var to netip.AddrPort
			switch sa := from.(type) {
			case *unix.SockaddrInet4:
				to = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
			case *unix.SockaddrInet6:
				to = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
			default:
				continue
			}
			s.icmpFailed(to, buf[:n], errno)
		}
	})
}

// icmpOrigin returns the errno of an extended error that came from an
// ICMP message; local errors (a send that failed) were already returned
// to the sender.
func icmpOrigin(oob []byte) (syscall.Errno, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if !(m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR ||
			m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR) || len(m.Data) < 8 {
			continue
		}
		// struct sock_extended_err: ee_errno u32, ee_origin u8, ...
		errno := syscall.Errno(binary.NativeEndian.Uint32(m.Data[0:4]))
		switch m.Data[4] {
		case unix.SO_EE_ORIGIN_ICMP, unix.SO_EE_ORIGIN_ICMP6:
			return errno, errno != 0
		}
	}
	return 0, false
}
