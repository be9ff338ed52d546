package dhcpcheck

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// srvEvidence is the part of a dns.srv finding's evidence dhcp.search
// reads: the records as "priority weight port target".
type srvEvidence struct {
	Records []string `json:"records"`
}

// srvTargets returns the (target, port) pairs of a dns.srv finding's
// records, read from its evidence, so a finding decoded from JSON works.
func srvTargets(f finding.Finding) (targets []string, ports []int) {
	var ev srvEvidence
	if f.Evidence.Decode(&ev) != nil {
		return nil, nil
	}
	for _, r := range ev.Records {
		fs := strings.Fields(r)
		if len(fs) != 4 {
			continue
		}
		p, err := strconv.Atoi(fs[2])
		if err != nil {
			continue
		}
		targets, ports = append(targets, dnsname.Canonical(fs[3])), append(ports, p)
	}
	return targets, ports
}

// searchCell is the outcome of one (server, domain) question.
type searchCell int

const (
	cellLeads   searchCell = iota // the SRV record points at the KMS host
	cellFails                     // NXDOMAIN, NODATA, timeout...: this name leads nowhere here
	cellUnknown                   // not asked, or the probe could not tell
)

// JudgeSearch gives dhcp.search: every domain a PC searches (option 15,
// each option 119 entry, DHCPv6 option 24, RA DNSSL) at every DNS server
// it gets (option 6, DHCPv6 option 23, RA RDNSS). srv holds the dns.srv
// findings for v.SearchTargets() (v.Targets covers them).
//
//   - pass: the school's suffix is searched and its SRV record leads to
//     the KMS host at every server;
//   - warn: option 119 is present but lacks the school's suffix (Windows
//     10 1803+ may search only that list), a searched domain's SRV record
//     points at another KMS host (a PC may pick it), or the school's
//     suffix does not lead there at every server while another domain
//     does;
//   - fail: no searched domain leads to the KMS host at any server;
//   - unknown: nothing leads there, but some questions could not be
//     asked or judged; skip: nothing was offered or advertised.
//
// It reads as: collect what a PC searches → one verdict per (domain,
// server) → combine them.
func JudgeSearch(v View, exp Expect, srv SRVResults) finding.Finding {
	j := searchJudge{school: dnsname.Canonical(exp.Suffix), kms: dnsname.Canonical(exp.KMSHost), port: exp.KMSPort}
	f := finding.Finding{Check: finding.DHCPSearch, Server: exp.Iface, Evidence: searchEvidence(v, j.school)}
	if len(v.Offers)+len(v.Replies)+len(v.Adverts) == 0 {
		f.Status = finding.Skip
		f.Message = "no DHCP offer, DHCPv6 reply or router advertisement, so no search list to follow"
		return withID(f, "dhcp.search.nothing")
	}
	j.collect(v, &f.Evidence)
	if bad, ok := j.nothingToAsk(f); ok {
		return bad
	}
	f.Evidence.Set("questions", j.ask(srv))
	if others := j.others(); len(others) > 0 {
		f.Evidence.Set("other_hosts", others)
	}
	return j.combine(f)
}

// searchJudge is one dhcp.search judgement: what is expected, what a PC
// searches, and the verdicts of its questions.
type searchJudge struct {
	school, kms string
	port        int

	domains, servers []string // followed, in the order a PC tries them
	lacking          []string // DHCP servers whose option 119 lacks the school's suffix

	cells      map[string]map[string]searchCell // cells[domain][server]
	otherHosts map[string][]string              // foreign target -> "domain at server"
	leads      bool                             // some question leads to the KMS host
	unknowns   int                              // questions not asked or judged
}

// searchEvidence is the evidence every dhcp.search finding carries.
func searchEvidence(v View, school string) finding.Evidence {
	ev := map[string]any{
		"domains":  searchDomainsEvidence(v.Domains()),
		"servers":  dnsServersEvidence(v.Servers()),
		"expected": school,
	}
	if v.IPv6Error != "" {
		ev["ipv6_error"] = v.IPv6Error
	}
	return finding.EvidenceMap(ev)
}

