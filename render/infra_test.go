package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// infraFixture is a city where one city resolver is down and the KMS host
// refuses connections: shared faults reported once, school cells pointing
// there (DESIGN §4.2). one-es still has a working path (its own DNS), so
// the resolver is a warn there.
func infraFixture() *probe.Report {
	const res1, res2, kms = "192.0.2.21:53", "192.0.2.22:53", "192.0.2.88:1688"
	resDown := finding.Finding{Check: finding.DNSSRV, Server: res1, Status: finding.Fail, Short: "timeout",
		ID: "dns.srv.timeout", Message: "192.0.2.21:53 did not answer (2 attempts)",
		RemedyID: "dns.srv.timeout.city", Remedy: "the city's DNS operators: restart or replace resolver 192.0.2.21; schools need do nothing"}
	kmsDown := finding.Finding{Check: finding.KMSTCP, Server: kms, Status: finding.Fail, Short: "refused",
		Message: "TCP 1688 to 192.0.2.88 was refused", Remedy: "the city's KMS operators: start the KMS service on 192.0.2.88 and open TCP 1688"}
	dep := func(f finding.Finding, st finding.Status) finding.Finding {
		g := f
		g.Status, g.DependsOn, g.Remedy, g.RemedyID = st, f.Ref(), "", ""
		return g
	}
	ev := func(role string) finding.Evidence { return finding.EvidenceMap(map[string]any{"role": role}) }
	school := func(id, name string, fs ...finding.Finding) probe.School {
		return probe.School{ID: id, Name: name, Suffix: id + ".kh.edu.tw", Findings: fs}
	}
	pass := func(check, server, role string) finding.Finding {
		f := finding.Finding{Check: check, Server: server, Status: finding.Pass, Message: "ok"}
		if role != "" {
			f.Evidence = ev(role)
		}
		return f
	}
	r1, r2 := dep(resDown, finding.Warn), dep(resDown, finding.Fail)
	r1.Evidence, r2.Evidence = ev("resolver"), ev("resolver")
	r := &probe.Report{
		Schema:          probe.Schema,
		GeneratedAt:     time.Date(2026, 11, 23, 7, 0, 12, 0, taipei),
		Probe:           probe.Info{Hostname: "probe-1", Version: "1.0.0", Vantage: "central"},
		DurationSeconds: 0.82,
		Infrastructure:  []probe.Infra{{Finding: resDown, Affects: 3}, {Finding: kmsDown, Affects: 3}},
		Schools: []probe.School{
			school("one-es", "第一國小", pass(finding.DNSSRV, "10.1.2.3:53", "school"), r1, pass(finding.DNSSRV, res2, "resolver"),
				pass(finding.DNSTarget, res2, ""), dep(kmsDown, finding.Fail), pass(finding.ClockOffset, "", "")),
			school("two-jh", "第二國中", r2, finding.Finding{Check: finding.DNSSRV, Server: res2, Status: finding.Fail, Short: "NXDOMAIN", Evidence: ev("resolver"),
				Message: "NXDOMAIN for _vlmcs._tcp.two-jh.kh.edu.tw", Remedy: "_vlmcs._tcp.two-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."},
				dep(kmsDown, finding.Fail), pass(finding.ClockOffset, "", "")),
			school("three-hs", "第三高中", pass(finding.DNSSRV, res2, "resolver"), r2, pass(finding.DNSTarget, res2, ""), dep(kmsDown, finding.Fail), pass(finding.ClockOffset, "", "")),
		},
	}
	r.Schools[2].Findings[1].Status = finding.Warn
	r.Finish()
	return r
}

func TestInfrastructureGolden(t *testing.T) {
	r := infraFixture()
	for _, tc := range []struct{ format, lang, file string }{
		{"table", English, "infra.table.txt"},
		{"table", Chinese, "infra.table.zh-TW.txt"},
		{"markdown", English, "infra.md"},
		{"html", English, "infra.en.html"},
		{"html", Chinese, "infra.zh-TW.html"},
		{"text", English, "infra.en.txt"},
		{"text", Chinese, "infra.zh-TW.txt"},
		{"nagios", English, "infra.nagios.txt"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, r, Options{Format: tc.format, Lang: tc.lang}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
			out := b.String()
			// The city's remedy is written once, before any school.
			if tc.format == "nagios" {
				if !strings.Contains(out, "infrastructure=2") {
					t.Errorf("no infrastructure perfdata")
				}
				return
			}
			rem := "restart or replace resolver 192.0.2.21"
			if n := strings.Count(out, rem); n != 1 {
				t.Errorf("the shared resolver's remedy appears %d times, want once", n)
			}
			if i, j := strings.Index(out, rem), strings.Index(out, "two-jh"); i < 0 || j < 0 || i > j {
				t.Errorf("the infrastructure section does not come before the schools")
			}
			if !strings.Contains(out, "dns.srv@192.0.2.21:53") {
				t.Errorf("school findings do not point at dns.srv@192.0.2.21:53")
			}
			if strings.Count(out, "start the KMS service") != 1 {
				t.Errorf("the KMS host's remedy is not written exactly once")
			}
		})
	}
}

