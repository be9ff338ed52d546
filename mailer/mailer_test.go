package mailer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

func report() *probe.Report {
	r := &probe.Report{
		Schema:      probe.Schema,
		GeneratedAt: time.Date(2026, 11, 23, 7, 0, 0, 0, time.FixedZone("CST", 8*3600)),
		Probe:       probe.Info{Hostname: "probe-1", Version: "test"},
		Schools: []probe.School{
			{ID: "good-jh", Name: "優良國中", Suffix: "good-jh.kh.edu.tw", Findings: []finding.Finding{{Check: finding.DNSSRV, Server: "127.0.0.1:53", Status: finding.Pass, Message: "ok"}}},
			{ID: "demo-jh", Name: "示範國中", Suffix: "demo-jh.kh.edu.tw", Findings: []finding.Finding{{Check: finding.DNSSRV, Server: "127.0.0.1:53", Status: finding.Fail, Short: "NXDOMAIN", Evidence: finding.EvidenceMap(map[string]any{"role": "school"}),
				Message: "NXDOMAIN for _vlmcs._tcp.demo-jh.kh.edu.tw", Remedy: "_vlmcs._tcp.demo-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."}}},
		},
	}
	r.Finish()
	return r
}

func trend() []render.TrendPoint {
	var pts []render.TrendPoint
	for i := 0; i < 4; i++ {
		pts = append(pts, render.TrendPoint{At: time.Date(2026, 11, 2+7*i, 7, 0, 0, 0, time.UTC), Summary: probe.Summary{Schools: 2, Pass: 1 + i%2, Fail: 1 - i%2}})
	}
	return pts
}

// freePort returns a loopback port nothing listens on (a tiny race with
// other processes is acceptable in tests).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startSink runs testdata/smtpsink.py (aiosmtpd) on 127.0.0.1 and returns
// its address and the folder it saves messages to. extra are more
// arguments (--tls-cert, --tls-key).
func startSink(t *testing.T, user, password string, extra ...string) (addr, dir string) {
	t.Helper()
	py := ""
	// Debian's python3-aiosmtpd lives in /usr/bin/python3's path; a pyenv
	// or venv python3 first on PATH does not see it.
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(c, "-c", "import aiosmtpd").Run() == nil {
			py = c
			break
		}
	}
	if py == "" {
		testenv.Missing(t, "no python3 can import aiosmtpd (Debian: apt-get install -y python3-aiosmtpd), needed for delivery to a real SMTP server")
	}
	dir = t.TempDir()
	port := freePort(t)
	args := []string{"testdata/smtpsink.py", "--port", fmt.Sprint(port), "--dir", dir}
	if user != "" {
		args = append(args, "--user", user, "--password", password)
	}
	args = append(args, extra...)
	cmd := exec.Command(py, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("smtpsink did not start: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("smtpsink not ready after 20s: %s", stderr.String())
	}
	return fmt.Sprintf("127.0.0.1:%d", port), dir
}

type part struct {
	Type, CID string
	Body      []byte
}

// parts flattens a MIME message into its leaf parts, decoded.
func parts(t *testing.T, h map[string][]string, body io.Reader) []part {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []part
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, parts(t, p.Header, p)...)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return []part{{Type: mt, CID: strings.Trim(get("Content-Id"), "<>"), Body: b}}
}

func readMessage(t *testing.T, path string) (subject string, to string, ps []part) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return subject, m.Header.Get("To"), parts(t, m.Header, m.Body)
}

