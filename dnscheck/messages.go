package dnscheck

import (
	"fmt"
	"maps"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
)

// messages are the English text of every message id this leg writes, in the placeholder form of the translation catalog
// ("{{.Server}}"). Message and Remedy are these texts with the finding's
// Args filled in, so a translation shows exactly the facts the English
// does. i18n/locales/dns.en.toml holds the same texts; a test keeps them
// equal, and that the zh-TW file has every id with the same placeholders.
//
// Zone lines, cmdlets and addresses are Args, never prose: they are not
// translated.
var messages = finding.Catalog{
	// dns.srv: no usable response
	"dns.srv.stopped":           "not asked: the audit was stopped before this answer arrived",
	"dns.srv.timeout":           "timeout: {{.Server}} did not answer in {{.Attempts}} attempt(s) of {{.PerAttempt}} (server down, or port {{.Port}} filtered)",
	"dns.srv.tcp_timeout":       "answer truncated over UDP and the TCP retry to {{.Server}} timed out: PCs cannot read the full answer; allow TCP {{.Port}}",
	"dns.srv.port_closed":       "no DNS service at {{.Server}}: port closed (ICMP port unreachable or reset)",
	"dns.srv.tcp_refused":       "answer truncated over UDP and {{.Server}} refused the TCP retry: allow TCP {{.Port}}",
	"dns.srv.unreachable":       "{{.Server}} is unreachable (no route to host)",
	"dns.srv.mismatch":          "{{.Server}} answered a different question than asked ({{.Detail}}): a broken middlebox or spoofing",
	"dns.srv.mismatched_id":     "{{.Server}} answered with a mismatched id in {{.Attempts}} attempt(s) ({{.Detail}}): a NAT, firewall or DNS proxy rewriting ids, or spoofing; a PC behind the same path gets no answer either",
	"dns.srv.mismatched_id_got": "{{.Server}} answered with a mismatched id in {{.Attempts}} attempt(s) (an answer with id {{.GotID}} (asked with id {{.AskedID}})): a NAT, firewall or DNS proxy rewriting ids, or spoofing; a PC behind the same path gets no answer either",
	"dns.srv.malformed":         "{{.Server}} sent an answer that is not valid DNS: {{.Detail}}",
	"dns.srv.truncated_tcp":     "the answer was truncated even over TCP: {{.Server}} never gives the full answer for {{.Name}}",
	"dns.srv.error":             "exchange with {{.Server}} failed: {{.Detail}}",
	// dns.srv: a response without the record
	"dns.srv.nxdomain":     "NXDOMAIN for {{.Name}}: the record does not exist",
	"dns.srv.refused":      "REFUSED: the server will not answer {{.Name}} for the probe (recursion or the zone is not allowed for this client address)",
	"dns.srv.servfail":     "SERVFAIL for {{.Name}}: the server could not resolve it (upstream unreachable or a DNSSEC failure)",
	"dns.srv.nodata":       "NODATA: {{.Name}} exists but has no SRV record",
	"dns.srv.foreign_only": "no SRV record for {{.Name}}: the answer held only records of another name ({{.Foreign}}), which a PC ignores",
	"dns.srv.rcode":        "{{.Rcode}} for {{.Name}}",
	// dns.srv: records
	"dns.srv.ok":           "{{.Name}} -> {{.Host}} port {{.KMSPort}}",
	"dns.srv.extra":        "{{.Name}} has the right record and {{.ExtraCount}} extra ({{.Extra}}): Windows picks among SRV records, so some PCs will try them",
	"dns.srv.other_target": "{{.Name}} points at {{.Targets}}, not {{.Host}} (port {{.KMSPort}} is right; dns.target decides whether that name reaches the KMS host)",
	"dns.srv.no_service":   "{{.Name}} has the target \".\": the record says the service is not available, so no PC looks further",
	"dns.srv.wrong_port":   "{{.Name}} has no record with port {{.KMSPort}} (found {{.Found}})",
	// shared servers (DESIGN §4.2): the server's own fault, told once to
	// the people who run it
	"dns.infra.no_answer": "{{.Server}} does not answer DNS ({{.Why}})",
	"dns.infra.timeout":   "{{.Server}} does not answer DNS (no answer in {{.Attempts}} attempt(s) of {{.PerAttempt}})",
	"dns.infra.refused":   "{{.Server}} refuses to resolve for this probe (REFUSED for {{.Name}})",
	"dns.infra.servfail":  "{{.Server}} fails to resolve (SERVFAIL for {{.Name}})",
	// dns.target
	"dns.target.stopped":          "not asked: the audit was stopped",
	"dns.target.no_answer":        "no answer for {{.Name}}'s address ({{.Fail}})",
	"dns.target.dangling":         "{{.Name}} does not exist (NXDOMAIN): the SRV record points at a dangling name",
	"dns.target.no_address":       "{{.Name}} has no A or AAAA record: PCs find the name but no address",
	"dns.target.cname_no_address": "{{.Name}} is an alias (CNAME) of {{.End}}, which has no A or AAAA record: PCs find the name but no address",
	"dns.target.foreign_only":     "{{.Name}} has no A or AAAA record of its own: the answer held only records of other names ({{.Foreign}}), which a PC ignores",
	"dns.target.unusable":         "{{.Name}} resolves to {{.Unusable}}: not an address a PC can reach a KMS host at (unspecified, multicast, broadcast, link-local or loopback)",
	"dns.target.ok":               "{{.Name}} -> {{.Addresses}}",
	"dns.target.unverified":       "{{.Name}} -> {{.Addresses}}; the KMS host's own addresses are unknown (no city resolver gave them), so this cannot be compared",
	"dns.target.alias":            "{{.Name}} is another name for the KMS host (-> {{.Addresses}}): it works, but breaks when {{.Host}} moves",
	"dns.target.elsewhere":        "{{.Name}} resolves elsewhere: {{.Foreign}} is not the KMS host {{.Host}} ({{.KMSAddresses}})",
	// dns.consistency
	"dns.consistency.skip":      "fewer than two servers gave a comparable answer (a server that did not answer, refused or failed is left out): nothing to compare",
	"dns.consistency.agree":     "all {{.Count}} servers that gave a comparable answer agree",
	"dns.consistency.stale":     "servers disagree: {{.Odd}}; {{.Right}} serve the expected record ({{.Expected}})",
	"dns.consistency.stale_one": "servers disagree: {{.OddServers}} says {{.OddAnswer}}; {{.Right}} serve the expected record ({{.Expected}})",
	"dns.consistency.differ":    "servers disagree: {{.Groups}}; none serves the expected record ({{.Expected}}) alone",
}

