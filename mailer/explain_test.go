package mailer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wneessen/go-mail"
)

// TestExplain: each kind of failed delivery gets its advice, the first
// matching kind winning, and the library's error stays wrapped for the
// log (except a stop the caller asked for, which is not a failure).
func TestExplain(t *testing.T) {
	s := Settings{Addr: "smtp.example.edu.tw:587", Username: "kmsprobe", From: "probe@example.edu.tw", To: []string{"a@example.edu.tw", "b@example.edu.tw"}}
	live := context.Background()
	expired, cancel := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel()
	stopped, stop := context.WithCancelCause(live)
	stop(errors.New("SIGTERM"))
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	named := &x509.Certificate{DNSNames: []string{"mail.example.edu.tw"}}
	for _, tc := range []struct {
		name        string
		parent, ctx context.Context
		err         error
		want        string
	}{
		{"stopped by the caller", stopped, live, errors.New("i/o"), "mail: stopped (SIGTERM) before the delivery through smtp.example.edu.tw:587 finished; the report was not sent"},
		{"connection refused", live, live, refused, "mail: the SMTP server smtp.example.edu.tw:587 refused the connection (nothing listens there)"},
		{"deadline", live, live, fmt.Errorf("dial: %w", context.DeadlineExceeded), "mail: the SMTP server smtp.example.edu.tw:587 did not finish the delivery within 10s (mail.timeout)"},
		{"delivery context ran out", live, expired, errors.New("read: connection reset"), "did not finish the delivery within 10s"},
		{"refused beats a run-out context", live, expired, refused, "refused the connection"},
		{"no STARTTLS", live, live, errors.New("server does not support STARTTLS"), "does not offer STARTTLS, and mail.starttls requires it"},
		{"unknown CA", live, live, fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), "mail: the SMTP server's certificate is not trusted: smtp.example.edu.tw:587 presented"},
		{"unknown CA as text", live, live, errors.New("x509: certificate signed by unknown authority"), "certificate is not trusted"},
		{"wrong name", live, live, x509.HostnameError{Certificate: named, Host: "smtp.example.edu.tw"}, "mail: the SMTP server's certificate does not name smtp.example.edu.tw: set mail.smtp"},
		{"expired", live, live, x509.CertificateInvalidError{Cert: named, Reason: x509.Expired}, "mail: the SMTP server's certificate is not valid (expired, or not for a server)"},
		{"other TLS trouble", live, live, errors.New("remote error: tls: handshake failure"), "mail: the TLS handshake with smtp.example.edu.tw:587 failed: is its certificate valid for smtp.example.edu.tw"},
		{"no AUTH offered", live, live, errors.New("server does not support SMTP AUTH"), "offers no login (no AUTH in its EHLO), yet mail.username is set"},
		{"login refused", live, live, errors.New("535 5.7.8 SMTP AUTH failed"), `refused the login of user "kmsprobe": check mail.username and the password in mail.password_file or $KMSPROBE_SMTP_PASSWORD`},
		{"recipient refused", live, live, &mail.SendError{Reason: mail.ErrSMTPRcptTo}, "refused a recipient in mail.to (a@example.edu.tw, b@example.edu.tw): check the addresses and that the server relays for probe@example.edu.tw"},
		{"sender refused", live, live, &mail.SendError{Reason: mail.ErrSMTPMailFrom}, "refused the sender probe@example.edu.tw (mail.from)"},
		{"anything else", live, live, errors.New("421 closing"), "mail: delivery through smtp.example.edu.tw:587 failed: 421 closing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := explain(s, 10*time.Second, tc.parent, tc.ctx, tc.err)
			if !strings.Contains(got.Error(), tc.want) {
				t.Errorf("explain = %q, want it to hold %q", got, tc.want)
			}
			if tc.parent == stopped {
				return
			}
			if !errors.Is(got, tc.err) || !strings.HasSuffix(got.Error(), ": "+tc.err.Error()) {
				t.Errorf("explain = %q does not wrap %q", got, tc.err)
			}
		})
	}
}
