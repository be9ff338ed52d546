package dhcpcheck

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kh-edu/kmsprobe/finding"
)

const (
	kmsHost = "kms.example.edu.tw"
	school  = "demo-jh.kh.edu.tw"
	v6DNS   = "2001:db8:1::53"
	router  = "fe80::1"
	duid    = "00:03:00:01:02:00:00:00:00:02"
)

// srvAt is the dns.srv finding the DNS leg would give for domain at
// server, with the records as its evidence shows them.
func srvAt(server, domain string, st finding.Status, records ...string) finding.Finding {
	ev := map[string]any{"query": "_vlmcs._tcp." + domain + "."}
	if len(records) > 0 {
		ev["records"] = records
	}
	return finding.Finding{Check: finding.DNSSRV, Server: server, Status: st, Message: "dns.srv " + st.String(), Evidence: finding.EvidenceMap(ev)}
}

func good(server, domain string) finding.Finding {
	return srvAt(server, domain, finding.Pass, "0 0 1688 "+kmsHost+".")
}

func nx(server, domain string) finding.Finding { return srvAt(server, domain, finding.Fail) }

func offer119(suffix string, search ...string) Offer {
	o := campusOffer(suffix)
	if len(search) > 0 {
		b, err := encodeSearchList(search)
		if err != nil {
			panic(err)
		}
		o.Options[OptDomainSearch] = b
		o.SearchList = search
	}
	return o
}

func results(fs ...finding.Finding) SRVResults {
	out := SRVResults{}
	for _, f := range fs {
		q, _ := f.Evidence.Value("query").(string)
		out[Target{Server: f.Server, Suffix: strings.TrimSuffix(strings.TrimPrefix(q, "_vlmcs._tcp."), ".")}] = f
	}
	return out
}

