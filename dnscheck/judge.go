package dnscheck

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Expect is what every SRV record must point at: the KMS host.
type Expect struct {
	Host string // e.g. ap24.kh.edu.tw (trailing dot optional)
	Port uint16 // 1688
}

func (e Expect) fqdn() string { return dnsname.FQDN(e.Host) }

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
func SRVName(suffix string) string { return dnsname.SRVName(suffix) }

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

func srvEvidence(a Answer, role Role) SRVEvidence {
	ev := SRVEvidence{
		Query:        a.Query.Name,
		QType:        dns.TypeToString[a.Query.Type],
		RTTms:        ms(a.RTT),
		Attempts:     a.Attempts,
		Transport:    a.Transport,
		TruncatedUDP: a.Truncated,
		Role:         role.String(),
		Ignored:      a.Ignored,
		IgnoredCount: a.IgnoredCount,
	}
	if a.Msg != nil {
		ev.Rcode = dns.RcodeToString[a.Msg.Rcode]
	} else {
		ev.Error = string(a.Fail)
		if a.Err != nil {
			ev.ErrorDetail = a.Err.Error()
		}
	}
	return ev
}

// zoneArgs are the two forms of the fix admins here use: a BIND zone-file
// line and the Windows DNS cmdlet.
func zoneArgs(suffix string, exp Expect) map[string]string {
	suffix = dnsname.Canonical(suffix)
	host := exp.fqdn()
	return map[string]string{
		"Suffix":   suffix,
		"ZoneLine": fmt.Sprintf("%s 3600 IN SRV 0 0 %d %s", SRVName(suffix), exp.Port, host),
		"Cmdlet": fmt.Sprintf(`Add-DnsServerResourceRecord -ZoneName "%s" -Srv -Name "_vlmcs._tcp" -DomainName "%s" -Priority 0 -Weight 0 -Port %d`,
			suffix, strings.TrimSuffix(host, "."), exp.Port),
	}
}

func srvRemedyID(role Role) string {
	if role == CityResolver {
		return "dns.srv.add_record_city"
	}
	return "dns.srv.add_record"
}

// SRVRemedy is the fix for a missing or wrong record, in the two forms
// admins here use: a BIND zone-file line and the Windows DNS cmdlet.
func SRVRemedy(suffix string, exp Expect, role Role) string {
	return expand(srvRemedyID(role), zoneArgs(suffix, exp))
}

// failure words an exchange that produced no usable response: message id,
// short cell text and the remedy id.
func failure(a Answer) (id, short, remedy string) {
	short = string(a.Fail)
	if a.Truncated {
		short = "TC, TCP " + short
	}
	switch a.Fail {
	case Cancelled:
		return "dns.srv.stopped", short, ""
	case Timeout:
		if a.Truncated {
			return "dns.srv.tcp_timeout", short, "dns.srv.allow_tcp"
		}
		return "dns.srv.timeout", short, "dns.srv.check_server"
	case PortClosed:
		if a.Truncated {
			return "dns.srv.tcp_refused", short, "dns.srv.allow_tcp"
		}
		return "dns.srv.port_closed", short, "dns.srv.check_server"
	case Unreachable:
		return "dns.srv.unreachable", short, "dns.srv.check_server"
	case Mismatch:
		return "dns.srv.mismatch", short, "dns.srv.check_path"
	case MismatchedID:
		return "dns.srv.mismatched_id", short, "dns.srv.check_path"
	case Malformed:
		return "dns.srv.malformed", short, "dns.srv.check_path"
	case TruncatedTCP:
		return "dns.srv.truncated_tcp", "TC over TCP", "dns.srv.fix_tcp_truncation"
	}
	if a.Truncated {
		return "dns.srv.error", short, "dns.srv.allow_tcp"
	}
	return "dns.srv.error", short, "dns.srv.check_server"
}

