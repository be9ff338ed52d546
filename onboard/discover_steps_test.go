package onboard

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func TestNoNSNote(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    nsFound
		want string
	}{
		{"lookup failed", nsFound{fail: "timeout"}, "discover: the NS lookup for a.kh.edu.tw failed (timeout); dns: left empty"},
		{"nxdomain", nsFound{rcode: dns.RcodeNameError}, "discover: a.kh.edu.tw does not exist (NXDOMAIN); check the suffix; dns: left empty"},
		{"servfail", nsFound{rcode: dns.RcodeServerFailure}, "discover: the NS lookup for a.kh.edu.tw answered SERVFAIL; dns: left empty"},
		{"no zone of its own", nsFound{}, "discover: a.kh.edu.tw is not a zone of its own (no NS records): its names live in kh.edu.tw; dns: left empty"},
	} {
		if got := noNSNote("a.kh.edu.tw", tc.r, "kh.edu.tw"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNSKinds(t *testing.T) {
	a1, a2 := netip.MustParseAddr("10.1.0.53"), netip.MustParseAddr("10.1.0.54")
	type ns struct {
		name           string
		as             []netip.Addr
		inZone, isCity bool
		uses           int
	}
	for _, tc := range []struct {
		name      string
		servers   []ns
		wantNote  string
		wantAddrs int
	}{
		{"own inside the zone, even when many list it",
			[]ns{{"ns1.a.kh.edu.tw", []netip.Addr{a1}, true, false, SharedLimit + 5}},
			"own name servers ns1.a.kh.edu.tw (10.1.0.53)", 1},
		{"the city's outside the zone",
			[]ns{{"dns.kh.edu.tw", []netip.Addr{a1}, false, true, 1}},
			"shared name servers dns.kh.edu.tw (the city's) not listed; dns: left empty, the city resolvers are asked", 0},
		{"listed by too many schools",
			[]ns{{"ns.host.example", []netip.Addr{a1}, false, false, SharedLimit + 1}},
			"shared name servers ns.host.example (listed by 4 schools) not listed; dns: left empty, the city resolvers are asked", 0},
		{"own outside the zone at the limit, one without address",
			[]ns{{"ns.campus.example", []netip.Addr{a1, a2}, false, false, SharedLimit}, {"ns2.a.kh.edu.tw", nil, true, false, 1}},
			"own name servers ns.campus.example (10.1.0.53, 10.1.0.54); no address for ns2.a.kh.edu.tw", 2},
	} {
		var k nsKinds
		for _, s := range tc.servers {
			k.add(s.name, s.as, s.inZone, s.isCity, s.uses)
		}
		if got := k.note(); got != tc.wantNote {
			t.Errorf("%s: note %q, want %q", tc.name, got, tc.wantNote)
		}
		if len(k.addrs) != tc.wantAddrs {
			t.Errorf("%s: %d addresses, want %d", tc.name, len(k.addrs), tc.wantAddrs)
		}
	}
}
