package dhcpcheck

import (
	"net"
	"slices"
	"testing"
)

// judgeRogue4 decides the DHCPv4 half alone: who is presumed legitimate
// and who is a suspect, with and without dhcp.allowed_servers.
func TestJudgeRogue4(t *testing.T) {
	campus, rogue := campusOffer(school), rogueOffer()
	noSuffix := campusOffer("")
	for _, tc := range []struct {
		name      string
		offers    []Offer
		allowed   []net.IP
		wantFail  bool
		wantLegit int
		wantSus   []string
	}{
		{"nothing offered", nil, nil, false, -1, nil},
		{"one server, no list", []Offer{campus}, nil, false, -1, nil},
		{"one listed server", []Offer{campus}, []net.IP{net.ParseIP(campusID)}, false, -1, nil},
		{"one unlisted server", []Offer{rogue}, []net.IP{net.ParseIP(campusID)}, true, -1, []string{rogueID}},
		{"two, no list: the school's suffix is legitimate though it answered second", []Offer{rogue, campus}, nil, true, 1, []string{rogueID}},
		{"two, no list, no suffix matches: the first is presumed legitimate", []Offer{rogue, noSuffix}, nil, true, 0, []string{campusID}},
		{"two, both listed", []Offer{campus, rogue}, []net.IP{net.ParseIP(campusID), net.ParseIP(rogueID)}, false, -1, nil},
		{"two, one listed", []Offer{campus, rogue}, []net.IP{net.ParseIP(campusID)}, true, -1, []string{rogueID}},
	} {
		exp := Expect{Suffix: school, AllowedServers: tc.allowed}
		r := judgeRogue4(byServer(tc.offers), exp)
		var sus []string
		for _, g := range r.sus {
			sus = append(sus, g.id.String())
		}
		if r.fail != tc.wantFail || r.legit != tc.wantLegit || !slices.Equal(sus, tc.wantSus) {
			t.Errorf("%s: fail %v legit %d suspects %v, want %v %d %v", tc.name, r.fail, r.legit, sus, tc.wantFail, tc.wantLegit, tc.wantSus)
		}
		if (r.problem() != "") != tc.wantFail {
			t.Errorf("%s: problem %q with fail %v", tc.name, r.problem(), tc.wantFail)
		}
	}
}
