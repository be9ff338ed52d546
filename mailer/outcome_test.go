package mailer

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/render"
)

func TestPipelineRule(t *testing.T) {
	full := errors.New("no space left on device: free space on /var or choose another --save dir")
	smtp := errors.New("mail: the SMTP server smtp.example.edu.tw:587 refused the connection")
	tests := []struct {
		name             string
		audit            int
		save, mail       error
		want             int
		mailed           bool
		wantNotice       bool
		wantLog, wantNot []string
	}{
		{name: "all fine", audit: 2, want: 2, mailed: true},
		{name: "disk full: still mailed, says so, exit 3", audit: 0, save: full, want: 3, mailed: true, wantNotice: true,
			wantLog: []string{"not saved", "free space on /var", "mailed the report although", "audit: 0 school(s) fail"}},
		{name: "SMTP fails after a failing audit: 3, both shown", audit: 2, mail: smtp, want: 3, mailed: true,
			wantLog: []string{"refused the connection", "audit: 2 school(s) fail", "would exit 2"}},
		{name: "both fail", audit: 1, save: full, mail: smtp, want: 3, mailed: true, wantNotice: true,
			wantLog: []string{"not saved", "refused the connection", "would exit 1"}, wantNot: []string{"mailed the report although"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := report()
			r.Summary.Fail = tc.audit
			var log []string
			mailed, notice := false, ""
			code := Pipeline(r, tc.audit, true, true,
				func() error { return tc.save },
				func(n string) error { mailed, notice = true, n; return tc.mail },
				func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) })
			if code != tc.want || mailed != tc.mailed || (notice != "") != tc.wantNotice {
				t.Errorf("exit %d mailed %v notice %q; want %d %v notice=%v", code, mailed, notice, tc.want, tc.mailed, tc.wantNotice)
			}
			all := strings.Join(log, "\n")
			for _, w := range tc.wantLog {
				if !strings.Contains(all, w) {
					t.Errorf("log lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(all, w) {
					t.Errorf("log has %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestNoticeDelivered: a report that could not be saved is delivered by a
// real SMTP server with the notice in the subject and both parts.
func TestNoticeDelivered(t *testing.T) {
	addr, dir := startSink(t, "", "")
	s := Settings{Addr: addr, From: "kmsprobe@example.edu.tw", To: []string{"netadmin@example.edu.tw"}, Timeout: 10 * time.Second}
	notice := SaveFailedNotice(errors.New("no space left on device <on /var>"))
	m, err := ComposeNotice(report(), render.Options{}, s, notice, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(t.Context(), s, m); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d messages", len(files))
	}
	subj, _, ps := readMessage(t, files[0])
	if !strings.HasPrefix(subj, "[attention] KMS audit:") {
		t.Errorf("subject %q", subj)
	}
	for _, p := range ps {
		switch p.Type {
		case "text/plain":
			if !strings.HasPrefix(string(p.Body), "!! This report could not be saved") {
				t.Errorf("text part starts %q", string(p.Body)[:min(80, len(p.Body))])
			}
		case "text/html":
			if !strings.Contains(string(p.Body), "could not be saved") || !strings.Contains(string(p.Body), "&lt;on /var&gt;") {
				t.Errorf("HTML part lacks the escaped notice")
			}
		}
	}
}
