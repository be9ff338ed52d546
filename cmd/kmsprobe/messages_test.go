package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/config"
)

// internalNames are what a user must never read in kmsprobe's messages:
// Go package names and a document that is not in the repository.
var internalNames = []string{"kmscheck:", "dhcpcheck:", "probe:", "config:", "history:", "finding:", "kmsreplay:", "sim:", "DESIGN"}

func assertNoInternalNames(t *testing.T, what, text string) {
	t.Helper()
	for _, n := range internalNames {
		// "probe:" is also a schools.yaml section; only a message that
		// starts with it (after "kmsprobe: " or a wrapping ": ") is a
		// package name.
		if strings.Contains(text, ": "+n) || strings.HasPrefix(text, n) || strings.Contains(text, "\n"+n) {
			t.Errorf("%s shows the internal name %q:\n%s", what, n, text)
		}
	}
}

// TestFailureMessagesReadAsAdvice runs the common failure paths and
// checks that no message names an internal package or DESIGN.md.
func TestFailureMessagesReadAsAdvice(t *testing.T) {
	good := testCity(t, false, false)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.json", "{not json")
	foreign := write("foreign.json", `{"schema": "something/v9"}`)
	badStatus := write("status.json", `{"schema": "kmsprobe.report/v1", "schools": [{"id": "a", "status": "bogus", "findings": []}]}`)
	notDir := write("file", "x")
	badKMS := write("badkms.yaml", "version: 1\nkms: {mode: full, protocol: 9, product: nope}\nschools:\n  - {id: a, suffix: a.test.example}\n")
	tab := write("tab.yaml", "version: 1\nschools:\n\t- {id: a, suffix: a.test.example}\n")
	// A KMS port that answers garbage: the leg's error reaches the report.
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
			c.Write(bytes.Repeat([]byte("HTTP/1.0 400 Bad Request\r\n"), 8))
			c.Close()
		}
	}()
	for _, args := range [][]string{
		{"kms", "127.0.0.1:1", "--kms-mode", "full"},
		{"kms", "127.0.0.1:1", "--product", "nope"},
		{"kms", "127.0.0.1:1", "--protocol", "9"},
		{"kms", ln.Addr().String(), "--kms-mode", "bind", "--format", "json"},
		{"kms", ln.Addr().String(), "--kms-mode", "bind"},
		{"kms", "127.0.0.1:1", "--kms-mode", "tcp", "--format", "json"},
		{"audit", "-c", badKMS},
		{"audit", "-c", good, "--kms-mode", "bind", "--format", "json"},
		{"audit", "-c", good, "--kms-mode", "tcp", "--save", notDir},
		{"audit", "-c", good, "--school", "nope"},
		{"audit", "-c", good, "--dhcp-iface", "nope0", "--school", "good"},
		{"validate", "-c", tab},
		{"validate", "-c", badKMS},
		{"validate", "-c", filepath.Join(dir, "missing.yaml")},
		{"mail", "-c", good, garbage},
		{"mail", "-c", good, foreign},
		{"mail", "-c", good, badStatus},
		{"mail", "-c", good, filepath.Join(dir, "missing.json")},
		{"diff", garbage, foreign},
		{"diff", "--dir", filepath.Join(dir, "none")},
		{"dns", "a..b", "--server", "127.0.0.1:1"},
		{"dhcp", "--iface", "nope0"},
		{"checklist", "-c", good, "--report", garbage},
		{"demo", "--mail", "--save", filepath.Join(dir, "demo")},
	} {
		code, out, stderr := runCmd(t, args...)
		what := "kmsprobe " + strings.Join(args, " ")
		if code == exitPass {
			t.Errorf("%s: exit 0, want a failure", what)
		}
		assertNoInternalNames(t, what+" (stderr)", stderr)
		assertNoInternalNames(t, what+" (stdout)", out)
	}
}

