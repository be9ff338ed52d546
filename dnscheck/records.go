package dnscheck

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// maxChain bounds the CNAME hops followed inside one answer; resolvers
// stop around 8-16, and a loop must not spin.
const maxChain = 16

// owned is the part of an answer that answers the question (DESIGN §4.1,
// ownership): the records of the asked type whose owner is the name asked,
// or the end of a CNAME chain that starts at it inside the same answer.
// Records of any other owner are foreign: a PC ignores them, so does the
// probe, and the evidence names them.
type owned struct {
	chain   []string // CNAME targets followed, in order (lower case FQDNs)
	records []dns.RR // of the asked type, owned by the chain's end
	foreign []dns.RR
}

func ownedRecords(a Answer) owned {
	var o owned
	if a.Msg == nil {
		return o
	}
	name := a.Query.Name
	inChain := func(owner string) bool {
		if strings.EqualFold(owner, a.Query.Name) {
			return true
		}
		for _, c := range o.chain {
			if strings.EqualFold(owner, c) {
				return true
			}
		}
		return false
	}
	for len(o.chain) < maxChain {
		next := ""
		for _, rr := range a.Msg.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
				next = dnsname.FQDN(c.Target)
				break
			}
		}
		if next == "" || inChain(next) {
			break
		}
		o.chain = append(o.chain, next)
		name = next
	}
	for _, rr := range a.Msg.Answer {
		h := rr.Header()
		switch {
		case !inChain(h.Name):
			o.foreign = append(o.foreign, rr)
		case h.Rrtype == a.Query.Type && strings.EqualFold(h.Name, name):
			o.records = append(o.records, rr)
		}
		// Other records of the chain's names (the CNAMEs themselves,
		// signatures) are neither the answer nor foreign.
	}
	return o
}

// rrStrings renders records for evidence, one line each, at most
// maxIgnored of them: a flood of strays must not grow the report.
func rrStrings(rrs []dns.RR) []string {
	if len(rrs) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(rrs), maxIgnored))
	for _, rr := range rrs {
		if len(out) == maxIgnored {
			out = append(out, fmt.Sprintf("... and %d more", len(rrs)-maxIgnored))
			break
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

// SRVRecords returns the SRV records that answer the question (ownership
// rule), sorted for stable output.
func SRVRecords(a Answer) []*dns.SRV {
	recs, _ := srvRecordsOf(ownedRecords(a))
	return recs
}

// srvRecordsOf is SRVRecords of an answer already sorted by ownership,
// with each record's srvString, which the sort and every caller's
// evidence need: made once per record, not once per comparison.
func srvRecordsOf(o owned) ([]*dns.SRV, []string) {
	var recs []*dns.SRV
	for _, rr := range o.records {
		if s, ok := rr.(*dns.SRV); ok {
			recs = append(recs, s)
		}
	}
	switch len(recs) {
	case 0:
		return nil, nil
	case 1:
		return recs, []string{srvString(recs[0])}
	}
	type keyed struct {
		r   *dns.SRV
		key string
	}
	ks := make([]keyed, len(recs))
	for i, r := range recs {
		ks[i] = keyed{r, srvString(r)}
	}
	slices.SortFunc(ks, func(x, y keyed) int { return strings.Compare(x.key, y.key) })
	strs := make([]string, len(ks))
	for i, k := range ks {
		recs[i], strs[i] = k.r, k.key
	}
	return recs, strs
}

// ForeignRecords names the answer records that do not answer the question
// because another name owns them.
func ForeignRecords(a Answer) []string { return rrStrings(ownedRecords(a).foreign) }

// srvString is a record's "priority weight port target" (target in lower
// case), the form evidence and record sets compare and show.
func srvString(s *dns.SRV) string {
	var buf [64]byte // one allocation, the string, for any usual name
	b := strconv.AppendUint(buf[:0], uint64(s.Priority), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(s.Weight), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(s.Port), 10)
	b = append(b, ' ')
	b = append(b, strings.ToLower(s.Target)...)
	return string(b)
}

// NoService reports whether an SRV record is RFC 2782's "the service is
// decidedly not available at this domain": its target is ".". Such a
// record is never followed: there is no host to resolve, nothing to dial.
func NoService(r *dns.SRV) bool { return dnsname.IsRoot(r.Target) }

// Followable drops the records no client may follow (target "."), in
// order: what kms --discover tries.
func Followable(recs []*dns.SRV) []*dns.SRV {
	out := make([]*dns.SRV, 0, len(recs))
	for _, r := range recs {
		if !NoService(r) {
			out = append(out, r)
		}
	}
	return out
}

// MaxTargets bounds the SRV targets whose addresses are asked for one
// answer. A KMS client tries the records of an SRV answer one after the
// other (RFC 2782 order; Windows picks among them), and a real zone has one
// to a few; 8 covers every sane set, while one hostile answer with 1,700
// targets costs 16 follow-up questions instead of 3,400. The rest are
// named in the dns.srv evidence as not followed.
const MaxTargets = 8

// candidates are the distinct targets a PC could go on to resolve for the
// KMS port, in the order they are followed: the expected host first (the
// question that matters most), then RFC 2782 order (priority ascending,
// heavier weight first), then by name for stable output.
func candidates(a Answer, exp Expect) []string {
	recs, _ := srvRecordsOf(ownedRecords(a))
	return candidatesOf(recs, exp)
}

// candidatesOf is candidates of an answer's SRVRecords.
func candidatesOf(recs []*dns.SRV, exp Expect) []string {
	want := exp.words().fqdn
	if len(recs) > 1 {
		recs = slices.Clone(recs)
		slices.SortStableFunc(recs, func(x, y *dns.SRV) int {
			xe, ye := strings.EqualFold(x.Target, want), strings.EqualFold(y.Target, want)
			switch {
			case xe && !ye:
				return -1
			case ye && !xe:
				return 1
			}
			if c := cmp.Compare(x.Priority, y.Priority); c != 0 {
				return c
			}
			if c := cmp.Compare(y.Weight, x.Weight); c != 0 {
				return c
			}
			return strings.Compare(strings.ToLower(x.Target), strings.ToLower(y.Target))
		})
	}
	var out []string
	var seen map[string]bool // only for a long answer: a few targets are compared directly
	for _, r := range recs {
		if r.Port != exp.Port || NoService(r) {
			continue
		}
		t := fqdn(r.Target)
		switch {
		case seen != nil:
			if seen[t] {
				continue
			}
			seen[t] = true
		case slices.Contains(out, t):
			continue
		case len(out) == 2*MaxTargets:
			seen = make(map[string]bool, len(recs))
			for _, o := range out {
				seen[o] = true
			}
			seen[t] = true
		}
		out = append(out, t)
	}
	return out
}

// Targets returns the distinct targets of an answer's SRV records with the
// expected port, lower case FQDNs, at most MaxTargets of them: the names a
// PC would go on to resolve and connect to.
func Targets(a Answer, exp Expect) []string {
	c := candidates(a, exp)
	return c[:min(len(c), MaxTargets)]
}

// NotFollowed returns the targets beyond MaxTargets, without the dot.
func NotFollowed(a Answer, exp Expect) []string {
	return notFollowed(candidates(a, exp))
}

func notFollowed(c []string) []string {
	if len(c) <= MaxTargets {
		return nil
	}
	out := make([]string, 0, len(c)-MaxTargets)
	for _, t := range c[MaxTargets:] {
		out = append(out, strings.TrimSuffix(t, "."))
	}
	return out
}

// fqdn is dnsname.FQDN(name), without a copy when name is already in
// that form (as the targets of one city's answers almost all are).
func fqdn(name string) string {
	c := dnsname.Canonical(name)
	if len(name) == len(c)+1 && name[len(c)] == '.' && name[:len(c)] == c {
		return name
	}
	return c + "."
}

// Addresses returns the A or AAAA addresses that answer the question
// (ownership rule: strays of other owners are not the target's address).
// They are not filtered for usability: see UsableKMSAddress.
func Addresses(a Answer) []net.IP { return addressesOf(a, ownedRecords(a)) }

// addressesOf is Addresses of a, whose ownership o is already sorted out.
func addressesOf(a Answer, o owned) []net.IP {
	if a.Msg == nil || a.Msg.Rcode != dns.RcodeSuccess {
		return nil
	}
	var out []net.IP
	for _, rr := range o.records {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A)
		case *dns.AAAA:
			out = append(out, r.AAAA)
		}
	}
	return out
}

