package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// TestFormatsGolden pins the rendered table, JSON, CSV and Markdown of the
// fixture city: a change in what admins or programs read must be seen in
// review (go test ./render -update rewrites them).
func TestFormatsGolden(t *testing.T) {
	r, _ := fixture()
	for _, tc := range []struct{ format, file string }{
		{"table", "report.table.txt"},
		{"json", "report.json"},
		{"csv", "report.csv"},
		{"markdown", "report.md"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, r, Options{Format: tc.format}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// TestJSONContract checks the DESIGN.md §6 field names literally, since
// other programs parse them.
func TestJSONContract(t *testing.T) {
	r, _ := fixture()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "generated_at", "probe", "summary", "schools"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("top-level %q missing", k)
		}
	}
	if doc["schema"] != "kmsprobe.report/v1" {
		t.Errorf("schema = %v", doc["schema"])
	}
	if doc["generated_at"] != "2026-11-23T07:00:12+08:00" {
		t.Errorf("generated_at = %v, want RFC 3339 with the local offset", doc["generated_at"])
	}
	probeInfo := doc["probe"].(map[string]any)
	for _, k := range []string{"hostname", "version", "vantage"} {
		if _, ok := probeInfo[k]; !ok {
			t.Errorf("probe.%s missing", k)
		}
	}
	sum := doc["summary"].(map[string]any)
	for _, k := range []string{"schools", "pass", "warn", "fail", "unknown"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary.%s missing", k)
		}
	}
	school := doc["schools"].([]any)[1].(map[string]any)
	for _, k := range []string{"id", "name", "suffix", "status", "findings"} {
		if _, ok := school[k]; !ok {
			t.Errorf("schools[].%s missing", k)
		}
	}
	f := school["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"check", "server", "status", "message", "remedy"} {
		if _, ok := f[k]; !ok {
			t.Errorf("findings[].%s missing in %v", k, f)
		}
	}
	// Round trip: what we write, we read.
	back, err := probe.ReadJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Summary != r.Summary || len(back.Schools) != len(r.Schools) || back.Schools[1].Status != r.Schools[1].Status {
		t.Errorf("round trip changed the report: %+v", back.Summary)
	}
}

func TestCellCondenses(t *testing.T) {
	r, _ := fixture()
	var b bytes.Buffer
	if err := Write(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"✗ NXDOMAIN", "! other target", "✗ count 12<25", "What to fix:", "4 schools: 1 pass, 1 warn, 2 fail, 0 unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestNagiosCode(t *testing.T) {
	one := func(st finding.Status, incomplete bool) *probe.Report {
		r := &probe.Report{Schools: []probe.School{{ID: "s", Findings: []finding.Finding{{Check: finding.DNSSRV, Status: st}}}}, Incomplete: incomplete}
		r.Finish()
		return r
	}
	for _, tc := range []struct {
		r    *probe.Report
		want int
	}{
		{one(finding.Pass, false), 0},
		{one(finding.Warn, false), 1},
		{one(finding.Fail, false), 2},
		{one(finding.Pass, true), 3},
		{one(finding.Warn, true), 3},
		{one(finding.Fail, true), 2},
		{&probe.Report{}, 3},
	} {
		var b strings.Builder
		if err := Write(&b, tc.r, Options{Format: "nagios"}); err != nil {
			t.Fatal(err)
		}
		if got := NagiosCode(tc.r); got != tc.want || !strings.HasPrefix(b.String(), "KMSPROBE "+nagiosState[tc.want]+" ") {
			t.Errorf("NagiosCode = %d, want %d; line %q", got, tc.want, b.String())
		}
	}
}
