package dhcpcheck

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
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
	// Allowed6 are the allowed_servers entries that name IPv6 senders:
	// DHCPv6 server DUIDs ("00:01:00:01:…"), router or server IPv6
	// addresses, MACs. Empty: one DHCPv6 server and one router advertising
	// DNS options are accepted. SplitAllowed fills it and AllowedServers.
	Allowed6 []string
	// KMSHost and KMSPort are what _vlmcs._tcp must point at (kms.host,
	// kms.port): dhcp.search names searched domains that point elsewhere.
	KMSHost string
	KMSPort int
}

// SplitAllowed sorts schools.yaml's dhcp.allowed_servers into the DHCPv4
// server ids of Expect.AllowedServers and the IPv6 names of
// Expect.Allowed6 (a MAC goes into both: it can name either).
func SplitAllowed(entries []string) (v4 []net.IP, v6 []string) {
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if ip := net.ParseIP(e); ip != nil {
			if ip.To4() != nil {
				v4 = append(v4, ip.To4())
			} else {
				v6 = append(v6, ip.String())
			}
			continue
		}
		if _, err := net.ParseMAC(e); err == nil && len(strings.Split(e, ":")) == 6 {
			v6 = append(v6, strings.ToLower(e))
			continue
		}
		v6 = append(v6, strings.ToLower(e))
	}
	return v4, v6
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
//
// dhcp.rogue covers both families: DHCPv4 servers, DHCPv6 servers (by
// DUID) and routers whose advertisements carry DNS options.
func Judge(v View, exp Expect) []finding.Finding {
	offers := v.Offers
	fs := []finding.Finding{judgeOffer(v, exp)}
	groups := byServer(offers)
	if len(groups) == 0 {
		fs = append(fs, withID(finding.Finding{
			Check: finding.DHCPSuffix, Server: exp.Iface, Status: finding.Skip,
			Message: "no DHCP offer, so no option 15 to check",
		}, "dhcp.suffix.no_offer"))
	}
	for _, g := range groups {
		fs = append(fs, judgeSuffix(g, exp))
	}
	return append(fs, judgeRogue(groups, v, exp))
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

func judgeOffer(v View, exp Expect) finding.Finding {
	offers := v.Offers
	ev := map[string]any{"iface": exp.Iface, "window_s": exp.Window.Seconds(), "offers": offersEvidence(offers)}
	// The PC view beside the offers: what `kmsprobe dhcp` lists.
	ev["search_domains"] = searchDomainsEvidence(v.Domains())
	ev["dns_servers"] = dnsServersEvidence(v.Servers())
	if len(v.Replies) > 0 {
		ev["dhcpv6_replies"] = replies6Evidence(v.Replies)
	}
	if len(v.Adverts) > 0 {
		ev["router_adverts"] = advertsEvidence(v.Adverts)
	}
	if v.IPv6Error != "" {
		ev["ipv6_error"] = v.IPv6Error
	}
	if len(offers) == 0 {
		ev["offers"] = []map[string]any{}
		return withID(finding.Finding{
			Check: finding.DHCPOffer, Server: exp.Iface, Status: finding.Fail,
			Message:  fmt.Sprintf("no DHCP offer on %s within %s: is the interface on the school LAN and the DHCP server running?", exp.Iface, windowText(exp.Window)),
			Evidence: finding.EvidenceMap(ev),
			Remedy: fmt.Sprintf("Check that %s is plugged into an ordinary school LAN port (access port of the PCs' VLAN, not a trunk), "+
				"that the DHCP server is running, and, if the server is on another subnet, that the router forwards DHCP to it "+
				"(Cisco: ip helper-address SERVER on the VLAN interface).", exp.Iface),
			RemedyID: "dhcp.offer.none.remedy",
		}, "dhcp.offer.none", "Iface", exp.Iface, "Window", windowText(exp.Window))
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
	id := "dhcp.offer.ok"
	args := []string{"Offered", ipText(first.YourIP), "Server", first.ServerID.String()}
	if n := len(offers); n > 1 {
		msg = fmt.Sprintf("%d offers from %d DHCP servers; %s", n, len(byServer(offers)), msg)
		id = "dhcp.offer.several"
		args = append(args, "Offers", strconv.Itoa(n), "Servers", strconv.Itoa(len(byServer(offers))))
	}
	return withID(finding.Finding{
		Check: finding.DHCPOffer, Server: first.ServerID.String(), Status: finding.Pass,
		Message: msg, Evidence: finding.EvidenceMap(ev),
	}, id, args...)
}

func judgeSuffix(g serverGroup, exp Expect) finding.Finding {
	o := g.offers[0]
	f := finding.Finding{Check: finding.DHCPSuffix, Server: g.id.String()}
	ev := map[string]any{"expected": exp.Suffix, "offered_ip": ipText(o.YourIP)}
	if o.State(OptDomainName) != Absent {
		ev["domain_name"] = o.Suffix
	}
	if o.State(OptDomainSearch) != Absent {
		ev["search_list"] = nonNil(o.SearchList)
	}
	if why, bad := o.Malformed[OptDomainName]; bad {
		ev["malformed"] = why
	}
	f.Evidence = finding.EvidenceMap(ev)
	// Option 119 cannot stand in for option 15: Windows 10 1803+ uses it
	// as a search list, but KMS discovery builds _vlmcs._tcp from the
	// primary suffix only.
	note119 := ""
	if len(o.SearchList) > 0 {
		note119 = fmt.Sprintf(" (option 119 lists %s, but KMS discovery uses option 15 only)", strings.Join(o.SearchList, ", "))
	}
	rogue := len(exp.AllowedServers) > 0 && !containsIP(exp.AllowedServers, g.id)
	remedy := func() {
		f.Args["Server"] = g.id.String()
		if rogue {
			f.Remedy = fmt.Sprintf("%s is not in dhcp.allowed_servers: remove that server from the LAN (see dhcp.rogue) rather than configure it.", g.id)
			f.RemedyID = "dhcp.suffix.remedy.rogue"
			return
		}
		f.Remedy = suffixRemedy(g.id, exp.Suffix, scopeID(o))
		f.RemedyID = "dhcp.suffix.remedy.set"
		f.Args["Lines"] = suffixLines(exp.Suffix, scopeID(o))
	}
	f.Args = map[string]string{"Expected": normName(exp.Suffix), "Offered": o.Suffix, "Note119": note119}
	switch st := o.State(OptDomainName); {
	case exp.Suffix == "":
		f.Status = finding.Skip
		f.Message = fmt.Sprintf("no suffix configured for this school; the server offers %s", quoteOrNone(o, st))
		f.ID, f.Args["Offered"] = "dhcp.suffix.not_configured", quoteOrNone(o, st)
	case st == Absent:
		f.Status = finding.Fail
		f.Message = "no option 15 (DNS suffix) in the offer: PCs cannot find the KMS host by SRV" + note119
		f.ID = "dhcp.suffix.absent"
		remedy()
	case st == Malformed:
		f.Status = finding.Fail
		f.Message = fmt.Sprintf("option 15 is malformed (%s): %q", o.Malformed[OptDomainName], o.Suffix)
		f.ID, f.Args["Why"], f.Args["Offered"] = "dhcp.suffix.malformed", o.Malformed[OptDomainName], strconv.Quote(o.Suffix)
		remedy()
	case normName(o.Suffix) != normName(exp.Suffix):
		f.Status = finding.Fail
		f.Message = fmt.Sprintf("option 15 is %s, want %s", o.Suffix, normName(exp.Suffix)) + note119
		f.ID = "dhcp.suffix.wrong"
		remedy()
	default:
		f.Status = finding.Pass
		f.Message = "option 15 is " + normName(o.Suffix)
		f.ID, f.Args["Offered"] = "dhcp.suffix.ok", normName(o.Suffix)
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
	return dnsname.Canonical(s)
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
	return fmt.Sprintf("Set option 15 (domain name) to %s on DHCP server %s:\n", normName(suffix), server) + suffixLines(suffix, scope)
}

// suffixLines are the configuration lines of the option 15 fix, kept apart
// from the prose so a translation never touches them.
func suffixLines(suffix, scope string) string {
	s := normName(suffix)
	return fmt.Sprintf("  dnsmasq:      dhcp-option=option:domain-name,%s\n"+
		"  ISC dhcpd:    option domain-name \"%s\";\n"+
		"  Kea:          \"option-data\": [ { \"name\": \"domain-name\", \"data\": \"%s\" } ]\n"+
		"  Windows DHCP: Set-DhcpServerv4OptionValue %s-DnsDomain %s",
		s, s, s, scopeArg(scope), s)
}

func scopeArg(scope string) string {
	if scope == "" {
		return "-ScopeId <scope> "
	}
	return "-ScopeId " + scope + " "
}

// JudgeDNS gives dhcp.dns: whether each DNS server a PC gets (option 6 of
// every offer, and DHCPv6 option 23 and RA RDNSS) answers the SRV record a
// PC would ask it for: _vlmcs._tcp.<the offer's option 15>, or the school's
// suffix for an offer without one and for the IPv6 servers. srv holds the
// dns.srv findings for v.Targets(exp.Suffix). Server is the DHCP server id
// when one DHCPv4 server answered and nothing else handed out DNS servers,
// else the interface: an IPv6 server is never judged under a DHCPv4
// server's name.
//
// Fail when an offer gives no usable option 6 or a server's dns.srv fails.
// Unknown when a server's dns.srv is unknown, skipped or missing: the probe,
// not the school, could not tell. Warn when a dns.srv warns, or a server is
// neither the school's nor a city resolver (it may answer today, but no one
// is watching its records).
//
// When servers come from more than one place, each problem names where
// the server came from (option 6, DHCPv6 option 23, RA RDNSS) and who sent
// it, and the remedy is given for each place with a problem: option 6 on
// the DHCPv4 server, option 23 on the DHCPv6 server, RDNSS on the router.
func JudgeDNS(v View, exp Expect, srv SRVResults) finding.Finding {
	f := finding.Finding{Check: finding.DHCPDNS, Server: exp.Iface}
	groups := byServer(v.Offers)
	v6 := slices.DeleteFunc(v.Servers(), func(s DNSServer) bool { return s.Source == SrcOption6 })
	if len(groups) == 0 && len(v6) == 0 {
		f.Status = finding.Skip
		f.Message = "no DHCP offer, so no option 6 to check"
		return withID(f, "dhcp.dns.no_offer")
	}
	if len(groups) == 1 && len(v6) == 0 {
		f.Server = groups[0].id.String()
	}
	// One DHCPv4 server and nothing else: Server names it, and the
	// messages stay short. Otherwise every server says where it is from.
	j := newDNSJudge(v, exp, srv, len(groups) > 1 || len(v6) > 0)
	for _, g := range groups {
		j.offer(g)
	}
	for _, s := range v6 {
		j.server6(s)
	}
	return j.finish(f, groups, len(v6) > 0)
}

// dnsJudge is one dhcp.dns judgement: every DNS server a PC gets, each
// checked once, in the order met.
type dnsJudge struct {
	exp      Expect
	srv      SRVResults
	labelled bool              // every server says where it is from
	listed   []string          // the school's DNS servers and the city resolvers
	targets  map[string]string // server address -> the suffix a PC asks it for
	seen     map[string]bool

	status                                finding.Status
	problems, remedies, working, unlisted []string
	rows                                  []map[string]any
	// bad collects, per source, the senders whose servers need a fix, in
	// the order met; the remedy is written for each.
	bad map[Source][]string
}

func newDNSJudge(v View, exp Expect, srv SRVResults, labelled bool) *dnsJudge {
	j := &dnsJudge{
		exp: exp, srv: srv, labelled: labelled,
		listed:  append(append([]string(nil), exp.SchoolDNS...), exp.Resolvers...),
		targets: map[string]string{}, seen: map[string]bool{},
		status: finding.Pass, bad: map[Source][]string{},
	}
	for _, t := range v.dnsTargets(exp.Suffix) {
		if _, ok := j.targets[t.Server]; !ok {
			j.targets[t.Server] = t.Suffix
		}
	}
	return j
}

// worse raises the verdict to s when s is worse.
func (j *dnsJudge) worse(s finding.Status) {
	if s.Worse(j.status) {
		j.status = s
	}
}

// flag records a problem and raises the verdict.
func (j *dnsJudge) flag(s finding.Status, problem string) {
	j.worse(s)
	j.problems = append(j.problems, problem)
}

func (j *dnsJudge) blame(src Source, origin string) {
	if !slices.Contains(j.bad[src], origin) {
		j.bad[src] = append(j.bad[src], origin)
	}
}

// first reports whether addr is met for the first time.
func (j *dnsJudge) first(addr string) bool {
	if j.seen[addr] {
		return false
	}
	j.seen[addr] = true
	return true
}

// offer checks the option 6 of one DHCPv4 server's offer and each server
// it names.
func (j *dnsJudge) offer(g serverGroup) {
	o, id := g.offers[0], g.id.String()
	switch o.State(OptDNS) {
	case Absent:
		j.blame(SrcOption6, id)
		j.flag(finding.Fail, fmt.Sprintf("DHCP server %s gives no DNS servers (no option 6)", g.id))
		return
	case Malformed:
		j.blame(SrcOption6, id)
		j.flag(finding.Fail, fmt.Sprintf("DHCP server %s sends a malformed option 6 (%s)", g.id, o.Malformed[OptDNS]))
	}
	for _, ip := range o.DNS {
		if addr := DNSAddr(ip); j.first(addr) {
			j.check(addr, ip, SrcOption6, id, map[string]any{"address": addr, "dhcp_server": id})
		}
	}
}

// server6 checks one server from DHCPv6 option 23 or RA RDNSS.
func (j *dnsJudge) server6(s DNSServer) {
	if !j.first(s.Addr) {
		return
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	ip := net.ParseIP(strings.SplitN(host, "%", 2)[0])
	j.check(s.Addr, ip, s.Source, s.Origin, map[string]any{"address": s.Addr, "source": string(s.Source), "origin": s.Origin})
}

// check judges one DNS server: is it listed, and does it answer the SRV
// record a PC would ask it for.
func (j *dnsJudge) check(addr string, ip net.IP, src Source, origin string, row map[string]any) {
	name := ip.String()
	if j.labelled {
		name = fmt.Sprintf("%s (%s)", name, sourceText(src, origin))
	}
	suffix, ok := j.targets[addr]
	if ok {
		row["srv_name"] = "_vlmcs._tcp." + suffix
	}
	j.checkListed(ip, name, src, origin, row)
	sf, found := j.srv[Target{Server: addr, Suffix: suffix}]
	switch {
	case !ok:
		row["srv_status"] = finding.Skip.String()
		j.flag(finding.Unknown, fmt.Sprintf("%s: no suffix to ask it for (no option 15 and no school suffix)", name))
	case !found:
		row["srv_status"] = finding.Unknown.String()
		j.flag(finding.Unknown, fmt.Sprintf("%s: SRV not checked", name))
	default:
		row["srv_status"], row["srv_message"] = sf.Status.String(), sf.Message
		j.judgeSRV(sf, ip, name, src, origin)
	}
	j.rows = append(j.rows, row)
}

// checkListed warns about a server that is neither the school's nor a
// city resolver (when the configuration lists any).
func (j *dnsJudge) checkListed(ip net.IP, name string, src Source, origin string, row map[string]any) {
	if len(j.listed) == 0 {
		return
	}
	isListed := containsAddr(j.listed, ip)
	row["listed"] = isListed
	if !isListed {
		j.worse(finding.Warn)
		j.blame(src, origin)
		j.unlisted = append(j.unlisted, ip.String())
		j.problems = append(j.problems, fmt.Sprintf("%s is neither a school DNS server nor a city resolver", name))
	}
}

// judgeSRV takes a server's dns.srv verdict over.
func (j *dnsJudge) judgeSRV(sf finding.Finding, ip net.IP, name string, src Source, origin string) {
	switch sf.Status {
	case finding.Pass:
		j.working = append(j.working, ip.String())
	case finding.Warn:
		j.working = append(j.working, ip.String())
		j.blame(src, origin)
		j.flag(finding.Warn, fmt.Sprintf("%s: %s", name, sf.Message))
	case finding.Fail:
		j.blame(src, origin)
		j.flag(finding.Fail, fmt.Sprintf("%s: %s", name, sf.Message))
		if sf.Remedy != "" {
			j.remedies = append(j.remedies, fmt.Sprintf("Or add the record on %s: %s", ip, sf.Remedy))
		}
	default:
		j.flag(finding.Unknown, fmt.Sprintf("%s: SRV could not be checked (%s)", name, sf.Message))
	}
}

// finish writes the verdict, its message and, for a fail or warn, the
// remedy for each place that hands out a server needing a fix.
func (j *dnsJudge) finish(f finding.Finding, groups []serverGroup, anyV6 bool) finding.Finding {
	f.Status = j.status
	f.Evidence = finding.EvidenceMap(map[string]any{"dns_servers": nonNilMaps(j.rows), "listed": nonNil(j.listed)})
	working := strings.Join(j.working, ", ")
	switch {
	case j.status == finding.Pass && anyV6:
		f.Message = fmt.Sprintf("every DNS server a PC gets (option 6, DHCPv6, router advertisements) answers the KMS SRV record: %s", working)
		return withID(f, "dhcp.dns.ok_all", "Servers", working)
	case j.status == finding.Pass:
		f.Message = fmt.Sprintf("every DNS server in option 6 answers the KMS SRV record: %s", working)
		return withID(f, "dhcp.dns.ok", "Servers", working)
	}
	f.Message = strings.Join(j.problems, "; ")
	f = withID(f, "dhcp.dns.problems", "Problems", f.Message)
	if j.status == finding.Fail || j.status == finding.Warn {
		f.Remedy = dnsRemedies(j.bad, groups, j.exp, j.working, j.unlisted, j.remedies)
		f.RemedyID = "dhcp.dns.remedy"
		f.Args["Steps"] = f.Remedy
	}
	return f
}

// sourceText names where a DNS server came from, for a problem.
func sourceText(src Source, origin string) string {
	switch src {
	case SrcOption6:
		return "option 6 from DHCP server " + origin
	case SrcDHCPv6DNS:
		return "DHCPv6 option 23 from DHCPv6 server " + origin
	case SrcRARDNSS:
		return "RA RDNSS from router " + origin
	}
	return string(src) + " from " + origin
}

// goodDNS picks what a DHCP server or router should hand out, in one
// address family (option 6 carries IPv4 only; option 23 and RDNSS IPv6
// only): the school's own servers if it has them, else the city
// resolvers, else, when the configuration lists none at all, the servers
// seen working (never an unlisted server just because it answers).
func goodDNS(exp Expect, working []string, v4 bool) []string {
	lists := [][]string{exp.SchoolDNS, exp.Resolvers}
	if len(exp.SchoolDNS)+len(exp.Resolvers) == 0 {
		lists = append(lists, working)
	}
	for _, l := range lists {
		var ips []string
		for _, a := range l {
			h := hostOf(a)
			if ip := net.ParseIP(h); ip != nil && (ip.To4() != nil) == v4 {
				ips = append(ips, h)
			}
		}
		if len(ips) > 0 {
			return ips
		}
	}
	if v4 {
		return []string{"<school DNS server>"}
	}
	return []string{"<school IPv6 DNS server>"}
}

// dnsRemedies gives the fix for each place that handed out a server with
// a problem, in the order option 6, DHCPv6 option 23, RA RDNSS, then the
// records to add and what to do about unlisted servers.
func dnsRemedies(bad map[Source][]string, groups []serverGroup, exp Expect, working, unlisted, extra []string) string {
	var parts []string
	if len(bad[SrcOption6]) > 0 && len(groups) > 0 {
		parts = append(parts, dnsRemedy(groups, bad[SrcOption6], exp, goodDNS(exp, working, true)))
	}
	good6 := goodDNS(exp, working, false)
	if origins := bad[SrcDHCPv6DNS]; len(origins) > 0 {
		list := strings.Join(good6, ",")
		var b strings.Builder
		fmt.Fprintf(&b, "Hand out IPv6 DNS servers that carry the SRV record (DHCPv6 option 23) on DHCPv6 server %s:\n", strings.Join(origins, ", "))
		fmt.Fprintf(&b, "  dnsmasq:      dhcp-option=option6:dns-server,%s\n", bracketAll(good6))
		fmt.Fprintf(&b, "  Kea:          \"option-data\": [ { \"name\": \"dns-servers\", \"data\": \"%s\" } ]  (kea-dhcp6)\n", strings.Join(good6, ", "))
		fmt.Fprintf(&b, "  ISC dhcpd -6: option dhcp6.name-servers %s;\n", strings.Join(good6, ", "))
		fmt.Fprintf(&b, "  Windows DHCP: Set-DhcpServerv6OptionValue -DnsServer %s", list)
		parts = append(parts, b.String())
	}
	if origins := bad[SrcRARDNSS]; len(origins) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "Advertise IPv6 DNS servers that carry the SRV record (RDNSS) from router %s:\n", strings.Join(origins, ", "))
		fmt.Fprintf(&b, "  radvd:        RDNSS %s { };  (in the interface block of radvd.conf)\n", strings.Join(good6, " "))
		fmt.Fprintf(&b, "  dnsmasq:      dhcp-option=option6:dns-server,%s  (its router advertisements carry the same servers)\n", bracketAll(good6))
		fmt.Fprintf(&b, "  Cisco IOS:    ipv6 nd ra dns server %s", good6[0])
		parts = append(parts, b.String())
	}
	parts = append(parts, extra...)
	if len(unlisted) > 0 {
		parts = append(parts, fmt.Sprintf("If %s is one of the school's own DNS servers, add it to the school's dns: in schools.yaml instead.", strings.Join(unlisted, ", ")))
	}
	return strings.Join(parts, "\n")
}

// bracketAll writes IPv6 addresses as dnsmasq's option6 lines want them.
func bracketAll(ips []string) string {
	out := make([]string, len(ips))
	for i, a := range ips {
		if strings.Contains(a, ":") {
			a = "[" + a + "]"
		}
		out[i] = a
	}
	return strings.Join(out, ",")
}

// dnsRemedy is the option-6 fix, for the DHCPv4 server that handed out a
// bad server, or the allowed one when a server gave none.
func dnsRemedy(groups []serverGroup, origins []string, exp Expect, good []string) string {
	list := strings.Join(good, ",")
	var b strings.Builder
	// The allowed server that handed out a bad server, else the first
	// allowed one (a rogue's option 6 is dhcp.rogue's to fix), else the
	// first.
	allowed := func(c serverGroup) bool { return len(exp.AllowedServers) == 0 || containsIP(exp.AllowedServers, c.id) }
	g, found := groups[0], false
	for _, c := range groups {
		if allowed(c) && slices.Contains(origins, c.id.String()) {
			g, found = c, true
			break
		}
	}
	for _, c := range groups {
		if !found && allowed(c) {
			g, found = c, true
		}
	}
	fmt.Fprintf(&b, "Hand out DNS servers that carry the SRV record (option 6) on DHCP server %s:\n", g.id)
	fmt.Fprintf(&b, "  dnsmasq:      dhcp-option=option:dns-server,%s\n", list)
	fmt.Fprintf(&b, "  ISC dhcpd:    option domain-name-servers %s;\n", strings.Join(good, ", "))
	fmt.Fprintf(&b, "  Kea:          \"option-data\": [ { \"name\": \"domain-name-servers\", \"data\": \"%s\" } ]\n", strings.Join(good, ", "))
	fmt.Fprintf(&b, "  Windows DHCP: Set-DhcpServerv4OptionValue %s-DnsServer %s", scopeArg(scopeID(g.offers[0])), list)
	return b.String()
}

// ErrorFindings reports a Discover that could not run: unknown for every
// DHCP check, since the probe, not the school, is at fault. Without
// privilege the remedy is the exact setcap command.
func ErrorFindings(iface string, err error) []finding.Finding {
	msg := fmt.Sprintf("cannot probe DHCP on %s: %v", iface, err)
	remedy, id, rid := "", "dhcp.error", ""
	// os.ErrPermission, which ErrPermission wraps, also covers a caller's
	// own socket failing with EPERM or EACCES.
	if errors.Is(err, os.ErrPermission) {
		msg = fmt.Sprintf("cannot probe DHCP on %s: a raw socket needs root or cap_net_raw", iface)
		remedy = "Run kmsprobe as root, or grant it the capabilities once:\n  " + SetcapCommand()
		id, rid = "dhcp.error.permission", "dhcp.error.permission.remedy"
	}
	var fs []finding.Finding
	for _, c := range []string{finding.DHCPOffer, finding.DHCPSuffix, finding.DHCPDNS, finding.DHCPRogue, finding.DHCPSearch} {
		fs = append(fs, withID(finding.Finding{Check: c, Server: iface, Status: finding.Unknown, Message: msg, Remedy: remedy, RemedyID: rid,
			Evidence: finding.EvidenceMap(map[string]any{"error": err.Error()})}, id, "Iface", iface, "Error", err.Error(), "Command", SetcapCommand()))
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

func replies6Evidence(rs []Reply6) []map[string]any {
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		e := map[string]any{"server_duid": r.ServerDUID, "source": ipText(r.Source), "server_mac": macText(r.ServerMAC)}
		if r.HasDNS {
			e["dns"] = ipStrings(r.DNS)
		}
		if r.HasDomains {
			e["domains"] = nonNil(r.Domains)
		}
		if r.Malformed != "" {
			e["malformed"] = r.Malformed
		}
		out = append(out, e)
	}
	return out
}

func advertsEvidence(as []RouterAdvert) []map[string]any {
	out := make([]map[string]any, 0, len(as))
	for _, a := range as {
		e := map[string]any{"source": ipText(a.Source), "mac": macText(a.MAC), "lifetime_s": int64(a.Lifetime / time.Second),
			"managed": a.Managed, "other": a.Other, "rdnss": ipStrings(a.RDNSS), "dnssl": nonNil(a.DNSSL)}
		if len(a.Withdrawn) > 0 {
			e["withdrawn"] = a.Withdrawn
		}
		if a.Malformed != "" {
			e["malformed"] = a.Malformed
		}
		out = append(out, e)
	}
	return out
}
