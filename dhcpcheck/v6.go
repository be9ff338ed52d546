package dhcpcheck

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/idna"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Reply6 is one DHCPv6 Reply to the probe's Information-Request: what a
// stateless DHCPv6 server tells a PC (DNS servers, search list) without
// handing out an address.
type Reply6 struct {
	// ServerDUID is option 2 in hex ("00:01:00:01:…"): the server's
	// stable name, which survives address changes. Empty when malformed.
	ServerDUID string `json:"server_duid,omitempty"`
	// Source is the IPv6 source of the packet (the server's link-local
	// address, or a relay's).
	Source net.IP `json:"source"`
	// ServerMAC is the Ethernet source of the frame.
	ServerMAC net.HardwareAddr `json:"server_mac,omitempty"`
	// DNS is option 23 (RFC 3646), Domains option 24 in canonical form.
	DNS     []net.IP `json:"dns,omitempty"`
	Domains []string `json:"domains,omitempty"`
	// HasDNS and HasDomains tell an absent option from an empty one.
	HasDNS     bool `json:"has_dns,omitempty"`
	HasDomains bool `json:"has_domains,omitempty"`
	// Malformed says why the Reply did not decode; then only Source and
	// ServerMAC are known. A server that answers junk is still a server
	// on the LAN, so it is kept and named.
	Malformed string `json:"malformed,omitempty"`
}

// ID is how dhcp.rogue and allowed_servers name the server: its DUID, or
// its address when the DUID could not be read.
func (r Reply6) ID() string {
	if r.ServerDUID != "" {
		return r.ServerDUID
	}
	return ipText(r.Source)
}

// RouterAdvert is one Router Advertisement received in the window: the
// router's DNS options (RFC 8106), which Windows 10 1703 and later use.
type RouterAdvert struct {
	Source net.IP           `json:"source"`
	MAC    net.HardwareAddr `json:"mac,omitempty"` // source link-layer address option, else the frame's
	// Lifetime 0 means "not a default router"; its DNS options still count.
	Lifetime time.Duration `json:"lifetime"`
	Managed  bool          `json:"managed,omitempty"` // M flag: addresses from DHCPv6
	Other    bool          `json:"other,omitempty"`   // O flag: other settings (DNS) from DHCPv6
	// RDNSS and DNSSL hold the entries with a lifetime above zero; a zero
	// lifetime withdraws them (RFC 8106 §5.1), so a PC does not use them.
	RDNSS     []net.IP `json:"rdnss,omitempty"`
	DNSSL     []string `json:"dnssl,omitempty"`
	Withdrawn []string `json:"withdrawn,omitempty"` // entries sent with lifetime 0
	Malformed string   `json:"malformed,omitempty"`
}

// AdvertisesDNS reports whether the router tells PCs anything about DNS.
func (ra RouterAdvert) AdvertisesDNS() bool { return len(ra.RDNSS) > 0 || len(ra.DNSSL) > 0 }

// MaxReplies6 and MaxAdverts bound what one window keeps, as MaxOffers
// does for DHCPv4: anyone on the LAN can answer, as often as it likes.
const (
	MaxReplies6 = 32
	MaxAdverts  = 32
)

// ErrNoIPv6 is matched when the probe's interface has no IPv6 link-local
// address: it cannot send an Information-Request or a Router Solicitation.
// That is the probe box's limitation, not the school's.
var ErrNoIPv6 = errors.New("the interface has no IPv6 link-local address")

// dhcpv6 ports (RFC 8415 §7.2) and the All_DHCP_Relay_Agents_and_Servers
// group.
const (
	clientPort6 = 546
	serverPort6 = 547
)

var allDHCPServers = net.ParseIP("ff02::1:2")

// newInfoRequest builds the Information-Request a Windows PC sends when a
// router's O flag says "other configuration from DHCPv6": client id, vendor
// class "MSFT 5.0" (enterprise 311, as Windows sends it), and the options
// asked for. It has no IA_NA, so no server commits an address to the probe.
func newInfoRequest(mac net.HardwareAddr) (*dhcpv6.Message, error) {
	m, err := dhcpv6.NewMessage(
		func(d dhcpv6.DHCPv6) { d.(*dhcpv6.Message).MessageType = dhcpv6.MessageTypeInformationRequest },
		dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: mac}),
		dhcpv6.WithOption(dhcpv6.OptElapsedTime(0)),
		dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 311, Data: [][]byte{[]byte(VendorClass)}}),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot build the DHCPv6 Information-Request (no randomness for the transaction id?): %w", err)
	}
	return m, nil
}

