package dhcpcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/kh-edu/kmsprobe/internal/defaults"
	"net"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// DefaultWindow is how long Discover listens for offers. It is longer than
// it looks like it needs to be: dnsmasq (in many school routers) pings an
// address for 3 s before it offers it to a client it has not seen, and ISC
// dhcpd pings for 1 s; a 3 s window misses dnsmasq's first offer (measured
// against dnsmasq 2.90 in netns_test.go). A Windows PC does not miss it
// because it retransmits after 4 s; the probe sends one DISCOVER only.
const DefaultWindow = defaults.DHCPWindow

// maxMessage bounds one received DHCP message; offers on Ethernet fit in
// one frame.
const maxMessage = 1500

// VendorClass is option 60 as Windows sends it. Servers key per-vendor
// policies on it (Windows DHCP's "Microsoft Windows 2000 Options" class).
const VendorClass = "MSFT 5.0"

// WindowsParams is the parameter request list (option 55) of Windows 10 and
// 11, in Windows' order. Many servers send only the options a client asks
// for, so asking like Windows is what makes the offer the one a PC gets.
var WindowsParams = []uint8{1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252}

// Options configures Discover.
type Options struct {
	// Iface is the interface on the school LAN, e.g. "eth1".
	Iface string
	// MAC is the client hardware address to send (chaddr and the client
	// identifier). Default: Iface's own MAC. Offers are requested as
	// broadcasts, so a MAC not the interface's own still gets its answers.
	MAC net.HardwareAddr
	// Window is how long to collect offers; DefaultWindow when zero.
	Window time.Duration
	// Conn, when set, replaces the raw socket: it carries bare DHCP
	// messages, and Discover writes the DISCOVER to 255.255.255.255:67 on
	// it. Tests use it; Discover does not close it. If its ReadFrom
	// returns a *PeerAddr, the offers carry the server's MAC.
	Conn net.PacketConn
}

// PeerAddr is the source of a received packet: its UDP address and the
// Ethernet source of the frame that carried it.
type PeerAddr struct {
	IP   net.IP
	Port int
	MAC  net.HardwareAddr
}

func (a *PeerAddr) Network() string { return "udp" }
func (a *PeerAddr) String() string {
	return (&net.UDPAddr{IP: a.IP, Port: a.Port}).String() + " (" + a.MAC.String() + ")"
}

// ErrPermission is matched (errors.Is) by the error Discover returns when
// the process may not open a raw socket. It wraps os.ErrPermission, so
// callers that only know the standard library see it too.
var ErrPermission = fmt.Errorf("no privilege for a raw DHCP socket: %w", os.ErrPermission)

// SetcapCommand is the command that lets the installed kmsprobe executable
// probe DHCP without running as root. It names the running executable, so
// the admin can paste it as is.
func SetcapCommand() string {
	exe, err := os.Executable()
	if err != nil || exe == "" {
		exe = "/usr/local/bin/kmsprobe"
	}
	return "setcap cap_net_raw,cap_net_bind_service=+ep " + exe
}

// Discover broadcasts one Windows-shaped DHCPDISCOVER on opts.Iface and
// returns every offer for it that arrives within the window, in arrival
// order. It never sends a DHCPREQUEST, so no server commits a lease.
//
// No offer is not an error: it is the school's failure, for Judge to report.
// Errors are the probe's own trouble: no such interface, no privilege
// (matches ErrPermission), a closed context. The window ends early at the
// context's deadline; a cancelled context returns the offers so far and the
// context's error.
func Discover(ctx context.Context, opts Options) ([]Offer, error) {
	window := opts.Window
	if window <= 0 {
		window = DefaultWindow
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("DHCP was not asked: %w", err)
	}
	conn, mac, closeConn, err := openDHCP(opts)
	if err != nil {
		return nil, err
	}
	defer closeConn()
	if len(mac) != 6 {
		return nil, fmt.Errorf("interface %q has no Ethernet MAC address (got %q): DHCP needs an Ethernet interface, or pass a MAC", opts.Iface, mac.String())
	}
	disc, err := newDiscover(mac)
	if err != nil {
		return nil, err
	}
	stop, err := armWindow(ctx, conn, window)
	if err != nil {
		return nil, err
	}
	defer stop()
	if _, err := conn.WriteTo(disc.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: 67}); err != nil {
		return nil, fmt.Errorf("cannot send the DHCPDISCOVER on %s: %w", opts.Iface, err)
	}
	return collectOffers(ctx, conn, disc.TransactionID, mac, opts.Iface)
}