func TestJudgeSearch(t *testing.T) {
	exp := baseExpect
	exp.KMSHost, exp.KMSPort = kmsHost, 1688
	sch := DNSAddr(net.ParseIP(schoolDNS))
	v6 := net.JoinHostPort(v6DNS, "53")
	ra := RouterAdvert{Source: net.ParseIP(router), RDNSS: []net.IP{net.ParseIP(v6DNS)}, DNSSL: []string{"v6.example"}}
	tests := []struct {
		name   string
		view   View
		exp    Expect
		srv    SRVResults
		status finding.Status
		id     string
		msg    []string // substrings
	}{
		{
			name: "nothing offered or advertised", exp: exp, status: finding.Skip, id: "dhcp.search.nothing",
		},
		{
			name: "school suffix from option 15 leads there", view: View{Offers: []Offer{campusOffer(school)}}, exp: exp,
			srv: results(good(sch, school)), status: finding.Pass, id: "dhcp.search.ok",
			msg: []string{"demo-jh.kh.edu.tw is searched", "10.1.2.3:53"},
		},
		{
			name: "option 119 with the school's suffix", view: View{Offers: []Offer{offer119(school, school, "kh.edu.tw")}}, exp: exp,
			srv: results(good(sch, school), nx(sch, "kh.edu.tw")), status: finding.Pass, id: "dhcp.search.ok",
		},
		{
			name: "option 119 lacks the school's suffix", view: View{Offers: []Offer{offer119(school, "kh.edu.tw")}}, exp: exp,
			srv: results(good(sch, school), nx(sch, "kh.edu.tw")), status: finding.Warn, id: "dhcp.search.lacks_119",
			msg: []string{"option 119 from 10.1.2.1 lacks the school's suffix demo-jh.kh.edu.tw"},
		},
		{
			name: "a searched domain points at another KMS host", view: View{Offers: []Offer{offer119(school, school, "other.example")}}, exp: exp,
			srv:    results(good(sch, school), srvAt(sch, "other.example", finding.Warn, "0 0 1688 kms.other.example.")),
			status: finding.Warn, id: "dhcp.search.other_host",
			msg: []string{"kms.other.example (other.example at 10.1.2.3:53)"},
		},
		{
			name: "extra record to another host beside the right one", view: View{Offers: []Offer{campusOffer(school)}}, exp: exp,
			srv:    results(srvAt(sch, school, finding.Warn, "0 0 1688 "+kmsHost+".", "0 0 1688 rogue-kms.example.")),
			status: finding.Warn, id: "dhcp.search.other_host",
		},
		{
			name: "no searched domain leads to the KMS host", view: View{Offers: []Offer{offer119(school, "kh.edu.tw")}}, exp: exp,
			srv: results(nx(sch, school), nx(sch, "kh.edu.tw")), status: finding.Fail, id: "dhcp.search.none_leads",
			msg: []string{"no domain a PC searches (demo-jh.kh.edu.tw, kh.edu.tw) leads to the KMS host kms.example.edu.tw"},
		},
		{
			name: "another domain leads there, the school's does not", view: View{Offers: []Offer{offer119(school, school, "kh.edu.tw")}}, exp: exp,
			srv: results(nx(sch, school), good(sch, "kh.edu.tw")), status: finding.Warn, id: "dhcp.search.partial",
		},
		{
			name: "the school's suffix is not searched at all, another is", view: View{Offers: []Offer{campusOffer("kh.edu.tw")}}, exp: exp,
			srv: results(good(sch, "kh.edu.tw")), status: finding.Warn, id: "dhcp.search.not_searched",
		},
		{
			name: "no domain at all", view: View{Offers: []Offer{campusOffer("")}}, exp: exp, status: finding.Fail, id: "dhcp.search.no_domain",
		},
		{
			name: "no DNS server at all", view: View{Offers: []Offer{mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{OptDomainName: school})}}, exp: exp,
			status: finding.Fail, id: "dhcp.search.no_server",
		},
		{
			name: "a question not asked is unknown, not pass", view: View{Offers: []Offer{campusOffer(school)}}, exp: exp,
			srv: SRVResults{}, status: finding.Unknown, id: "dhcp.search.unknown_none",
		},
		{
			name: "IPv6: RDNSS server lacks the record for the school's suffix", view: View{Offers: []Offer{campusOffer(school)}, Adverts: []RouterAdvert{ra}}, exp: exp,
			srv: results(good(sch, school), nx(sch, "v6.example"), nx(v6, school), nx(v6, "v6.example")), status: finding.Warn, id: "dhcp.search.partial",
			msg: []string{"does not lead to the KMS host at [2001:db8:1::53]:53"},
		},
		{
			name: "IPv6: every server and the school's suffix", view: View{Offers: []Offer{campusOffer(school)}, Adverts: []RouterAdvert{ra}}, exp: exp,
			srv: results(good(sch, school), nx(sch, "v6.example"), good(v6, school), nx(v6, "v6.example")), status: finding.Pass, id: "dhcp.search.ok",
		},
		{
			name: "IPv6 only: DHCPv6 domain list and RDNSS", exp: exp,
			view: View{Replies: []Reply6{{ServerDUID: duid, Source: net.ParseIP(router), DNS: []net.IP{net.ParseIP(v6DNS)}, Domains: []string{school}}}},
			srv:  results(good(v6, school)), status: finding.Pass, id: "dhcp.search.ok",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := JudgeSearch(tc.view, tc.exp, tc.srv)
			if f.Status != tc.status || f.ID != tc.id {
				t.Errorf("got %v %s %q, want %v %s", f.Status, f.ID, f.Message, tc.status, tc.id)
			}
			for _, m := range tc.msg {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message lacks %q: %s", m, f.Message)
				}
			}
			if f.Check != finding.DHCPSearch {
				t.Errorf("check = %s", f.Check)
			}
			if (f.Status == finding.Fail || f.Status == finding.Warn) && (f.Remedy == "" || f.RemedyID == "") {
				t.Errorf("a %v without remedy (id %q)", f.Status, f.RemedyID)
			}
			// Every question the judge needed is one Targets asks.
			for _, q := range tc.view.SearchTargets() {
				if !contains(tc.view.Targets(tc.exp.Suffix), q) {
					t.Errorf("SearchTargets has %v, Targets does not", q)
				}
			}
			// The same verdict from findings read back from a saved report.
			back := SRVResults{}
			for k, x := range tc.srv {
				b, err := json.Marshal(x)
				if err != nil {
					t.Fatal(err)
				}
				var y finding.Finding
				if err := json.Unmarshal(b, &y); err != nil {
					t.Fatal(err)
				}
				back[k] = y
			}
			if g := JudgeSearch(tc.view, tc.exp, back); g.Status != f.Status || g.Message != f.Message {
				t.Errorf("from JSON: %v %q, in process: %v %q", g.Status, g.Message, f.Status, f.Message)
			}
		})
	}
}

