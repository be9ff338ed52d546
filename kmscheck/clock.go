package kmscheck

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/beevik/ntp"

	"github.com/kh-edu/kmsprobe/finding"
)

// Clock thresholds (DESIGN.md §4). KMS refuses requests whose time is more
// than 4 hours from the host's (0xC004F06C).
const (
	ClockWarn = 60 * time.Second
	ClockFail = 4 * time.Hour
	// DefaultNTPTimeout bounds one NTP query.
	DefaultNTPTimeout = 2 * time.Second
)

// NTPResult is one NTP query.
type NTPResult struct {
	Server string
	// Offset is the local clock minus the server's clock: positive when
	// this machine runs ahead. (beevik/ntp's ClockOffset has the other sign.)
	Offset  time.Duration
	Stratum uint8
	RTT     time.Duration
	Err     error
}

// ClockOptions configure CheckClock.
type ClockOptions struct {
	Timeout time.Duration // per server; default DefaultNTPTimeout
	// Now replaces the system clock, so tests can fake a skewed machine.
	Now func() time.Time
}

// QueryNTP asks one server ("host" or "host:port") for the time.
func QueryNTP(ctx context.Context, server string, o ClockOptions) NTPResult {
	r := NTPResult{Server: server}
	to := o.Timeout
	if to <= 0 {
		to = DefaultNTPTimeout
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < to {
		to = max(time.Until(dl), time.Millisecond)
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
		resp, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: to, GetSystemTime: o.Now})
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

// CheckClock queries the servers in order until one answers and judges
// this machine's clock (clock.offset). No servers configured is a skip.
func CheckClock(ctx context.Context, servers []string, o ClockOptions) finding.Finding {
	var rs []NTPResult
	for _, s := range servers {
		r := QueryNTP(ctx, s, o)
		rs = append(rs, r)
		if r.Err == nil {
			break
		}
	}
	fs := []finding.Finding{JudgeClock(rs)}
	if ctx.Err() != nil {
		finding.MarkStopped(fs) // no answer because we stopped asking
	}
	return fs[0]
}

// JudgeClock judges the first answering server among rs (in query order).
func JudgeClock(rs []NTPResult) finding.Finding {
	f := finding.Finding{Check: finding.ClockOffset}
	if len(rs) == 0 {
		f.Status, f.Short = finding.Skip, "no ntp"
		f.Message = "not run: no NTP server configured"
		f.Remedy = "Add `ntp: [your.ntp.server]` to schools.yaml so the probe can check the clock KMS depends on."
		return f
	}
	var errs []string
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", r.Server, r.Err))
			continue
		}
		abs := r.Offset.Abs()
		f.Server = r.Server
		f.Evidence = finding.Evidence{
			"offset_s": math.Round(r.Offset.Seconds()*1000)/1000 + 0, // + 0 turns -0 into 0
			"stratum":  int(r.Stratum),
			"rtt_ms":   ms(r.RTT),
			"server":   r.Server,
		}
		if len(errs) > 0 {
			f.Evidence["unanswered"] = errs
		}
		dir := "ahead of"
		if r.Offset < 0 {
			dir = "behind"
		}
		switch {
		case abs > ClockFail:
			f.Status, f.Short = finding.Fail, signed(r.Offset)
			f.Message = fmt.Sprintf("this machine's clock is %s %s NTP (more than 4 h): a KMS client this far off gets 0xC004F06C", roundOffset(abs), dir)
			f.Remedy = "Set the clock and keep it synchronised: `timedatectl set-ntp true` (or fix chrony/ntpd's servers), then re-run."
		case abs >= ClockWarn:
			f.Status, f.Short = finding.Warn, signed(r.Offset)
			f.Message = fmt.Sprintf("this machine's clock is %s %s NTP: within KMS's 4 h tolerance, but not synchronised", roundOffset(abs), dir)
			f.Remedy = "Enable time synchronisation: `timedatectl set-ntp true`, and check `chronyc tracking`."
		default:
			f.Status, f.Short = finding.Pass, signed(r.Offset)
			f.Message = fmt.Sprintf("clock within %s of NTP (stratum %d)", roundOffset(abs), r.Stratum)
		}
		return f
	}
	f.Status, f.Short = finding.Fail, "no answer"
	f.Server = rs[0].Server
	f.Message = "no NTP answer: " + strings.Join(errs, "; ")
	f.Evidence = finding.Evidence{"unanswered": errs}
	f.Remedy = "Check that UDP 123 to the configured NTP servers is allowed and that the names resolve; without a reference the probe cannot tell whether clocks are within KMS's 4 h tolerance."
	return f
}

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
