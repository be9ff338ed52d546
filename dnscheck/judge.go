package dnscheck

import (
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/finding"
)

// Expect is what every SRV record must point at: the KMS host.
type Expect struct {
	Host string // e.g. ap24.kh.edu.tw (trailing dot optional)
	Port uint16 // 1688
}

func (e Expect) fqdn() string { return dns.Fqdn(strings.ToLower(e.Host)) }

// Role says what kind of server was asked; the remedy differs. A city
// resolver only caches, so its fix is on the suffix's authoritative server.
type Role int

const (
	SchoolDNS    Role = iota // a server listed under the school's dns:
	CityResolver             // one of resolvers:
	OfferedDNS               // handed out by DHCP option 6
)

// String is the evidence value renderers group columns by.
func (r Role) String() string {
	switch r {
	case CityResolver:
		return "resolver"
	case OfferedDNS:
		return "dhcp"
	}
	return "school"
}

// SRVName is the record a KMS client asks for.
func SRVName(suffix string) string {
	return dns.Fqdn("_vlmcs._tcp." + strings.ToLower(strings.TrimSuffix(suffix, ".")))
}

// SRVRecords returns the SRV records of an answer, sorted for stable output.
func SRVRecords(a Answer) []*dns.SRV {
	if a.Msg == nil {
		return nil
	}
	var out []*dns.SRV
	for _, rr := range a.Msg.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return srvString(out[i]) < srvString(out[j]) })
	return out
}

func srvString(s *dns.SRV) string {
	return fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, strings.ToLower(s.Target))
}

// baseEvidence is what every DNS finding shows: enough to tell a timeout
// from a refusal and UDP from TCP without re-running the probe.
func baseEvidence(a Answer) finding.Evidence {
	ev := finding.Evidence{
		"query":     a.Query.Name,
		"qtype":     dns.TypeToString[a.Query.Type],
		"rtt_ms":    math.Round(float64(a.RTT.Microseconds())/10) / 100,
		"attempts":  a.Attempts,
		"transport": a.Transport,
	}
	if a.Truncated {
		ev["truncated_udp"] = true
	}
	if a.Msg != nil {
		ev["rcode"] = dns.RcodeToString[a.Msg.Rcode]
	} else {
		ev["error"] = string(a.Fail)
		if a.Err != nil {
			ev["error_detail"] = a.Err.Error()
		}
	}
	return ev
}

// SRVRemedy is the fix for a missing or wrong record, in the two forms
// admins here use: a BIND zone-file line and the Windows DNS cmdlet.
func SRVRemedy(suffix string, exp Expect, role Role) string {
	suffix = strings.TrimSuffix(strings.ToLower(suffix), ".")
	zone := fmt.Sprintf("%s 3600 IN SRV 0 0 %d %s", SRVName(suffix), exp.Port, exp.fqdn())
	win := fmt.Sprintf(`Add-DnsServerResourceRecord -ZoneName "%s" -Srv -Name "_vlmcs._tcp" -DomainName "%s" -Priority 0 -Weight 0 -Port %d`,
		suffix, strings.TrimSuffix(exp.fqdn(), "."), exp.Port)
	switch role {
	case CityResolver:
		return fmt.Sprintf("the city resolvers only cache: put %s on the authoritative DNS server of %s, then let the cached answer expire (or flush the resolvers' cache)", zone, suffix)
	default:
		return fmt.Sprintf("add to the zone %s: %s ; on Windows DNS: %s", suffix, zone, win)
	}
}

// failureMessage words an exchange that produced no usable response.
func failureMessage(a Answer, perAttempt string) string {
	srv := a.Query.Server
	switch a.Fail {
	case Timeout:
		if a.Truncated {
			return fmt.Sprintf("answer truncated over UDP and the TCP retry to %s timed out: PCs cannot read the full answer; allow TCP 53", srv)
		}
		return fmt.Sprintf("timeout: %s did not answer in %d attempt(s) of %s (server down, or port 53 filtered)", srv, a.Attempts, perAttempt)
	case PortClosed:
		if a.Truncated {
			return fmt.Sprintf("answer truncated over UDP and %s refused the TCP retry: allow TCP 53", srv)
		}
		return fmt.Sprintf("no DNS service at %s: port closed (ICMP port unreachable or reset)", srv)
	case Unreachable:
		return fmt.Sprintf("%s is unreachable (no route to host)", srv)
	case Mismatch:
		return fmt.Sprintf("%s answered a different question than asked (%v): a broken middlebox or spoofing", srv, a.Err)
	case Malformed:
		return fmt.Sprintf("%s sent an answer that is not valid DNS: %v", srv, a.Err)
	case Cancelled:
		return "not asked: the audit was stopped before this answer arrived"
	}
	return fmt.Sprintf("exchange with %s failed: %v", srv, a.Err)
}

