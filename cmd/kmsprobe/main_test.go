package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/internal/sim"
)

// TestMain keeps every test away from a schools.yaml of the machine it
// runs on: with the production defaults in one, a command without -c
// would ask the city's real servers.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kmsprobe-cmd-test")
	if err != nil {
		panic(err)
	}
	config.SearchPath = []string{filepath.Join(dir, "none.yaml")}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testCity writes a schools.yaml auditing simulated servers on loopback:
// a correct school, and optionally a warning one (its SRV points at an
// alias of the KMS host) and a failing one (no SRV record). The KMS port
// is a listener that only accepts, for --kms-mode tcp.
func testCity(t *testing.T, warn, fail bool) string {
	t.Helper()
	port := acceptingPort(t)
	recs := sim.Records{}.Add(
		"kms.test.example. 300 IN A 127.0.0.1",
		"alias.test.example. 300 IN A 127.0.0.1",
		fmt.Sprintf("_vlmcs._tcp.good.test.example. 300 IN SRV 0 0 %d kms.test.example.", port),
		fmt.Sprintf("_vlmcs._tcp.warn.test.example. 300 IN SRV 0 0 %d alias.test.example.", port),
	)
	s, err := sim.Listen("127.0.0.1", recs, sim.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	y := fmt.Sprintf("version: 1\nkms: {host: kms.test.example, port: %d, addresses: [127.0.0.1]}\nresolvers: [%q]\nprobe: {timeout: 300ms, attempts: 1}\nschools:\n  - {id: good, suffix: good.test.example}\n", port, s.Addr)
	if warn {
		y += "  - {id: warn, suffix: warn.test.example}\n"
	}
	if fail {
		y += "  - {id: fail, suffix: fail.test.example}\n"
	}
	path := filepath.Join(t.TempDir(), "schools.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExitCodes pins DESIGN.md §5: 0 all pass, 1 some warn, 2 some fail,
// 3 the probe could not run — for every command, as other programs read it.
func TestExitCodes(t *testing.T) {
	good := testCity(t, false, false)
	warn := testCity(t, true, false)
	failing := testCity(t, true, true)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	bad := filepath.Join("..", "..", "config", "testdata", "duplicate-id.yaml")
	cases := []struct {
		name   string
		args   []string
		want   int
		stderr string // substring, when the reason matters
	}{
		{"no command", nil, 3, "Usage"},
		{"unknown command", []string{"frobnicate"}, 3, "unknown command"},
		{"validate good", []string{"validate", "-c", good}, 0, ""},
		{"validate bad", []string{"validate", "-c", bad}, 3, "duplicate id"},
		{"validate missing file", []string{"validate", "-c", "/nonexistent/schools.yaml"}, 3, "does not exist"},
		{"validate without any schools.yaml", []string{"validate"}, 3, "no schools.yaml found"},
		{"audit all pass", []string{"audit", "-c", good, "--kms-mode", "tcp"}, 0, ""},
		{"audit warn", []string{"audit", "-c", warn, "--kms-mode", "tcp"}, 1, ""},
		{"audit fail", []string{"audit", "-c", failing, "--kms-mode", "tcp"}, 2, ""},
		{"audit one passing school of a failing city", []string{"audit", "-c", failing, "--kms-mode", "tcp", "--school", "good"}, 0, ""},
		{"audit json", []string{"audit", "-c", failing, "--kms-mode", "tcp", "--format", "json"}, 2, ""},
		{"audit bad flag", []string{"audit", "-c", good, "--bogus"}, 3, "not defined"},
		{"audit bad format", []string{"audit", "-c", good, "--format", "xml"}, 3, "--format"},
		{"audit unknown school", []string{"audit", "-c", good, "--school", "nope"}, 3, `unknown school "nope"`},
		{"audit bad config", []string{"audit", "-c", bad}, 3, "duplicate id"},
		{"audit bad kms mode", []string{"audit", "-c", good, "--kms-mode", "full"}, 3, "mode"},
		{"audit dhcp without school", []string{"audit", "-c", failing, "--dhcp-iface", "lo"}, 3, "--school"},
		{"audit dhcp on a missing interface", []string{"audit", "-c", good, "--school", "good", "--dhcp-iface", "nope0"}, 3, "no such interface"},
		{"dns pass", []string{"dns", "good.test.example", "-c", good}, 0, ""},
		{"dns fail", []string{"dns", "fail.test.example", "-c", good}, 2, ""},
		{"dns without suffix", []string{"dns"}, 3, "SUFFIX"},
		{"kms refused", []string{"kms", closedAddr, "--kms-mode", "tcp"}, 2, ""},
		{"kms bad protocol", []string{"kms", closedAddr, "--protocol", "7"}, 3, "protocol 7"},
		{"kms bad product", []string{"kms", closedAddr, "--product", "nope"}, 3, "unknown product"},
		{"kms without host", []string{"kms"}, 3, "HOST"},
		{"dhcp without iface", []string{"dhcp"}, 3, "--iface"},
		{"dhcp missing interface", []string{"dhcp", "--iface", "nope0"}, 3, "no such interface"},
		{"demo", []string{"demo", "--format", "json"}, 0, "would have exited 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			got := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, tc.args)
			if got != tc.want {
				t.Fatalf("kmsprobe %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), got, tc.want, out.String(), errb.String())
			}
			if tc.stderr != "" && !strings.Contains(errb.String()+out.String(), tc.stderr) {
				t.Errorf("output lacks %q:\n%s%s", tc.stderr, out.String(), errb.String())
			}
			if strings.Contains(errb.String(), "panic") {
				t.Errorf("panic:\n%s", errb.String())
			}
		})
	}
}

// acceptingPort is a TCP port on 127.0.0.1 that accepts every connection
// and closes it: a KMS host for --kms-mode tcp. It stops with the test.
func acceptingPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
