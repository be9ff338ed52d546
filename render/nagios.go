package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// Nagios-style long output is read in a monitoring UI: enough lines to
// name the worst schools, never the whole city.
const (
	nagiosNames     = 5
	nagiosLongLines = 40
)

var nagiosState = [...]string{0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

// NagiosCode is the state --format nagios prints, as the exit code a
// monitoring plugin must return with it: the report's own, except that
// an incomplete audit without a failing school, or a report without
// schools, is UNKNOWN (3). A plugin whose exit code and status line
// disagree is read by its exit code, so they must not.
func NagiosCode(r *probe.Report) int {
	code := r.ExitCode()
	if r.Incomplete && code < 2 || r.Summary.Schools == 0 {
		code = 3
	}
	return code
}

// writeNagios writes the monitoring-plugins output: one status line
// "KMSPROBE STATE - text | perfdata", then one line per school to act on
// (long output). The state is the exit code's (0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN), so Nagios, Icinga and their kin run
// `kmsprobe audit --format nagios` as a check without a wrapper. An
// incomplete audit is UNKNOWN unless a school already fails: the probe's
// own trouble is not a verdict on the schools. Text stays English: it is
// matched by monitoring rules.
func writeNagios(w io.Writer, r *probe.Report, o Options) error {
	code := NagiosCode(r)
	s := r.Summary
	var text string
	ids := func(st finding.Status) string {
		var out []string
		for _, sc := range r.Schools {
			if sc.Status == st {
				out = append(out, sc.ID)
			}
		}
		if len(out) > nagiosNames {
			out = append(out[:nagiosNames], "…")
		}
		return strings.Join(out, ", ")
	}
	switch {
	case s.Schools == 0:
		text = "no school in the report"
	case s.Fail > 0:
		text = fmt.Sprintf("%d of %d schools fail: %s", s.Fail, s.Schools, ids(finding.Fail))
	case s.Unknown > 0:
		text = fmt.Sprintf("%d of %d schools unknown: %s", s.Unknown, s.Schools, ids(finding.Unknown))
	case s.Warn > 0:
		text = fmt.Sprintf("%d of %d schools warn: %s", s.Warn, s.Schools, ids(finding.Warn))
	default:
		text = fmt.Sprintf("all %d schools pass", s.Schools)
	}
	if n := len(r.Infrastructure); n > 0 {
		text += fmt.Sprintf("; %d shared-server fault(s)", n)
	}
	if r.Incomplete {
		text += "; audit incomplete: " + r.Reason
	}
	// '|' starts the performance data: it must not appear in the text.
	text = strings.ReplaceAll(text, "|", "/")
	var b strings.Builder
	fmt.Fprintf(&b, "KMSPROBE %s - %s | schools=%d pass=%d warn=%d fail=%d unknown=%d infrastructure=%d duration=%.2fs\n",
		nagiosState[code], text, s.Schools, s.Pass, s.Warn, s.Fail, s.Unknown, len(r.Infrastructure), r.DurationSeconds)
	lines := 0
	emit := func(l string) bool {
		if lines == nagiosLongLines {
			b.WriteString("…\n")
			lines++
			return false
		}
		if lines > nagiosLongLines {
			return false
		}
		b.WriteString(strings.ReplaceAll(l, "|", "/") + "\n")
		lines++
		return true
	}
	for _, in := range r.Infrastructure {
		if !emit(fmt.Sprintf("%s infrastructure %s: %s (%d schools)", strings.ToUpper(in.Status.String()), in.Ref(), in.Message, in.Affects)) {
			break
		}
	}
	for _, st := range []finding.Status{finding.Fail, finding.Unknown, finding.Warn} {
		for _, sc := range r.Schools {
			if sc.Status != st {
				continue
			}
			var why []string
			for _, g := range GroupProblems(sc, English) {
				if g.Status == st {
					why = append(why, g.Check+": "+g.Message)
				}
			}
			emit(fmt.Sprintf("%s %s: %s", strings.ToUpper(st.String()), sc.ID, strings.Join(why, "; ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