// parseReply6 decodes a DHCPv6 message received on port 546. ok is false
// for anything that is not a Reply to transaction xid; a Reply whose
// options do not decode is kept with Malformed set.
func parseReply6(b []byte, xid dhcpv6.TransactionID, src net.IP, mac net.HardwareAddr) (r Reply6, ok bool) {
	if len(b) < 4 || dhcpv6.MessageType(b[0]) != dhcpv6.MessageTypeReply || [3]byte(b[1:4]) != xid {
		return Reply6{}, false
	}
	r = Reply6{Source: src, ServerMAC: mac}
	m, err := dhcpv6.MessageFromBytes(b)
	if err != nil {
		r.Malformed = err.Error()
		return r, true
	}
	if sid := m.Options.GetOne(dhcpv6.OptionServerID); sid != nil {
		r.ServerDUID = hexColon(sid.ToBytes())
	} else {
		r.Malformed = "no server identifier (option 2), which RFC 8415 requires in a Reply"
	}
	if o := m.Options.GetOne(dhcpv6.OptionDNSRecursiveNameServer); o != nil {
		r.HasDNS = true
		r.DNS = m.Options.DNS()
	}
	if o := m.Options.GetOne(dhcpv6.OptionDomainSearchList); o != nil {
		r.HasDomains = true
		if l := m.Options.DomainSearchList(); l != nil {
			for _, d := range l.Labels {
				if c := dnsname.Canonical(d); c != "" {
					r.Domains = append(r.Domains, c)
				}
			}
		}
	}
	return r, true
}

// parseRA decodes an ICMPv6 message as a Router Advertisement with
// mdlayher/ndp. ok is false for other ICMPv6 types. An RA whose options do
// not decode is kept with Malformed set: it still came from a router.
func parseRA(b []byte, src net.IP) (ra RouterAdvert, ok bool) {
	const typeRA = 134
	if len(b) == 0 || b[0] != typeRA {
		return RouterAdvert{}, false
	}
	ra = RouterAdvert{Source: src}
	m, err := ndp.ParseMessage(b)
	if err != nil {
		ra.Malformed = err.Error()
		return ra, true
	}
	adv, isRA := m.(*ndp.RouterAdvertisement)
	if !isRA {
		return RouterAdvert{}, false
	}
	ra.Lifetime, ra.Managed, ra.Other = adv.RouterLifetime, adv.ManagedConfiguration, adv.OtherConfiguration
	for _, o := range adv.Options {
		switch o := o.(type) {
		case *ndp.LinkLayerAddress:
			if o.Direction == ndp.Source {
				ra.MAC = append(net.HardwareAddr(nil), o.Addr...)
			}
		case *ndp.RecursiveDNSServer:
			for _, s := range o.Servers {
				if o.Lifetime == 0 {
					ra.Withdrawn = append(ra.Withdrawn, s.String())
					continue
				}
				ra.RDNSS = append(ra.RDNSS, net.IP(s.AsSlice()))
			}
		case *ndp.DNSSearchList:
			for _, d := range o.DomainNames {
				// ndp hands back IDNs in Unicode; the SRV question
				// needs the form on the wire.
				if a, err := idna.ToASCII(d); err == nil {
					d = a
				}
				d = dnsname.Canonical(d)
				if d == "" {
					continue
				}
				if o.Lifetime == 0 {
					ra.Withdrawn = append(ra.Withdrawn, d)
					continue
				}
				ra.DNSSL = append(ra.DNSSL, d)
			}
		}
	}
	return ra, true
}

func hexColon(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

// linkLocal returns the interface's IPv6 link-local address, the source a
// PC uses for both the Information-Request and the Router Solicitation.
func linkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() == nil && n.IP.IsLinkLocalUnicast() {
			ip, _ := netip.AddrFromSlice(n.IP)
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w on %s: IPv6 is off there (enable it with `sysctl -w net.ipv6.conf.%s.disable_ipv6=0`), so the probe cannot see what routers and DHCPv6 servers tell PCs", ErrNoIPv6, ifi.Name, ifi.Name)
}