func rcodeID(rcode int) string {
	switch rcode {
	case dns.RcodeNameError:
		return "dns.srv.nxdomain"
	case dns.RcodeRefused:
		return "dns.srv.refused"
	case dns.RcodeServerFailure:
		return "dns.srv.servfail"
	case dns.RcodeSuccess:
		return "dns.srv.nodata"
	}
	return "dns.srv.rcode"
}

// mismatchedIDs reads the exchange's account of a mismatched id.
var mismatchedIDs = regexp.MustCompile(`^an answer with id (\d+) \(asked with id (\d+)\)$`)

func errDetail(a Answer) string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return string(a.Fail)
}

// JudgeSRV rules on one server's answer to _vlmcs._tcp.<suffix> SRV per
// DESIGN.md §4 and the trust rules of §4.1. It is pure: everything it
// needs is in its arguments. perAttempt is the timeout of one attempt, as
// the exchange used it.
func JudgeSRV(a Answer, suffix string, exp Expect, role Role, perAttempt time.Duration) (f finding.Finding) {
	f = finding.Finding{Check: finding.DNSSRV, Server: a.Query.Server}
	ev := srvEvidence(a, role)
	defer func() { f.Evidence = finding.NewEvidence(ev) }()
	name := strings.TrimSuffix(a.Query.Name, ".")
	args := map[string]string{
		"Server": a.Query.Server, "Port": serverPort(a.Query.Server), "Name": name,
		"Host": strings.TrimSuffix(exp.fqdn(), "."), "KMSPort": strconv.Itoa(int(exp.Port)),
	}
	if a.Msg == nil {
		id, short, remedy := failure(a)
		args["Attempts"] = strconv.Itoa(a.Attempts)
		args["PerAttempt"] = perAttempt.String()
		args["Detail"] = errDetail(a)
		if m := mismatchedIDs.FindStringSubmatch(args["Detail"]); id == "dns.srv.mismatched_id" && m != nil {
			// The two ids as arguments: the sentence around them translates.
			id, args["GotID"], args["AskedID"] = "dns.srv.mismatched_id_got", m[1], m[2]
		}
		f.Status, f.Short = finding.Fail, short
		say(&f, id, args)
		switch {
		case a.Fail == Cancelled:
			f.Status = finding.Unknown
		case role == CityResolver && remedy == "dns.srv.check_server":
			// A city resolver is not the school's to retire: the fix is
			// the city's (DESIGN §4.2).
			advise(&f, infraRemedy(a), nil)
		default:
			advise(&f, remedy, nil)
		}
		return f
	}
	o := ownedRecords(a)
	ev.Foreign = rrStrings(o.foreign)
	recs := SRVRecords(a)
	if len(recs) > 0 {
		strs := make([]string, len(recs))
		ttl := uint32(math.MaxUint32)
		for i, r := range recs {
			strs[i] = srvString(r)
			ttl = min(ttl, r.Hdr.Ttl)
		}
		ev.Records, ev.TTL = strs, &ttl
	}
	// Only a finding with a remedy needs the zone line and cmdlet.
	zone := func() map[string]string { return zoneArgs(suffix, exp) }
	if a.Msg.Rcode != dns.RcodeSuccess || len(recs) == 0 {
		f.Status = finding.Fail
		f.Short = dns.RcodeToString[a.Msg.Rcode]
		id := rcodeID(a.Msg.Rcode)
		args["Rcode"] = f.Short
		if a.Msg.Rcode == dns.RcodeSuccess {
			f.Short = "NODATA"
			if len(o.foreign) > 0 {
				id, f.Short = "dns.srv.foreign_only", "other owner"
				args["Foreign"] = listedOf(rrStrings(o.foreign[:min(len(o.foreign), maxListed)]), len(o.foreign), maxListed, "; ")
			}
		}
		say(&f, id, args)
		switch {
		case a.Msg.Rcode == dns.RcodeRefused && role == CityResolver:
			advise(&f, "dns.infra.fix_refused", nil)
		case a.Msg.Rcode == dns.RcodeRefused:
			advise(&f, "dns.srv.allow_query", zone())
		default:
			advise(&f, srvRemedyID(role), zone())
		}
		return f
	}

	want := exp.fqdn()
	var exact, rightPort, none, others []*dns.SRV
	for _, r := range recs {
		switch {
		case NoService(r):
			none = append(none, r)
		case r.Port == exp.Port && strings.EqualFold(r.Target, want):
			exact = append(exact, r)
		case r.Port == exp.Port:
			rightPort = append(rightPort, r)
		default:
			others = append(others, r)
		}
	}
	ev.NotFollowed = NotFollowed(a, exp)
	switch {
	case len(exact) > 0 && len(rightPort)+len(others)+len(none) == 0:
		f.Status, f.Short = finding.Pass, "ok"
		say(&f, "dns.srv.ok", args)
	case len(exact) > 0:
		extra := slices.Concat(rightPort, others, none)
		f.Status, f.Short = finding.Warn, "extra records"
		args["ExtraCount"] = strconv.Itoa(len(extra))
		args["Extra"] = joinSRV(extra)
		say(&f, "dns.srv.extra", args)
		advise(&f, "dns.srv.remove_extra", zone())
	case len(rightPort) > 0:
		f.Status, f.Short = finding.Warn, "other target"
		args["Targets"] = joinTargets(rightPort)
		say(&f, "dns.srv.other_target", args)
		advise(&f, srvRemedyID(role), zone())
	case len(none) > 0:
		f.Status, f.Short = finding.Fail, "no service"
		say(&f, "dns.srv.no_service", args)
		advise(&f, srvRemedyID(role), zone())
	default:
		f.Status, f.Short = finding.Fail, "wrong port"
		args["Found"] = joinSRV(others)
		say(&f, "dns.srv.wrong_port", args)
		advise(&f, srvRemedyID(role), zone())
	}
	return f
}