// rcodeMessage words a response with an error code or no SRV data.
func rcodeMessage(a Answer) string {
	name := strings.TrimSuffix(a.Query.Name, ".")
	switch a.Msg.Rcode {
	case dns.RcodeNameError:
		return fmt.Sprintf("NXDOMAIN for %s: the record does not exist", name)
	case dns.RcodeRefused:
		return fmt.Sprintf("REFUSED: the server will not answer %s for the probe (recursion or the zone is not allowed for this client address)", name)
	case dns.RcodeServerFailure:
		return fmt.Sprintf("SERVFAIL for %s: the server could not resolve it (upstream unreachable or a DNSSEC failure)", name)
	case dns.RcodeSuccess:
		return fmt.Sprintf("NODATA: %s exists but has no SRV record", name)
	}
	return fmt.Sprintf("%s for %s", dns.RcodeToString[a.Msg.Rcode], name)
}

// JudgeSRV rules on one server's answer to _vlmcs._tcp.<suffix> SRV per
// DESIGN.md §4. It is pure: everything it needs is in its arguments.
// perAttempt is only used to word a timeout.
func JudgeSRV(a Answer, suffix string, exp Expect, role Role, perAttempt string) finding.Finding {
	f := finding.Finding{Check: finding.DNSSRV, Server: a.Query.Server, Evidence: baseEvidence(a)}
	f.Evidence["role"] = role.String()
	remedy := SRVRemedy(suffix, exp, role)
	if a.Msg == nil {
		f.Status, f.Message, f.Short = finding.Fail, failureMessage(a, perAttempt), string(a.Fail)
		if a.Truncated {
			f.Short = "TC, TCP " + string(a.Fail)
		}
		if a.Fail == Cancelled {
			f.Status = finding.Unknown
		} else if a.Truncated {
			f.Remedy = fmt.Sprintf("allow DNS over TCP port 53 to %s from the clients (firewall), or keep the answer small enough for UDP", a.Query.Server)
		} else {
			f.Remedy = fmt.Sprintf("check that %s runs a DNS service reachable on UDP and TCP 53 from the school's PCs; if it is retired, remove it from the school's DHCP option 6 and from schools.yaml", a.Query.Server)
		}
		return f
	}
	recs := SRVRecords(a)
	if len(recs) > 0 {
		strs := make([]string, len(recs))
		ttl := uint32(math.MaxUint32)
		for i, r := range recs {
			strs[i] = srvString(r)
			ttl = min(ttl, r.Hdr.Ttl)
		}
		f.Evidence["records"] = strs
		f.Evidence["ttl"] = ttl
	}
	if a.Msg.Rcode != dns.RcodeSuccess || len(recs) == 0 {
		f.Status, f.Message, f.Remedy = finding.Fail, rcodeMessage(a), remedy
		f.Short = dns.RcodeToString[a.Msg.Rcode]
		if a.Msg.Rcode == dns.RcodeSuccess {
			f.Short = "NODATA"
		}
		if a.Msg.Rcode == dns.RcodeRefused {
			f.Remedy = fmt.Sprintf("allow the school's networks (and this probe) to query %s (BIND: allow-query / allow-recursion; Windows DNS: recursion and zone settings), then: %s", a.Query.Server, remedy)
		}
		return f
	}

	want := exp.fqdn()
	var exact, rightPort, others []*dns.SRV
	for _, r := range recs {
		switch {
		case r.Port == exp.Port && strings.EqualFold(r.Target, want):
			exact = append(exact, r)
		case r.Port == exp.Port:
			rightPort = append(rightPort, r)
		default:
			others = append(others, r)
		}
	}
	name := strings.TrimSuffix(a.Query.Name, ".")
	switch {
	case len(exact) > 0 && len(rightPort)+len(others) == 0:
		f.Status, f.Short = finding.Pass, "ok"
		f.Message = fmt.Sprintf("%s -> %s port %d", name, strings.TrimSuffix(want, "."), exp.Port)
	case len(exact) > 0:
		extra := append(rightPort, others...)
		f.Status, f.Short = finding.Warn, "extra records"
		f.Message = fmt.Sprintf("%s has the right record and %d extra (%s): Windows picks among SRV records, so some PCs will try them", name, len(extra), joinSRV(extra))
		f.Remedy = fmt.Sprintf("remove the extra record(s) from the zone %s, keep only: %s 3600 IN SRV 0 0 %d %s", suffix, SRVName(suffix), exp.Port, want)
	case len(rightPort) > 0:
		f.Status, f.Short = finding.Warn, "other target"
		f.Message = fmt.Sprintf("%s points at %s, not %s (port %d is right; dns.target decides whether that name reaches the KMS host)", name, joinTargets(rightPort), strings.TrimSuffix(want, "."), exp.Port)
		f.Remedy = remedy
	default:
		f.Status, f.Short = finding.Fail, "wrong port"
		f.Message = fmt.Sprintf("%s has no record with port %d (found %s)", name, exp.Port, joinSRV(others))
		f.Remedy = remedy
	}
	return f
}

