package clockcheck

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beevik/ntp"

	"github.com/kh-edu/kmsprobe/finding"
)

// Clock thresholds (DESIGN.md §4). KMS refuses requests whose time is more
// than 4 hours from the host's (0xC004F06C).
const (
	Warn = 60 * time.Second
	Fail = 4 * time.Hour
)

// Budget is the time the clock leg may spend, handed in by the caller.
type Budget struct {
	NTP time.Duration // one query to one server
}

// Result is one NTP query.
type Result struct {
	Server string
	// Offset is the local clock minus the server's clock: positive when
	// this machine runs ahead. (beevik/ntp's ClockOffset has the other sign.)
	Offset  time.Duration
	Stratum uint8
	RTT     time.Duration
	Err     error
}

// Measurement is what Measure saw: the servers asked, in order, up to the
// first that answered.
type Measurement struct {
	Results []Result
	// Stopped is set when the caller's context ended first: a server
	// that did not answer because we stopped listening is not at fault.
	Stopped bool
}

// Clock measures against NTP. The zero value uses the system clock.
type Clock struct {
	// Now replaces the system clock, so tests can fake a skewed machine.
	Now func() time.Time
}

// Measure asks the servers in order until one answers, each query bounded
// by b.NTP. No servers is an empty Measurement (Judge: skip).
func Measure(ctx context.Context, servers []string, b Budget) Measurement {
	return Clock{}.Measure(ctx, servers, b)
}

// Measure is the package Measure with c's clock.
func (c Clock) Measure(ctx context.Context, servers []string, b Budget) Measurement {
	var m Measurement
	for _, s := range servers {
		r := c.Query(ctx, s, b)
		m.Results = append(m.Results, r)
		if r.Err == nil {
			break
		}
	}
	m.Stopped = ctx.Err() != nil
	return m
}

// Query asks one server ("host" or "host:port") for the time.
func (c Clock) Query(ctx context.Context, server string, b Budget) Result {
	r := Result{Server: server}
	to := b.NTP
	if dl, ok := ctx.Deadline(); ok && (to <= 0 || time.Until(dl) < to) {
		to = max(time.Until(dl), time.Millisecond)
	}
	if to <= 0 {
		r.Err = fmt.Errorf("no time budget for the NTP query")
		return r
	}
	if err := ctx.Err(); err != nil {
		r.Err = err
		return r
	}
	// beevik/ntp takes no context: run the query aside so Ctrl-C returns
	// at once (the query itself ends by its own timeout).
	type result struct {
		resp *ntp.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: to, GetSystemTime: c.Now})
		done <- result{resp, err}
	}()
	var resp *ntp.Response
	var err error
	select {
	case res := <-done:
		resp, err = res.resp, res.err
	case <-ctx.Done():
		r.Err = ctx.Err()
		return r
	}
	if err == nil {
		err = resp.Validate()
	}
	if err != nil {
		r.Err = err
		return r
	}
	r.Offset, r.Stratum, r.RTT = -resp.ClockOffset, resp.Stratum, resp.RTT
	return r
}

// Evidence is a clock.offset finding's evidence; the keys are a contract.
type Evidence struct {
	OffsetS    *float64 `json:"offset_s,omitempty"` // seconds, local minus NTP
	Stratum    *int     `json:"stratum,omitempty"`
	RTTms      *float64 `json:"rtt_ms,omitempty"`
	Server     string   `json:"server,omitempty"`
	Unanswered []string `json:"unanswered,omitempty"` // "server: error" for each silent server
}

// EvidenceOf reads a clock.offset finding's evidence, fresh from Judge or
// decoded from a saved report alike.
func EvidenceOf(f finding.Finding) (Evidence, bool) {
	var e Evidence
	if f.Check != finding.ClockOffset || f.Evidence.IsZero() || f.Evidence.Decode(&e) != nil {
		return Evidence{}, false
	}
	return e, true
}

// Offset is the measured offset of a clock.offset finding (local minus
// NTP); ok is false when no server answered.
func Offset(f finding.Finding) (time.Duration, bool) {
	e, ok := EvidenceOf(f)
	if !ok || e.OffsetS == nil {
		return 0, false
	}
	return time.Duration(math.Round(*e.OffsetS * float64(time.Second))), true
}

var messages = finding.Catalog{
	"clock.offset.not_configured": "not run: no NTP server configured",
	"clock.offset.fail_ahead":     "this machine's clock is {{.Offset}} ahead of NTP (more than 4 h): a KMS client this far off gets 0xC004F06C",
	"clock.offset.fail_behind":    "this machine's clock is {{.Offset}} behind NTP (more than 4 h): a KMS client this far off gets 0xC004F06C",
	"clock.offset.warn_ahead":     "this machine's clock is {{.Offset}} ahead of NTP: within KMS's 4 h tolerance, but not synchronised",
	"clock.offset.warn_behind":    "this machine's clock is {{.Offset}} behind NTP: within KMS's 4 h tolerance, but not synchronised",
	"clock.offset.ok":             "clock within {{.Offset}} of NTP (stratum {{.Stratum}})",
	"clock.offset.no_answer":      "no NTP answer: {{.Errors}}",
	"clock.offset.stopped":        "the audit was stopped before this check finished ({{.Detail}})",
}

var remedies = finding.Catalog{
	"clock.fix.configure": "Add `ntp: [your.ntp.server]` to schools.yaml so the probe can check the clock KMS depends on.",
	"clock.fix.set":       "Set the clock and keep it synchronised: `timedatectl set-ntp true` (or fix chrony/ntpd's servers), then re-run.",
	"clock.fix.sync":      "Enable time synchronisation: `timedatectl set-ntp true`, and check `chronyc tracking`.",
	"clock.fix.no_answer": "Check that UDP {{.Port}} to the configured NTP servers is allowed and that the names resolve; without a reference the probe cannot tell whether clocks are within KMS's 4 h tolerance.",
	"clock.fix.operators": "The NTP server {{.Server}} answers no one asking from here: its operators should check that the time service runs and that UDP {{.Port}} is open to the school networks; schools whose PCs use it cannot keep their clocks within KMS's 4 h tolerance.",
}

