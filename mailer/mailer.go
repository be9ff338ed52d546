package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// PasswordEnv is the environment variable read when mail.password_file is
// not set.
const PasswordEnv = "KMSPROBE_SMTP_PASSWORD"

// DefaultTimeout bounds one whole delivery (connect, TLS, AUTH, DATA) when
// the settings give none.
const DefaultTimeout = 30 * time.Second

// Settings say where and how to deliver.
type Settings struct {
	Addr     string // host:port
	StartTLS bool   // require STARTTLS
	From     string
	To       []string
	Username string
	Password string
	Timeout  time.Duration
	// TLS overrides the TLS configuration (tests trust their own CA);
	// nil verifies the server against the system roots.
	TLS *tls.Config
	// UserAgent names the sender program in the X-Mailer header.
	UserAgent string
}

// String never shows the password, so printing Settings with %v in a log
// or an error is safe.
func (s Settings) String() string {
	pw := "none"
	if s.Password != "" {
		pw = "set"
	}
	return fmt.Sprintf("smtp=%s starttls=%t from=%s to=%s user=%q password=%s timeout=%s",
		s.Addr, s.StartTLS, s.From, strings.Join(s.To, ","), s.Username, pw, s.Timeout)
}

// GoString is String, so %#v does not print the password either.
func (s Settings) GoString() string { return s.String() }

// FromConfig turns the mail: section into Settings, reading the password
// from password_file or from $KMSPROBE_SMTP_PASSWORD (getenv). Warnings are
// problems that do not stop delivery, for the log.
func FromConfig(m *config.Mail, getenv func(string) string) (Settings, []string, error) {
	if m == nil {
		return Settings{}, nil, errors.New("mail: schools.yaml has no mail: section; add one with smtp, from and to to use --mail or `kmsprobe mail`")
	}
	s := Settings{
		Addr:     m.SMTP,
		StartTLS: m.UseStartTLS(),
		From:     m.From,
		To:       append([]string(nil), m.To...),
		Username: m.Username,
		Timeout:  m.Timeout.Duration,
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	var warns []string
	switch {
	case m.PasswordFile != "":
		pw, w, err := readPasswordFile(m.PasswordFile)
		if err != nil {
			return Settings{}, nil, err
		}
		warns = append(warns, w...)
		s.Password = pw
	default:
		s.Password = getenv(PasswordEnv)
	}
	if s.Username != "" && s.Password == "" {
		return Settings{}, warns, fmt.Errorf("mail: mail.username is %q but there is no password: write it to a file readable only by kmsprobe (chmod 600) and name it in mail.password_file, or set %s", s.Username, PasswordEnv)
	}
	if s.Username == "" && s.Password != "" {
		warns = append(warns, "mail: a password is set but mail.username is not, so the password is not used; add mail.username to log in")
		s.Password = ""
	}
	if s.Username != "" && !s.StartTLS {
		warns = append(warns, "mail: mail.starttls is false, so the SMTP password crosses the network unencrypted; use it only with a relay on this host or a trusted network")
	}
	return s, warns, nil
}

func readPasswordFile(path string) (string, []string, error) {
	// A password is a line; anything longer than a few KiB (or
	// /dev/zero, or a FIFO) is a wrong path, refused at once.
	b, err := safefile.ReadFile(path, safefile.SecretLimit)
	if err != nil {
		return "", nil, fmt.Errorf("mail: cannot read the SMTP password file %s (mail.password_file): %w; it must be an ordinary file of at most %d bytes holding the password on one line (chmod 600)", path, err, safefile.SecretLimit)
	}
	var warns []string
	if fi, err := os.Stat(path); err == nil {
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			warns = append(warns, fmt.Sprintf("mail: the SMTP password file %s is readable by group or others (mode %04o); run: chmod 600 %s", path, perm, path))
		}
	}
	// Only the line end an editor adds is dropped: spaces may belong to
	// the password.
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", nil, fmt.Errorf("mail: the SMTP password file %s is empty; write the password on its first line", path)
	}
	return pw, warns, nil
}

// Message is a composed mail, ready to send or to write as .eml.
type Message struct {
	Subject string
	msg     *mail.Msg
}

// WriteTo writes the message in RFC 5322 form.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	return m.msg.WriteTo(w)
}

// Compose builds the mail for r: subject with the counts, a text/plain part,
// the HTML report as the alternative, the trend chart as an inline image
// the HTML refers to by cid, and atts as attachments (each failing
// school's checklist, render.FailingChecklists).
func Compose(r *probe.Report, o render.Options, s Settings, atts []render.Attachment) (*Message, error) {
	return ComposeNotice(r, o, s, "", atts)
}