func joinSRV(rs []*dns.SRV) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%s:%d", strings.TrimSuffix(r.Target, "."), r.Port)
	}
	return strings.Join(s, ", ")
}

func joinTargets(rs []*dns.SRV) string {
	s := make([]string, 0, len(rs))
	for _, r := range rs {
		t := strings.TrimSuffix(strings.ToLower(r.Target), ".")
		if !slices.Contains(s, t) {
			s = append(s, t)
		}
	}
	return strings.Join(s, ", ")
}

// Targets returns the distinct targets of an answer's SRV records with the
// port of the expected host, lower case FQDNs: the names a PC would go on
// to resolve and connect to.
func Targets(a Answer, exp Expect) []string {
	var out []string
	for _, r := range SRVRecords(a) {
		if r.Port != exp.Port {
			continue
		}
		t := dns.Fqdn(strings.ToLower(r.Target))
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Addresses returns the A or AAAA addresses of an answer.
func Addresses(a Answer) []net.IP {
	if a.Msg == nil || a.Msg.Rcode != dns.RcodeSuccess {
		return nil
	}
	var out []net.IP
	for _, rr := range a.Msg.Answer {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A)
		case *dns.AAAA:
			out = append(out, r.AAAA)
		}
	}
	return out
}

// JudgeTarget rules on one SRV target as resolved through the server that
// gave the SRV record (a PC asks the same server). a4 and a6 are its A and
// AAAA answers; kmsAddrs are the KMS host's addresses (the reference);
// an empty reference means they are unknown, and only "resolves at all"
// can be judged.
func JudgeTarget(server, target string, a4, a6 Answer, exp Expect, kmsAddrs []net.IP) finding.Finding {
	target = dns.Fqdn(strings.ToLower(target))
	name := strings.TrimSuffix(target, ".")
	host := strings.TrimSuffix(exp.fqdn(), ".")
	f := finding.Finding{Check: finding.DNSTarget, Server: server, Evidence: finding.Evidence{"target": name}}
	addrs := append(Addresses(a4), Addresses(a6)...)
	strs := ipStrings(addrs)
	f.Evidence["addresses"] = strs
	f.Evidence["rtt_ms"] = math.Round(float64(max(a4.RTT, a6.RTT).Microseconds())/10) / 100
	if len(kmsAddrs) > 0 {
		f.Evidence["kms_addresses"] = ipStrings(kmsAddrs)
	}
	for _, a := range []Answer{a4, a6} {
		if a.Msg != nil {
			f.Evidence["rcode_"+strings.ToLower(dns.TypeToString[a.Query.Type])] = dns.RcodeToString[a.Msg.Rcode]
		} else if a.Fail != NoFailure {
			f.Evidence["error_"+strings.ToLower(dns.TypeToString[a.Query.Type])] = string(a.Fail)
		}
	}
	isHost := target == exp.fqdn()
	if len(addrs) == 0 {
		f.Status = finding.Fail
		switch {
		case a4.Fail == Cancelled || a6.Fail == Cancelled:
			f.Status, f.Message, f.Short = finding.Unknown, "not asked: the audit was stopped", "stopped"
			return f
		case a4.Msg == nil && a6.Msg == nil:
			f.Message = fmt.Sprintf("no answer for %s's address (%s)", name, a4.Fail)
			f.Short = string(a4.Fail)
		case rc(a4) == dns.RcodeNameError || rc(a6) == dns.RcodeNameError:
			f.Message = fmt.Sprintf("%s does not exist (NXDOMAIN): the SRV record points at a dangling name", name)
			f.Short = "dangling"
		default:
			f.Message = fmt.Sprintf("%s has no A or AAAA record: PCs find the name but no address", name)
			f.Short = "no address"
		}
		if isHost {
			f.Remedy = fmt.Sprintf("make %s resolve %s (check its forwarders or root hints; the KMS host's A record lives in the kh.edu.tw zone)", server, host)
		} else {
			f.Remedy = fmt.Sprintf("point the SRV record at %s instead of %s", host, name)
		}
		return f
	}
	if len(kmsAddrs) == 0 {
		// Without a reference, resolving is all that can be shown; do
		// not call it a pass for a foreign name.
		if isHost {
			f.Status, f.Message, f.Short = finding.Pass, fmt.Sprintf("%s -> %s", name, strings.Join(strs, ", ")), "ok"
		} else {
			f.Status, f.Short = finding.Warn, "unverified"
			f.Message = fmt.Sprintf("%s -> %s; the KMS host's own addresses are unknown (no city resolver gave them), so this cannot be compared", name, strings.Join(strs, ", "))
			f.Remedy = fmt.Sprintf("point the SRV record at %s", host)
		}
		return f
	}
	var foreign []string
	for _, ip := range addrs {
		if !containsIP(kmsAddrs, ip) {
			foreign = append(foreign, ip.String())
		}
	}
	switch {
	case len(foreign) == 0 && isHost:
		f.Status, f.Message, f.Short = finding.Pass, fmt.Sprintf("%s -> %s", name, strings.Join(strs, ", ")), "ok"
	case len(foreign) == 0:
		f.Status, f.Short = finding.Warn, "alias"
		f.Message = fmt.Sprintf("%s is another name for the KMS host (-> %s): it works, but breaks when %s moves", name, strings.Join(strs, ", "), host)
		f.Remedy = fmt.Sprintf("point the SRV record at %s itself", host)
	default:
		f.Status, f.Short = finding.Fail, "elsewhere"
		f.Message = fmt.Sprintf("%s resolves elsewhere: %s is not the KMS host %s (%s)", name, strings.Join(foreign, ", "), host, strings.Join(ipStrings(kmsAddrs), ", "))
		if isHost {
			f.Remedy = fmt.Sprintf("%s serves a wrong address for %s: remove the local override (a stale zone or hosts entry) so it resolves to %s", server, host, strings.Join(ipStrings(kmsAddrs), ", "))
		} else {
			f.Remedy = fmt.Sprintf("point the SRV record at %s instead of %s", host, name)
		}
	}
	return f
}