func targetName(t string) string {
	if dnsname.IsRoot(t) {
		return "."
	}
	return dnsname.Canonical(t)
}

// joinSRV names a few records ("target:port") and counts the rest.
func joinSRV(rs []*dns.SRV) string {
	s := make([]string, min(len(rs), maxListed))
	for i := range s {
		s[i] = fmt.Sprintf("%s:%d", targetName(rs[i].Target), rs[i].Port)
	}
	return listedOf(s, len(rs), maxListed, ", ")
}

func joinTargets(rs []*dns.SRV) string {
	s := make([]string, 0, len(rs))
	for _, r := range rs {
		if t := targetName(r.Target); !slices.Contains(s, t) {
			s = append(s, t)
		}
	}
	return listed(s, ", ")
}

// ServerFault says whether an answer shows the SERVER's own fault (it does
// not answer, refuses, fails, or answers with a mismatched id or garbage)
// rather than a problem with the record it was asked for (NXDOMAIN,
// NODATA, a wrong target or port, a stale cache). The orchestrator uses it
// to report a shared server's fault once (DESIGN §4.2); whether a fault
// holds for every name (a resolver that SERVFAILs only for one school's
// zone is that zone's problem) is for it to see across schools. why is a
// few words for logs and tests. A stopped audit is nobody's fault.
func ServerFault(a Answer) (fault bool, why string) {
	if a.Msg == nil {
		switch a.Fail {
		case Cancelled, NoFailure:
			return false, "not asked"
		case Timeout:
			if a.Truncated {
				return true, "TCP retry timed out"
			}
			return true, "no answer"
		case PortClosed:
			return true, "port closed"
		case Unreachable:
			return true, "unreachable"
		case MismatchedID:
			return true, "answered with a mismatched id"
		case Mismatch:
			return true, "answered another question"
		case Malformed:
			return true, "answered with garbage"
		case TruncatedTCP:
			return true, "truncated even over TCP"
		}
		return true, "network error"
	}
	switch a.Msg.Rcode {
	case dns.RcodeRefused:
		return true, "REFUSED"
	case dns.RcodeServerFailure:
		return true, "SERVFAIL"
	case dns.RcodeNotImplemented, dns.RcodeFormatError:
		return true, dns.RcodeToString[a.Msg.Rcode]
	}
	return false, "record problem"
}