// ComposeNotice is Compose with a notice above the report in both parts
// and "[notice] " before the subject: what went wrong on the probe host
// that the reader must know, e.g. that the report could not be saved.
func ComposeNotice(r *probe.Report, o render.Options, s Settings, notice string, atts []render.Attachment) (*Message, error) {
	if err := render.CheckLang(langOr(o.Lang)); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	m := mail.NewMsg()
	if err := m.From(s.From); err != nil {
		return nil, fmt.Errorf("mail: mail.from %q is not a usable sender address: %w", s.From, err)
	}
	if err := m.To(s.To...); err != nil {
		return nil, fmt.Errorf("mail: mail.to has an unusable address: %w", err)
	}
	subj := render.Subject(o.Lang, r)
	if notice != "" {
		subj = "[" + noticeTag + "] " + subj
	}
	m.Subject(subj)
	m.SetDate()
	m.SetMessageID()
	if s.UserAgent != "" {
		m.SetUserAgent(s.UserAgent)
	}
	// RFC 3834: tells vacation responders and ticket systems not to reply
	// to a robot.
	m.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")

	var text, htm bytes.Buffer
	to := o
	to.Format = "text"
	if err := render.Write(&text, r, to); err != nil {
		return nil, fmt.Errorf("mail: rendering the text part: %w", err)
	}
	chart := render.ChartPNG(o.Trend)
	ho := o
	ho.ChartSrc = "cid:" + render.ChartCID
	ho.Format = "html"
	if err := render.Write(&htm, r, ho); err != nil {
		return nil, fmt.Errorf("mail: rendering the HTML part: %w", err)
	}
	body, page := text.String(), htm.String()
	if notice != "" {
		body = "!! " + notice + "\n\n" + body
		page = withNotice(page, notice)
	}
	m.SetBodyString(mail.TypeTextPlain, body)
	m.AddAlternativeString(mail.TypeTextHTML, page)
	if chart != nil {
		if err := m.EmbedReader(render.ChartCID, bytes.NewReader(chart),
			mail.WithFileContentID(render.ChartCID), mail.WithFileContentType(mail.ContentType("image/png"))); err != nil {
			return nil, fmt.Errorf("mail: attaching the trend chart: %w", err)
		}
	}
	for _, a := range atts {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := m.AttachReader(a.Name, bytes.NewReader(a.Body), mail.WithFileContentType(mail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("mail: attaching %s: %w", a.Name, err)
		}
	}
	return &Message{Subject: subj, msg: m}, nil
}

// noticeTag marks the subject of a mail that carries a notice, so a
// mail filter or a glance at the inbox shows something needs attention.
const noticeTag = "attention"

// withNotice puts the notice at the top of the HTML body.
func withNotice(page, notice string) string {
	p := `<p style="margin:0 0 16px 0;padding:8px 12px;border:2px solid #cf222e;color:#cf222e;font-weight:bold;">` + html.EscapeString(notice) + "</p>\n"
	i := strings.Index(page, "<body")
	if i < 0 {
		return p + page
	}
	j := strings.Index(page[i:], ">")
	if j < 0 {
		return p + page
	}
	k := i + j + 1
	return page[:k] + "\n" + p + page[k:]
}

func langOr(l string) string {
	if l == "" {
		return render.English
	}
	return l
}

// Send delivers msg. The whole exchange — connect, STARTTLS, AUTH, every
// command — shares one deadline (s.Timeout, or ctx's if earlier), so a
// server that accepts the connection and then stalls cannot hang a cron
// job.
func Send(ctx context.Context, s Settings, msg *Message) error {
	host, portS, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mail: mail.smtp %q is not host:port, e.g. smtp.example.edu.tw:587", s.Addr)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return fmt.Errorf("mail: mail.smtp %q has no numeric port", s.Addr)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	sendCtx := ctx

	tlsCfg := s.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	opts := []mail.Option{
		mail.WithPort(port),
		mail.WithTimeout(timeout),
		mail.WithTLSConfig(tlsCfg),
		mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// go-mail extends per-command deadlines by its timeout;
			// this caps the sum at ours.
			_ = c.SetDeadline(deadline)
			// go-mail uses the context only to dial: a stop (SIGTERM)
			// must also end a read the server never answers.
			context.AfterFunc(sendCtx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
			return &cappedConn{Conn: c, deadline: deadline}, nil
		}),
	}
	if s.StartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.Username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if !s.StartTLS {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return fmt.Errorf("mail: bad SMTP settings (%s): %w", s, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg.msg); err != nil {
		return explain(s, timeout, parent, ctx, err)
	}
	return nil
}

// cappedConn refuses to move its deadline past the delivery's deadline.
type cappedConn struct {
	net.Conn
	deadline time.Time
}

func (c *cappedConn) cap(t time.Time) time.Time {
	if t.IsZero() || t.After(c.deadline) {
		return c.deadline
	}
	return t
}
func (c *cappedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.cap(t)) }
func (c *cappedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.cap(t)) }
func (c *cappedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.cap(t)) }

