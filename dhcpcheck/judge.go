package dhcpcheck

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// Expect is what the school's configuration says the offers should hold.
type Expect struct {
	// Iface and Window are the probe's interface and listening window;
	// they only name things in messages (and Server when nobody answered).
	Iface  string
	Window time.Duration
	// Suffix is the DNS suffix the school's PCs must get (schools.yaml
	// suffix). Empty: dhcp.suffix is skipped.
	Suffix string
	// AllowedServers are the legitimate DHCP server ids
	// (dhcp.allowed_servers). Empty: any single server is accepted.
	AllowedServers []net.IP
	// SchoolDNS are the school's own DNS servers (schools.yaml dns) and
	// Resolvers the city resolvers; both are fine in option 6. Entries
	// are "ip" or "ip:port"; only the address is compared, as option 6
	// carries no port.
	SchoolDNS []string
	Resolvers []string
}

// Target is one SRV lookup JudgeDNS needs: the name _vlmcs._tcp.<Suffix> at
// Server ("ip:53"), the way a PC given that offer would look it up.
type Target struct {
	Server string
	Suffix string
}

// DNSTargets lists the dns.srv lookups JudgeDNS needs, one per option-6
// server in offer order. The suffix is the one offered alongside that
// server; when the offer has none, expectSuffix is used instead, so the
// report can tell whether fixing option 15 alone would be enough. A server
// handed out by two offers with different suffixes is asked for the first.
func DNSTargets(offers []Offer, expectSuffix string) []Target {
	var ts []Target
	seen := map[string]bool{}
	for _, o := range offers {
		suffix := normName(o.Suffix)
		if o.State(OptDomainName) != Present {
			suffix = normName(expectSuffix)
		}
		if suffix == "" {
			continue
		}
		for _, ip := range o.DNS {
			srv := DNSAddr(ip)
			if !seen[srv] && len(ts) < maxDNSTargets {
				seen[srv] = true
				ts = append(ts, Target{Server: srv, Suffix: suffix})
			}
		}
	}
	return ts
}

// maxDNSTargets bounds the option 6 servers followed (a PC uses the
// first few; forged offers must not make the probe ask hundreds).
const maxDNSTargets = 16

// DNSAddr is the key JudgeDNS looks an option-6 server up by: "ip:53".
func DNSAddr(ip net.IP) string { return net.JoinHostPort(ip.String(), "53") }

// Judge gives dhcp.offer (one finding), dhcp.suffix (one per DHCP server
// that answered, since a PC gets whichever answers first) and dhcp.rogue
// (one finding) for the offers of one Discover.
func Judge(offers []Offer, exp Expect) []finding.Finding {
	fs := []finding.Finding{judgeOffer(offers, exp)}
	groups := byServer(offers)
	if len(groups) == 0 {
		fs = append(fs, finding.Finding{
			Check: finding.DHCPSuffix, Server: exp.Iface, Status: finding.Skip,
			Message: "no DHCP offer, so no option 15 to check",
		})
	}
	for _, g := range groups {
		fs = append(fs, judgeSuffix(g, exp))
	}
	return append(fs, judgeRogue(groups, exp))
}

// serverGroup is the offers of one server id, in arrival order.
type serverGroup struct {
	id     net.IP
	offers []Offer
}

func byServer(offers []Offer) []serverGroup {
	var gs []serverGroup
	idx := map[string]int{}
	for _, o := range offers {
		k := o.ServerID.String()
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, serverGroup{id: o.ServerID})
		}
		gs[i].offers = append(gs[i].offers, o)
	}
	return gs
}

func windowText(d time.Duration) string {
	if d <= 0 {
		d = DefaultWindow
	}
	return d.String()
}

