package dhcpcheck

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// sender6 is one IPv6 sender of DNS settings: a DHCPv6 server (by DUID)
// or a router whose advertisements carry RDNSS or DNSSL.
type sender6 struct {
	kind    string // "DHCPv6 server" or "router"
	id      string // DUID, or the router's address
	addr    net.IP
	mac     net.HardwareAddr
	domains []string
	dns     []net.IP
	allowed bool
}

func (s sender6) name() string {
	if s.kind == "router" {
		return fmt.Sprintf("router %s (MAC %s)", s.id, macText(s.mac))
	}
	return fmt.Sprintf("DHCPv6 server %s at %s (MAC %s)", s.id, ipText(s.addr), macText(s.mac))
}

// senders6 groups the IPv6 half of the view: DHCPv6 servers by DUID, and
// the routers that advertise DNS options by address. A router that sends
// no DNS options changes nothing a PC resolves, so it is not counted.
func senders6(v View) (servers, routers []sender6) {
	idx := map[string]int{}
	for _, r := range v.Replies {
		if i, ok := idx[r.ID()]; ok {
			servers[i].domains = append(servers[i].domains, r.Domains...)
			continue
		}
		idx[r.ID()] = len(servers)
		servers = append(servers, sender6{kind: "DHCPv6 server", id: r.ID(), addr: r.Source, mac: r.ServerMAC, domains: r.Domains, dns: r.DNS})
	}
	ridx := map[string]int{}
	for _, ra := range v.Adverts {
		if !ra.AdvertisesDNS() {
			continue
		}
		k := ipText(ra.Source)
		if i, ok := ridx[k]; ok {
			routers[i].domains = append(routers[i].domains, ra.DNSSL...)
			continue
		}
		ridx[k] = len(routers)
		routers = append(routers, sender6{kind: "router", id: k, addr: ra.Source, mac: ra.MAC, domains: ra.DNSSL, dns: ra.RDNSS})
	}
	return servers, routers
}

// allowed6 reports whether an allowed_servers entry names s: its DUID, its
// address or its MAC.
func allowed6(list []string, s sender6) bool {
	for _, e := range list {
		switch {
		case strings.EqualFold(e, s.id):
			return true
		case net.ParseIP(e) != nil && net.ParseIP(e).Equal(s.addr):
			return true
		case len(s.mac) > 0 && strings.EqualFold(e, s.mac.String()):
			return true
		}
	}
	return false
}

// suspects6 picks the suspects of one IPv6 family. With IPv6 entries in
// allowed_servers, every sender not listed is one. Without, one sender is
// normal and of several the one handing out the school's suffix (else the
// first) is presumed legitimate, as for DHCPv4.
func suspects6(ss []sender6, list []string, suffix string) (sus []sender6, legit int) {
	if len(list) > 0 {
		for i := range ss {
			ss[i].allowed = allowed6(list, ss[i])
			if !ss[i].allowed {
				sus = append(sus, ss[i])
			}
		}
		return sus, -1
	}
	if len(ss) < 2 {
		return nil, 0
	}
	for i, s := range ss {
		if suffix != "" && slices.Contains(s.domains, dnsname.Canonical(suffix)) {
			legit = i
			break
		}
	}
	for i, s := range ss {
		if i != legit {
			sus = append(sus, s)
		}
	}
	return sus, legit
}

