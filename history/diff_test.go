package history

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

func TestDiffFindings(t *testing.T) {
	P, F := finding.Pass, finding.Fail
	f := func(check, server string, st finding.Status, short, id string) finding.Finding {
		return finding.Finding{Check: check, Server: server, Status: st, Short: short, ID: id, Message: check + " " + short}
	}
	school := func(fs ...finding.Finding) *probe.Report {
		r := &probe.Report{GeneratedAt: time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC), Schools: []probe.School{{ID: "a", Findings: fs}}}
		r.Finish()
		return r
	}
	tests := []struct {
		name        string
		old, cur    *probe.Report
		changed     []probe.FindingChange
		regressions int
	}{
		{
			name: "still fail, KMS failure changed from not KMS to refused",
			old:  school(f("kms.rpc", "192.0.2.88:1688", F, "not KMS", "kms.rpc.not_kms")),
			cur:  school(f("kms.rpc", "192.0.2.88:1688", F, "refused", "kms.rpc.refused")),
			changed: []probe.FindingChange{{Check: "kms.rpc", Server: "192.0.2.88:1688", From: "fail", To: "fail",
				FromShort: "not KMS", ToShort: "refused", Message: "kms.rpc refused"}},
		},
		{
			name: "still fail, one resolver came back",
			old:  school(f("dns.srv", "192.0.2.21:53", F, "timeout", ""), f("dns.srv", "192.0.2.22:53", F, "NXDOMAIN", "")),
			cur:  school(f("dns.srv", "192.0.2.21:53", P, "", ""), f("dns.srv", "192.0.2.22:53", F, "NXDOMAIN", "")),
			changed: []probe.FindingChange{{Check: "dns.srv", Server: "192.0.2.21:53", From: "fail", To: "pass",
				FromShort: "timeout", Message: "dns.srv "}},
		},
		{
			name: "only the wording moved: no change",
			old:  school(finding.Finding{Check: "dns.srv", Server: "s", Status: F, Short: "timeout", Message: "no answer in 2.01 s"}),
			cur:  school(finding.Finding{Check: "dns.srv", Server: "s", Status: F, Short: "timeout", Message: "no answer in 2.03 s"}),
		},
		{
			name: "a failing finding appeared, one went away",
			old:  school(f("dns.srv", "s", F, "x", ""), f("dns.target", "s", F, "gone", "")),
			cur:  school(f("dns.srv", "s", F, "x", ""), f("kms.tcp", "k", F, "refused", "")),
			changed: []probe.FindingChange{
				{Check: "dns.target", Server: "s", From: "fail", FromShort: "gone", Message: "dns.target gone"},
				{Check: "kms.tcp", Server: "k", To: "fail", ToShort: "refused", Message: "kms.tcp refused"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := Diff(tc.old, tc.cur)
			var got []probe.FindingChange
			if len(ch.Changed) > 0 {
				got = ch.Changed[0].Findings
			}
			if diff := cmp.Diff(tc.changed, got); diff != "" {
				t.Errorf("changed findings (-want +got):\n%s", diff)
			}
			if len(ch.Regressions) != tc.regressions {
				t.Errorf("%d regressions", len(ch.Regressions))
			}
			// The exit code of `kmsprobe diff` reads regressions only.
			if _, ok := WorstRegression(ch); ok {
				t.Error("a school whose status stayed counts as a regression")
			}
		})
	}
}

func TestRegressionListsFindings(t *testing.T) {
	old := &probe.Report{Schools: []probe.School{{ID: "a", Findings: []finding.Finding{{Check: "dns.srv", Server: "s", Status: finding.Pass}}}}}
	cur := &probe.Report{Schools: []probe.School{{ID: "a", Findings: []finding.Finding{{Check: "dns.srv", Server: "s", Status: finding.Fail, Short: "NXDOMAIN"}}}}}
	old.Finish()
	cur.Finish()
	ch := Diff(old, cur)
	if len(ch.Regressions) != 1 || len(ch.Regressions[0].Findings) != 1 || ch.Regressions[0].Findings[0].ToShort != "NXDOMAIN" {
		t.Errorf("regression without its finding: %+v", ch.Regressions)
	}
	if w, ok := WorstRegression(ch); !ok || w != finding.Fail {
		t.Errorf("WorstRegression = %v, %v", w, ok)
	}
}