// remedies are the English fixes, in the same form.
var remedies = finding.Catalog{
	// dns.srv
	"dns.srv.add_record":         "add to the zone {{.Suffix}}: {{.ZoneLine}} ; on Windows DNS: {{.Cmdlet}}",
	"dns.srv.add_record_city":    "the city resolvers only cache: put {{.ZoneLine}} on the authoritative DNS server of {{.Suffix}}, then let the cached answer expire (or flush the resolvers' cache)",
	"dns.srv.allow_query":        "allow the school's networks (and this probe) to query {{.Server}} (BIND: allow-query / allow-recursion; Windows DNS: recursion and zone settings), then: add to the zone {{.Suffix}}: {{.ZoneLine}} ; on Windows DNS: {{.Cmdlet}}",
	"dns.srv.allow_tcp":          "allow DNS over TCP port {{.Port}} to {{.Server}} from the clients (firewall), or keep the answer small enough for UDP",
	"dns.srv.fix_tcp_truncation": "{{.Server}} (or a proxy in front of it on TCP {{.Port}}) sets TC on its TCP answer, which no client can work around: fix or replace it, or keep the answer small",
	"dns.srv.check_path":         "something between the probe and {{.Server}} rewrites or forges DNS answers: check NAT, firewalls and DNS proxies on the path for UDP and TCP {{.Port}}",
	"dns.srv.check_server":       "check that {{.Server}} runs a DNS service reachable on UDP and TCP {{.Port}} from the school's PCs; if it is retired, remove it from the school's DHCP option 6 and from schools.yaml",
	"dns.srv.remove_extra":       "remove the extra record(s) from the zone {{.Suffix}}, keep only: {{.ZoneLine}}",
	// dns.infra: for the people who run a shared server
	"dns.infra.fix_answering": "{{.Server}} does not answer: the city's DNS operators must check that the resolver runs and answers on UDP and TCP {{.Port}} from the schools' networks and from this probe's address",
	"dns.infra.fix_refused":   "{{.Server}} refuses the schools' questions: the city's DNS operators must allow recursion for the schools' networks and this probe's address (BIND: allow-recursion; unbound: access-control)",
	"dns.infra.fix_servfail":  "{{.Server}} answers SERVFAIL: the city's DNS operators must check its upstream/forwarders and DNSSEC validation (if only some schools' names fail, those schools' authoritative servers are the cause)",
	"dns.infra.fix_path":      "answers from {{.Server}} arrive rewritten or forged: the city's network operators must check NAT, firewalls and DNS proxies between the schools and the resolver on UDP and TCP {{.Port}}",
	// dns.target
	"dns.target.fix_resolution": "make {{.Server}} resolve {{.Host}} (check its forwarders or root hints; the KMS host's A record lives in the {{.HostZone}} zone)",
	"dns.target.point_instead":  "point the SRV record at {{.Host}} instead of {{.Name}}",
	"dns.target.point_at":       "point the SRV record at {{.Host}}",
	"dns.target.point_itself":   "point the SRV record at {{.Host}} itself",
	"dns.target.fix_override":   "{{.Server}} serves a wrong address for {{.Host}}: remove the local override (a stale zone or hosts entry) so it resolves to {{.KMSAddresses}}",
	"dns.target.fix_unusable":   "{{.Server}} gives {{.Host}} the address {{.Unusable}}: correct the A/AAAA record (or the server's local override) to the KMS host's real unicast address",
	// dns.consistency
	"dns.consistency.wait_ttl":   "{{.OddServers}} still hold an old answer in their cache: it expires within {{.TTL}} s; to hurry it, the city's DNS operators can flush {{.Name}} from the cache",
	"dns.consistency.wait_cache": "{{.OddServers}} still hold an old answer in their cache until it expires; to hurry it, the city's DNS operators can flush {{.Name}} from the cache",
	"dns.consistency.fix_odd":    "PCs get different answers depending on which DNS server they ask: make {{.OddServers}} serve the expected record like {{.Right}} (a stale secondary? fix the zone transfer; a cache? flush it)",
	"dns.consistency.decide":     "PCs get different answers depending on which DNS server they ask: serve {{.ZoneLine}} on every server (dns.srv names what each one is missing)",
}

// texts words every finding this leg writes.
var texts = finding.Words{Messages: messages, Remedies: remedies}

// english is the whole catalog, as i18n/locales/dns.en.toml holds it.
var english = func() finding.Catalog {
	c := maps.Clone(messages)
	maps.Copy(c, remedies)
	return c
}()

// maxListed bounds the items (records, targets, addresses, servers,
// record sets) one message or remedy names. A hostile or broken server can
// return 1,700 SRV records: naming them all made one table cell 87 KB and
// one Nagios line over 100 KB. An admin needs a few examples and the
// count; the evidence keeps the full lists.
const maxListed = 5

// listed joins the first maxListed items and counts the rest.
func listed(items []string, sep string) string {
	return listedOf(items, len(items), maxListed, sep)
}

// listedOf joins the first limit of items and counts the rest of total
// (items may already be a prefix of a longer list).
func listedOf(items []string, total, limit int, sep string) string {
	n := min(len(items), limit)
	s := strings.Join(items[:n], sep)
	if total > n {
		s += fmt.Sprintf(" … and %d more", total-n)
	}
	return s
}