// collect takes the domains and servers a PC uses, as many as are
// followed (the rest go to the evidence), and the offers whose option 119
// lacks the school's suffix.
func (j *searchJudge) collect(v View, ev *finding.Evidence) {
	var notFollowed []string
	j.servers, notFollowed = capList(v.ServerAddrs(), maxDNSTargets, notFollowed)
	j.domains, notFollowed = capList(v.SearchedNames(), maxSearchDomains, notFollowed)
	if len(notFollowed) > 0 {
		ev.Set("not_followed", notFollowed)
	}
	j.lacking = lacking119(v.Offers, j.school)
}

// capList keeps the first max of list and adds the rest to over.
func capList(list []string, max int, over []string) (kept, overflow []string) {
	if len(list) > max {
		return list[:max], append(over, list[max:]...)
	}
	return list, over
}

// lacking119 names, once each, the DHCP servers whose offer carries an
// option 119 without the school's suffix: per offer, since a PC takes the
// list of the offer it accepted.
func lacking119(offers []Offer, school string) []string {
	if school == "" {
		return nil
	}
	var lacking []string
	for _, o := range offers {
		if o.State(OptDomainSearch) != Present || slices.Contains(canonAll(o.SearchList), school) {
			continue
		}
		if id := ipText(o.ServerID); !slices.Contains(lacking, id) {
			lacking = append(lacking, id)
		}
	}
	return lacking
}

// nothingToAsk fails the check when a PC gets no domain or no server.
func (j *searchJudge) nothingToAsk(f finding.Finding) (finding.Finding, bool) {
	switch {
	case len(j.domains) == 0:
		f.Status = finding.Fail
		f.Message = "PCs get no DNS suffix and no search list (no option 15, 119, DHCPv6 24 or RA DNSSL): they cannot find the KMS host by SRV"
		f.Remedy, f.RemedyID = fmt.Sprintf("Hand out the school's DNS suffix %s in DHCP option 15 (see dhcp.suffix for the exact line).", orPlaceholder(j.school)), "dhcp.search.no_domain.remedy"
		return withID(f, "dhcp.search.no_domain", "Suffix", orPlaceholder(j.school)), true
	case len(j.servers) == 0:
		f.Status = finding.Fail
		f.Message = "PCs get no DNS server (no option 6, DHCPv6 23 or RA RDNSS): they cannot look the KMS host up"
		f.Remedy, f.RemedyID = "Hand out the school's DNS servers in DHCP option 6 (see dhcp.dns for the exact line).", "dhcp.search.no_server.remedy"
		return withID(f, "dhcp.search.no_server"), true
	}
	return f, false
}

// ask gives every (domain, server) question its verdict from the dns.srv
// findings and returns one evidence row per question.
func (j *searchJudge) ask(srv SRVResults) []map[string]any {
	j.cells, j.otherHosts = map[string]map[string]searchCell{}, map[string][]string{}
	var rows []map[string]any
	for _, d := range j.domains {
		j.cells[d] = map[string]searchCell{}
		for _, s := range j.servers {
			sf, ok := srv[Target{Server: s, Suffix: d}]
			c := searchCellOf(sf, ok, j.kms)
			j.leads = j.leads || c == cellLeads
			if c == cellUnknown {
				j.unknowns++
			}
			j.cells[d][s] = c
			if ok {
				j.noteForeign(sf, d+" at "+s)
			}
			rows = append(rows, questionRow(d, s, sf, ok))
		}
	}
	return rows
}

// searchCellOf is the verdict of one question from its dns.srv finding
// (ok false: not asked).
func searchCellOf(sf finding.Finding, ok bool, kms string) searchCell {
	if !ok {
		return cellUnknown
	}
	switch sf.Status {
	case finding.Pass:
		return cellLeads
	case finding.Warn:
		// Extra records beside the right one, or only another name on
		// the right port (dns.target decides that).
		if ts, _ := srvTargets(sf); kms == "" || slices.Contains(ts, kms) {
			return cellLeads
		}
		return cellFails
	case finding.Fail:
		return cellFails
	}
	return cellUnknown
}

