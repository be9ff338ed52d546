package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

// textTrendRows is how many reports the plain-text trend lists: enough to
// see a term's direction, short enough to scroll past.
const textTrendRows = 8

// writeText writes the report as plain text in the order of the HTML report:
// summary, changes, trend, table, fixes. It is the text/plain part of the
// mail, for clients that show no HTML and for grep.
func writeText(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	title := t(lang, "render.title", nil)
	p("%s\n%s\n\n", title, strings.Repeat("=", displayWidth(title)))
	p("%s\n", SummaryLine(r, lang))
	p("%s\n", t(lang, "render.generated", i18n.Args{"At": stamp(r.GeneratedAt), "Host": r.Probe.Hostname, "Version": r.Probe.Version}))
	if r.Probe.Simulation {
		p("%s\n", t(lang, "render.simulation_notice", nil))
	}

	section := func(t string) { p("\n%s\n%s\n", t, strings.Repeat("-", displayWidth(t))) }
	b.WriteString("\n")
	changesText(&b, r, lang)
	if pts := o.Trend; len(pts) >= 2 {
		section(t(lang, "render.trend.title", nil))
		if len(pts) > textTrendRows {
			pts = pts[len(pts)-textTrendRows:]
		}
		for _, pt := range pts {
			pct := passPercent(pt.Summary)
			bar := strings.Repeat("#", pct/5) + strings.Repeat(".", 20-pct/5)
			p("  %s  %s\n", bar, trendPoint(lang, pt))
		}
	}

	if len(r.Infrastructure) > 0 {
		section(t(lang, "render.infra.heading", nil))
		var ib strings.Builder
		infraText(&ib, r, o)
		// infraText's own heading is for the table; the section has one.
		_, body, _ := strings.Cut(ib.String(), "\n\n")
		b.WriteString(body)
	}
	section(t(lang, "render.compliance", nil))
	if err := grid(&b, r, o); err != nil {
		return err
	}
	p("%s: %s\n", t(lang, "render.legend.title", nil), t(lang, "render.legend.text", nil))
	fixes(&b, r, o)
	if o.ResendPath != "" {
		p("\n%s\n", t(lang, "render.resend", i18n.Args{"Path": o.ResendPath}))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth counts East Asian wide characters as two columns, so
// underlines match Chinese titles in a monospace font.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) || (r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) || (r >= 0xffe0 && r <= 0xffe6)) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// ChangesText writes the "since the last report" section of r (r.Changes)
// as plain text; `kmsprobe diff` prints it.
func ChangesText(w io.Writer, r *probe.Report, lang string) error {
	var b strings.Builder
	changesText(&b, r, lang)
	_, err := io.WriteString(w, b.String())
	return err
}

func changesText(b *strings.Builder, r *probe.Report, lang string) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	section := func(t string) { p("%s\n%s\n", t, strings.Repeat("-", displayWidth(t))) }
	ch := r.Changes
	switch {
	case ch == nil:
		section(t(lang, "render.changes.title_first", nil))
		p("%s\n", t(lang, "render.changes.noprevious", nil))
	case len(ch.Regressions)+len(ch.Fixes)+len(ch.New)+len(ch.Removed)+len(ch.Changed) == 0:
		section(t(lang, "render.changes.title", i18n.Args{"Previous": stamp(ch.Previous)}))
		p("%s\n", t(lang, "render.changes.nochange", nil))
	default:
		section(t(lang, "render.changes.title", i18n.Args{"Previous": stamp(ch.Previous)}))
		move := func(c probe.Change) {
			p("  %s: %s %s -> %s %s", c.School, Symbol(c.From), StatusWord(lang, c.From), Symbol(c.To), StatusWord(lang, c.To))
			if len(c.Checks) > 0 {
				p(" (%s)", t(lang, "render.changes.checks", i18n.Args{"Checks": strings.Join(c.Checks, ", ")}))
			}
			p("\n")
			for _, fc := range c.Findings {
				p("    %s\n", findingChange(lang, fc))
			}
		}
		if len(ch.Regressions) > 0 {
			p("%s %s (%d):\n", Symbol(finding.Fail), t(lang, "render.changes.regressions", nil), len(ch.Regressions))
			for _, c := range ch.Regressions {
				move(c)
			}
		}
		if len(ch.Fixes) > 0 {
			p("%s %s (%d):\n", Symbol(finding.Pass), t(lang, "render.changes.fixes", nil), len(ch.Fixes))
			for _, c := range ch.Fixes {
				move(c)
			}
		}
		if len(ch.Changed) > 0 {
			p("~ %s (%d):\n", t(lang, "render.changes.changed", nil), len(ch.Changed))
			for _, c := range ch.Changed {
				move(c)
			}
		}
		if len(ch.New) > 0 {
			p("+ %s: %s\n", t(lang, "render.changes.new", nil), strings.Join(ch.New, ", "))
		}
		if len(ch.Removed) > 0 {
			p("- %s: %s\n", t(lang, "render.changes.removed", nil), strings.Join(ch.Removed, ", "))
		}
	}

}

// findingChange words one check's move: "kms.rpc @192.0.2.88:1688: ✗ not
// KMS -> ✗ refused".
func findingChange(lang string, fc probe.FindingChange) string {
	side := func(st, short string) string {
		if st == "" {
			return "—"
		}
		v, err := finding.ParseStatus(st)
		if err != nil {
			return st
		}
		out := Symbol(v) + " " + StatusWord(lang, v)
		if informative(short) {
			out += " (" + i18n.Short(lang, short) + ")"
		}
		return out
	}
	where := fc.Check
	if fc.Server != "" {
		where += " @" + ShortAddr(fc.Server)
	}
	return where + ": " + side(fc.From, fc.FromShort) + " -> " + side(fc.To, fc.ToShort)
}
