package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/probe"
)

func needIPv6Loopback(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		testenv.Missing(t, "this host cannot listen on ::1 ("+err.Error()+"); enable IPv6 on lo")
		return
	}
	ln.Close()
}

func decodeReport(t *testing.T, out string) probe.Report {
	t.Helper()
	var r probe.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, out)
	}
	return r
}

func reportSchool(t *testing.T, r probe.Report, id string) probe.School {
	t.Helper()
	for _, s := range r.Schools {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("school %s not in the report", id)
	return probe.School{}
}

// TestDemoIPv6School: the demo's school with its own DNS server on ::1
// passes, and its findings name the server as [::1]:port in JSON and in
// the table's closing notes.
func TestDemoIPv6School(t *testing.T) {
	needIPv6Loopback(t)
	code, out, stderr := runCmd(t, "demo", "--format", "json")
	if code != exitPass {
		t.Fatalf("demo exited %d:\n%s", code, stderr)
	}
	s := reportSchool(t, decodeReport(t, out), sim.DemoIPv6School)
	if s.Status != finding.Pass {
		t.Errorf("school %s is %s, want pass: %+v", s.ID, s.Status, s.Findings)
	}
	var v6 string
	checks := map[string]finding.Status{}
	for _, f := range s.Findings {
		if strings.HasPrefix(f.Server, "[::1]:") {
			v6 = f.Server
			checks[f.Check] = f.Status
		}
	}
	if checks[finding.DNSSRV] != finding.Pass || checks[finding.DNSTarget] != finding.Pass {
		t.Errorf("findings at the IPv6 server: %v, want dns.srv and dns.target pass", checks)
	}
	if !strings.Contains(stderr, "listened on IPv6 at "+v6) {
		t.Errorf("stderr does not name the IPv6 server %s:\n%s", v6, stderr)
	}

	code, out, _ = runCmd(t, "demo")
	if code != exitPass {
		t.Fatalf("demo (table) exited %d", code)
	}
	row := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " "+sim.DemoIPv6School+" ") {
			row = l
		}
	}
	if !strings.Contains(row, "PASS") {
		t.Errorf("table row of %s = %q, want PASS", sim.DemoIPv6School, row)
	}
	if !strings.Contains(out, "on 127.0.0.0/8 and ::1") || !strings.Contains(out, "listened on IPv6 at [::1]:") {
		t.Errorf("table's closing notes do not mention ::1:\n%s", out)
	}
}

// TestAuditIPv6Addresses: schools.yaml written with IPv6 addresses —
// a school DNS server and a city resolver on [::1]:port — is audited
// like IPv4, and every format carries the bracketed address: a failing
// server ([::1] answering NXDOMAIN) names itself in the table's "what to
// fix", the CSV's server column and the JSON.
func TestAuditIPv6Addresses(t *testing.T) {
	needIPv6Loopback(t)
	port := acceptingPort(t)
	host := "kms.test.example. 300 IN A 127.0.0.1"
	good := fmt.Sprintf("_vlmcs._tcp.v6.test.example. 300 IN SRV 0 0 %d kms.test.example.", port)
	var cl sim.Cluster
	defer cl.Close()
	resolver, err := cl.Start("::1", sim.Records{}.Add(host, good), sim.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	own, err := cl.Start("::1", sim.Records{}.Add(host), sim.Healthy) // lacks the SRV: NXDOMAIN
	if err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`version: 1
kms: {host: kms.test.example, port: %d, addresses: [127.0.0.1]}
resolvers: [%q]
probe: {timeout: 500ms, attempts: 1}
schools:
  - id: v6
    suffix: v6.test.example
    dns: [%q]
`, port, resolver.Addr, own.Addr)
	path := filepath.Join(t.TempDir(), "schools.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCmd(t, "validate", "-c", path); code != exitPass {
		t.Fatalf("validate exited %d:\n%s%s", code, out, stderr)
	}

	code, out, stderr := runCmd(t, "audit", "-c", path, "--kms-mode", "tcp", "--format", "json")
	if code != exitFail {
		t.Fatalf("audit exited %d, want %d (the school's own server lacks the record):\n%s", code, exitFail, stderr)
	}
	s := reportSchool(t, decodeReport(t, out), "v6")
	got := map[string]finding.Status{}
	for _, f := range s.Findings {
		if f.Check == finding.DNSSRV {
			got[f.Server] = f.Status
		}
	}
	want := map[string]finding.Status{own.Addr: finding.Fail, resolver.Addr: finding.Pass}
	for srv, st := range want {
		if got[srv] != st {
			t.Errorf("dns.srv at %s = %q, want %s (all: %v)", srv, got[srv], st, got)
		}
	}

	for _, tc := range []struct{ format, want string }{
		{"table", "@" + own.Addr + "]"},
		{"csv", "," + own.Addr + ",fail,"},
		{"markdown", own.Addr},
		{"html", own.Addr},
	} {
		code, out, _ := runCmd(t, "audit", "-c", path, "--kms-mode", "tcp", "--format", tc.format)
		if code != exitFail {
			t.Errorf("%s: exit %d, want %d", tc.format, code, exitFail)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s output lacks %q:\n%s", tc.format, tc.want, out)
		}
	}
}
