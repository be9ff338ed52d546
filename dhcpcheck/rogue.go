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

// judgeRogue gives dhcp.rogue: each address family judged on its own
// (a LAN normally has one DHCPv4 server, one DHCPv6 server and one
// router), then the two verdicts combined.
func judgeRogue(groups []serverGroup, v View, exp Expect) finding.Finding {
	f := finding.Finding{Check: finding.DHCPRogue, Server: exp.Iface}
	r4 := judgeRogue4(groups, exp)
	r6 := judgeRogue6(v, exp)
	f.Evidence = rogueEvidence(r4, r6, exp)
	switch {
	case len(groups) == 0 && r6.senders() == 0:
		f.Status = finding.Skip
		f.Message = "no DHCP offer, so no servers to count"
		return withID(f, "dhcp.rogue.no_offer")
	case !r4.fail && len(r6.problems) == 0:
		return rogueClean(f, groups, r6.note)
	}
	return rogueSuspects(f, r4, r6)
}

// rogue4 is the DHCPv4 half of dhcp.rogue.
type rogue4 struct {
	groups   []serverGroup
	listed   bool             // dhcp.allowed_servers has entries
	servers  []map[string]any // evidence, one per server
	unlisted []serverGroup    // servers not in the list
	sus      []serverGroup
	legit    int  // the server presumed legitimate without a list
	fail     bool // there are suspects
}

func judgeRogue4(groups []serverGroup, exp Expect) rogue4 {
	r := rogue4{groups: groups, listed: len(exp.AllowedServers) > 0, legit: -1}
	for _, g := range groups {
		allowed := r.listed && containsIP(exp.AllowedServers, g.id)
		r.servers = append(r.servers, serverEvidence(g, r.listed, allowed))
		if r.listed && !allowed {
			r.unlisted = append(r.unlisted, g)
		}
	}
	switch {
	case len(groups) == 0:
	case len(groups) == 1 && len(r.unlisted) == 0:
	case r.listed && len(r.unlisted) == 0:
	case !r.listed:
		r.legit = presumedLegit(groups, exp.Suffix)
		for i, g := range groups {
			if i != r.legit {
				r.sus = append(r.sus, g)
			}
		}
		r.fail = true
	default:
		r.sus = r.unlisted
		r.fail = true
	}
	return r
}

// presumedLegit picks, without an allow-list, the server that hands out
// the school's suffix, else the first to answer. Arrival order alone would
// mislead: a home router does not ping before it offers, so it usually
// answers first.
func presumedLegit(groups []serverGroup, suffix string) int {
	for i, g := range groups {
		if suffix != "" && normName(g.offers[0].Suffix) == normName(suffix) {
			return i
		}
	}
	return 0
}

func serverEvidence(g serverGroup, listed, allowed bool) map[string]any {
	o := g.offers[0]
	s := map[string]any{"server_id": g.id.String(), "server_mac": macText(o.ServerMAC), "offered_ip": ipText(o.YourIP)}
	if o.Relay != nil {
		s["relay"] = o.Relay.String()
	}
	if listed {
		s["allowed"] = allowed
	}
	return s
}

// problem says what is wrong with the DHCPv4 servers, "" when nothing.
func (r rogue4) problem() string {
	switch {
	case !r.fail:
		return ""
	case !r.listed:
		return fmt.Sprintf("%d DHCP servers answered: %s; presuming %s legitimate, the suspects are %s (list the legitimate ones in dhcp.allowed_servers)",
			len(r.groups), strings.Join(ipStrings(groupIDs(r.groups)), ", "), r.groups[r.legit].id, strings.Join(suspectNames(r.sus), ", "))
	case len(r.groups) == 1:
		return fmt.Sprintf("the only DHCP server answering, %s, is not in dhcp.allowed_servers", suspectNames(r.sus)[0])
	}
	return fmt.Sprintf("%d DHCP servers answered; not in dhcp.allowed_servers: %s", len(r.groups), strings.Join(suspectNames(r.sus), ", "))
}

