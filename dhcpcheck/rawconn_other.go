//go:build !linux

package dhcpcheck

import (
	"errors"
	"net"
)

// listenRaw exists on Linux only: the campus vantage point is a Linux box
// (DESIGN.md §2).
func listenRaw(ifi *net.Interface) (net.PacketConn, error) {
	return nil, errors.New("the DHCP probe runs on Linux only")
}