func TestDeliverToRealSMTPServer(t *testing.T) {
	tests := []struct {
		name, lang, user, password string
		wantSubject                string
		wantText, wantHTML         []string
	}{
		{
			name: "en, no auth", lang: render.English,
			wantSubject: "KMS audit: 1 fail, 0 warn, 1 pass",
			wantText:    []string{"demo-jh", "✗ NXDOMAIN", "What to fix:", "_vlmcs._tcp.demo-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."},
			wantHTML:    []string{"<table", "demo-jh", "✗ NXDOMAIN", "示範國中", `src="cid:trend.png"`},
		},
		{
			name: "zh-TW, AUTH", lang: render.Chinese, user: "kmsprobe", password: "s3cret pass",
			wantSubject: "KMS 稽核：1 失敗、0 警告、1 通過",
			wantText:    []string{"demo-jh", "待修正項目：", "學校"},
			wantHTML:    []string{"KMS 啟用稽核報告", "各校合規狀態", "✗ NXDOMAIN", `src="cid:trend.png"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, dir := startSink(t, tc.user, tc.password)
			s := Settings{Addr: addr, From: "kmsprobe@example.edu.tw", To: []string{"netadmin@example.edu.tw"},
				Username: tc.user, Password: tc.password, Timeout: 10 * time.Second}
			m, err := Compose(report(), render.Options{Lang: tc.lang, Trend: trend()}, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := Send(context.Background(), s, m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			if len(files) != 1 {
				t.Fatalf("server saved %d messages, want 1", len(files))
			}
			subj, to, ps := readMessage(t, files[0])
			if subj != tc.wantSubject {
				t.Errorf("Subject = %q, want %q", subj, tc.wantSubject)
			}
			if !strings.Contains(to, "netadmin@example.edu.tw") {
				t.Errorf("To = %q", to)
			}
			var types []string
			byType := map[string]part{}
			for _, p := range ps {
				types = append(types, p.Type)
				byType[p.Type] = p
			}
			if diff := cmp.Diff([]string{"text/plain", "text/html", "image/png"}, types); diff != "" {
				t.Errorf("MIME leaf parts (-want +got):\n%s", diff)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(string(byType["text/plain"].Body), w) {
					t.Errorf("text part lacks %q:\n%s", w, byType["text/plain"].Body)
				}
			}
			for _, w := range tc.wantHTML {
				if !strings.Contains(string(byType["text/html"].Body), w) {
					t.Errorf("HTML part lacks %q", w)
				}
			}
			img := byType["image/png"]
			if img.CID != render.ChartCID || !bytes.HasPrefix(img.Body, []byte("\x89PNG")) {
				t.Errorf("image part: cid %q, %d bytes, want cid %q and a PNG", img.CID, len(img.Body), render.ChartCID)
			}
		})
	}
}

func TestRealServerRefusesWrongPassword(t *testing.T) {
	addr, _ := startSink(t, "kmsprobe", "right")
	s := Settings{Addr: addr, From: "a@example.edu.tw", To: []string{"b@example.edu.tw"}, Username: "kmsprobe", Password: "wrong-XYZ", Timeout: 10 * time.Second}
	m, err := Compose(report(), render.Options{}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = Send(context.Background(), s, m)
	if err == nil || !strings.Contains(err.Error(), "refused the login") {
		t.Fatalf("Send = %v, want a refused login", err)
	}
	if strings.Contains(err.Error(), "wrong-XYZ") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// fakeSMTP serves one scripted SMTP conversation per connection on
// 127.0.0.1: greet, answer EHLO with ext, then reply to each command
// with reply(cmd).
func fakeSMTP(t *testing.T, greet bool, ext []string, reply func(cmd string) string) string {
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
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if !greet {
					io.Copy(io.Discard, c) // stall: a server that accepts and never speaks
					return
				}
				fmt.Fprintf(c, "220 fake ESMTP\r\n")
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case strings.HasPrefix(cmd, "EHLO"):
						fmt.Fprintf(c, "250-fake\r\n")
						for _, e := range ext {
							fmt.Fprintf(c, "250-%s\r\n", e)
						}
						fmt.Fprintf(c, "250 8BITMIME\r\n")
					case strings.HasPrefix(cmd, "QUIT"):
						fmt.Fprintf(c, "221 bye\r\n")
						return
					default:
						fmt.Fprintf(c, "%s\r\n", reply(cmd))
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestSendFailures(t *testing.T) {
	down := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	tests := []struct {
		name     string
		addr     string
		starttls bool
		user     string
		want     string
	}{
		{name: "server down", addr: down, want: "refused the connection"},
		{name: "auth refused", user: "kmsprobe", want: "refused the login of user \"kmsprobe\"",
			addr: fakeSMTP(t, true, []string{"AUTH PLAIN LOGIN"}, func(cmd string) string {
				if strings.HasPrefix(cmd, "AUTH") {
					return "535 5.7.8 Authentication credentials invalid"
				}
				return "250 ok"
			})},
		{name: "no AUTH offered", user: "kmsprobe", want: "offers no login (no AUTH in its EHLO), yet mail.username is set",
			addr: fakeSMTP(t, true, nil, func(string) string { return "250 ok" })},
		{name: "no STARTTLS offered", starttls: true, want: "does not offer STARTTLS",
			addr: fakeSMTP(t, true, nil, func(string) string { return "250 ok" })},
		{name: "recipient refused", want: "refused a recipient",
			addr: fakeSMTP(t, true, nil, func(cmd string) string {
				if strings.HasPrefix(cmd, "RCPT") {
					return "550 5.7.1 relaying denied"
				}
				return "250 ok"
			})},
		{name: "slow server", want: "did not finish the delivery within 1s",
			addr: fakeSMTP(t, false, nil, nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{Addr: tc.addr, StartTLS: tc.starttls, From: "a@example.edu.tw", To: []string{"b@example.edu.tw"},
				Username: tc.user, Timeout: time.Second}
			if tc.user != "" {
				s.Password = "hunter2-secret"
			}
			m, err := Compose(report(), render.Options{}, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = Send(context.Background(), s, m)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.addr) {
				t.Errorf("error %q should contain %q and the server %s", err, tc.want, tc.addr)
			}
			if strings.Contains(err.Error(), "hunter2-secret") {
				t.Errorf("the error shows the password: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Send took %s with a 1s timeout", d)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private := write("private", "pw from file\n", 0o600)
	shared := write("shared", "pw2\n", 0o644)
	empty := write("empty", "\n", 0o600)
	base := func(user, file string) *config.Mail {
		return &config.Mail{SMTP: "smtp.example.edu.tw:587", From: "a@x.tw", To: []string{"b@x.tw"}, Username: user, PasswordFile: file}
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == PasswordEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name     string
		m        *config.Mail
		env      string
		wantPW   string
		wantWarn string
		wantErr  string
	}{
		{name: "file", m: base("u", private), wantPW: "pw from file"},
		{name: "file readable by others", m: base("u", shared), wantPW: "pw2", wantWarn: "chmod 600 " + shared},
		{name: "env", m: base("u", ""), env: "pw-env", wantPW: "pw-env"},
		{name: "file wins over env", m: base("u", private), env: "pw-env", wantPW: "pw from file"},
		{name: "user without password", m: base("u", ""), wantErr: PasswordEnv},
		{name: "missing file", m: base("u", filepath.Join(dir, "nope")), wantErr: "cannot read the SMTP password file"},
		{name: "empty file", m: base("u", empty), wantErr: "is empty"},
		{name: "no auth", m: base("", ""), wantPW: ""},
		{name: "no mail section", m: nil, wantErr: "no mail: section"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, warns, err := FromConfig(tc.m, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Password != tc.wantPW {
				t.Errorf("password = %q, want %q", s.Password, tc.wantPW)
			}
			got := strings.Join(warns, "\n")
			if tc.wantWarn == "" && got != "" || !strings.Contains(got, tc.wantWarn) {
				t.Errorf("warnings = %q, want %q", got, tc.wantWarn)
			}
			if strings.Contains(fmt.Sprintf("%v %+v %#v", s, s, s), "pw") && tc.wantPW != "" {
				t.Errorf("Settings print the password: %v", s)
			}
		})
	}
}

// TestComposeAttachments: each attachment is its own part with its file
// name and type, and the report parts stay as they were.
func TestComposeAttachments(t *testing.T) {
	s := Settings{Addr: "127.0.0.1:25", From: "a@example.edu.tw", To: []string{"b@example.edu.tw"}}
	atts := []render.Attachment{
		{Name: "checklist-a.html", ContentType: "text/html; charset=utf-8", Body: []byte("<p>school a</p>")},
		{Name: "checklist-b.html", ContentType: "text/html; charset=utf-8", Body: []byte("<p>school b</p>")},
	}
	m, err := Compose(report(), render.Options{}, s, atts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	raw := b.String()
	for _, a := range atts {
		if n := strings.Count(raw, `filename="`+a.Name+`"`); n != 1 {
			t.Errorf("%s appears %d times as an attachment", a.Name, n)
		}
	}
	if n := strings.Count(raw, "Content-Disposition: attachment"); n != len(atts) {
		t.Errorf("%d attachments, want %d", n, len(atts))
	}
	if !strings.Contains(raw, "text/plain") || !strings.Contains(raw, "multipart/alternative") {
		t.Error("the report's text and HTML parts are missing")
	}
}
