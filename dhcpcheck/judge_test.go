package dhcpcheck

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kh-edu/kmsprobe/finding"
)

// mkOffer builds an offer as Discover would decode it; opts are raw option
// values by code.
func mkOffer(sid string, mac string, yi string, opts map[uint8]string) Offer {
	m := &message{yiaddr: net.ParseIP(yi).To4(), options: map[uint8][]byte{}, malformed: map[uint8]string{}}
	for c, v := range opts {
		m.options[c] = []byte(v)
	}
	if _, ok := m.options[OptServerID]; !ok {
		m.options[OptServerID] = net.ParseIP(sid).To4()
	}
	hw, _ := net.ParseMAC(mac)
	return newOffer(m, net.ParseIP(sid).To4(), hw)
}

func ip4s(ss ...string) string {
	var b []byte
	for _, s := range ss {
		b = append(b, net.ParseIP(s).To4()...)
	}
	return string(b)
}

const (
	campusID  = "10.1.2.1"
	campusHW  = "00:15:5d:01:02:01"
	rogueID   = "192.168.0.1"
	rogueHW   = "ac:84:c6:11:22:33"
	schoolDNS = "10.1.2.3"
)

func campusOffer(suffix string) Offer {
	opts := map[uint8]string{OptDNS: ip4s(schoolDNS), OptRouters: ip4s(campusID), 1: ip4s("255.255.255.0"), OptLeaseTime: "\x00\x01\x51\x80"}
	if suffix != "" {
		opts[OptDomainName] = suffix
	}
	return mkOffer(campusID, campusHW, "10.1.2.57", opts)
}

func rogueOffer() Offer {
	return mkOffer(rogueID, rogueHW, "192.168.0.100", map[uint8]string{OptDNS: ip4s(rogueID), OptDomainName: "home"})
}

var baseExpect = Expect{Iface: "eth1", Window: 3 * time.Second, Suffix: "demo-jh.kh.edu.tw", SchoolDNS: []string{schoolDNS}}

type judged struct {
	Check, Server, Status, Message string
}

func judgedOf(fs []finding.Finding) []judged {
	var out []judged
	for _, f := range fs {
		out = append(out, judged{f.Check, f.Server, f.Status.String(), f.Message})
	}
	return out
}