func infraRemedy(a Answer) string {
	switch {
	case a.Msg != nil && a.Msg.Rcode == dns.RcodeRefused:
		return "dns.infra.fix_refused"
	case a.Msg != nil:
		return "dns.infra.fix_servfail"
	case a.Fail == Mismatch || a.Fail == MismatchedID || a.Fail == Malformed:
		return "dns.infra.fix_path"
	}
	return "dns.infra.fix_answering"
}

// JudgeSharedServer is the finding about a shared server's own fault
// (ServerFault true), reported once in the infrastructure list with the
// remedy for the people who run it ("163.28.136.21:53 does not answer: the
// city's DNS operators must …"), never the school's remedy. For an answer
// that is no server fault it returns ok false.
func JudgeSharedServer(a Answer, role Role, perAttempt time.Duration) (f finding.Finding, ok bool) {
	fault, why := ServerFault(a)
	if !fault {
		return finding.Finding{}, false
	}
	f = finding.Finding{Check: finding.DNSSRV, Server: a.Query.Server, Status: finding.Fail, Short: why}
	ev := srvEvidence(a, role)
	args := map[string]string{
		"Server": a.Query.Server, "Port": serverPort(a.Query.Server),
		"Name": strings.TrimSuffix(a.Query.Name, "."), "Why": why,
	}
	switch {
	case a.Msg != nil && a.Msg.Rcode == dns.RcodeRefused:
		say(&f, "dns.infra.refused", args)
	case a.Msg != nil:
		f.Short = dns.RcodeToString[a.Msg.Rcode]
		say(&f, "dns.infra.servfail", args)
	default:
		if a.Fail == Timeout && !a.Truncated {
			args["Attempts"], args["PerAttempt"] = strconv.Itoa(a.Attempts), perAttempt.String()
			say(&f, "dns.infra.timeout", args)
			break
		}
		say(&f, "dns.infra.no_answer", args)
	}
	advise(&f, infraRemedy(a), nil)
	f.Evidence = finding.NewEvidence(ev)
	return f, true
}