func judgeRogue(groups []serverGroup, v View, exp Expect) finding.Finding {
	f := finding.Finding{Check: finding.DHCPRogue, Server: exp.Iface}
	var servers []map[string]any
	var unlisted []serverGroup
	listed := len(exp.AllowedServers) > 0
	for _, g := range groups {
		o := g.offers[0]
		allowed := listed && containsIP(exp.AllowedServers, g.id)
		s := map[string]any{"server_id": g.id.String(), "server_mac": macText(o.ServerMAC), "offered_ip": ipText(o.YourIP)}
		if o.Relay != nil {
			s["relay"] = o.Relay.String()
		}
		if listed {
			s["allowed"] = allowed
		}
		servers = append(servers, s)
		if listed && !allowed {
			unlisted = append(unlisted, g)
		}
	}
	f.Evidence = finding.Evidence{"servers": nonNilMaps(servers), "allowed_servers": append(ipStrings(exp.AllowedServers), exp.Allowed6...)}
	if len(exp.Allowed6) == 0 {
		f.Evidence["allowed_servers"] = ipStrings(exp.AllowedServers)
	}

	// The IPv6 half: each family on its own, since a LAN normally has one
	// DHCPv4 server, one DHCPv6 server and one router.
	srv6, rtr := senders6(v)
	sus6, _ := suspects6(srv6, exp.Allowed6, exp.Suffix)
	susR, _ := suspects6(rtr, exp.Allowed6, exp.Suffix)
	if len(srv6) > 0 {
		f.Evidence["dhcpv6_servers"] = senderEvidence(srv6, len(exp.Allowed6) > 0)
	}
	if len(rtr) > 0 {
		f.Evidence["routers"] = senderEvidence(rtr, len(exp.Allowed6) > 0)
	}
	var v6problems []string
	for _, s := range append(append([]sender6(nil), sus6...), susR...) {
		v6problems = append(v6problems, s.name())
	}
	v6note := ""
	if len(srv6)+len(rtr) > 0 {
		var names []string
		for _, s := range append(append([]sender6(nil), srv6...), rtr...) {
			names = append(names, s.kind+" "+s.id)
		}
		v6note = "; IPv6: " + strings.Join(names, ", ")
	}

	// DHCPv4 suspects, as before.
	var sus4 []serverGroup
	legit4 := -1
	v4fail := false
	switch {
	case len(groups) == 0:
	case len(groups) == 1 && len(unlisted) == 0:
	case listed && len(unlisted) == 0:
	case !listed:
		// Without an allow-list, presume legitimate the server that hands
		// out the school's suffix, else the first to answer. Arrival order
		// alone would mislead: a home router does not ping before it
		// offers, so it usually answers first.
		legit4 = 0
		for i, g := range groups {
			if exp.Suffix != "" && normName(g.offers[0].Suffix) == normName(exp.Suffix) {
				legit4 = i
				break
			}
		}
		for i, g := range groups {
			if i != legit4 {
				sus4 = append(sus4, g)
			}
		}
		v4fail = true
	default:
		sus4 = unlisted
		v4fail = true
	}

	if len(groups) == 0 && len(srv6)+len(rtr) == 0 {
		f.Status = finding.Skip
		f.Message = "no DHCP offer, so no servers to count"
		return withID(f, "dhcp.rogue.no_offer")
	}
	if !v4fail && len(v6problems) == 0 {
		f.Status = finding.Pass
		switch {
		case len(groups) == 0:
			f.Message = "no DHCPv4 offer" + v6note + ", each alone in its family"
			return withID(f, "dhcp.rogue.v6_only", "IPv6", strings.TrimPrefix(v6note, "; IPv6: "))
		case len(groups) == 1:
			f.Server = groups[0].id.String()
			f.Message = "one DHCP server answered: " + groups[0].id.String() + v6note
			return withID(f, "dhcp.rogue.one", "Server", groups[0].id.String(), "IPv6", v6note)
		default:
			f.Server = groups[0].id.String()
			f.Message = fmt.Sprintf("%d DHCP servers answered, all in dhcp.allowed_servers", len(groups)) + v6note
			return withID(f, "dhcp.rogue.all_allowed", "Count", strconv.Itoa(len(groups)), "IPv6", v6note)
		}
	}

	f.Status = finding.Fail
	var parts []string
	switch {
	case !v4fail:
	case !listed:
		f.Server = sus4[0].id.String()
		parts = append(parts, fmt.Sprintf("%d DHCP servers answered: %s; presuming %s legitimate, the suspects are %s (list the legitimate ones in dhcp.allowed_servers)",
			len(groups), strings.Join(ipStrings(groupIDs(groups)), ", "), groups[legit4].id, strings.Join(suspectNames(sus4), ", ")))
	case len(groups) == 1:
		f.Server = sus4[0].id.String()
		parts = append(parts, fmt.Sprintf("the only DHCP server answering, %s, is not in dhcp.allowed_servers", suspectNames(sus4)[0]))
	default:
		f.Server = sus4[0].id.String()
		parts = append(parts, fmt.Sprintf("%d DHCP servers answered; not in dhcp.allowed_servers: %s", len(groups), strings.Join(suspectNames(sus4), ", ")))
	}
	if len(v6problems) > 0 {
		if !v4fail {
			if len(sus6) > 0 {
				f.Server = sus6[0].id
			} else {
				f.Server = susR[0].id
			}
		}
		why := "more than one answered"
		if len(exp.Allowed6) > 0 {
			why = "not in dhcp.allowed_servers"
		}
		parts = append(parts, fmt.Sprintf("IPv6 senders of DNS settings %s: %s", why, strings.Join(v6problems, ", ")))
	}
	f.Message = strings.Join(parts, "; ")
	f.Remedy = rogueRemedy(sus4, append(sus6, susR...))
	f.RemedyID = "dhcp.rogue.remedy"
	return withID(f, "dhcp.rogue.suspects", "Problems", f.Message, "Steps", f.Remedy)
}