// openDHCP opens the raw socket on opts.Iface, or takes opts.Conn, and
// picks the MAC to send; closeConn closes only what it opened.
func openDHCP(opts Options) (conn net.PacketConn, mac net.HardwareAddr, closeConn func(), err error) {
	if opts.Conn != nil {
		return opts.Conn, opts.MAC, func() {}, nil
	}
	ifi, err := net.InterfaceByName(opts.Iface)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("no interface %q on this machine (`ip -br link` lists them): %w", opts.Iface, err)
	}
	mac = opts.MAC
	if mac == nil {
		mac = ifi.HardwareAddr
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, nil, nil, fmt.Errorf("interface %s is down: bring it up with `ip link set %s up`", ifi.Name, ifi.Name)
	}
	rc, err := listenRaw(ifi)
	switch {
	case errors.Is(err, os.ErrPermission):
		return nil, nil, nil, fmt.Errorf("%w on %s (%v): run as root, or grant the capabilities once: %s", ErrPermission, ifi.Name, err, SetcapCommand())
	case err != nil:
		return nil, nil, nil, fmt.Errorf("cannot open a raw socket on %s: %w", ifi.Name, err)
	}
	return rc, mac, func() { rc.Close() }, nil
}

// armWindow ends reading at the end of the window or the context's
// deadline, whichever is first, and at once on a cancel: a cancel must not
// wait for the window.
func armWindow(ctx context.Context, conn net.PacketConn, window time.Duration) (stop func() bool, err error) {
	deadline := time.Now().Add(window)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	return context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) }), nil
}

// collectOffers reads until the read deadline, keeping the offers that
// answer this DISCOVER (xid and mac), at most MaxOffers of them.
func collectOffers(ctx context.Context, conn net.PacketConn, xid dhcpv4.TransactionID, mac net.HardwareAddr, iface string) ([]Offer, error) {
	var offers []Offer
	buf := make([]byte, maxMessage)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return offers, readEnd(ctx, err, iface)
		}
		o, ok := offerFor(buf[:n], from, xid, mac)
		// Anyone on the LAN can answer a broadcast, as often as it
		// likes: keep a bounded number (a real LAN has one or two).
		if ok && len(offers) < MaxOffers {
			offers = append(offers, o)
		}
	}
}

// readEnd says why reading stopped: the window's end is no error, a
// cancel or a socket failure is.
func readEnd(ctx context.Context, err error, iface string) error {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("stopped while waiting for DHCP offers: %w", ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return fmt.Errorf("reading offers on %s: %w", iface, err)
}

// offerFor parses one received packet as an offer answering the DISCOVER
// with xid from mac. Other clients' traffic on the LAN and our own
// outgoing frame are seen by the raw socket too, and are not offers.
func offerFor(pkt []byte, from net.Addr, xid dhcpv4.TransactionID, mac net.HardwareAddr) (Offer, bool) {
	m, err := parseMessage(pkt)
	if err != nil {
		return Offer{}, false
	}
	if m.op != opBootReply || m.xid != xid || !bytes.Equal(m.chaddr, mac) {
		return Offer{}, false
	}
	if t := m.options[OptMessageType]; len(t) != 1 || t[0] != msgOffer {
		return Offer{}, false
	}
	var src net.IP
	var smac net.HardwareAddr
	switch a := from.(type) {
	case *PeerAddr:
		src, smac = a.IP, a.MAC
	case *net.UDPAddr:
		src = a.IP
	}
	return newOffer(m, src, smac), true
}

// MaxOffers bounds the offers kept from one DISCOVER, so a flood of
// forged offers costs bounded memory and bounded follow-up queries.
const MaxOffers = 32

// newDiscover builds the DISCOVER a Windows 10/11 client sends: client
// identifier 01+MAC, vendor class "MSFT 5.0", Windows' parameter request
// list. Unlike Windows it asks for broadcast replies: the probe has no
// address and may use a MAC that is not its interface's, and a broadcast
// reaches it either way.
func newDiscover(mac net.HardwareAddr) (*dhcpv4.DHCPv4, error) {
	prl := make([]dhcpv4.OptionCode, len(WindowsParams))
	for i, c := range WindowsParams {
		prl[i] = dhcpv4.GenericOptionCode(c)
	}
	d, err := dhcpv4.New(
		dhcpv4.WithHwAddr(mac),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover),
		dhcpv4.WithBroadcast(true),
		dhcpv4.WithOption(dhcpv4.OptClientIdentifier(append([]byte{1}, mac...))),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(VendorClass)),
		dhcpv4.WithOption(dhcpv4.OptParameterRequestList(prl...)),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot build the DHCPDISCOVER (no randomness for the transaction id?): %w", err)
	}
	return d, nil
}