// JudgeTarget rules on one SRV target as resolved through the server that
// gave the SRV record (a PC asks the same server). a4 and a6 are its A and
// AAAA answers; kmsAddrs are the KMS host's addresses (the reference, from
// witnesses the caller trusts); an empty reference means they are
// unknown, and only "resolves at all" can be judged.
func JudgeTarget(server, target string, a4, a6 Answer, exp Expect, kmsAddrs []net.IP) (f finding.Finding) {
	target = dnsname.FQDN(target)
	name := strings.TrimSuffix(target, ".")
	host := strings.TrimSuffix(exp.fqdn(), ".")
	f = finding.Finding{Check: finding.DNSTarget, Server: server}
	o4, o6 := ownedRecords(a4), ownedRecords(a6)
	addrs := append(Addresses(a4), Addresses(a6)...)
	ev := TargetEvidence{
		Target:    name,
		Addresses: ipStrings(addrs),
		RTTms:     ms(max(a4.RTT, a6.RTT)),
		Foreign:   rrStrings(append(slices.Clip(o4.foreign), o6.foreign...)),
		Ignored:   append(slices.Clip(a4.Ignored), a6.Ignored...),
	}
	ev.CNAME = o4.chain
	if len(ev.CNAME) == 0 {
		ev.CNAME = o6.chain
	}
	for i := range ev.CNAME {
		ev.CNAME[i] = strings.TrimSuffix(ev.CNAME[i], ".")
	}
	if len(kmsAddrs) > 0 {
		ev.KMSAddresses = ipStrings(kmsAddrs)
	}
	for _, x := range []struct {
		a          Answer
		rcode, err *string
	}{{a4, &ev.RcodeA, &ev.ErrorA}, {a6, &ev.RcodeAAAA, &ev.ErrorAAAA}} {
		if x.a.Msg != nil {
			*x.rcode = dns.RcodeToString[x.a.Msg.Rcode]
		} else if x.a.Fail != NoFailure {
			*x.err = string(x.a.Fail)
		}
	}
	defer func() { f.Evidence = finding.NewEvidence(ev) }()
	args := map[string]string{"Server": server, "Name": name, "Host": host}
	isHost := target == exp.fqdn()
	if isHost {
		args["HostZone"] = hostZone(host)
	}
	fixDNS := func() {
		if isHost {
			advise(&f, "dns.target.fix_resolution", nil)
		} else {
			advise(&f, "dns.target.point_instead", nil)
		}
	}
	if len(addrs) == 0 {
		f.Status = finding.Fail
		switch {
		case a4.Fail == Cancelled || a6.Fail == Cancelled:
			f.Status, f.Short = finding.Unknown, "stopped"
			say(&f, "dns.target.stopped", args)
			return f
		case a4.Msg == nil && a6.Msg == nil:
			f.Short = string(a4.Fail)
			args["Fail"] = f.Short
			say(&f, "dns.target.no_answer", args)
		case rc(a4) == dns.RcodeNameError || rc(a6) == dns.RcodeNameError:
			f.Short = "dangling"
			say(&f, "dns.target.dangling", args)
		case len(ev.CNAME) > 0:
			f.Short = "no address"
			args["End"] = ev.CNAME[len(ev.CNAME)-1]
			say(&f, "dns.target.cname_no_address", args)
		case len(ev.Foreign) > 0:
			f.Short = "no address"
			foreign := append(slices.Clip(o4.foreign), o6.foreign...)
			args["Foreign"] = listedOf(rrStrings(foreign[:min(len(foreign), maxListed)]), len(foreign), maxListed, "; ")
			say(&f, "dns.target.foreign_only", args)
		default:
			f.Short = "no address"
			say(&f, "dns.target.no_address", args)
		}
		fixDNS()
		return f
	}
	lo := HostIsLoopback(exp, kmsAddrs)
	var unusable []string
	for _, ip := range addrs {
		if !UsableKMSAddress(ip, lo) && !slices.Contains(unusable, ip.String()) {
			unusable = append(unusable, ip.String())
		}
	}
	args["Addresses"] = listed(ev.Addresses, ", ")
	if len(unusable) > 0 {
		// Some PCs would take such an address and connect to themselves
		// or to nothing: one is enough to fail.
		sort.Strings(unusable)
		ev.Unusable = unusable
		f.Status, f.Short = finding.Fail, "unusable address"
		args["Unusable"] = listed(unusable, ", ")
		say(&f, "dns.target.unusable", args)
		if isHost {
			advise(&f, "dns.target.fix_unusable", nil)
		} else {
			advise(&f, "dns.target.point_instead", nil)
		}
		return f
	}
	if len(kmsAddrs) == 0 {
		// Without a reference, resolving is all that can be shown; do
		// not call it a pass for a foreign name.
		if isHost {
			f.Status, f.Short = finding.Pass, "ok"
			say(&f, "dns.target.ok", args)
		} else {
			f.Status, f.Short = finding.Warn, "unverified"
			say(&f, "dns.target.unverified", args)
			advise(&f, "dns.target.point_at", nil)
		}
		return f
	}
	var foreign []string
	for _, ip := range addrs {
		if !containsIP(kmsAddrs, ip) {
			foreign = append(foreign, ip.String())
		}
	}
	args["KMSAddresses"] = listed(ipStrings(kmsAddrs), ", ")
	switch {
	case len(foreign) == 0 && isHost:
		f.Status, f.Short = finding.Pass, "ok"
		say(&f, "dns.target.ok", args)
	case len(foreign) == 0:
		f.Status, f.Short = finding.Warn, "alias"
		say(&f, "dns.target.alias", args)
		advise(&f, "dns.target.point_itself", nil)
	default:
		f.Status, f.Short = finding.Fail, "elsewhere"
		args["Foreign"] = listed(foreign, ", ")
		say(&f, "dns.target.elsewhere", args)
		if isHost {
			advise(&f, "dns.target.fix_override", nil)
		} else {
			advise(&f, "dns.target.point_instead", nil)
		}
	}
	return f
}