// MessageIDs lists every message and remedy id Judge can produce.
func MessageIDs() (msgs, fixes []string) {
	return messages.IDs(), remedies.IDs()
}

// texts say every finding of this leg: its message and remedy by id.
var texts = finding.Words{Messages: messages, Remedies: remedies}

// Judge judges the first answering server of m (in query order) and
// returns the one clock.offset finding. It is pure; a stopped measurement
// never blames the NTP servers.
func Judge(m Measurement) []finding.Finding {
	fs := []finding.Finding{judge(m.Results)}
	if m.Stopped {
		msg := fs[0].Message
		finding.MarkStopped(fs)
		if fs[0].Message != msg {
			args := map[string]string{"Detail": msg}
			for k, v := range fs[0].Args {
				if k != "Detail" {
					args[k] = v
				}
			}
			fs[0].ID, fs[0].RemedyID, fs[0].Args = "clock.offset.stopped", "", args
		}
	}
	return fs
}

func judge(rs []Result) finding.Finding {
	f := finding.Finding{Check: finding.ClockOffset}
	if len(rs) == 0 {
		f.Status, f.Short = finding.Skip, "no ntp"
		texts.Say(&f, "clock.offset.not_configured", "clock.fix.configure", map[string]string{})
		return f
	}
	var errs, words []string
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", r.Server, r.Err))
			words = append(words, r.Server+": "+errorWords(r.Err))
			continue
		}
		abs := r.Offset.Abs()
		f.Server = r.Server
		ev := Evidence{
			OffsetS:    ptr(math.Round(r.Offset.Seconds()*1000)/1000 + 0), // + 0 turns -0 into 0
			Stratum:    ptr(int(r.Stratum)),
			RTTms:      ptr(ms(r.RTT)),
			Server:     r.Server,
			Unanswered: errs,
		}
		f.Evidence = finding.NewEvidence(ev)
		dir := "ahead"
		if r.Offset < 0 {
			dir = "behind"
		}
		a := map[string]string{"Server": r.Server, "Offset": roundOffset(abs).String(), "Stratum": strconv.Itoa(int(r.Stratum))}
		switch {
		case abs > Fail:
			f.Status, f.Short = finding.Fail, signed(r.Offset)
			texts.Say(&f, "clock.offset.fail_"+dir, "clock.fix.set", a)
		case abs >= Warn:
			f.Status, f.Short = finding.Warn, signed(r.Offset)
			texts.Say(&f, "clock.offset.warn_"+dir, "clock.fix.sync", a)
		default:
			f.Status, f.Short = finding.Pass, signed(r.Offset)
			texts.Say(&f, "clock.offset.ok", "", a)
		}
		return f
	}
	f.Status, f.Short = finding.Fail, "no answer"
	f.Server = rs[0].Server
	f.Evidence = finding.NewEvidence(Evidence{Unanswered: errs})
	var ports []string
	for _, r := range rs {
		if p := ntpPort(r.Server); !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	texts.Say(&f, "clock.offset.no_answer", "clock.fix.no_answer", map[string]string{
		"Server": rs[0].Server, "Errors": strings.Join(words, "; "), "Port": strings.Join(ports, ", "),
	})
	return f
}

// errorWords says why a server gave no time in words that are the same on
// every run: the Go error names this machine's ephemeral port ("read udp
// 127.0.0.1:54945->…"), so a message built from it changes each time and
// no two reports (nor two Nagios runs) compare. The raw error stays in
// the evidence.
func errorWords(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused (ICMP port unreachable)"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "unreachable (no route)"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "the name does not resolve"
	case errors.As(err, &dnsErr):
		return "the name could not be looked up"
	case errors.As(err, &opErr) && opErr.Err != nil:
		// Without the addresses, which hold the ephemeral port.
		return opErr.Err.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// ntpPort is the UDP port a configured server ("host" or "host:port") is
// asked on, for remedies that name it.
func ntpPort(server string) string {
	if _, p, err := net.SplitHostPort(server); err == nil && p != "" {
		return p
	}
	return "123"
}

func ptr[T any](v T) *T { return &v }

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }

func roundOffset(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(time.Millisecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// signed is the offset as a table cell shows it: "+0.2s", "-5h0m0s".
func signed(d time.Duration) string {
	r := roundOffset(d.Abs())
	if r < time.Second {
		r = r.Round(100 * time.Millisecond)
	}
	if r == 0 {
		return "0s"
	}
	if d < 0 {
		return "-" + r.String()
	}
	return "+" + r.String()
}

// ServerFault reports whether f is the NTP servers' own fault (none
// answered) rather than this machine's clock, and returns it re-addressed
// to the servers' operators for the report's infrastructure list
// (DESIGN §4.2). A stopped audit is never a server's fault.
func ServerFault(f finding.Finding) (finding.Finding, bool) {
	if f.Check != finding.ClockOffset || f.ID != "clock.offset.no_answer" || f.Status != finding.Fail {
		return f, false
	}
	g := f
	// The operators' remedy is about f.Server alone, not about the
	// ports of every server asked.
	g.Args = maps.Clone(f.Args)
	g.Args["Port"] = ntpPort(f.Server)
	g.RemedyID = "clock.fix.operators"
	g.Remedy = remedies.Text(g.RemedyID, f.Args)
	return g, true
}