// UsableKMSAddress reports whether a PC could reach a KMS host at ip
// (DESIGN §4.1, usable addresses): a unicast address, not 0.0.0.0 or ::
// (which reach the PC itself), not multicast, broadcast, link-local,
// "this network" (0/8) or reserved (240/4). Loopback counts only when
// the KMS host itself is on loopback (tests, the demo): hostIsLoopback.
// The probe never dials an address this rejects.
func UsableKMSAddress(ip net.IP, hostIsLoopback bool) bool {
	if ip == nil || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	if ip4 := ip.To4(); ip4 != nil && (ip4[0] == 0 || ip4[0] >= 240) {
		return false // 0/8 "this network"; 240/4 reserved, 255.255.255.255 broadcast
	}
	if ip.IsLoopback() {
		return hostIsLoopback
	}
	return true
}

// HostIsLoopback says whether the KMS host is on loopback: kms.host is a
// loopback address or "localhost", or every reference address (from the
// witnesses the orchestrator trusts, never a school's own server) is a
// loopback one, as in the simulated city.
func HostIsLoopback(exp Expect, ref []net.IP) bool {
	h := dnsname.Canonical(exp.Host)
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback()
	}
	if len(ref) == 0 {
		return false
	}
	for _, ip := range ref {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// DialableAddresses are the addresses of a target a KMS connection may go
// to: the owned A and AAAA records that are usable.
func DialableAddresses(a4, a6 Answer, exp Expect, ref []net.IP) []net.IP {
	lo := HostIsLoopback(exp, ref)
	var out []net.IP
	for _, ip := range append(Addresses(a4), Addresses(a6)...) {
		if UsableKMSAddress(ip, lo) {
			out = append(out, ip)
		}
	}
	return out
}

// serverPort is the port of a host:port server address, for remedies
// that name it ("UDP and TCP 15353"); 53 when there is none.
func serverPort(server string) string {
	if _, p, err := net.SplitHostPort(server); err == nil {
		if _, err := strconv.Atoi(p); err == nil {
			return p
		}
	}
	return "53"
}