// explain turns go-mail's error into what failed, where and what to do:
// a stop asked for by the caller first (not the server's fault, and no
// timeout to raise), then the first of explanations that matches, else
// the bare failure. The password is never part of it: go-mail's errors
// do not carry it, and Settings print it as "set".
func explain(s Settings, timeout time.Duration, parent, ctx context.Context, err error) error {
	if parent.Err() != nil && !errors.Is(context.Cause(parent), context.DeadlineExceeded) {
		return fmt.Errorf("mail: stopped (%v) before the delivery through %s finished; the report was not sent", context.Cause(parent), s.Addr)
	}
	f := failure{s: s, timeout: timeout, ctx: ctx, err: err, msg: err.Error()}
	for _, e := range explanations {
		if e.match(f) {
			return fmt.Errorf("%s: %w", e.advice(f), err)
		}
	}
	return fmt.Errorf("mail: delivery through %s failed: %w", s.Addr, err)
}

// failure is one failed delivery as the explanations see it.
type failure struct {
	s       Settings
	timeout time.Duration
	ctx     context.Context // the delivery's own, with its timeout
	err     error
	msg     string
}

// explanation is one kind of failed delivery: how to recognise it, and
// what to tell the admin (the error itself is appended).
type explanation struct {
	match  func(failure) bool
	advice func(failure) string
}

// explanations, in order: the first match wins, so the specific TLS
// troubles stand before any TLS trouble, and login before the SMTP
// replies a server gives a sender or recipient.
var explanations = []explanation{
	{is(syscall.ECONNREFUSED), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s refused the connection (nothing listens there): check mail.smtp in schools.yaml", f.s.Addr)
	}},
	{timedOut, func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s did not finish the delivery within %s (mail.timeout): check that it is up and that a firewall lets this host reach it, or raise mail.timeout", f.s.Addr, f.timeout)
	}},
	{says("does not support STARTTLS"), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s does not offer STARTTLS, and mail.starttls requires it: use the server's submission port (usually 587), or set mail.starttls: false only for a relay on a trusted network", f.s.Addr)
	}},
	{either(isA[x509.UnknownAuthorityError], says("certificate signed by unknown authority")), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server's certificate is not trusted: %s presented a certificate from a CA this host does not know; install that CA on this host (Debian: copy it to /usr/local/share/ca-certificates/NAME.crt and run update-ca-certificates), or use the server name its certificate is issued for", f.s.Addr)
	}},
	{either(isA[x509.HostnameError], says("certificate is valid for")), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server's certificate does not name %s: set mail.smtp to the name the certificate is issued for", hostOf(f.s.Addr))
	}},
	{either(isA[x509.CertificateInvalidError], says("certificate has expired")), func(failure) string {
		return "mail: the SMTP server's certificate is not valid (expired, or not for a server): its admin must renew it"
	}},
	{says("tls:", "x509:"), func(f failure) string {
		return fmt.Sprintf("mail: the TLS handshake with %s failed: is its certificate valid for %s and trusted by this host?", f.s.Addr, hostOf(f.s.Addr))
	}},
	{says("does not support SMTP AUTH"), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s offers no login (no AUTH in its EHLO), yet mail.username is set: delete mail.username for a relay that accepts this host without a login, or point mail.smtp at the submission server that takes logins (usually port 587)", f.s.Addr)
	}},
	{says("SMTP AUTH failed", "auth"), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s refused the login of user %q: check mail.username and the password in mail.password_file or $%s", f.s.Addr, f.s.Username, PasswordEnv)
	}},
	{refusedAt(mail.ErrSMTPRcptTo), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s refused a recipient in mail.to (%s): check the addresses and that the server relays for %s", f.s.Addr, strings.Join(f.s.To, ", "), f.s.From)
	}},
	{refusedAt(mail.ErrSMTPMailFrom), func(f failure) string {
		return fmt.Sprintf("mail: the SMTP server %s refused the sender %s (mail.from): use an address the server accepts from this host or user", f.s.Addr, f.s.From)
	}},
}

// is matches an error that is target.
func is(target error) func(failure) bool {
	return func(f failure) bool { return errors.Is(f.err, target) }
}

// isA matches an error of type T.
func isA[T error](f failure) bool {
	var t T
	return errors.As(f.err, &t)
}

// says matches an error whose text holds any of parts: go-mail wraps some
// errors only as text.
func says(parts ...string) func(failure) bool {
	return func(f failure) bool {
		for _, p := range parts {
			if strings.Contains(f.msg, p) {
				return true
			}
		}
		return false
	}
}

func either(a, b func(failure) bool) func(failure) bool {
	return func(f failure) bool { return a(f) || b(f) }
}

// timedOut matches a delivery that ran out of its mail.timeout, however
// the library reports it.
func timedOut(f failure) bool {
	var ne net.Error
	return errors.Is(f.err, context.DeadlineExceeded) || (errors.As(f.err, &ne) && ne.Timeout()) || f.ctx.Err() != nil
}

// refusedAt matches the server's refusal at one SMTP command.
func refusedAt(reason mail.SendErrReason) func(failure) bool {
	return func(f failure) bool {
		var se *mail.SendError
		return errors.As(f.err, &se) && se.Reason == reason
	}
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