func judgeOffer(offers []Offer, exp Expect) finding.Finding {
	ev := finding.Evidence{"iface": exp.Iface, "window_s": exp.Window.Seconds(), "offers": offersEvidence(offers)}
	if len(offers) == 0 {
		ev["offers"] = []map[string]any{}
		return finding.Finding{
			Check: finding.DHCPOffer, Server: exp.Iface, Status: finding.Fail,
			Message:  fmt.Sprintf("no DHCP offer on %s within %s: is the interface on the school LAN and the DHCP server running?", exp.Iface, windowText(exp.Window)),
			Evidence: ev,
			Remedy: fmt.Sprintf("Check that %s is plugged into an ordinary school LAN port (access port of the PCs' VLAN, not a trunk), "+
				"that the DHCP server is running, and, if the server is on another subnet, that the router forwards DHCP to it "+
				"(Cisco: ip helper-address SERVER on the VLAN interface).", exp.Iface),
		}
	}
	// Name the legitimate server's offer when the allow-list says which it
	// is: a home router often answers first, as it does not ping first.
	first := offers[0]
	for _, o := range offers {
		if containsIP(exp.AllowedServers, o.ServerID) {
			first = o
			break
		}
	}
	msg := fmt.Sprintf("offer of %s from DHCP server %s", ipText(first.YourIP), first.ServerID)
	if n := len(offers); n > 1 {
		msg = fmt.Sprintf("%d offers from %d DHCP servers; %s", n, len(byServer(offers)), msg)
	}
	return finding.Finding{
		Check: finding.DHCPOffer, Server: first.ServerID.String(), Status: finding.Pass,
		Message: msg, Evidence: ev,
	}
}

func judgeSuffix(g serverGroup, exp Expect) finding.Finding {
	o := g.offers[0]
	f := finding.Finding{Check: finding.DHCPSuffix, Server: g.id.String()}
	ev := finding.Evidence{"expected": exp.Suffix, "offered_ip": ipText(o.YourIP)}
	if o.State(OptDomainName) != Absent {
		ev["domain_name"] = o.Suffix
	}
	if o.State(OptDomainSearch) != Absent {
		ev["search_list"] = nonNil(o.SearchList)
	}
	if why, bad := o.Malformed[OptDomainName]; bad {
		ev["malformed"] = why
	}
	f.Evidence = ev
	// Option 119 cannot stand in for option 15: Windows 10 1803+ uses it
	// as a search list, but KMS discovery builds _vlmcs._tcp from the
	// primary suffix only.
	note119 := ""
	if len(o.SearchList) > 0 {
		note119 = fmt.Sprintf(" (option 119 lists %s, but KMS discovery uses option 15 only)", strings.Join(o.SearchList, ", "))
	}
	rogue := len(exp.AllowedServers) > 0 && !containsIP(exp.AllowedServers, g.id)
	remedy := func() string {
		if rogue {
			return fmt.Sprintf("%s is not in dhcp.allowed_servers: remove that server from the LAN (see dhcp.rogue) rather than configure it.", g.id)
		}
		return suffixRemedy(g.id, exp.Suffix, scopeID(o))
	}
	switch st := o.State(OptDomainName); {
	case exp.Suffix == "":
		f.Status = finding.Skip
		f.Message = fmt.Sprintf("no suffix configured for this school; the server offers %s", quoteOrNone(o, st))
	case st == Absent:
		f.Status = finding.Fail
		f.Message = "no option 15 (DNS suffix) in the offer: PCs cannot find the KMS host by SRV" + note119
		f.Remedy = remedy()
	case st == Malformed:
		f.Status = finding.Fail
		f.Message = fmt.Sprintf("option 15 is malformed (%s): %q", o.Malformed[OptDomainName], o.Suffix)
		f.Remedy = remedy()
	case normName(o.Suffix) != normName(exp.Suffix):
		f.Status = finding.Fail
		f.Message = fmt.Sprintf("option 15 is %s, want %s", o.Suffix, normName(exp.Suffix)) + note119
		f.Remedy = remedy()
	default:
		f.Status = finding.Pass
		f.Message = "option 15 is " + normName(o.Suffix)
	}
	return f
}

