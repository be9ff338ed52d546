package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// TestNagiosExitFollowsState: with --format nagios the exit code is the
// state printed; an interrupted audit whose answers so far all pass is
// UNKNOWN (3), not OK (0).
func TestNagiosExitFollowsState(t *testing.T) {
	pass := finding.Finding{Check: finding.DNSSRV, Server: "127.0.0.1:53", Status: finding.Pass, Message: "ok"}
	warn := pass
	warn.Status = finding.Warn
	for _, tc := range []struct {
		name       string
		f          finding.Finding
		incomplete bool
		format     string
		want       int
		state      string
	}{
		{"complete pass", pass, false, "nagios", 0, "KMSPROBE OK"},
		{"interrupted pass", pass, true, "nagios", 3, "KMSPROBE UNKNOWN"},
		{"interrupted warn", warn, true, "nagios", 3, "KMSPROBE UNKNOWN"},
		{"interrupted pass, table", pass, true, "table", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probe.Single(probe.School{ID: "s", Findings: []finding.Finding{tc.f}}, "test", "central", time.Now())
			if tc.incomplete {
				r.Incomplete, r.Reason = true, "the audit was stopped"
			}
			var out, errb bytes.Buffer
			in := &input{outputFlags: outputFlags{format: tc.format}}
			got := deliver(context.Background(), &env{Stdout: &out, Stderr: &errb}, &config.Config{}, in, r)
			if got != tc.want || !strings.HasPrefix(out.String(), tc.state) {
				t.Errorf("exit %d, want %d; output %q", got, tc.want, out.String())
			}
		})
	}
}

// TestPinnedClock: the report time comes from env.Now, the one clock.
func TestPinnedClock(t *testing.T) {
	good := testCity(t, false, false)
	closed := "127.0.0.1:1"
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, args := range [][]string{
		{"audit", "-c", good, "--kms-mode", "tcp", "--format", "json"},
		{"dns", "good.test.example", "-c", good, "--format", "json"},
		{"kms", closed, "--kms-mode", "tcp", "--format", "json"},
		{"demo", "--format", "json"},
	} {
		var out, errb bytes.Buffer
		run(context.Background(), &env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return at }}, args)
		var rep struct {
			GeneratedAt time.Time `json:"generated_at"`
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		if !rep.GeneratedAt.Equal(at) {
			t.Errorf("kmsprobe %s: generated_at %v, want the pinned %v", strings.Join(args, " "), rep.GeneratedAt, at)
		}
	}
}