// hostZone is the zone the KMS host's address records are looked for in:
// the parent of kms.host ("kh.edu.tw" for ap24.kh.edu.tw), which is where
// they live unless the zone is split further down. A single-label host
// has the root as its parent.
func hostZone(host string) string {
	h := dnsname.Canonical(host)
	if _, parent, ok := strings.Cut(h, "."); ok && parent != "" {
		return parent
	}
	return "."
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
// records that answer the question, or the rcode when there are none.
func RecordSet(a Answer) string {
	if a.Msg == nil {
		return ""
	}
	return recordSet(a, SRVRecords(a), -1)
}

// recordSet is RecordSet of a with its records recs, naming at most limit
// of them (all when limit < 0) and counting the rest.
func recordSet(a Answer, recs []*dns.SRV, limit int) string {
	if len(recs) == 0 {
		if a.Msg.Rcode == dns.RcodeSuccess {
			return "NODATA"
		}
		return dns.RcodeToString[a.Msg.Rcode]
	}
	if limit < 0 {
		limit = len(recs)
	}
	s := make([]string, min(len(recs), limit))
	for i := range s {
		s[i] = srvString(recs[i])
	}
	return listedOf(s, len(recs), limit, "; ")
}

// maxSetEvidence bounds the records of one server's set in the
// dns.consistency evidence: the comparison uses every record, the
// server's dns.srv evidence lists them all, and a second copy of 1,700
// records per server would only grow the report.
const maxSetEvidence = 16

// expected reports whether an answer's records are the expected record:
// SRV records that all point at the KMS host and port. Priority and
// weight are not judged (DESIGN §4).
func expected(recs []*dns.SRV, exp Expect) bool {
	for _, r := range recs {
		if r.Port != exp.Port || !strings.EqualFold(r.Target, exp.fqdn()) {
			return false
		}
	}
	return len(recs) > 0
}

// cacheTTL is how long a cache may keep serving a's answer: its records'
// lowest TTL, or for a negative answer the SOA's negative TTL (RFC 2308).
// -1 when the answer does not say.
func cacheTTL(a Answer) int64 {
	if a.Msg == nil {
		return -1
	}
	ttl := int64(-1)
	low := func(v uint32) {
		if ttl < 0 || int64(v) < ttl {
			ttl = int64(v)
		}
	}
	for _, r := range SRVRecords(a) {
		low(r.Hdr.Ttl)
	}
	if ttl < 0 {
		for _, rr := range a.Msg.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				low(min(soa.Hdr.Ttl, soa.Minttl))
			}
		}
	}
	return ttl
}