// TestErrorStringsHaveNoPackagePrefix: no error built in the packages
// whose errors reach a user starts with a Go package name.
func TestErrorStringsHaveNoPackagePrefix(t *testing.T) {
	prefix := regexp.MustCompile(`(Errorf|errors\.New|Error\(\) string \{ return)\(?\s*"(kmscheck|dhcpcheck|dnscheck|clockcheck|probe|config|history|exporter|delegation|onboard|finding|kmsreplay|sim|legs|render|city|mailer): `)
	var files []string
	for _, pkg := range []string{"kmscheck", "kmscheck/kmsreplay", "dhcpcheck", "dnscheck", "clockcheck", "probe", "config", "history", "exporter", "delegation", "onboard", "finding", "legs", "render", "city", "mailer", "internal/sim", "cmd/kmsprobe"} {
		m, err := filepath.Glob(filepath.Join("..", "..", pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 50 {
		t.Fatalf("found only %d source files: run from cmd/kmsprobe", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if prefix.MatchString(line) {
				t.Errorf("%s:%d: an error that starts with a package name: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// printedCommand finds the command a hint prints after marker and
// splits it as a POSIX shell would (single quotes and backslashes: what
// shellQuote writes).
func printedCommand(t *testing.T, stderr, marker string) []string {
	t.Helper()
	i := strings.Index(stderr, marker)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", marker, stderr)
	}
	line, _, _ := strings.Cut(stderr[i+len(marker):], "\n")
	var args []string
	var cur strings.Builder
	quoted, any, escaped := false, false, false
	for _, r := range strings.TrimSpace(line) {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped, any = false, true
		case r == '\\' && !quoted:
			escaped = true
		case r == '\'':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any {
				args = append(args, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		args = append(args, cur.String())
	}
	if len(args) < 2 || args[0] != "kmsprobe" {
		t.Fatalf("the hint %q is not a kmsprobe command", line)
	}
	return args[1:]
}

// TestResendHintsWorkAsPrinted: after a failed delivery the printed
// resend command, run as printed once the cause is fixed, sends the
// report. Issue 14: `demo --mail` without a config printed
// `kmsprobe mail -c demo city …`.
func TestResendHintsWorkAsPrinted(t *testing.T) {
	down := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().String()
	}()
	const marker = "resend it with: "

	t.Run("demo without -c", func(t *testing.T) {
		code, _, stderr := runCmd(t, "demo", "--mail", "--save", filepath.Join(t.TempDir(), "my reports"), "--format", "json")
		if code != exitUnknown {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		args := printedCommand(t, stderr, marker)
		// The fix: a schools.yaml with a mail: section where the run
		// looked for one.
		addr, msgs := recordingSMTP(t)
		saved := config.SearchPath
		config.SearchPath = []string{writeConfig(t, addr)}
		defer func() { config.SearchPath = saved }()
		if code, _, stderr := runCmd(t, args...); code != exitPass || len(msgs()) != 1 {
			t.Errorf("kmsprobe %q as printed: exit %d, %d messages\n%s", args, code, len(msgs()), stderr)
		}
	})

	t.Run("audit with -c", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "city's schools.yaml")
		city := testCity(t, false, false)
		b, err := os.ReadFile(city)
		if err != nil {
			t.Fatal(err)
		}
		withMail := func(smtp string) {
			y := string(b) + "mail: {smtp: " + smtp + ", starttls: false, from: kmsprobe@example.edu.tw, to: [netadmin@example.edu.tw], timeout: 2s}\n"
			if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		withMail(down)
		code, _, stderr := runCmd(t, "audit", "-c", cfg, "--kms-mode", "tcp", "--mail", "--save", t.TempDir(), "--format", "json")
		if code != exitUnknown {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		args := printedCommand(t, stderr, marker)
		addr, msgs := recordingSMTP(t)
		withMail(addr) // the fix: the SMTP server is back
		if code, _, stderr := runCmd(t, args...); code != exitPass || len(msgs()) != 1 {
			t.Errorf("kmsprobe %q as printed: exit %d, %d messages\n%s", args, code, len(msgs()), stderr)
		}
	})
}
