package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/render"
)

// testCert makes a self-signed certificate for 127.0.0.1 in the test's
// folder and returns its files and a pool that trusts it.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	return testenv.SelfSignedCert(t, t.TempDir(), "kmsprobe test SMTP")
}

// TestStartTLSAndAuth exercises the default mail setup (STARTTLS
// required, then AUTH) against a real SMTP server that refuses AUTH
// before TLS: a trusted certificate delivers, an untrusted one is refused
// before the password is sent, with the fix in the message.
func TestStartTLSAndAuth(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	addr, dir := startSink(t, "kmsprobe", "s3cret", "--tls-cert", certFile, "--tls-key", keyFile)
	base := Settings{Addr: addr, StartTLS: true, From: "kmsprobe@example.edu.tw", To: []string{"netadmin@example.edu.tw"},
		Username: "kmsprobe", Password: "s3cret", Timeout: 15 * time.Second}

	t.Run("trusted", func(t *testing.T) {
		s := base
		s.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		m, err := Compose(report(), render.Options{}, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Send(context.Background(), s, m); err != nil {
			t.Fatalf("Send over STARTTLS with AUTH: %v", err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) != 1 {
			t.Fatalf("server saved %d messages, want 1", len(files))
		}
		if subj, _, _ := readMessage(t, files[0]); !strings.HasPrefix(subj, "KMS audit:") {
			t.Errorf("subject %q", subj)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		s := base
		s.Password = "hunter2-secret"
		s.TLS = nil // the system's CAs: the test certificate is not among them
		m, err := Compose(report(), render.Options{}, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = Send(context.Background(), s, m)
		if err == nil {
			t.Fatal("Send trusted a certificate no CA of this host signed")
		}
		for _, w := range []string{"the SMTP server's certificate is not trusted", "install that CA on this host", "update-ca-certificates", addr} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	})
}

// TestSendStopped: a delivery stopped by SIGTERM (its context cancelled)
// says it was stopped, not that the server was slow.
func TestSendStopped(t *testing.T) {
	addr := fakeSMTP(t, false, nil, nil) // accepts, never speaks
	s := Settings{Addr: addr, From: "a@example.edu.tw", To: []string{"b@example.edu.tw"}, Timeout: time.Minute}
	m, err := Compose(report(), render.Options{}, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err = Send(ctx, s, m)
	if err == nil || !strings.Contains(err.Error(), "stopped") || strings.Contains(err.Error(), "mail.timeout") {
		t.Errorf("Send after cancel = %v, want a 'stopped' error without the timeout advice", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Send took %s after its context was cancelled", d)
	}
}

// TestPasswordFileSpecial: /dev/zero (which used to eat gigabytes), a
// FIFO (which used to hang) and a huge file are refused at once.
func TestPasswordFileSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", fifo, huge} {
		start := time.Now()
		_, _, err := FromConfig(&configMail{SMTP: "smtp.example.edu.tw:587", From: "a@x.tw", To: []string{"b@x.tw"}, Username: "u", PasswordFile: p}, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "mail.password_file") || !strings.Contains(err.Error(), p) {
			t.Errorf("password file %s: %v", p, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("password file %s took %s", p, d)
		}
	}
}

type configMail = config.Mail

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o600) }