// rogue6 is the IPv6 half of dhcp.rogue: DHCPv6 servers and routers.
type rogue6 struct {
	servers, routers []sender6
	sus6, susR       []sender6
	listed           bool     // dhcp.allowed_servers has IPv6 entries
	problems         []string // the suspects' names
	note             string   // "; IPv6: …" naming every sender, for the messages
}

func judgeRogue6(v View, exp Expect) rogue6 {
	r := rogue6{listed: len(exp.Allowed6) > 0}
	r.servers, r.routers = senders6(v)
	r.sus6, _ = suspects6(r.servers, exp.Allowed6, exp.Suffix)
	r.susR, _ = suspects6(r.routers, exp.Allowed6, exp.Suffix)
	for _, s := range r.suspects() {
		r.problems = append(r.problems, s.name())
	}
	if r.senders() > 0 {
		var names []string
		for _, s := range append(append([]sender6(nil), r.servers...), r.routers...) {
			names = append(names, s.kind+" "+s.id)
		}
		r.note = "; IPv6: " + strings.Join(names, ", ")
	}
	return r
}

func (r rogue6) senders() int { return len(r.servers) + len(r.routers) }

func (r rogue6) suspects() []sender6 {
	return append(append([]sender6(nil), r.sus6...), r.susR...)
}

// problem says what is wrong with the IPv6 senders, "" when nothing.
func (r rogue6) problem() string {
	if len(r.problems) == 0 {
		return ""
	}
	why := "more than one answered"
	if r.listed {
		why = "not in dhcp.allowed_servers"
	}
	return fmt.Sprintf("IPv6 senders of DNS settings %s: %s", why, strings.Join(r.problems, ", "))
}

func rogueEvidence(r4 rogue4, r6 rogue6, exp Expect) finding.Evidence {
	ev := map[string]any{"servers": nonNilMaps(r4.servers), "allowed_servers": append(ipStrings(exp.AllowedServers), exp.Allowed6...)}
	if len(exp.Allowed6) == 0 {
		ev["allowed_servers"] = ipStrings(exp.AllowedServers)
	}
	if len(r6.servers) > 0 {
		ev["dhcpv6_servers"] = senderEvidence(r6.servers, r6.listed)
	}
	if len(r6.routers) > 0 {
		ev["routers"] = senderEvidence(r6.routers, r6.listed)
	}
	return finding.EvidenceMap(ev)
}

// rogueClean is the pass: no suspect in either family.
func rogueClean(f finding.Finding, groups []serverGroup, v6note string) finding.Finding {
	f.Status = finding.Pass
	switch {
	case len(groups) == 0:
		f.Message = "no DHCPv4 offer" + v6note + ", each alone in its family"
		return withID(f, "dhcp.rogue.v6_only", "IPv6", strings.TrimPrefix(v6note, "; IPv6: "))
	case len(groups) == 1:
		f.Server = groups[0].id.String()
		f.Message = "one DHCP server answered: " + groups[0].id.String() + v6note
		return withID(f, "dhcp.rogue.one", "Server", groups[0].id.String(), "IPv6", v6note)
	}
	f.Server = groups[0].id.String()
	f.Message = fmt.Sprintf("%d DHCP servers answered, all in dhcp.allowed_servers", len(groups)) + v6note
	return withID(f, "dhcp.rogue.all_allowed", "Count", strconv.Itoa(len(groups)), "IPv6", v6note)
}

// rogueSuspects is the fail: the finding names the first suspect, DHCPv4
// before DHCPv6 before routers.
func rogueSuspects(f finding.Finding, r4 rogue4, r6 rogue6) finding.Finding {
	f.Status = finding.Fail
	switch {
	case r4.fail:
		f.Server = r4.sus[0].id.String()
	case len(r6.sus6) > 0:
		f.Server = r6.sus6[0].id
	default:
		f.Server = r6.susR[0].id
	}
	var parts []string
	for _, p := range []string{r4.problem(), r6.problem()} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	f.Message = strings.Join(parts, "; ")
	f.Remedy = rogueRemedy(r4.sus, r6.suspects())
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
