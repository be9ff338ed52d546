package dhcpcheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kh-edu/kmsprobe/finding"
)

func TestSearchCellOf(t *testing.T) {
	const server = "10.0.0.53"
	other := srvAt(server, school, finding.Warn, "0 0 1688 other.example.")
	extra := srvAt(server, school, finding.Warn, "0 0 1688 other.example.", "0 0 1688 "+kmsHost+".")
	for _, tc := range []struct {
		name string
		sf   finding.Finding
		ok   bool
		kms  string
		want searchCell
	}{
		{"not asked", finding.Finding{}, false, kmsHost, cellUnknown},
		{"pass leads", good(server, school), true, kmsHost, cellLeads},
		{"fail", nx(server, school), true, kmsHost, cellFails},
		{"warn with the KMS host among the records", extra, true, kmsHost, cellLeads},
		{"warn pointing elsewhere only", other, true, kmsHost, cellFails},
		{"warn with no KMS host configured", other, true, "", cellLeads},
		{"unknown answer", srvAt(server, school, finding.Unknown), true, kmsHost, cellUnknown},
		{"skipped", srvAt(server, school, finding.Skip), true, kmsHost, cellUnknown},
	} {
		if got := searchCellOf(tc.sf, tc.ok, tc.kms); got != tc.want {
			t.Errorf("%s: searchCellOf = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCapList(t *testing.T) {
	for _, tc := range []struct {
		name             string
		list, over       []string
		max              int
		wantKept, wantOv []string
	}{
		{"under the cap", []string{"a", "b"}, nil, 3, []string{"a", "b"}, nil},
		{"at the cap", []string{"a", "b"}, nil, 2, []string{"a", "b"}, nil},
		{"over the cap", []string{"a", "b", "c"}, nil, 2, []string{"a", "b"}, []string{"c"}},
		{"adds to what was over before", []string{"a", "b", "c"}, []string{"x"}, 1, []string{"a"}, []string{"x", "b", "c"}},
	} {
		kept, ov := capList(tc.list, tc.max, tc.over)
		if d := cmp.Diff(tc.wantKept, kept); d != "" {
			t.Errorf("%s: kept (-want +got)\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.wantOv, ov); d != "" {
			t.Errorf("%s: overflow (-want +got)\n%s", tc.name, d)
		}
	}
}

func TestLacking119(t *testing.T) {
	with := offer119(school, "other.kh.edu.tw", school)
	without := offer119(school, "other.kh.edu.tw")
	none := offer119(school)
	for _, tc := range []struct {
		name   string
		offers []Offer
		school string
		want   []string
	}{
		{"no option 119", []Offer{none}, school, nil},
		{"119 names the suffix", []Offer{with}, school, nil},
		{"119 lacks it, named once", []Offer{without, without}, school, []string{ipText(without.ServerID)}},
		{"no suffix configured", []Offer{without}, "", nil},
	} {
		if d := cmp.Diff(tc.want, lacking119(tc.offers, tc.school)); d != "" {
			t.Errorf("%s (-want +got)\n%s", tc.name, d)
		}
	}
}
