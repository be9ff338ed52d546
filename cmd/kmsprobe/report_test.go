package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/history"
	"github.com/kh-edu/kmsprobe/probe"
)

func TestJoinOptionalValues(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"--save"}, []string{"--save"}},
		{[]string{"--save", "--mail"}, []string{"--save", "--mail"}},
		{[]string{"--save", "/var/lib/kmsprobe/reports", "--mail"}, []string{"--save=/var/lib/kmsprobe/reports", "--mail"}},
		{[]string{"-save", "r"}, []string{"-save=r"}},
		{[]string{"--save=r"}, []string{"--save=r"}},
		{[]string{"--lang", "zh-TW"}, []string{"--lang", "zh-TW"}},
		{[]string{"--", "--save", "x"}, []string{"--", "--save", "x"}},
	}
	for _, tc := range tests {
		e := &env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
		fs := newFlagSet(e, &command{Name: "audit"})
		var rf reportFlags
		rf.register(fs)
		if diff := cmp.Diff(tc.want, joinOptionalValues(fs, tc.in)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

// acceptingSMTP takes every message on 127.0.0.1 and counts them.
func acceptingSMTP(t *testing.T) (string, func() int) {
	t.Helper()
	addr, msgs := recordingSMTP(t)
	return addr, func() int { return len(msgs()) }
}

// recordingSMTP takes every message on 127.0.0.1 and keeps its DATA.
func recordingSMTP(t *testing.T) (string, func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprint(c, "220 fake\r\n")
				br := bufio.NewReader(c)
				data := false
				var msg strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if data {
						if line == ".\r\n" {
							data = false
							mu.Lock()
							got = append(got, msg.String())
							mu.Unlock()
							msg.Reset()
							fmt.Fprint(c, "250 queued\r\n")
							continue
						}
						msg.WriteString(strings.TrimPrefix(line, "."))
						continue
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case strings.HasPrefix(cmd, "EHLO"):
						fmt.Fprint(c, "250-fake\r\n250 8BITMIME\r\n")
					case cmd == "DATA":
						data = true
						fmt.Fprint(c, "354 go\r\n")
					case cmd == "QUIT":
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "250 ok\r\n")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func writeConfig(t *testing.T, smtp string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "schools.yaml")
	y := fmt.Sprintf(`version: 1
resolvers: [127.0.0.1:5300]
mail:
  smtp: %s
  starttls: false
  from: kmsprobe@example.edu.tw
  to: [netadmin@example.edu.tw]
  timeout: 2s
schools:
  - id: demo-jh
    suffix: demo-jh.kh.edu.tw
`, smtp)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// TestDemoSaveMailFailsThenResend: the mail fails (the demo has no mail
// settings), yet the report is saved and `kmsprobe mail` resends it.
func TestDemoSaveMailFailsThenResend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports")
	code, _, stderr := runCmd(t, "demo", "--save", dir, "--mail", "--format", "json")
	if code != exitUnknown {
		t.Errorf("demo --mail without mail settings exited %d, want 3; stderr:\n%s", code, stderr)
	}
	es, err := history.List(dir)
	if err != nil || len(es) != 1 {
		t.Fatalf("history after a failed mail: %v, %v; stderr:\n%s", es, err, stderr)
	}
	if !strings.Contains(stderr, "kmsprobe mail") || !strings.Contains(stderr, es[0].Path) {
		t.Errorf("stderr does not say how to resend %s:\n%s", es[0].Path, stderr)
	}

	down := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return ln.Addr().String()
	}()
	code, _, stderr = runCmd(t, "mail", "-c", writeConfig(t, down), es[0].Path)
	if code != exitUnknown || !strings.Contains(stderr, "refused the connection") {
		t.Errorf("mail to a down server: exit %d, stderr:\n%s", code, stderr)
	}

	addr, count := acceptingSMTP(t)
	code, _, stderr = runCmd(t, "mail", "-c", writeConfig(t, addr), "--lang", "zh-TW", es[0].Path)
	if code != exitPass || count() != 1 {
		t.Errorf("resend: exit %d, %d messages; stderr:\n%s", code, count(), stderr)
	}
}

func TestDiffExitCodes(t *testing.T) {
	mk := func(st finding.Status, at time.Time) *probe.Report {
		r := &probe.Report{Schema: probe.Schema, GeneratedAt: at, Schools: []probe.School{{ID: "a", Findings: []finding.Finding{{Check: "dns.srv", Status: st}}}}}
		r.Finish()
		return r
	}
	t0 := time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		old, cur finding.Status
		want     int
	}{
		{"no change", finding.Pass, finding.Pass, exitPass},
		{"fixed", finding.Fail, finding.Pass, exitPass},
		{"to warn", finding.Pass, finding.Warn, exitWarn},
		{"to fail", finding.Warn, finding.Fail, exitFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, st := range []finding.Status{tc.old, tc.cur} {
				if _, err := history.Save(context.Background(), dir, 5, mk(st, t0.Add(time.Duration(i)*time.Hour))); err != nil {
					t.Fatal(err)
				}
			}
			code, out, stderr := runCmd(t, "diff", "--dir", dir)
			if code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.want, out, stderr)
			}
		})
	}
	code, _, stderr := runCmd(t, "diff", "--dir", t.TempDir())
	if code != exitUnknown || !strings.Contains(stderr, "needs two") {
		t.Errorf("empty history: exit %d, %s", code, stderr)
	}
}
