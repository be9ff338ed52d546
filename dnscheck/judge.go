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
	"sync/atomic"
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

func (e Expect) fqdn() string { return e.words().fqdn }

// expectWords are the texts every finding about one Expect repeats: a
// city's audit judges thousands of answers against the same one.
type expectWords struct {
	exp      Expect
	fqdn     string // the host as asked: canonical, with the dot
	host     string // the same without the dot, as messages name it
	port     string
	expected string // the expected record's rdata, as dns.consistency shows it
}

// lastExpect holds the words of the Expect last judged against; judges
// on many goroutines share it, and a different Expect just replaces it.
var lastExpect atomic.Pointer[expectWords]

func (e Expect) words() *expectWords {
	if w := lastExpect.Load(); w != nil && w.exp == e {
		return w
	}
	fq := dnsname.FQDN(e.Host)
	port := strconv.Itoa(int(e.Port))
	w := &expectWords{exp: e, fqdn: fq, host: strings.TrimSuffix(fq, "."), port: port, expected: "0 0 " + port + " " + fq}
	lastExpect.Store(w)
	return w
}

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
		Resent:       a.Resent,
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
	args := make(map[string]string, 3)
	addZoneArgs(args, suffix, exp)
	return args
}

// addZoneArgs adds zoneArgs to args.
func addZoneArgs(args map[string]string, suffix string, exp Expect) {
	suffix = dnsname.Canonical(suffix)
	w := exp.words()
	args["Suffix"] = suffix
	args["ZoneLine"] = SRVName(suffix) + " 3600 IN SRV 0 0 " + w.port + " " + w.fqdn
	args["Cmdlet"] = `Add-DnsServerResourceRecord -ZoneName "` + suffix + `" -Srv -Name "_vlmcs._tcp" -DomainName "` +
		w.host + `" -Priority 0 -Weight 0 -Port ` + w.port
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
	return remedies.Text(srvRemedyID(role), zoneArgs(suffix, exp))
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

// ruling is what one judge step decides: the status, the table cell, the
// message id and the remedy id ("" for none). zone says the remedy needs
// the zone line and cmdlet, which only a remedy does.
type ruling struct {
	status     finding.Status
	short      string
	id, remedy string
	zone       bool
}

// apply words f by r; args become the finding's.
func (r ruling) apply(f *finding.Finding, args map[string]string) {
	f.Status, f.Short = r.status, r.short
	texts.Say(f, r.id, r.remedy, args)
}

// JudgeSRV rules on one server's answer to _vlmcs._tcp.<suffix> SRV per
// DESIGN.md §4 and the trust rules of §4.1. It is pure: everything it
// needs is in its arguments. perAttempt is the timeout of one attempt, as
// the exchange used it.
func JudgeSRV(a Answer, suffix string, exp Expect, role Role, perAttempt time.Duration) finding.Finding {
	f, _ := judgeSRV(a, suffix, exp, role, perAttempt, false)
	return f
}

// JudgeSRVTargets is JudgeSRV and Targets of the same answer: an audit
// needs both for every school's every server, and they read the same
// records.
func JudgeSRVTargets(a Answer, suffix string, exp Expect, role Role, perAttempt time.Duration) (finding.Finding, []string) {
	return judgeSRV(a, suffix, exp, role, perAttempt, true)
}

// judgeSRV is JudgeSRV, and with withTargets Targets too.
func judgeSRV(a Answer, suffix string, exp Expect, role Role, perAttempt time.Duration, withTargets bool) (finding.Finding, []string) {
	f := finding.Finding{Check: finding.DNSSRV, Server: a.Query.Server}
	ev := srvEvidence(a, role)
	w := exp.words()
	args := map[string]string{
		"Server": a.Query.Server, "Port": serverPort(a.Query.Server), "Name": strings.TrimSuffix(a.Query.Name, "."),
		"Host": w.host, "KMSPort": w.port,
	}
	var r ruling
	var targets []string
	if a.Msg == nil {
		r = noResponse(a, role, perAttempt, args)
	} else {
		o := ownedRecords(a)
		recs, strs := srvRecordsOf(o)
		success := a.Msg.Rcode == dns.RcodeSuccess && len(recs) > 0
		var c []string
		if withTargets || success {
			c = candidatesOf(recs, exp)
			targets = c[:min(len(c), MaxTargets)]
		}
		ev.Foreign = rrStrings(o.foreign)
		ev.Records, ev.TTL = recordEvidence(recs, strs)
		if !success {
			r = noRecord(a, o.foreign, role, args)
		} else {
			ev.NotFollowed = notFollowed(c)
			r = groupSRV(recs, exp).rule(role, args)
		}
	}
	if r.zone {
		addZoneArgs(args, suffix, exp)
	}
	r.apply(&f, args)
	f.Evidence = finding.NewEvidence(ev)
	return f, targets
}

// recordEvidence lists the records that count (strs, their srvStrings)
// and their lowest TTL; none gives neither.
func recordEvidence(recs []*dns.SRV, strs []string) ([]string, *uint32) {
	if len(recs) == 0 {
		return nil, nil
	}
	ttl := uint32(math.MaxUint32)
	for _, r := range recs {
		ttl = min(ttl, r.Hdr.Ttl)
	}
	return strs, &ttl
}

// noResponse rules on an exchange that produced no usable response.
func noResponse(a Answer, role Role, perAttempt time.Duration, args map[string]string) ruling {
	id, short, remedy := failure(a)
	args["Attempts"] = strconv.Itoa(a.Attempts)
	args["PerAttempt"] = perAttempt.String()
	args["Detail"] = errDetail(a)
	if m := mismatchedIDs.FindStringSubmatch(args["Detail"]); id == "dns.srv.mismatched_id" && m != nil {
		// The two ids as arguments: the sentence around them translates.
		id, args["GotID"], args["AskedID"] = "dns.srv.mismatched_id_got", m[1], m[2]
	}
	r := ruling{status: finding.Fail, short: short, id: id, remedy: remedy}
	switch {
	case a.Fail == Cancelled:
		r.status, r.remedy = finding.Unknown, ""
	case role == CityResolver && remedy == "dns.srv.check_server":
		// A city resolver is not the school's to retire: the fix is
		// the city's (DESIGN §4.2).
		r.remedy = infraRemedy(a)
	}
	return r
}

// noRecord rules on a response without an SRV record of the name asked:
// an error rcode, NODATA, or only records of other owners.
func noRecord(a Answer, foreign []dns.RR, role Role, args map[string]string) ruling {
	r := ruling{status: finding.Fail, short: dns.RcodeToString[a.Msg.Rcode], id: rcodeID(a.Msg.Rcode)}
	args["Rcode"] = r.short
	if a.Msg.Rcode == dns.RcodeSuccess {
		r.short = "NODATA"
		if len(foreign) > 0 {
			r.id, r.short = "dns.srv.foreign_only", "other owner"
			args["Foreign"] = listedOf(rrStrings(foreign[:min(len(foreign), maxListed)]), len(foreign), maxListed, "; ")
		}
	}
	switch {
	case a.Msg.Rcode == dns.RcodeRefused && role == CityResolver:
		r.remedy = "dns.infra.fix_refused"
	case a.Msg.Rcode == dns.RcodeRefused:
		r.remedy, r.zone = "dns.srv.allow_query", true
	default:
		r.remedy, r.zone = srvRemedyID(role), true
	}
	return r
}

// srvGroups sorts the records that answer by how far each is from the
// expected one.
type srvGroups struct {
	exact, rightPort, none, others []*dns.SRV
}

func groupSRV(recs []*dns.SRV, exp Expect) srvGroups {
	var g srvGroups
	want := exp.fqdn()
	for _, r := range recs {
		switch {
		case NoService(r):
			g.none = append(g.none, r)
		case r.Port == exp.Port && strings.EqualFold(r.Target, want):
			g.exact = append(g.exact, r)
		case r.Port == exp.Port:
			g.rightPort = append(g.rightPort, r)
		default:
			g.others = append(g.others, r)
		}
	}
	return g
}

// rule: the expected record alone passes; beside others it warns, since
// Windows picks among them; another target on the right port warns
// (dns.target follows it); no service or only wrong ports fail.
func (g srvGroups) rule(role Role, args map[string]string) ruling {
	fix := srvRemedyID(role)
	switch {
	case len(g.exact) > 0 && len(g.rightPort)+len(g.others)+len(g.none) == 0:
		return ruling{status: finding.Pass, short: "ok", id: "dns.srv.ok"}
	case len(g.exact) > 0:
		extra := slices.Concat(g.rightPort, g.others, g.none)
		args["ExtraCount"] = strconv.Itoa(len(extra))
		args["Extra"] = joinSRV(extra)
		return ruling{finding.Warn, "extra records", "dns.srv.extra", "dns.srv.remove_extra", true}
	case len(g.rightPort) > 0:
		args["Targets"] = joinTargets(g.rightPort)
		return ruling{finding.Warn, "other target", "dns.srv.other_target", fix, true}
	case len(g.none) > 0:
		return ruling{finding.Fail, "no service", "dns.srv.no_service", fix, true}
	}
	args["Found"] = joinSRV(g.others)
	return ruling{finding.Fail, "wrong port", "dns.srv.wrong_port", fix, true}
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
	id := "dns.infra.no_answer"
	switch {
	case a.Msg != nil && a.Msg.Rcode == dns.RcodeRefused:
		id = "dns.infra.refused"
	case a.Msg != nil:
		f.Short, id = dns.RcodeToString[a.Msg.Rcode], "dns.infra.servfail"
	case a.Fail == Timeout && !a.Truncated:
		args["Attempts"], args["PerAttempt"] = strconv.Itoa(a.Attempts), perAttempt.String()
		id = "dns.infra.timeout"
	}
	texts.Say(&f, id, infraRemedy(a), args)
	f.Evidence = finding.NewEvidence(ev)
	return f, true
}

// JudgeTarget rules on one SRV target as resolved through the server that
// gave the SRV record (a PC asks the same server). a4 and a6 are its A and
// AAAA answers; kmsAddrs are the KMS host's addresses (the reference, from
// witnesses the caller trusts); an empty reference means they are
// unknown, and only "resolves at all" can be judged.
func JudgeTarget(server, target string, a4, a6 Answer, exp Expect, kmsAddrs []net.IP) finding.Finding {
	target = fqdn(target)
	f := finding.Finding{Check: finding.DNSTarget, Server: server}
	ev, addrs, foreign := targetEvidence(target, a4, a6, kmsAddrs)
	w := exp.words()
	host := w.host
	args := map[string]string{"Server": server, "Name": ev.Target, "Host": host}
	t := targetJudge{isHost: target == w.fqdn, args: args}
	if t.isHost {
		args["HostZone"] = hostZone(host)
	}
	var r ruling
	switch {
	case len(addrs) == 0:
		r = t.noAddress(a4, a6, ev, foreign)
	default:
		args["Addresses"] = listed(ev.Addresses, ", ")
		if ev.Unusable = unusableAddresses(addrs, HostIsLoopback(exp, kmsAddrs)); len(ev.Unusable) > 0 {
			r = t.unusable(ev.Unusable)
		} else {
			r = t.compare(addrs, kmsAddrs)
		}
	}
	r.apply(&f, args)
	f.Evidence = finding.NewEvidence(ev)
	return f
}

// targetEvidence is what the target's A and AAAA answers show, its
// addresses, and the records of other owners they held.
func targetEvidence(target string, a4, a6 Answer, kmsAddrs []net.IP) (TargetEvidence, []net.IP, []dns.RR) {
	o4, o6 := ownedRecords(a4), ownedRecords(a6)
	addrs := append(addressesOf(a4, o4), addressesOf(a6, o6)...)
	foreign := append(slices.Clip(o4.foreign), o6.foreign...)
	ev := TargetEvidence{
		Target:    strings.TrimSuffix(target, "."),
		Addresses: ipStrings(addrs),
		RTTms:     ms(max(a4.RTT, a6.RTT)),
		Foreign:   rrStrings(foreign),
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
	ev.RcodeA, ev.ErrorA = answerState(a4)
	ev.RcodeAAAA, ev.ErrorAAAA = answerState(a6)
	return ev, addrs, foreign
}

// answerState is an answer's rcode, or its failure when no response came.
func answerState(a Answer) (rcode, fail string) {
	if a.Msg != nil {
		return dns.RcodeToString[a.Msg.Rcode], ""
	}
	if a.Fail != NoFailure {
		return "", string(a.Fail)
	}
	return "", ""
}

// unusableAddresses are the addresses no PC can reach a KMS host at,
// sorted, each once.
func unusableAddresses(addrs []net.IP, loopbackOK bool) []string {
	var unusable []string
	for _, ip := range addrs {
		if !UsableKMSAddress(ip, loopbackOK) && !slices.Contains(unusable, ip.String()) {
			unusable = append(unusable, ip.String())
		}
	}
	sort.Strings(unusable)
	return unusable
}

// targetJudge holds what every dns.target ruling needs: whether the
// target is the KMS host itself (then the fix is the server's resolution
// of it, else the SRV record's target) and the finding's args.
type targetJudge struct {
	isHost bool
	args   map[string]string
}

// fix is the host's own remedy for the KMS host, else: point the SRV
// record at the KMS host.
func (t targetJudge) fix(hostRemedy string) string {
	if t.isHost {
		return hostRemedy
	}
	return "dns.target.point_instead"
}

// noAddress rules on a target that gave no address at all.
func (t targetJudge) noAddress(a4, a6 Answer, ev TargetEvidence, foreign []dns.RR) ruling {
	r := ruling{status: finding.Fail, short: "no address", remedy: t.fix("dns.target.fix_resolution")}
	switch {
	case a4.Fail == Cancelled || a6.Fail == Cancelled:
		return ruling{status: finding.Unknown, short: "stopped", id: "dns.target.stopped"}
	case a4.Msg == nil && a6.Msg == nil:
		r.short, r.id = string(a4.Fail), "dns.target.no_answer"
		t.args["Fail"] = r.short
	case rc(a4) == dns.RcodeNameError || rc(a6) == dns.RcodeNameError:
		r.short, r.id = "dangling", "dns.target.dangling"
	case len(ev.CNAME) > 0:
		r.id = "dns.target.cname_no_address"
		t.args["End"] = ev.CNAME[len(ev.CNAME)-1]
	case len(foreign) > 0:
		r.id = "dns.target.foreign_only"
		t.args["Foreign"] = listedOf(rrStrings(foreign[:min(len(foreign), maxListed)]), len(foreign), maxListed, "; ")
	default:
		r.id = "dns.target.no_address"
	}
	return r
}

// unusable: some PCs would take such an address and connect to
// themselves or to nothing, so one is enough to fail.
func (t targetJudge) unusable(unusable []string) ruling {
	t.args["Unusable"] = listed(unusable, ", ")
	return ruling{status: finding.Fail, short: "unusable address", id: "dns.target.unusable", remedy: t.fix("dns.target.fix_unusable")}
}

// compare rules on usable addresses by the KMS host's own. Without a
// reference, resolving is all that can be shown: that is no pass for a
// name other than the KMS host's.
func (t targetJudge) compare(addrs, kmsAddrs []net.IP) ruling {
	if len(kmsAddrs) == 0 {
		if t.isHost {
			return ruling{status: finding.Pass, short: "ok", id: "dns.target.ok"}
		}
		return ruling{status: finding.Warn, short: "unverified", id: "dns.target.unverified", remedy: "dns.target.point_at"}
	}
	var foreign []string
	for _, ip := range addrs {
		if !containsIP(kmsAddrs, ip) {
			foreign = append(foreign, ip.String())
		}
	}
	t.args["KMSAddresses"] = listed(ipStrings(kmsAddrs), ", ")
	switch {
	case len(foreign) == 0 && t.isHost:
		return ruling{status: finding.Pass, short: "ok", id: "dns.target.ok"}
	case len(foreign) == 0:
		return ruling{status: finding.Warn, short: "alias", id: "dns.target.alias", remedy: "dns.target.point_itself"}
	}
	t.args["Foreign"] = listed(foreign, ", ")
	return ruling{status: finding.Fail, short: "elsewhere", id: "dns.target.elsewhere", remedy: t.fix("dns.target.fix_override")}
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
	_, strs := srvRecordsOf(ownedRecords(a))
	return recordSet(a, strs, -1)
}

// recordSet is RecordSet of a with its records' srvStrings strs, naming
// at most limit of them (all when limit < 0) and counting the rest.
func recordSet(a Answer, strs []string, limit int) string {
	if len(strs) == 0 {
		if a.Msg.Rcode == dns.RcodeSuccess {
			return "NODATA"
		}
		return dns.RcodeToString[a.Msg.Rcode]
	}
	if limit < 0 {
		limit = len(strs)
	}
	return listedOf(strs[:min(len(strs), limit)], len(strs), limit, "; ")
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
	want := exp.fqdn()
	for _, r := range recs {
		if r.Port != exp.Port || !strings.EqualFold(r.Target, want) {
			return false
		}
	}
	return len(recs) > 0
}

// cacheTTL is how long a cache may keep serving a's answer: its records'
// lowest TTL, or for a negative answer the SOA's negative TTL (RFC 2308).
// -1 when the answer does not say.
func cacheTTL(a Answer, recs []*dns.SRV) int64 {
	if a.Msg == nil {
		return -1
	}
	ttl := int64(-1)
	low := func(v uint32) {
		if ttl < 0 || int64(v) < ttl {
			ttl = int64(v)
		}
	}
	for _, r := range recs {
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
func JudgeConsistency(school string, exp Expect, answers []Answer, roles []Role) finding.Finding {
	f := finding.Finding{Check: finding.DNSConsistency}
	ev := ConsistencyEvidence{Sets: map[string]string{}}
	t := tallyAnswers(answers, roles, exp, &ev)
	ev.Expected = exp.words().expected
	args := map[string]string{"Count": strconv.Itoa(t.compared), "Expected": ev.Expected, "Name": t.name}
	var r ruling
	switch {
	case t.compared < 2:
		r = ruling{status: finding.Skip, short: "-", id: "dns.consistency.skip"}
	case len(t.groups) == 1:
		r = ruling{status: finding.Pass, short: "agree", id: "dns.consistency.agree"}
	default:
		r, ev.Odd = t.disagree(args)
	}
	if len(ev.Odd) > 0 {
		f.Server = ev.Odd[0]
	}
	if r.zone {
		addZoneArgs(args, strings.TrimPrefix(t.name, "_vlmcs._tcp."), exp)
	}
	r.apply(&f, args)
	f.Evidence = finding.NewEvidence(ev)
	return f
}

// srvGroup is the servers that gave one record set.
type srvGroup struct {
	set      string // the full set: what is compared
	words    string // a few of its records, for the message
	servers  []string
	expected bool
}

// tally is the comparable answers of one school's servers, grouped by
// record set.
type tally struct {
	groups       []*srvGroup
	name         string // the SRV name asked
	compared     int
	schoolBehind bool  // a server other than a city cache serves an odd set
	cacheTTL     int64 // the longest an odd cache may keep its answer; -1 unknown
}

// tallyAnswers groups the answers that are no server's fault and names
// the others in ev as not compared; ev gets every compared server's set.
func tallyAnswers(answers []Answer, roles []Role, exp Expect, ev *ConsistencyEvidence) tally {
	t := tally{cacheTTL: -1}
	for i, a := range answers {
		if fault, why := ServerFault(a); fault || a.Msg == nil {
			if ev.NotCompared == nil {
				ev.NotCompared = map[string]string{}
			}
			ev.NotCompared[a.Query.Server] = why
			continue
		}
		recs, strs := srvRecordsOf(ownedRecords(a))
		t.name = strings.TrimSuffix(a.Query.Name, ".")
		t.compared++
		ev.Sets[a.Query.Server] = recordSet(a, strs, maxSetEvidence)
		g := t.group(a, recs, strs, exp, len(answers)-i)
		g.servers = append(g.servers, a.Query.Server)
		if !g.expected {
			t.odd(a, recs, i < len(roles) && roles[i] == CityResolver)
		}
	}
	return t
}

// group is the group of a's record set, new when it is the first, with
// room for the rest servers still to be tallied (usually all agree).
func (t *tally) group(a Answer, recs []*dns.SRV, strs []string, exp Expect, rest int) *srvGroup {
	set := recordSet(a, strs, -1)
	if j := slices.IndexFunc(t.groups, func(g *srvGroup) bool { return g.set == set }); j >= 0 {
		return t.groups[j]
	}
	g := &srvGroup{set: set, words: recordSet(a, strs, maxListed), expected: expected(recs, exp), servers: make([]string, 0, min(rest, 16))}
	t.groups = append(t.groups, g)
	return g
}

// odd counts an answer other than the expected record: a city cache's
// by how long it may keep it, any other server's as the school's own.
func (t *tally) odd(a Answer, recs []*dns.SRV, cache bool) {
	if !cache {
		t.schoolBehind = true
		return
	}
	if c := cacheTTL(a, recs); c >= 0 && (t.cacheTTL < 0 || c > t.cacheTTL) {
		t.cacheTTL = c
	}
}

// disagree rules on servers that gave different sets, and names the
// servers behind the expected record (none when there is no reference).
func (t tally) disagree(args map[string]string) (ruling, []string) {
	sort.Slice(t.groups, func(i, j int) bool { return t.groups[i].set < t.groups[j].set })
	var right, odd, oddWords []string
	var oddAnswer string // the last odd server's answer: the one when there is one
	for _, g := range t.groups {
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
	if len(right) == 0 || len(odd) == 0 {
		// Nobody serves the expected record (or all serve it and differ
		// only in priority or weight): there is no reference to measure
		// the others by, and counting heads would blame at random.
		args["Groups"] = t.groupWords()
		return ruling{finding.Warn, "differ", "dns.consistency.differ", "dns.consistency.decide", true}, nil
	}
	sort.Strings(odd)
	args["Odd"] = listed(oddWords, ", ")
	args["Right"] = listed(right, ", ")
	args["OddServers"] = listed(odd, ", ")
	r := ruling{status: finding.Warn, short: "differ", id: "dns.consistency.stale", remedy: t.staleRemedy(args)}
	if len(odd) == 1 {
		// The usual case, one stale server: its answer is an argument of
		// its own, so the whole sentence translates.
		args["OddAnswer"] = oddAnswer
		r.id = "dns.consistency.stale_one"
	}
	return r, odd
}

// groupWords names every group's servers and a few of its records.
func (t tally) groupWords() string {
	parts := make([]string, len(t.groups))
	for i, g := range t.groups {
		parts[i] = fmt.Sprintf("%s say %q", listed(g.servers, ", "), g.words)
	}
	return listed(parts, "; ")
}

// staleRemedy: when only caches are behind, which is the normal state for
// a TTL after a school fixes its zone, wait (or flush); else fix the odd
// servers.
func (t tally) staleRemedy(args map[string]string) string {
	switch {
	case t.schoolBehind:
		return "dns.consistency.fix_odd"
	case t.cacheTTL >= 0:
		args["TTL"] = strconv.FormatInt(t.cacheTTL, 10)
		return "dns.consistency.wait_ttl"
	}
	return "dns.consistency.wait_cache"
}