// questionRow is the evidence row of one question.
func questionRow(domain, server string, sf finding.Finding, ok bool) map[string]any {
	row := map[string]any{"domain": domain, "server": server, "name": dnsname.SRVName(domain)}
	if !ok {
		row["status"], row["message"] = finding.Unknown.String(), "not asked"
		return row
	}
	row["status"], row["message"] = sf.Status.String(), sf.Message
	return row
}

// noteForeign records where a searched domain's SRV record points at a
// host other than the KMS host.
func (j *searchJudge) noteForeign(sf finding.Finding, where string) {
	targets, _ := srvTargets(sf)
	for _, t := range targets {
		if j.kms == "" || t == j.kms || dnsname.IsRoot(t) {
			continue
		}
		if !slices.Contains(j.otherHosts[t], where) {
			j.otherHosts[t] = append(j.otherHosts[t], where)
		}
	}
}

// others lists the foreign hosts, each with where it was seen.
func (j *searchJudge) others() []string {
	var others []string
	for _, t := range slices.Sorted(maps.Keys(j.otherHosts)) {
		others = append(others, fmt.Sprintf("%s (%s)", t, strings.Join(j.otherHosts[t], ", ")))
	}
	return others
}

// schoolBad lists the servers at which the school's suffix does not lead
// to the KMS host; searched is false when the suffix is not searched.
func (j *searchJudge) schoolBad() (bad []string, searched bool) {
	if j.school == "" || !slices.Contains(j.domains, j.school) {
		return nil, false
	}
	for _, s := range j.servers {
		if j.cells[j.school][s] != cellLeads {
			bad = append(bad, s)
		}
	}
	return bad, true
}

// combine turns the verdicts into the finding: fail or unknown when
// nothing leads to the KMS host, else warn for each problem, unknown for
// questions left open, pass.
func (j *searchJudge) combine(f finding.Finding) finding.Finding {
	bad, searched := j.schoolBad()
	args := []string{"Suffix", orPlaceholder(j.school), "KMS", orPlaceholder(j.kms), "Domains", strings.Join(j.domains, ", "), "Servers", strings.Join(j.servers, ", "), "Bad", strings.Join(bad, ", ")}
	if !j.leads {
		return j.noneLeads(f, args)
	}
	warns, warnIDs := j.warnings(bad, searched)
	switch {
	case len(warns) > 0:
		f.Status = finding.Warn
		f.Message = strings.Join(warns, "; ")
		f.Remedy, f.RemedyID = searchWarnRemedy(warnIDs, j.school, j.lacking, j.others()), "dhcp.search.warn.remedy"
		id := "dhcp.search." + warnIDs[0]
		if len(warnIDs) > 1 {
			id = "dhcp.search.several"
		}
		return withID(f, id, append(args, "Problems", f.Message, "Lacking", strings.Join(j.lacking, ", "), "Others", strings.Join(j.others(), "; "), "Steps", f.Remedy)...)
	case j.unknowns > 0:
		f.Status = finding.Unknown
		f.Message = fmt.Sprintf("%d of the questions could not be asked or judged", j.unknowns)
		return withID(f, "dhcp.search.unknown", append(args, "Count", strconv.Itoa(j.unknowns))...)
	}
	f.Status = finding.Pass
	if j.school == "" {
		f.Message = fmt.Sprintf("a searched domain leads to the KMS host %s at every DNS server a PC gets (%s); no school suffix configured to check", orPlaceholder(j.kms), strings.Join(j.servers, ", "))
		return withID(f, "dhcp.search.ok_no_suffix", args...)
	}
	f.Message = fmt.Sprintf("the school's suffix %s is searched and leads to the KMS host at every DNS server a PC gets (%s)", j.school, strings.Join(j.servers, ", "))
	return withID(f, "dhcp.search.ok", args...)
}