func TestJudge(t *testing.T) {
	allowed := func(e Expect, ips ...string) Expect {
		for _, s := range ips {
			e.AllowedServers = append(e.AllowedServers, net.ParseIP(s))
		}
		return e
	}
	noSuffix := baseExpect
	noSuffix.Suffix = ""
	tests := []struct {
		name   string
		offers []Offer
		exp    Expect
		want   []judged
	}{
		{
			name: "no offer", exp: baseExpect,
			want: []judged{
				{"dhcp.offer", "eth1", "fail", "no DHCP offer on eth1 within 3s: is the interface on the school LAN and the DHCP server running?"},
				{"dhcp.suffix", "eth1", "skip", "no DHCP offer, so no option 15 to check"},
				{"dhcp.rogue", "eth1", "skip", "no DHCP offer, so no servers to count"},
			},
		},
		{
			name: "campus server, right suffix", offers: []Offer{campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
		{
			name: "suffix compares without case, trailing dot and NUL", offers: []Offer{campusOffer("Demo-JH.KH.edu.tw.\x00")}, exp: baseExpect,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
		{
			name: "wrong suffix", offers: []Offer{campusOffer("kh.edu.tw")}, exp: baseExpect,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "fail", "option 15 is kh.edu.tw, want demo-jh.kh.edu.tw"},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
		{
			name: "no option 15 but option 119",
			offers: []Offer{mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{
				OptDomainSearch: string(unhex(t, "0764656d6f2d6a68026b6803656475027477 00")),
			})},
			exp: baseExpect,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "fail", "no option 15 (DNS suffix) in the offer: PCs cannot find the KMS host by SRV (option 119 lists demo-jh.kh.edu.tw, but KMS discovery uses option 15 only)"},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
		{
			name: "malformed option 15", offers: []Offer{campusOffer("demo-jh.kh.edu.tw kh.edu.tw")}, exp: baseExpect,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "fail", `option 15 is malformed (byte 0x20 at position 17 is not allowed in a DNS suffix (several suffixes belong in option 119, not 15)): "demo-jh.kh.edu.tw kh.edu.tw"`},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
		{
			name: "no suffix configured", offers: []Offer{campusOffer("demo-jh.kh.edu.tw")}, exp: noSuffix,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "skip", `no suffix configured for this school; the server offers "demo-jh.kh.edu.tw"`},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
		{
			name: "rogue answers first, no allow-list", offers: []Offer{rogueOffer(), campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect,
			want: []judged{
				{"dhcp.offer", rogueID, "pass", "2 offers from 2 DHCP servers; offer of 192.168.0.100 from DHCP server 192.168.0.1"},
				{"dhcp.suffix", rogueID, "fail", "option 15 is home, want demo-jh.kh.edu.tw"},
				{"dhcp.suffix", campusID, "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.rogue", rogueID, "fail", "2 DHCP servers answered: 192.168.0.1, 10.1.2.1; presuming 10.1.2.1 legitimate, the suspects are 192.168.0.1 (MAC ac:84:c6:11:22:33) (list the legitimate ones in dhcp.allowed_servers)"},
			},
		},
		{
			name: "rogue answers first, allow-list names the campus server", offers: []Offer{rogueOffer(), campusOffer("demo-jh.kh.edu.tw")}, exp: allowed(baseExpect, campusID),
			want: []judged{
				{"dhcp.offer", campusID, "pass", "2 offers from 2 DHCP servers; offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", rogueID, "fail", "option 15 is home, want demo-jh.kh.edu.tw"},
				{"dhcp.suffix", campusID, "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.rogue", rogueID, "fail", "2 DHCP servers answered; not in dhcp.allowed_servers: 192.168.0.1 (MAC ac:84:c6:11:22:33)"},
			},
		},
		{
			name: "failover pair, both allowed",
			offers: []Offer{campusOffer("demo-jh.kh.edu.tw"), mkOffer("10.1.2.2", "00:15:5d:01:02:02", "10.1.2.58", map[uint8]string{
				OptDomainName: "demo-jh.kh.edu.tw", OptDNS: ip4s(schoolDNS)})},
			exp: allowed(baseExpect, campusID, "10.1.2.2"),
			want: []judged{
				{"dhcp.offer", campusID, "pass", "2 offers from 2 DHCP servers; offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.suffix", "10.1.2.2", "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.rogue", campusID, "pass", "2 DHCP servers answered, all in dhcp.allowed_servers"},
			},
		},
		{
			name: "the only server is not allowed", offers: []Offer{rogueOffer()}, exp: allowed(baseExpect, campusID),
			want: []judged{
				{"dhcp.offer", rogueID, "pass", "offer of 192.168.0.100 from DHCP server 192.168.0.1"},
				{"dhcp.suffix", rogueID, "fail", "option 15 is home, want demo-jh.kh.edu.tw"},
				{"dhcp.rogue", rogueID, "fail", "the only DHCP server answering, 192.168.0.1 (MAC ac:84:c6:11:22:33), is not in dhcp.allowed_servers"},
			},
		},
		{
			name: "two offers from one server are one server", offers: []Offer{campusOffer("demo-jh.kh.edu.tw"), campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect,
			want: []judged{
				{"dhcp.offer", campusID, "pass", "2 offers from 1 DHCP servers; offer of 10.1.2.57 from DHCP server 10.1.2.1"},
				{"dhcp.suffix", campusID, "pass", "option 15 is demo-jh.kh.edu.tw"},
				{"dhcp.rogue", campusID, "pass", "one DHCP server answered: 10.1.2.1"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, judgedOf(Judge(View{Offers: tc.offers}, tc.exp))); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func find(t *testing.T, fs []finding.Finding, check, server string) finding.Finding {
	t.Helper()
	for _, f := range fs {
		if f.Check == check && f.Server == server {
			return f
		}
	}
	t.Fatalf("no %s finding for %s in %v", check, server, judgedOf(fs))
	return finding.Finding{}
}

func TestJudgeRemedies(t *testing.T) {
	t.Run("suffix: the exact line for each server", func(t *testing.T) {
		f := find(t, Judge(View{Offers: []Offer{campusOffer("kh.edu.tw")}}, baseExpect), finding.DHCPSuffix, campusID)
		want := "Set option 15 (domain name) to demo-jh.kh.edu.tw on DHCP server 10.1.2.1:\n" +
			"  dnsmasq:      dhcp-option=option:domain-name,demo-jh.kh.edu.tw\n" +
			"  ISC dhcpd:    option domain-name \"demo-jh.kh.edu.tw\";\n" +
			"  Kea:          \"option-data\": [ { \"name\": \"domain-name\", \"data\": \"demo-jh.kh.edu.tw\" } ]\n" +
			"  Windows DHCP: Set-DhcpServerv4OptionValue -ScopeId 10.1.2.0 -DnsDomain demo-jh.kh.edu.tw"
		if diff := cmp.Diff(want, f.Remedy); diff != "" {
			t.Errorf("remedy (-want +got):\n%s", diff)
		}
	})
	t.Run("rogue: its MAC, the switch commands, snooping", func(t *testing.T) {
		f := find(t, Judge(View{Offers: []Offer{campusOffer("demo-jh.kh.edu.tw"), rogueOffer()}}, baseExpect), finding.DHCPRogue, rogueID)
		for _, s := range []string{
			"Find DHCP server 192.168.0.1 (MAC ac:84:c6:11:22:33)",
			"show mac address-table address ac84.c611.2233",
			"display mac-address ac84-c611-2233",
			"ip dhcp snooping",
			"dhcp.allowed_servers",
		} {
			if !strings.Contains(f.Remedy, s) {
				t.Errorf("remedy lacks %q:\n%s", s, f.Remedy)
			}
		}
	})
	t.Run("rogue behind a relay: the MAC is the relay's", func(t *testing.T) {
		r := rogueOffer()
		r.Relay = net.ParseIP("10.1.9.1").To4()
		f := find(t, Judge(View{Offers: []Offer{campusOffer("demo-jh.kh.edu.tw"), r}}, baseExpect), finding.DHCPRogue, rogueID)
		if !strings.Contains(f.Remedy, "through the relay 10.1.9.1") {
			t.Errorf("remedy does not name the relay:\n%s", f.Remedy)
		}
	})
	t.Run("a rogue's wrong suffix says remove it, not configure it", func(t *testing.T) {
		e := baseExpect
		e.AllowedServers = []net.IP{net.ParseIP(campusID)}
		f := find(t, Judge(View{Offers: []Offer{campusOffer("demo-jh.kh.edu.tw"), rogueOffer()}}, e), finding.DHCPSuffix, rogueID)
		if !strings.HasPrefix(f.Remedy, "192.168.0.1 is not in dhcp.allowed_servers") {
			t.Errorf("remedy = %q", f.Remedy)
		}
	})
}

func TestOfferEvidence(t *testing.T) {
	o := campusOffer("demo-jh.kh.edu.tw")
	o.Options[OptDNS] = []byte(ip4s(schoolDNS) + "\x01")
	o.Malformed[OptDNS] = "5 bytes, not a multiple of 4"
	o.Relay = net.ParseIP("10.1.9.1").To4()
	o.Source = o.Relay
	want := map[string]any{
		"server_id": campusID, "server_mac": campusHW, "offered_ip": "10.1.2.57", "relay": "10.1.9.1", "source_ip": "10.1.9.1",
		"dns": []string{schoolDNS}, "domain_name": "demo-jh.kh.edu.tw", "routers": []string{campusID}, "lease_s": int64(86400),
		"malformed": map[string]string{"dns": "5 bytes, not a multiple of 4"},
	}
	if diff := cmp.Diff(want, offerEvidence(o)); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}

func TestDNSTargets(t *testing.T) {
	two := mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{OptDNS: ip4s(schoolDNS, "192.0.2.21"), OptDomainName: "Demo-JH.kh.edu.tw."})
	nosuffix := mkOffer(rogueID, rogueHW, "192.168.0.100", map[uint8]string{OptDNS: ip4s(rogueID, schoolDNS)})
	got := DNSTargets([]Offer{two, nosuffix}, "demo-jh.kh.edu.tw")
	want := []Target{
		{"10.1.2.3:53", "demo-jh.kh.edu.tw"},
		{"192.0.2.21:53", "demo-jh.kh.edu.tw"},
		{"192.168.0.1:53", "demo-jh.kh.edu.tw"}, // no option 15: the expected suffix
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if got := DNSTargets([]Offer{nosuffix}, ""); len(got) != 0 {
		t.Errorf("no suffix anywhere: targets %v, want none", got)
	}
}

func srvF(server string, st finding.Status, msg string) finding.Finding {
	f := finding.Finding{Check: finding.DNSSRV, Server: server, Status: st, Message: msg}
	if st == finding.Fail {
		f.Remedy = "_vlmcs._tcp.demo-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."
	}
	return f
}

func TestJudgeDNS(t *testing.T) {
	good := map[string]finding.Finding{"10.1.2.3:53": srvF("10.1.2.3:53", finding.Pass, "SRV 0 0 1688 kms.example.edu.tw.")}
	withCity := baseExpect
	withCity.Resolvers = []string{"192.0.2.21", "192.0.2.22"}
	city := mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{OptDNS: ip4s("192.0.2.21"), OptDomainName: "demo-jh.kh.edu.tw"})
	tests := []struct {
		name   string
		offers []Offer
		exp    Expect
		srv    map[string]finding.Finding
		want   judged
		remedy []string // substrings
	}{
		{name: "no offer", exp: baseExpect, want: judged{"dhcp.dns", "eth1", "skip", "no DHCP offer, so no option 6 to check"}},
		{
			name: "school DNS has the record", offers: []Offer{campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect, srv: good,
			want: judged{"dhcp.dns", campusID, "pass", "every DNS server in option 6 answers the KMS SRV record: 10.1.2.3"},
		},
		{
			name: "city resolver in option 6 is fine", offers: []Offer{city}, exp: withCity,
			srv:  map[string]finding.Finding{"192.0.2.21:53": srvF("192.0.2.21:53", finding.Pass, "ok")},
			want: judged{"dhcp.dns", campusID, "pass", "every DNS server in option 6 answers the KMS SRV record: 192.0.2.21"},
		},
		{
			name: "SRV missing at the option-6 server", offers: []Offer{campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect,
			srv:    map[string]finding.Finding{"10.1.2.3:53": srvF("10.1.2.3:53", finding.Fail, "NXDOMAIN for _vlmcs._tcp.demo-jh.kh.edu.tw")},
			want:   judged{"dhcp.dns", campusID, "fail", "10.1.2.3: NXDOMAIN for _vlmcs._tcp.demo-jh.kh.edu.tw"},
			remedy: []string{"dhcp-option=option:dns-server,10.1.2.3", "option domain-name-servers 10.1.2.3;", `"name": "domain-name-servers", "data": "10.1.2.3"`, "Set-DhcpServerv4OptionValue -ScopeId 10.1.2.0 -DnsServer 10.1.2.3", "Or add the record on 10.1.2.3: _vlmcs._tcp.demo-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."},
		},
		{
			name: "no option 6", offers: []Offer{mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{OptDomainName: "demo-jh.kh.edu.tw"})}, exp: baseExpect,
			want:   judged{"dhcp.dns", campusID, "fail", "DHCP server 10.1.2.1 gives no DNS servers (no option 6)"},
			remedy: []string{"dhcp-option=option:dns-server,10.1.2.3"},
		},
		{
			name: "an unlisted DNS server that works is a warning", offers: []Offer{mkOffer(campusID, campusHW, "10.1.2.57", map[uint8]string{OptDNS: ip4s("10.1.2.4"), OptDomainName: "demo-jh.kh.edu.tw"})}, exp: baseExpect,
			srv:  map[string]finding.Finding{"10.1.2.4:53": srvF("10.1.2.4:53", finding.Pass, "ok")},
			want: judged{"dhcp.dns", campusID, "warn", "10.1.2.4 is neither a school DNS server nor a city resolver"},
		},
		{
			name: "dns.srv warns", offers: []Offer{campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect,
			srv:  map[string]finding.Finding{"10.1.2.3:53": srvF("10.1.2.3:53", finding.Warn, "extra SRV record to kms2.example:1688")},
			want: judged{"dhcp.dns", campusID, "warn", "10.1.2.3: extra SRV record to kms2.example:1688"},
		},
		{
			name: "not checked is unknown, not the school's fault", offers: []Offer{campusOffer("demo-jh.kh.edu.tw")}, exp: baseExpect,
			want: judged{"dhcp.dns", campusID, "unknown", "10.1.2.3: SRV not checked"},
		},
		{
			name: "a rogue's DNS fails even when the campus server's passes", offers: []Offer{campusOffer("demo-jh.kh.edu.tw"), rogueOffer()}, exp: baseExpect,
			srv: map[string]finding.Finding{"10.1.2.3:53": good["10.1.2.3:53"], "192.168.0.1:53": srvF("192.168.0.1:53", finding.Fail, "REFUSED for _vlmcs._tcp.home")},
			want: judged{"dhcp.dns", "eth1", "fail",
				"192.168.0.1 (option 6 from DHCP server 192.168.0.1) is neither a school DNS server nor a city resolver; 192.168.0.1 (option 6 from DHCP server 192.168.0.1): REFUSED for _vlmcs._tcp.home"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := JudgeDNS(View{Offers: tc.offers}, tc.exp, byTarget(View{Offers: tc.offers}, tc.exp, tc.srv))
			if diff := cmp.Diff(tc.want, judgedOf([]finding.Finding{f})[0]); diff != "" {
				t.Errorf("finding (-want +got):\n%s", diff)
			}
			for _, s := range tc.remedy {
				if !strings.Contains(f.Remedy, s) {
					t.Errorf("remedy lacks %q:\n%s", s, f.Remedy)
				}
			}
		})
	}
}

func TestErrorFindings(t *testing.T) {
	exe, _ := os.Executable()
	perm := fmt.Errorf("%w on eth1 (listen packet: socket: %w): run as root", ErrPermission, os.NewSyscallError("socket", syscall.EPERM))
	for _, tc := range []struct {
		name       string
		err        error
		wantMsg    string
		wantRemedy string
	}{
		{"no privilege", perm, "cannot probe DHCP on eth1: a raw socket needs root or cap_net_raw",
			"Run kmsprobe as root, or grant it the capabilities once:\n  setcap cap_net_raw,cap_net_bind_service=+ep " + exe},
		{"bare EPERM from elsewhere", os.NewSyscallError("socket", syscall.EPERM), "cannot probe DHCP on eth1: a raw socket needs root or cap_net_raw",
			"Run kmsprobe as root, or grant it the capabilities once:\n  setcap cap_net_raw,cap_net_bind_service=+ep " + exe},
		{"no such interface", errors.New(`dhcpcheck: no interface "eth1" on this machine`), `cannot probe DHCP on eth1: dhcpcheck: no interface "eth1" on this machine`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := ErrorFindings("eth1", tc.err)
			var checks []string
			for _, f := range fs {
				checks = append(checks, f.Check)
				if f.Status != finding.Unknown || f.Message != tc.wantMsg || f.Remedy != tc.wantRemedy || f.Server != "eth1" {
					t.Errorf("%s: %v %q remedy %q", f.Check, f.Status, f.Message, f.Remedy)
				}
			}
			if diff := cmp.Diff([]string{"dhcp.offer", "dhcp.suffix", "dhcp.dns", "dhcp.rogue", "dhcp.search"}, checks); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		})
	}
	if !errors.Is(perm, os.ErrPermission) || !errors.Is(perm, ErrPermission) {
		t.Error("the permission error must match both ErrPermission and os.ErrPermission")
	}
}

func TestSetcapCommand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if got, want := SetcapCommand(), "setcap cap_net_raw,cap_net_bind_service=+ep "+exe; got != want {
		t.Errorf("SetcapCommand() = %q, want %q", got, want)
	}
}

// byTarget keys dns.srv findings given per server by the question the
// campus leg asks that server (View.Targets).
func byTarget(v View, exp Expect, m map[string]finding.Finding) SRVResults {
	out := SRVResults{}
	for _, t := range v.Targets(exp.Suffix) {
		if f, ok := m[t.Server]; ok {
			out[t] = f
		}
	}
	return out
}

// TestJudgeDNSNamesEachSource: an IPv6 DNS server (DHCPv6 option 23, RA
// RDNSS) used to be judged under the DHCPv4 server's id, and its remedy
// told that server to change option 6. Each problem now names the
// server's source and sender, the finding is the interface's when more
// than the DHCPv4 server handed out servers, and the remedy is for the
// source at fault: option 23 on the DHCPv6 server, RDNSS on the router.
func TestJudgeDNSNamesEachSource(t *testing.T) {
	const v4 = "10.88.0.1"
	offer := mkOffer(v4, campusHW, "10.88.0.57", map[uint8]string{OptDNS: ip4s(v4), OptDomainName: school})
	exp := Expect{Iface: "eth1", Suffix: school, SchoolDNS: []string{v4}}
	reply := []Reply6{{ServerDUID: duid, Source: net.ParseIP("fe80::2"), DNS: []net.IP{net.ParseIP("fd88::1")}, HasDNS: true}}
	advert := []RouterAdvert{{Source: net.ParseIP(router), RDNSS: []net.IP{net.ParseIP(v6DNS)}}}
	v4ok := good(DNSAddr(net.ParseIP(v4)), school)
	tests := []struct {
		name        string
		view        View
		exp         Expect
		srv         SRVResults
		want        judged
		remedy, not []string
	}{
		{
			name: "an unlisted DHCPv6 server that works", view: with(View{Offers: []Offer{offer}}, reply, nil), exp: exp,
			srv:  results(v4ok, good("[fd88::1]:53", school)),
			want: judged{"dhcp.dns", "eth1", "warn", "fd88::1 (DHCPv6 option 23 from DHCPv6 server " + duid + ") is neither a school DNS server nor a city resolver"},
			remedy: []string{
				"(DHCPv6 option 23) on DHCPv6 server " + duid + ":",
				"dhcp-option=option6:dns-server,<school IPv6 DNS server>",
				"If fd88::1 is one of the school's own DNS servers, add it to the school's dns: in schools.yaml",
			},
			not: []string{"option 6)", "Set-DhcpServerv4OptionValue", "dhcp-option=option:dns-server"},
		},
		{
			name: "an RDNSS server without the record", view: with(View{Offers: []Offer{offer}}, nil, advert),
			exp:  Expect{Iface: "eth1", Suffix: school, SchoolDNS: []string{v4, v6DNS}},
			srv:  results(v4ok, nx("["+v6DNS+"]:53", school)),
			want: judged{"dhcp.dns", "eth1", "fail", v6DNS + " (RA RDNSS from router " + router + "): dns.srv fail"},
			remedy: []string{
				"(RDNSS) from router " + router + ":",
				"radvd:        RDNSS " + v6DNS + " { };",
			},
			not: []string{"option 6)", "Set-DhcpServerv4OptionValue", "option 23"},
		},
		{
			name: "option 6 and RDNSS both at fault", view: with(View{Offers: []Offer{offer}}, nil, advert),
			exp:  Expect{Iface: "eth1", Suffix: school, SchoolDNS: []string{v4, v6DNS}},
			srv:  results(nx(DNSAddr(net.ParseIP(v4)), school), nx("["+v6DNS+"]:53", school)),
			want: judged{"dhcp.dns", "eth1", "fail", v4 + " (option 6 from DHCP server " + v4 + "): dns.srv fail; " + v6DNS + " (RA RDNSS from router " + router + "): dns.srv fail"},
			remedy: []string{
				"(option 6) on DHCP server " + v4 + ":\n  dnsmasq:      dhcp-option=option:dns-server," + v4 + "\n",
				"(RDNSS) from router " + router + ":",
			},
			not: []string{v6DNS + ",", "option 23"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := JudgeDNS(tc.view, tc.exp, tc.srv)
			if diff := cmp.Diff(tc.want, judgedOf([]finding.Finding{f})[0]); diff != "" {
				t.Errorf("finding (-want +got):\n%s", diff)
			}
			for _, s := range tc.remedy {
				if !strings.Contains(f.Remedy, s) {
					t.Errorf("remedy lacks %q:\n%s", s, f.Remedy)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(f.Remedy, s) {
					t.Errorf("remedy has %q, which belongs to another source:\n%s", s, f.Remedy)
				}
			}
		})
	}
}
