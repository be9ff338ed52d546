package sim

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"
)

// NTP is a minimal SNTP server (RFC 4330) on loopback whose clock runs
// Offset ahead of this machine's, so the demo and tests can show
// clock.offset without a real time server.
type NTP struct {
	Addr   string
	Offset time.Duration
	pc     net.PacketConn
}

// ntpEpoch is 1900-01-01, where NTP time starts.
var ntpEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func ntpTime(t time.Time) uint64 {
	d := t.Sub(ntpEpoch)
	sec := uint64(d / time.Second)
	frac := uint64(d%time.Second) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// ListenNTP starts an SNTP server on ip (loopback only) and a free port.
func ListenNTP(ip string, offset time.Duration) (*NTP, error) {
	if p := net.ParseIP(ip); p == nil || !p.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, ip)
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	n := &NTP{Addr: pc.LocalAddr().String(), Offset: offset, pc: pc}
	go n.serve()
	return n, nil
}

func (n *NTP) serve() {
	buf := make([]byte, 512)
	for {
		k, from, err := n.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if k < 48 {
			continue
		}
		recv := time.Now().Add(n.Offset)
		resp := make([]byte, 48)
		resp[0] = 0<<6 | 4<<3 | 4 // no leap warning, version 4, mode server
		resp[1] = 2               // stratum 2: synchronised to a reference
		resp[2] = buf[2]          // poll, echoed
		resp[3] = 0xEC            // precision about 2^-20 s
		copy(resp[12:16], "SIM\x00")
		binary.BigEndian.PutUint64(resp[16:], ntpTime(recv.Add(-time.Minute))) // reference time
		copy(resp[24:32], buf[40:48])                                          // origin = client's transmit
		binary.BigEndian.PutUint64(resp[32:], ntpTime(recv))
		binary.BigEndian.PutUint64(resp[40:], ntpTime(time.Now().Add(n.Offset)))
		_, _ = n.pc.WriteTo(resp, from)
	}
}

// Close stops the server.
func (n *NTP) Close() { _ = n.pc.Close() }