func rc(a Answer) int { return a.Rcode() }

func containsIP(list []net.IP, ip net.IP) bool {
	for _, x := range list {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		if s := ip.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// RecordSet is the comparable form of one server's SRV answer: the sorted
// records, or the rcode when there are none.
func RecordSet(a Answer) string {
	if a.Msg == nil {
		return ""
	}
	recs := SRVRecords(a)
	if len(recs) == 0 {
		if a.Msg.Rcode == dns.RcodeSuccess {
			return "NODATA"
		}
		return dns.RcodeToString[a.Msg.Rcode]
	}
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = srvString(r)
	}
	return strings.Join(s, "; ")
}

// JudgeConsistency compares the SRV answers of all servers of one school.
// Servers that gave no response are left out: dns.srv already fails them,
// and "no answer" is not a record set to disagree with.
func JudgeConsistency(school string, answers []Answer) finding.Finding {
	f := finding.Finding{Check: finding.DNSConsistency, Evidence: finding.Evidence{}}
	groups := map[string][]string{}
	for _, a := range answers {
		if set := RecordSet(a); set != "" {
			groups[set] = append(groups[set], a.Query.Server)
		}
	}
	sets := map[string]string{}
	n := 0
	for set, servers := range groups {
		for _, s := range servers {
			sets[s] = set
			n++
		}
	}
	f.Evidence["sets"] = sets
	switch {
	case n < 2:
		f.Status, f.Short = finding.Skip, "-"
		f.Message = "fewer than two servers answered: nothing to compare"
		return f
	case len(groups) == 1:
		f.Status, f.Short = finding.Pass, "agree"
		f.Message = fmt.Sprintf("all %d servers that answered agree", n)
		return f
	}
	// The majority is taken as the intended set; the others are the odd
	// ones. On a tie there is no majority, so every group is named.
	type group struct {
		set     string
		servers []string
	}
	var gs []group
	for set, servers := range groups {
		sort.Strings(servers)
		gs = append(gs, group{set, servers})
	}
	sort.Slice(gs, func(i, j int) bool {
		if len(gs[i].servers) != len(gs[j].servers) {
			return len(gs[i].servers) > len(gs[j].servers)
		}
		return gs[i].set < gs[j].set
	})
	f.Status, f.Short = finding.Warn, "differ"
	if len(gs[0].servers) > len(gs[1].servers) {
		var odd []string
		for _, g := range gs[1:] {
			for _, s := range g.servers {
				odd = append(odd, fmt.Sprintf("%s says %q", s, g.set))
			}
		}
		f.Server = gs[1].servers[0]
		f.Message = fmt.Sprintf("servers disagree: %s; the other %d say %q", strings.Join(odd, ", "), len(gs[0].servers), gs[0].set)
		f.Remedy = "PCs get different answers depending on which DNS server they ask: make the odd server(s) serve the same record (stale secondary? flush its cache or fix the zone transfer)"
	} else {
		parts := make([]string, len(gs))
		for i, g := range gs {
			parts[i] = fmt.Sprintf("%s say %q", strings.Join(g.servers, ", "), g.set)
		}
		f.Message = "servers disagree: " + strings.Join(parts, "; ")
		f.Remedy = "PCs get different answers depending on which DNS server they ask: decide which record is right and serve it everywhere"
	}
	return f
}