func contains(ts []Target, t Target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func TestViewSources(t *testing.T) {
	v := View{
		Iface:   "eth1",
		Offers:  []Offer{offer119("Demo-JH.kh.edu.tw.", school, "kh.edu.tw")},
		Replies: []Reply6{{ServerDUID: duid, Source: net.ParseIP(router), DNS: []net.IP{net.ParseIP(v6DNS)}, Domains: []string{"v6list.example"}}},
		Adverts: []RouterAdvert{{Source: net.ParseIP(router), RDNSS: []net.IP{net.ParseIP("fe80::53")}, DNSSL: []string{"dnssl.example"}}},
	}
	wantD := []SearchDomain{
		{school, SrcOption15, campusID},
		{school, SrcOption119, campusID},
		{"kh.edu.tw", SrcOption119, campusID},
		{"v6list.example", SrcDHCPv6List, duid},
		{"dnssl.example", SrcRADNSSL, router},
	}
	if diff := cmp.Diff(wantD, v.Domains()); diff != "" {
		t.Errorf("domains (-want +got):\n%s", diff)
	}
	wantS := []DNSServer{
		{"10.1.2.3:53", SrcOption6, campusID},
		{"[2001:db8:1::53]:53", SrcDHCPv6DNS, duid},
		{"[fe80::53%eth1]:53", SrcRARDNSS, router}, // link-local: only through the interface
	}
	if diff := cmp.Diff(wantS, v.Servers()); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if got := len(v.SearchTargets()); got != 3*4 {
		t.Errorf("SearchTargets: %d questions, want every server x every distinct domain = 12", got)
	}
}

func TestSearchTargetsBounded(t *testing.T) {
	var names []string
	var dns []string
	for i := 0; i < 100; i++ {
		names = append(names, "d"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+".example")
		dns = append(dns, net.IPv4(10, 0, byte(i/250), byte(i%250+1)).String())
	}
	o := mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{OptDNS: ip4s(dns...), OptDomainName: school})
	o.SearchList = names
	o.Options[OptDomainSearch] = []byte{0}
	v := View{Offers: []Offer{o}}
	if n := len(v.SearchTargets()); n > maxDNSTargets*maxSearchDomains {
		t.Fatalf("%d questions from one forged offer, bound is %d", n, maxDNSTargets*maxSearchDomains)
	}
	f := JudgeSearch(v, Expect{Suffix: school, KMSHost: kmsHost}, SRVResults{})
	if _, ok := f.Evidence.Get("not_followed"); !ok {
		t.Error("the domains and servers not followed are not named in the evidence")
	}
}

func TestRogueBothFamilies(t *testing.T) {
	raDNS := func(src string, mac string, dnssl ...string) RouterAdvert {
		hw, _ := net.ParseMAC(mac)
		return RouterAdvert{Source: net.ParseIP(src), MAC: hw, RDNSS: []net.IP{net.ParseIP(v6DNS)}, DNSSL: dnssl}
	}
	campus := View{Offers: []Offer{campusOffer(school)}}
	tests := []struct {
		name   string
		view   View
		allow  []string
		status finding.Status
		server string
		msg    string
	}{
		{name: "one of each family", view: with(campus, []Reply6{{ServerDUID: duid, Source: net.ParseIP(router)}}, []RouterAdvert{raDNS(router, "02:00:00:00:00:01", school)}),
			status: finding.Pass, server: campusID, msg: "IPv6: DHCPv6 server " + duid + ", router fe80::1"},
		{name: "a second router advertising DNS", view: with(campus, nil, []RouterAdvert{raDNS(router, "02:00:00:00:00:01", school), raDNS("fe80::bad", "02:00:00:00:0b:ad", "home.lan")}),
			status: finding.Fail, server: "fe80::bad", msg: "router fe80::bad (MAC 02:00:00:00:0b:ad)"},
		{name: "a router without DNS options is not counted", view: with(campus, nil, []RouterAdvert{raDNS(router, "02:00:00:00:00:01"), {Source: net.ParseIP("fe80::2")}}),
			status: finding.Pass, server: campusID},
		{name: "two DHCPv6 servers", view: with(campus, []Reply6{{ServerDUID: duid, Domains: []string{school}}, {ServerDUID: "00:01:aa", Source: net.ParseIP("fe80::66")}}, nil),
			status: finding.Fail, server: "00:01:aa"},
		{name: "allow-list names the router: the other is a suspect", view: with(campus, nil, []RouterAdvert{raDNS(router, "02:00:00:00:00:01"), raDNS("fe80::bad", "02:00:00:00:0b:ad")}),
			allow: []string{campusID, router}, status: finding.Fail, server: "fe80::bad"},
		{name: "allow-list by MAC and DUID", view: with(campus, []Reply6{{ServerDUID: duid}}, []RouterAdvert{raDNS(router, "02:00:00:00:00:01")}),
			allow: []string{campusID, "02:00:00:00:00:01", duid}, status: finding.Pass, server: campusID},
		{name: "IPv6 only, one router", view: View{Adverts: []RouterAdvert{raDNS(router, "02:00:00:00:00:01")}}, status: finding.Pass, server: "eth1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseExpect
			e.AllowedServers, e.Allowed6 = SplitAllowed(tc.allow)
			var f finding.Finding
			for _, x := range Judge(tc.view, e) {
				if x.Check == finding.DHCPRogue {
					f = x
				}
			}
			if f.Status != tc.status || f.Server != tc.server || !strings.Contains(f.Message, tc.msg) {
				t.Errorf("got %v @%s %q, want %v @%s containing %q", f.Status, f.Server, f.Message, tc.status, tc.server, tc.msg)
			}
			if f.Status == finding.Fail && !strings.Contains(f.Remedy, "RA Guard") {
				t.Errorf("IPv6 rogue remedy lacks RA Guard: %s", f.Remedy)
			}
			if f.ID == "" {
				t.Error("no message id")
			}
		})
	}
}

func with(v View, r []Reply6, a []RouterAdvert) View {
	v.Replies, v.Adverts = r, a
	return v
}