// bigCity is n schools of which most share one mistake.
func bigCity(n int) *probe.Report {
	r := &probe.Report{Schema: probe.Schema, GeneratedAt: time.Date(2026, 11, 23, 7, 0, 0, 0, taipei)}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s%04d-es", i)
		sfx := id + ".kh.edu.tw"
		f := finding.Finding{Check: finding.DNSSRV, Server: "192.0.2.21:53", Status: finding.Pass, Message: "ok", Evidence: finding.EvidenceMap(map[string]any{"role": "resolver"})}
		if i%10 != 0 {
			f.Status, f.Short = finding.Fail, "NXDOMAIN"
			f.Message = "NXDOMAIN for _vlmcs._tcp." + sfx
			f.Remedy = "_vlmcs._tcp." + sfx + ". 3600 IN SRV 0 0 1688 kms.example.edu.tw."
		}
		r.Schools = append(r.Schools, probe.School{ID: id, Name: "學校", Suffix: sfx, Findings: []finding.Finding{f}})
	}
	r.Finish()
	return r
}

func TestThousandSchoolsGroupFixes(t *testing.T) {
	r := bigCity(1000)
	var b bytes.Buffer
	if err := Write(&b, r, Options{OnlyProblems: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "The same fix for 900 schools: s0001-es,") {
		t.Errorf("the city-wide mistake is not grouped:\n%.2000s", out)
	}
	if !strings.Contains(out, "_vlmcs._tcp.<suffix>. 3600 IN SRV 0 0 1688 kms.example.edu.tw.") {
		t.Errorf("the grouped fix is not written with <suffix>")
	}
	fixLines := strings.Count(out, "      fix: ")
	if fixLines != 1 {
		t.Errorf("%d fix lines for one shared mistake, want 1", fixLines)
	}
	if strings.Contains(out, "✓ PASS") {
		t.Errorf("--only-problems still lists passing schools")
	}
	if lines := strings.Count(out, "\n"); lines > 900+20 {
		t.Errorf("%d lines for 900 failing schools", lines)
	}
}

func TestTableOrderAndCells(t *testing.T) {
	r, _ := fixture()
	var b bytes.Buffer
	if err := Write(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	order := []string{"demo-jh", "new-hs", "alias-es", "good-jh"}
	last := -1
	for _, id := range order {
		i := strings.Index(out, "│ "+id)
		if i < last {
			t.Errorf("%s is not in fail, warn, pass order", id)
		}
		last = i
	}
	for _, want := range []string{"示範國中", "city 192.0.2.21"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	fs := []finding.Finding{
		{Check: finding.KMSTCP, Server: "a:1688", Status: finding.Fail, Short: "refused"},
		{Check: finding.KMSTCP, Server: "b:1688", Status: finding.Pass},
	}
	if got, want := Cell(fs, English), "✗ refused at 1 of 2 servers"; got != want {
		t.Errorf("Cell = %q, want %q", got, want)
	}
	fs[1].Server = "a:1688"
	if got, want := Cell(fs, English), "✗ refused in 1 of 2 checks"; got != want {
		t.Errorf("Cell = %q, want %q", got, want)
	}
	if got := cellStatus([]finding.Finding{{Status: finding.Skip}}); got != finding.Skip {
		t.Errorf("an all-skipped cell has status %s, want skip", got)
	}
}

func TestNarrowAndColour(t *testing.T) {
	r, _ := fixture()
	for _, w := range []int{60, 80, 99, 120} {
		var b bytes.Buffer
		if err := Write(&b, r, Options{Width: w, Lang: Chinese}); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(b.String(), "\n") {
			// Fix lines carry whole zone lines: they may run long, the
			// grid may not.
			if strings.Contains(line, "修正：") || strings.HasPrefix(line, "  ") && strings.Contains(line, "[") {
				continue
			}
			if dw := displayWidth(line); dw > w {
				t.Errorf("width %d: line of %d columns: %q", w, dw, line)
			}
		}
	}
	var plain, col bytes.Buffer
	_ = Write(&plain, r, Options{})
	_ = Write(&col, r, Options{Color: true})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without Options.Color")
	}
	if !strings.Contains(col.String(), "\x1b[1;31m✗ FAIL\x1b[0m") {
		t.Error("no red FAIL with Options.Color")
	}
}

func TestNarrowGolden(t *testing.T) {
	r, _ := fixture()
	var b bytes.Buffer
	if err := Write(&b, r, Options{Width: 80}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.narrow.txt", b.Bytes())
}
