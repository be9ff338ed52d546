// Package dhcpcheck is kmsprobe's DHCP leg: from a Linux box on a school's
// LAN it asks the campus DHCP servers what a Windows PC would be told, and
// judges whether that lets the PC find the KMS host.
//
// A PC finds the KMS host only through the DNS suffix of DHCP option 15 and
// the DNS servers of option 6 (DESIGN.md §1, §2). Discover broadcasts one
// DHCPDISCOVER shaped like a Windows client's (vendor class "MSFT 5.0" and
// Windows' parameter request list, since many servers send only what is
// asked for) and collects every DHCPOFFER that arrives within a window, so a
// second, rogue server shows up next to the campus one. It never sends a
// DHCPREQUEST: the probe takes no lease and leaves no trace in the servers'
// lease databases.
//
// Measuring and judging are apart. Discover does the I/O and returns the
// offers with their options decoded from the raw bytes, so an absent option
// and a malformed one are told apart. Judge (dhcp.offer, dhcp.suffix,
// dhcp.rogue) and JudgeDNS (dhcp.dns) are pure. JudgeDNS takes the dns.srv
// verdicts the orchestrator obtained from the DNS leg for the (server,
// suffix) pairs DNSTargets names, so this package stays independent of
// dnscheck.
//
// Discover needs a raw packet socket: root, or the capabilities that
// SetcapCommand prints. Without them it returns an error matching
// ErrPermission (and os.ErrPermission), and PermissionFindings turns that
// into unknown findings whose remedy is the exact setcap command.
//
// The integration tests run real dnsmasq and kea-dhcp4 in network namespaces
// they create; see netns_test.go for how they keep every DHCP packet inside
// those namespaces.
package dhcpcheck