func quoteOrNone(o Offer, st OptState) string {
	if st == Absent {
		return "no option 15"
	}
	return strconv.Quote(o.Suffix)
}

// normName is how names compare (DESIGN.md §4): case-insensitive, without
// the trailing dot, and without the trailing NUL some servers add.
func normName(s string) string {
	s = strings.TrimRight(s, "\x00")
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// scopeID is the offered network, which Windows DHCP names scopes by; empty
// when the offer has no usable subnet mask.
func scopeID(o Offer) string {
	m := o.Options[1]
	if len(m) != 4 || o.YourIP.To4() == nil {
		return ""
	}
	return o.YourIP.To4().Mask(net.IPMask(m)).String()
}

func suffixRemedy(server net.IP, suffix, scope string) string {
	s := normName(suffix)
	return fmt.Sprintf("Set option 15 (domain name) to %s on DHCP server %s:\n"+
		"  dnsmasq:      dhcp-option=option:domain-name,%s\n"+
		"  ISC dhcpd:    option domain-name \"%s\";\n"+
		"  Kea:          \"option-data\": [ { \"name\": \"domain-name\", \"data\": \"%s\" } ]\n"+
		"  Windows DHCP: Set-DhcpServerv4OptionValue %s-DnsDomain %s",
		s, server, s, s, s, scopeArg(scope), s)
}

func scopeArg(scope string) string {
	if scope == "" {
		return "-ScopeId <scope> "
	}
	return "-ScopeId " + scope + " "
}

func judgeRogue(groups []serverGroup, exp Expect) finding.Finding {
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
	f.Evidence = finding.Evidence{"servers": nonNilMaps(servers), "allowed_servers": ipStrings(exp.AllowedServers)}
	switch {
	case len(groups) == 0:
		f.Status = finding.Skip
		f.Message = "no DHCP offer, so no servers to count"
		return f
	case len(groups) == 1 && len(unlisted) == 0:
		f.Server = groups[0].id.String()
		f.Status = finding.Pass
		f.Message = "one DHCP server answered: " + groups[0].id.String()
		return f
	case listed && len(unlisted) == 0:
		f.Server = groups[0].id.String()
		f.Status = finding.Pass
		f.Message = fmt.Sprintf("%d DHCP servers answered, all in dhcp.allowed_servers", len(groups))
		return f
	}
	f.Status = finding.Fail
	suspects := unlisted
	if !listed {
		// Without an allow-list, presume legitimate the server that hands
		// out the school's suffix, else the first to answer. Arrival order
		// alone would mislead: a home router does not ping before it
		// offers, so it usually answers first.
		legit := 0
		for i, g := range groups {
			if exp.Suffix != "" && normName(g.offers[0].Suffix) == normName(exp.Suffix) {
				legit = i
				break
			}
		}
		suspects = nil
		for i, g := range groups {
			if i != legit {
				suspects = append(suspects, g)
			}
		}
		f.Server = suspects[0].id.String()
		f.Message = fmt.Sprintf("%d DHCP servers answered: %s; presuming %s legitimate, the suspects are %s (list the legitimate ones in dhcp.allowed_servers)",
			len(groups), strings.Join(ipStrings(groupIDs(groups)), ", "), groups[legit].id, strings.Join(suspectNames(suspects), ", "))
		f.Remedy = rogueRemedy(suspects)
		return f
	}
	f.Server = suspects[0].id.String()
	names := suspectNames(suspects)
	if len(groups) == 1 {
		f.Message = fmt.Sprintf("the only DHCP server answering, %s, is not in dhcp.allowed_servers", names[0])
	} else {
		f.Message = fmt.Sprintf("%d DHCP servers answered; not in dhcp.allowed_servers: %s", len(groups), strings.Join(names, ", "))
	}
	f.Remedy = rogueRemedy(suspects)
	return f
}

func suspectNames(gs []serverGroup) []string {
	var names []string
	for _, g := range gs {
		names = append(names, fmt.Sprintf("%s (MAC %s)", g.id, macText(g.offers[0].ServerMAC)))
	}
	return names
}

func rogueRemedy(suspects []serverGroup) string {
	var b strings.Builder
	for _, g := range suspects {
		o := g.offers[0]
		mac := macText(o.ServerMAC)
		fmt.Fprintf(&b, "Find DHCP server %s (MAC %s) and unplug it, or switch off its DHCP service.\n", g.id, mac)
		if o.Relay != nil {
			fmt.Fprintf(&b, "  Its offers came through the relay %s: it is on the far side of that relay, and %s is the relay's MAC.\n", o.Relay, mac)
		} else if len(o.ServerMAC) == 6 {
			m := o.ServerMAC
			fmt.Fprintf(&b, "  Switch port: Cisco `show mac address-table address %02x%02x.%02x%02x.%02x%02x`, H3C/HPE/Huawei `display mac-address %02x%02x-%02x%02x-%02x%02x`.\n",
				m[0], m[1], m[2], m[3], m[4], m[5], m[0], m[1], m[2], m[3], m[4], m[5])
			fmt.Fprintf(&b, "  From this box: `ip neigh | grep -i %s`; the MAC's vendor prefix (%02x:%02x:%02x) often names the home router's maker.\n", m, m[0], m[1], m[2])
		}
	}
	b.WriteString("To keep it from happening again, enable DHCP snooping on the access switches and trust only the uplink toward the campus server " +
		"(Cisco: ip dhcp snooping; ip dhcp snooping vlan N; ip dhcp snooping trust on the uplink). " +
		"If the server is legitimate, add its id to dhcp.allowed_servers in schools.yaml.")
	return b.String()
}

func groupIDs(gs []serverGroup) []net.IP {
	ids := make([]net.IP, len(gs))
	for i, g := range gs {
		ids[i] = g.id
	}
	return ids
}

// JudgeDNS gives dhcp.dns: whether each DNS server the offers hand out
// (option 6) answers the SRV record a PC would ask it for. srv maps each
// Target.Server of DNSTargets to the dns.srv finding the DNS leg produced
// there. Server is the DHCP server id when one server answered, else the
// interface.
//
// Fail when an offer gives no usable option 6 or a server's dns.srv fails.
// Unknown when a server's dns.srv is unknown, skipped or missing: the probe,
// not the school, could not tell. Warn when a dns.srv warns, or a server is
// neither the school's nor a city resolver (it may answer today, but no one
// is watching its records).
func JudgeDNS(offers []Offer, exp Expect, srv map[string]finding.Finding) finding.Finding {
	f := finding.Finding{Check: finding.DHCPDNS, Server: exp.Iface}
	groups := byServer(offers)
	if len(groups) == 0 {
		f.Status = finding.Skip
		f.Message = "no DHCP offer, so no option 6 to check"
		return f
	}
	if len(groups) == 1 {
		f.Server = groups[0].id.String()
	}
	listed := append(append([]string(nil), exp.SchoolDNS...), exp.Resolvers...)
	targets := map[string]string{}
	for _, t := range DNSTargets(offers, exp.Suffix) {
		targets[t.Server] = t.Suffix
	}

	status := finding.Pass
	worse := func(s finding.Status) {
		if s.Worse(status) {
			status = s
		}
	}
	var problems, remedies, working []string
	var rows []map[string]any
	seen := map[string]bool{}
	for _, g := range groups {
		o := g.offers[0]
		switch o.State(OptDNS) {
		case Absent:
			worse(finding.Fail)
			problems = append(problems, fmt.Sprintf("DHCP server %s gives no DNS servers (no option 6)", g.id))
			continue
		case Malformed:
			worse(finding.Fail)
			problems = append(problems, fmt.Sprintf("DHCP server %s sends a malformed option 6 (%s)", g.id, o.Malformed[OptDNS]))
			if len(o.DNS) == 0 {
				continue
			}
		}
		for _, ip := range o.DNS {
			addr := DNSAddr(ip)
			if seen[addr] {
				continue
			}
			seen[addr] = true
			row := map[string]any{"address": addr, "dhcp_server": g.id.String()}
			if s, ok := targets[addr]; ok {
				row["srv_name"] = "_vlmcs._tcp." + s
			}
			if len(listed) > 0 {
				ok := containsAddr(listed, ip)
				row["listed"] = ok
				if !ok {
					worse(finding.Warn)
					problems = append(problems, fmt.Sprintf("%s is neither a school DNS server nor a city resolver", ip))
				}
			}
			sf, ok := srv[addr]
			switch {
			case !ok:
				row["srv_status"] = finding.Unknown.String()
				worse(finding.Unknown)
				problems = append(problems, fmt.Sprintf("%s: SRV not checked", ip))
			default:
				row["srv_status"] = sf.Status.String()
				row["srv_message"] = sf.Message
				switch sf.Status {
				case finding.Pass:
					working = append(working, ip.String())
				case finding.Warn:
					working = append(working, ip.String())
					worse(finding.Warn)
					problems = append(problems, fmt.Sprintf("%s: %s", ip, sf.Message))
				case finding.Fail:
					worse(finding.Fail)
					problems = append(problems, fmt.Sprintf("%s: %s", ip, sf.Message))
					if sf.Remedy != "" {
						remedies = append(remedies, fmt.Sprintf("Or add the record on %s: %s", ip, sf.Remedy))
					}
				default:
					worse(finding.Unknown)
					problems = append(problems, fmt.Sprintf("%s: SRV could not be checked (%s)", ip, sf.Message))
				}
			}
			rows = append(rows, row)
		}
	}
	f.Status = status
	f.Evidence = finding.Evidence{"dns_servers": nonNilMaps(rows), "listed": nonNil(listed)}
	if status == finding.Pass {
		f.Message = fmt.Sprintf("every DNS server in option 6 answers the KMS SRV record: %s", strings.Join(working, ", "))
		return f
	}
	f.Message = strings.Join(problems, "; ")
	if status == finding.Fail || status == finding.Warn {
		good := goodDNS(exp, working)
		f.Remedy = dnsRemedy(groups, exp, good, remedies)
	}
	return f
}

// goodDNS picks what option 6 should say: the school's own servers if it
// has them, else the city resolvers, else the servers seen working.
func goodDNS(exp Expect, working []string) []string {
	for _, l := range [][]string{exp.SchoolDNS, exp.Resolvers, working} {
		var ips []string
		for _, a := range l {
			ips = append(ips, hostOf(a))
		}
		if len(ips) > 0 {
			return ips
		}
	}
	return []string{"<school DNS server>"}
}

func dnsRemedy(groups []serverGroup, exp Expect, good, extra []string) string {
	list := strings.Join(good, ",")
	var b strings.Builder
	g := groups[0]
	for _, c := range groups {
		if len(exp.AllowedServers) == 0 || containsIP(exp.AllowedServers, c.id) {
			g = c
			break
		}
	}
	fmt.Fprintf(&b, "Hand out DNS servers that carry the SRV record (option 6) on DHCP server %s:\n", g.id)
	fmt.Fprintf(&b, "  dnsmasq:      dhcp-option=option:dns-server,%s\n", list)
	fmt.Fprintf(&b, "  ISC dhcpd:    option domain-name-servers %s;\n", strings.Join(good, ", "))
	fmt.Fprintf(&b, "  Kea:          \"option-data\": [ { \"name\": \"domain-name-servers\", \"data\": \"%s\" } ]\n", strings.Join(good, ", "))
	fmt.Fprintf(&b, "  Windows DHCP: Set-DhcpServerv4OptionValue %s-DnsServer %s", scopeArg(scopeID(g.offers[0])), list)
	for _, e := range extra {
		b.WriteString("\n" + e)
	}
	return b.String()
}

// ErrorFindings reports a Discover that could not run: unknown for every
// DHCP check, since the probe, not the school, is at fault. Without
// privilege the remedy is the exact setcap command.
func ErrorFindings(iface string, err error) []finding.Finding {
	msg := fmt.Sprintf("cannot probe DHCP on %s: %v", iface, err)
	remedy := ""
	// os.ErrPermission, which ErrPermission wraps, also covers a caller's
	// own socket failing with EPERM or EACCES.
	if errors.Is(err, os.ErrPermission) {
		msg = fmt.Sprintf("cannot probe DHCP on %s: a raw socket needs root or cap_net_raw", iface)
		remedy = "Run kmsprobe as root, or grant it the capabilities once:\n  " + SetcapCommand()
	}
	var fs []finding.Finding
	for _, c := range []string{finding.DHCPOffer, finding.DHCPSuffix, finding.DHCPDNS, finding.DHCPRogue} {
		fs = append(fs, finding.Finding{Check: c, Server: iface, Status: finding.Unknown, Message: msg, Remedy: remedy,
			Evidence: finding.Evidence{"error": err.Error()}})
	}
	return fs
}

func offersEvidence(offers []Offer) []map[string]any {
	out := make([]map[string]any, 0, len(offers))
	for _, o := range offers {
		out = append(out, offerEvidence(o))
	}
	return out
}

// offerEvidence records an offer with the evidence keys of the report
// contract. An absent option has no key; a malformed one keeps what
// decoded and is named under "malformed".
func offerEvidence(o Offer) map[string]any {
	e := map[string]any{
		"server_id":  ipText(o.ServerID),
		"server_mac": macText(o.ServerMAC),
		"offered_ip": ipText(o.YourIP),
	}
	if o.Relay != nil {
		e["relay"] = o.Relay.String()
	}
	if o.Source != nil && !o.Source.Equal(o.ServerID) {
		e["source_ip"] = o.Source.String()
	}
	if o.State(OptDNS) != Absent {
		e["dns"] = ipStrings(o.DNS)
	}
	if o.State(OptDomainName) != Absent {
		e["domain_name"] = o.Suffix
	}
	if o.State(OptDomainSearch) != Absent {
		e["search_list"] = nonNil(o.SearchList)
	}
	if o.State(OptRouters) != Absent {
		e["routers"] = ipStrings(o.Routers)
	}
	if o.State(OptLeaseTime) != Absent && o.State(OptLeaseTime) != Malformed {
		e["lease_s"] = int64(o.LeaseTime / time.Second)
	}
	if len(o.Malformed) > 0 {
		m := map[string]string{}
		codes := make([]int, 0, len(o.Malformed))
		for c := range o.Malformed {
			codes = append(codes, int(c))
		}
		sort.Ints(codes)
		for _, c := range codes {
			m[optName(uint8(c))] = o.Malformed[uint8(c)]
		}
		e["malformed"] = m
	}
	return e
}

func optName(c uint8) string {
	switch c {
	case OptRouters:
		return "routers"
	case OptDNS:
		return "dns"
	case OptDomainName:
		return "domain_name"
	case OptLeaseTime:
		return "lease_s"
	case OptServerID:
		return "server_id"
	case OptDomainSearch:
		return "search_list"
	}
	return "option_" + strconv.Itoa(int(c))
}

func ipText(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

func macText(m net.HardwareAddr) string {
	if len(m) == 0 {
		return "unknown"
	}
	return m.String()
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMaps(m []map[string]any) []map[string]any {
	if m == nil {
		return []map[string]any{}
	}
	return m
}

func containsIP(l []net.IP, ip net.IP) bool {
	for _, x := range l {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

// hostOf strips an optional port from a configured address.
func hostOf(a string) string {
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return strings.Trim(a, "[]")
}

func containsAddr(l []string, ip net.IP) bool {
	for _, a := range l {
		if x := net.ParseIP(hostOf(a)); x != nil && x.Equal(ip) {
			return true
		}
	}
	return false
}