// noneLeads is the finding when no question leads to the KMS host:
// unknown when some could not be asked or judged, else fail.
func (j *searchJudge) noneLeads(f finding.Finding, args []string) finding.Finding {
	if j.unknowns > 0 {
		f.Status = finding.Unknown
		f.Message = fmt.Sprintf("no searched domain was seen leading to the KMS host, but %d of the questions could not be asked or judged", j.unknowns)
		return withID(f, "dhcp.search.unknown_none", append(args, "Count", strconv.Itoa(j.unknowns))...)
	}
	f.Status = finding.Fail
	f.Message = fmt.Sprintf("no domain a PC searches (%s) leads to the KMS host %s at any DNS server it gets (%s): PCs cannot activate by themselves",
		strings.Join(j.domains, ", "), orPlaceholder(j.kms), strings.Join(j.servers, ", "))
	f.Remedy, f.RemedyID = searchRemedy(j.school, j.kms, j.port), "dhcp.search.remedy"
	return withID(f, "dhcp.search.none_leads", append(args, "Steps", f.Remedy)...)
}

// warnings are the problems of a search that leads to the KMS host
// somewhere, with their ids, in the order they are told.
func (j *searchJudge) warnings(bad []string, searched bool) (warns, ids []string) {
	if len(j.lacking) > 0 {
		warns = append(warns, fmt.Sprintf("option 119 from %s lacks the school's suffix %s: Windows 10 1803 and later may search only that list", strings.Join(j.lacking, ", "), j.school))
		ids = append(ids, "lacks_119")
	}
	if others := j.others(); len(others) > 0 {
		warns = append(warns, "searched domains whose SRV record points at another KMS host (a PC may pick it): "+strings.Join(others, "; "))
		ids = append(ids, "other_host")
	}
	switch {
	case j.school == "":
	case !searched:
		warns = append(warns, fmt.Sprintf("the school's suffix %s is not among the searched domains (%s); another domain leads to the KMS host", j.school, strings.Join(j.domains, ", ")))
		ids = append(ids, "not_searched")
	case len(bad) > 0:
		warns = append(warns, fmt.Sprintf("_vlmcs._tcp.%s does not lead to the KMS host at %s; another searched domain does", j.school, strings.Join(bad, ", ")))
		ids = append(ids, "partial")
	}
	return warns, ids
}

func canonAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = dnsname.Canonical(n)
	}
	return out
}

func orPlaceholder(s string) string {
	if s == "" {
		return "(not configured)"
	}
	return s
}

func searchRemedy(school, kms string, port int) string {
	if port == 0 {
		port = 1688
	}
	if school == "" {
		return fmt.Sprintf("Give PCs a DNS suffix whose _vlmcs._tcp SRV record points at %s port %d, and DNS servers that answer it.", orPlaceholder(kms), port)
	}
	return fmt.Sprintf("Hand out %s in option 15 (and in option 119 if you send one), and add to the zone %s: %s 3600 IN SRV 0 0 %d %s. (see dhcp.suffix and dns.srv for the exact lines)",
		school, school, dnsname.SRVName(school), port, dnsname.FQDN(kms))
}

func searchWarnRemedy(ids []string, school string, lacking, others []string) string {
	var b []string
	for _, id := range ids {
		switch id {
		case "lacks_119":
			b = append(b, fmt.Sprintf("Put %s first in option 119 (domain search list) on DHCP server %s, or stop sending option 119:\n"+
				"  dnsmasq:      dhcp-option=option:domain-search,%s,…\n"+
				"  Windows DHCP: Set-DhcpServerv4OptionValue -OptionId 119 (as DNS wire format), or remove it", school, strings.Join(lacking, ", "), school))
		case "other_host":
			b = append(b, "Remove the _vlmcs._tcp records that point at another KMS host from those zones, or drop those domains from the search list: "+strings.Join(others, "; "))
		case "not_searched", "partial":
			b = append(b, fmt.Sprintf("Make %s the suffix PCs search (option 15, first in option 119) and make its _vlmcs._tcp record answer at every DNS server the LAN hands out (see dhcp.dns).", school))
		}
	}
	return strings.Join(b, "\n")
}

func searchDomainsEvidence(ds []SearchDomain) []map[string]any {
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, map[string]any{"domain": d.Domain, "source": string(d.Source), "origin": d.Origin})
	}
	return out
}

func dnsServersEvidence(ss []DNSServer) []map[string]any {
	out := make([]map[string]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, map[string]any{"address": s.Addr, "source": string(s.Source), "origin": s.Origin})
	}
	return out
}
