//go:build !linux

package dhcpcheck

import (
	"context"
	"errors"
	"net"
)

// listenRaw exists on Linux only: the campus vantage point is a Linux box
// (DESIGN.md §2).
func listenRaw(ifi *net.Interface) (net.PacketConn, error) {
	return nil, errors.New("the DHCP probe runs on Linux only")
}

// Listen6 exists on Linux only, like the raw DHCPv4 socket.
func Listen6(ctx context.Context, opts Options) ([]Reply6, []RouterAdvert, error) {
	return nil, nil, errors.New("the DHCPv6 and router advertisement probe runs on Linux only")
}