func senderEvidence(ss []sender6, listed bool) []map[string]any {
	out := make([]map[string]any, 0, len(ss))
	for _, s := range ss {
		e := map[string]any{"id": s.id, "address": ipText(s.addr), "mac": macText(s.mac), "dns": ipStrings(s.dns), "domains": nonNil(s.domains)}
		if listed {
			e["allowed"] = s.allowed
		}
		out = append(out, e)
	}
	return out
}

func suspectNames(gs []serverGroup) []string {
	var names []string
	for _, g := range gs {
		names = append(names, fmt.Sprintf("%s (MAC %s)", g.id, macText(g.offers[0].ServerMAC)))
	}
	return names
}

func rogueRemedy(suspects []serverGroup, v6 []sender6) string {
	var b strings.Builder
	for _, g := range suspects {
		o := g.offers[0]
		mac := macText(o.ServerMAC)
		fmt.Fprintf(&b, "Find DHCP server %s (MAC %s) and unplug it, or switch off its DHCP service.\n", g.id, mac)
		if o.Relay != nil {
			fmt.Fprintf(&b, "  Its offers came through the relay %s: it is on the far side of that relay, and %s is the relay's MAC.\n", o.Relay, mac)
		} else if len(o.ServerMAC) == 6 {
			switchPortHint(&b, o.ServerMAC)
		}
	}
	for _, s := range v6 {
		if s.kind == "router" {
			fmt.Fprintf(&b, "Find %s and switch off its router advertisements (radvd, dnsmasq enable-ra, a home router's IPv6), or remove it.\n", s.name())
		} else {
			fmt.Fprintf(&b, "Find %s and switch off its DHCPv6 service, or remove it.\n", s.name())
		}
		if len(s.mac) == 6 {
			switchPortHint(&b, s.mac)
		}
	}
	if len(suspects) > 0 {
		b.WriteString("To keep it from happening again, enable DHCP snooping on the access switches and trust only the uplink toward the campus server " +
			"(Cisco: ip dhcp snooping; ip dhcp snooping vlan N; ip dhcp snooping trust on the uplink). ")
	}
	if len(v6) > 0 {
		b.WriteString("For IPv6, enable RA Guard and DHCPv6 Guard on the access ports (Cisco: ipv6 nd raguard attach-policy; ipv6 dhcp guard attach-policy). ")
	}
	b.WriteString("If the server is legitimate, add its id (DHCPv4 server id, DHCPv6 DUID or router address) to dhcp.allowed_servers in schools.yaml.")
	return b.String()
}

func switchPortHint(b *strings.Builder, m net.HardwareAddr) {
	fmt.Fprintf(b, "  Switch port: Cisco `show mac address-table address %02x%02x.%02x%02x.%02x%02x`, H3C/HPE/Huawei `display mac-address %02x%02x-%02x%02x-%02x%02x`.\n",
		m[0], m[1], m[2], m[3], m[4], m[5], m[0], m[1], m[2], m[3], m[4], m[5])
	fmt.Fprintf(b, "  From this box: `ip neigh | grep -i %s`; the MAC's vendor prefix (%02x:%02x:%02x) often names the home router's maker.\n", m, m[0], m[1], m[2])
}

func groupIDs(gs []serverGroup) []net.IP {
	ids := make([]net.IP, len(gs))
	for i, g := range gs {
		ids[i] = g.id
	}
	return ids
}

// withID sets the message id and its template arguments (name, value
// pairs) on f, keeping Args that are already there.
func withID(f finding.Finding, id string, args ...string) finding.Finding {
	f.ID = id
	if len(args) > 0 && f.Args == nil {
		f.Args = map[string]string{}
	}
	for i := 0; i+1 < len(args); i += 2 {
		f.Args[args[i]] = args[i+1]
	}
	return f
}
