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
func JudgeSearch(v View, exp Expect, srv SRVResults) finding.Finding {
	f := finding.Finding{Check: finding.DHCPSearch, Server: exp.Iface}
	school := dnsname.Canonical(exp.Suffix)
	kms := dnsname.Canonical(exp.KMSHost)
	domains, servers := v.SearchedNames(), v.ServerAddrs()
	ev := finding.Evidence{
		"domains":  searchDomainsEvidence(v.Domains()),
		"servers":  dnsServersEvidence(v.Servers()),
		"expected": school,
	}
	if v.IPv6Error != "" {
		ev["ipv6_error"] = v.IPv6Error
	}
	f.Evidence = ev
	if len(v.Offers)+len(v.Replies)+len(v.Adverts) == 0 {
		f.Status = finding.Skip
		f.Message = "no DHCP offer, DHCPv6 reply or router advertisement, so no search list to follow"
		return withID(f, "dhcp.search.nothing")
	}
	var notFollowed []string
	if len(servers) > maxDNSTargets {
		notFollowed = append(notFollowed, servers[maxDNSTargets:]...)
		servers = servers[:maxDNSTargets]
	}
	if len(domains) > maxSearchDomains {
		notFollowed = append(notFollowed, domains[maxSearchDomains:]...)
		domains = domains[:maxSearchDomains]
	}
	if len(notFollowed) > 0 {
		ev["not_followed"] = notFollowed
	}
	if len(domains) == 0 {
		f.Status = finding.Fail
		f.Message = "PCs get no DNS suffix and no search list (no option 15, 119, DHCPv6 24 or RA DNSSL): they cannot find the KMS host by SRV"
		f.Remedy, f.RemedyID = fmt.Sprintf("Hand out the school's DNS suffix %s in DHCP option 15 (see dhcp.suffix for the exact line).", orPlaceholder(school)), "dhcp.search.no_domain.remedy"
		return withID(f, "dhcp.search.no_domain", "Suffix", orPlaceholder(school))
	}
	if len(servers) == 0 {
		f.Status = finding.Fail
		f.Message = "PCs get no DNS server (no option 6, DHCPv6 23 or RA RDNSS): they cannot look the KMS host up"
		f.Remedy, f.RemedyID = "Hand out the school's DNS servers in DHCP option 6 (see dhcp.dns for the exact line).", "dhcp.search.no_server.remedy"
		return withID(f, "dhcp.search.no_server")
	}

	// One row per question; cells[d][s].
	cells := map[string]map[string]searchCell{}
	var rows []map[string]any
	otherHosts := map[string][]string{} // foreign target -> "domain at server"
	leadsSomewhere := false
	unknowns := 0
	for _, d := range domains {
		cells[d] = map[string]searchCell{}
		for _, s := range servers {
			row := map[string]any{"domain": d, "server": s, "name": dnsname.SRVName(d)}
			sf, ok := srv[Target{Server: s, Suffix: d}]
			c := cellUnknown
			if ok {
				row["status"], row["message"] = sf.Status.String(), sf.Message
				switch sf.Status {
				case finding.Pass:
					c = cellLeads
				case finding.Warn:
					// Extra records beside the right one, or only another
					// name on the right port (dns.target decides that).
					c = cellFails
					if ts, _ := srvTargets(sf); kms == "" || slices.Contains(ts, kms) {
						c = cellLeads
					}
				case finding.Fail:
					c = cellFails
				}
				targets, _ := srvTargets(sf)
				for _, t := range targets {
					if kms != "" && t != kms && !dnsname.IsRoot(t) {
						where := d + " at " + s
						if !slices.Contains(otherHosts[t], where) {
							otherHosts[t] = append(otherHosts[t], where)
						}
					}
				}
			} else {
				row["status"] = finding.Unknown.String()
				row["message"] = "not asked"
			}
			if c == cellLeads {
				leadsSomewhere = true
			}
			if c == cellUnknown {
				unknowns++
			}
			cells[d][s] = c
			rows = append(rows, row)
		}
	}
	ev["questions"] = rows

	searched := school != "" && slices.Contains(domains, school)
	schoolEverywhere := searched
	var schoolBad []string
	if searched {
		for _, s := range servers {
			if cells[school][s] != cellLeads {
				schoolEverywhere = false
				schoolBad = append(schoolBad, s)
			}
		}
	}
	// Option 119 without the school's suffix: per offer, since a PC takes
	// the list of the offer it accepted.
	var lacking []string
	for _, o := range v.Offers {
		if school != "" && o.State(OptDomainSearch) == Present && !slices.Contains(canonAll(o.SearchList), school) {
			if id := ipText(o.ServerID); !slices.Contains(lacking, id) {
				lacking = append(lacking, id)
			}
		}
	}
	var others []string
	for _, t := range slices.Sorted(maps.Keys(otherHosts)) {
		others = append(others, fmt.Sprintf("%s (%s)", t, strings.Join(otherHosts[t], ", ")))
	}
	if len(others) > 0 {
		ev["other_hosts"] = others
	}

	args := []string{"Suffix", orPlaceholder(school), "KMS", orPlaceholder(kms), "Domains", strings.Join(domains, ", "), "Servers", strings.Join(servers, ", "), "Bad", strings.Join(schoolBad, ", ")}
	switch {
	case !leadsSomewhere && unknowns > 0:
		f.Status = finding.Unknown
		f.Message = fmt.Sprintf("no searched domain was seen leading to the KMS host, but %d of the questions could not be asked or judged", unknowns)
		return withID(f, "dhcp.search.unknown_none", append(args, "Count", strconv.Itoa(unknowns))...)
	case !leadsSomewhere:
		f.Status = finding.Fail
		f.Message = fmt.Sprintf("no domain a PC searches (%s) leads to the KMS host %s at any DNS server it gets (%s): PCs cannot activate by themselves",
			strings.Join(domains, ", "), orPlaceholder(kms), strings.Join(servers, ", "))
		f.Remedy, f.RemedyID = searchRemedy(school, kms, exp.KMSPort), "dhcp.search.remedy"
		return withID(f, "dhcp.search.none_leads", append(args, "Steps", f.Remedy)...)
	}
	var warns []string
	var warnIDs []string
	if len(lacking) > 0 {
		warns = append(warns, fmt.Sprintf("option 119 from %s lacks the school's suffix %s: Windows 10 1803 and later may search only that list", strings.Join(lacking, ", "), school))
		warnIDs = append(warnIDs, "lacks_119")
	}
	if len(others) > 0 {
		warns = append(warns, "searched domains whose SRV record points at another KMS host (a PC may pick it): "+strings.Join(others, "; "))
		warnIDs = append(warnIDs, "other_host")
	}
	switch {
	case school == "":
	case !searched:
		warns = append(warns, fmt.Sprintf("the school's suffix %s is not among the searched domains (%s); another domain leads to the KMS host", school, strings.Join(domains, ", ")))
		warnIDs = append(warnIDs, "not_searched")
	case !schoolEverywhere:
		warns = append(warns, fmt.Sprintf("_vlmcs._tcp.%s does not lead to the KMS host at %s; another searched domain does", school, strings.Join(schoolBad, ", ")))
		warnIDs = append(warnIDs, "partial")
	}
	if len(warns) == 0 && unknowns > 0 {
		f.Status = finding.Unknown
		f.Message = fmt.Sprintf("%d of the questions could not be asked or judged", unknowns)
		return withID(f, "dhcp.search.unknown", append(args, "Count", strconv.Itoa(unknowns))...)
	}
	if len(warns) > 0 {
		f.Status = finding.Warn
		f.Message = strings.Join(warns, "; ")
		f.Remedy, f.RemedyID = searchWarnRemedy(warnIDs, school, lacking, others), "dhcp.search.warn.remedy"
		id := "dhcp.search." + warnIDs[0]
		if len(warnIDs) > 1 {
			id = "dhcp.search.several"
		}
		return withID(f, id, append(args, "Problems", f.Message, "Lacking", strings.Join(lacking, ", "), "Others", strings.Join(others, "; "), "Steps", f.Remedy)...)
	}
	f.Status = finding.Pass
	if school == "" {
		f.Message = fmt.Sprintf("a searched domain leads to the KMS host %s at every DNS server a PC gets (%s); no school suffix configured to check", orPlaceholder(kms), strings.Join(servers, ", "))
		return withID(f, "dhcp.search.ok_no_suffix", args...)
	}
	f.Message = fmt.Sprintf("the school's suffix %s is searched and leads to the KMS host at every DNS server a PC gets (%s)", school, strings.Join(servers, ", "))
	return withID(f, "dhcp.search.ok", args...)
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