// JudgeConsistency compares the SRV answers of all servers of one school;
// roles[i] is the kind of server that gave answers[i]. A server's own
// fault (ServerFault: no response, REFUSED, SERVFAIL, garbage) is left out
// and named in the evidence as not compared: dns.srv (and for a shared
// server the infrastructure list) already reports it, and "REFUSED" is not
// a record set to disagree with. Compared, a resolver refusing every
// question read as a stale cache under every school.
//
// The reference is the expected record (exp), never the majority (DESIGN
// §4.1): right after a school fixes its zone, its own server is right and
// the city caches are stale, however many of them there are. When no
// server serves the expected record alone, every group is named and no
// server is blamed.
func JudgeConsistency(school string, exp Expect, answers []Answer, roles []Role) (f finding.Finding) {
	f = finding.Finding{Check: finding.DNSConsistency}
	ev := ConsistencyEvidence{Sets: map[string]string{}}
	defer func() { f.Evidence = finding.NewEvidence(ev) }()
	type group struct {
		set      string // the full set: what is compared
		words    string // a few of its records, for the message
		servers  []string
		expected bool
	}
	var gs []*group
	var suffixName string
	var oddSchool, oddCache []string
	cacheTTLs := int64(-1)
	n := 0
	for i, a := range answers {
		if fault, why := ServerFault(a); fault || a.Msg == nil {
			if ev.NotCompared == nil {
				ev.NotCompared = map[string]string{}
			}
			ev.NotCompared[a.Query.Server] = why
			continue
		}
		recs := SRVRecords(a)
		set := recordSet(a, recs, -1)
		suffixName = strings.TrimSuffix(a.Query.Name, ".")
		n++
		ev.Sets[a.Query.Server] = recordSet(a, recs, maxSetEvidence)
		j := slices.IndexFunc(gs, func(g *group) bool { return g.set == set })
		if j < 0 {
			gs = append(gs, &group{set: set, words: recordSet(a, recs, maxListed), expected: expected(recs, exp)})
			j = len(gs) - 1
		}
		gs[j].servers = append(gs[j].servers, a.Query.Server)
		if !gs[j].expected {
			if i < len(roles) && roles[i] == CityResolver {
				oddCache = append(oddCache, a.Query.Server)
				if t := cacheTTL(a); t >= 0 && (cacheTTLs < 0 || t > cacheTTLs) {
					cacheTTLs = t
				}
			} else {
				oddSchool = append(oddSchool, a.Query.Server)
			}
		}
	}
	zone := zoneArgs(strings.TrimPrefix(suffixName, "_vlmcs._tcp."), exp)
	ev.Expected = fmt.Sprintf("0 0 %d %s", exp.Port, exp.fqdn())
	args := map[string]string{"Count": strconv.Itoa(n), "Expected": ev.Expected, "Name": suffixName}
	switch {
	case n < 2:
		f.Status, f.Short = finding.Skip, "-"
		say(&f, "dns.consistency.skip", args)
		return f
	case len(gs) == 1:
		f.Status, f.Short = finding.Pass, "agree"
		say(&f, "dns.consistency.agree", args)
		return f
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].set < gs[j].set })
	var right, odd []string
	var oddWords []string
	var oddAnswer string // the last odd server's answer: the one when there is one
	for _, g := range gs {
		sort.Strings(g.servers)
		if g.expected {
			right = append(right, g.servers...)
			continue
		}
		for _, s := range g.servers {
			odd = append(odd, s)
			oddWords = append(oddWords, fmt.Sprintf("%s says %q", s, g.words))
			oddAnswer = strconv.Quote(g.words)
		}
	}
	f.Status, f.Short = finding.Warn, "differ"
	if len(right) == 0 || len(odd) == 0 {
		// Nobody serves the expected record (or all serve it and differ
		// only in priority or weight): there is no reference to measure
		// the others by, and counting heads would blame at random.
		parts := make([]string, len(gs))
		for i, g := range gs {
			parts[i] = fmt.Sprintf("%s say %q", listed(g.servers, ", "), g.words)
		}
		args["Groups"] = listed(parts, "; ")
		say(&f, "dns.consistency.differ", args)
		advise(&f, "dns.consistency.decide", zone)
		return f
	}
	sort.Strings(odd)
	ev.Odd = odd
	f.Server = odd[0]
	args["Odd"] = listed(oddWords, ", ")
	args["Right"] = listed(right, ", ")
	args["OddServers"] = listed(odd, ", ")
	if len(odd) == 1 {
		// The usual case, one stale server: its answer is an argument of
		// its own, so the whole sentence translates.
		args["OddAnswer"] = oddAnswer
		say(&f, "dns.consistency.stale_one", args)
	} else {
		say(&f, "dns.consistency.stale", args)
	}
	if len(oddSchool) == 0 {
		// Only caches are behind: the normal state for a TTL after a
		// school fixes its zone.
		if cacheTTLs >= 0 {
			args["TTL"] = strconv.FormatInt(cacheTTLs, 10)
			advise(&f, "dns.consistency.wait_ttl", args)
		} else {
			advise(&f, "dns.consistency.wait_cache", args)
		}
	} else {
		advise(&f, "dns.consistency.fix_odd", args)
	}
	return f
}
