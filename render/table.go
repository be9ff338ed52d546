// Package render turns a probe.Report into what people and programs read:
// the compliance table with its "what to fix" list, JSON (DESIGN.md §6),
// CSV and Markdown. Renderers only read the report; they never judge.
package render

import (
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// Symbols survive grayscale printing and colour-blind readers: the status
// is in the shape, not only the colour.
var symbol = map[finding.Status]string{
	finding.Pass:    "✓",
	finding.Warn:    "!",
	finding.Fail:    "✗",
	finding.Unknown: "?",
	finding.Skip:    "–",
}

// Symbol is the one-character status mark.
func Symbol(s finding.Status) string { return symbol[s] }

// Column is one column of the compliance table.
type Column struct {
	Title string
	// cell computes the cell from a school's findings.
	cell func(probe.School) string
	// status is the worst status behind the cell, for renderers that
	// colour it; false when the cell holds no verdict (id, suffix).
	status func(probe.School) (finding.Status, bool)
}

// Options are what a renderer may be asked beyond the report itself.
type Options struct {
	// Lang is English (default) or Chinese (zh-TW) for the fixed strings.
	Lang string
	// Trend is the compliance of earlier saved reports, oldest first,
	// for the HTML and text reports' trend.
	Trend []TrendPoint
	// ChartSrc is the src of the trend image in HTML: "cid:..." in a
	// mail, empty to inline it as a data: URI in a standalone file.
	ChartSrc string
	// ResendPath, when set, is the saved report a footer tells the admin
	// to resend with `kmsprobe mail`.
	ResendPath string
}

// Layout is the set of columns a report needs: one per city resolver that
// appears in it, DHCP only on a campus report. Titles are English.
func Layout(r *probe.Report) []Column { return LayoutLang(r, English) }

// LayoutLang is Layout with the titles in lang.
func LayoutLang(r *probe.Report, lang string) []Column {
	findings := func(title string, keep func(finding.Finding) bool) Column {
		return Column{
			Title: title,
			cell:  func(s probe.School) string { return Cell(pick(s, keep)) },
			status: func(s probe.School) (finding.Status, bool) {
				fs := pick(s, keep)
				return finding.Worst(fs), len(fs) > 0
			},
		}
	}
	none := func(probe.School) (finding.Status, bool) { return finding.Pass, false }
	cols := []Column{
		{Title: tr(lang, "school"), cell: func(s probe.School) string { return s.ID }, status: none},
		{Title: tr(lang, "suffix"), cell: func(s probe.School) string { return s.Suffix }, status: none},
	}
	if hasCheck(r, "dhcp.") {
		cols = append(cols, findings(tr(lang, "dhcp"), func(f finding.Finding) bool { return strings.HasPrefix(f.Check, "dhcp.") }))
	}
	ownDNS := func(f finding.Finding) bool { return f.Check == finding.DNSSRV && role(f) == "school" }
	if has(r, ownDNS) {
		cols = append(cols, findings(tr(lang, "own dns"), ownDNS))
	}
	for _, res := range resolvers(r) {
		res := res
		cols = append(cols, findings(ShortAddr(res), func(f finding.Finding) bool { return f.Check == finding.DNSSRV && f.Server == res }))
	}
	// A column appears only when some school has a finding for it: the
	// single-leg commands (dns, kms) show no empty KMS or clock column.
	for _, c := range []struct {
		title string
		keep  func(finding.Finding) bool
	}{
		{"target", func(f finding.Finding) bool { return f.Check == finding.DNSTarget || f.Check == finding.DNSSRV }},
		{"kms", func(f finding.Finding) bool { return f.Check == finding.KMSTCP || f.Check == finding.KMSRPC }},
		{"clock", func(f finding.Finding) bool { return f.Check == finding.ClockOffset }},
	} {
		if has(r, c.keep) {
			keep := c.keep
			if c.title == "target" {
				keep = func(f finding.Finding) bool { return f.Check == finding.DNSTarget }
			}
			cols = append(cols, findings(tr(lang, c.title), keep))
		}
	}
	cols = append(cols,
		Column{
			Title: tr(lang, "status"),
			cell: func(s probe.School) string {
				return Symbol(s.Status) + " " + strings.ToUpper(StatusWord(lang, s.Status))
			},
			status: func(s probe.School) (finding.Status, bool) { return s.Status, true },
		},
	)
	return cols
}

func has(r *probe.Report, keep func(finding.Finding) bool) bool {
	for _, s := range r.Schools {
		for _, f := range s.Findings {
			if keep(f) {
				return true
			}
		}
	}
	return false
}

func hasCheck(r *probe.Report, prefix string) bool {
	for _, s := range r.Schools {
		for _, f := range s.Findings {
			if strings.HasPrefix(f.Check, prefix) {
				return true
			}
		}
	}
	return false
}

func role(f finding.Finding) string {
	if r, ok := dnscheck.RoleOf(f); ok {
		return r.String()
	}
	return ""
}

// resolvers lists the city resolvers that appear in the report, in the
// order they were first seen (the configuration's order).
func resolvers(r *probe.Report) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range r.Schools {
		for _, f := range s.Findings {
			if f.Check == finding.DNSSRV && role(f) == "resolver" && !seen[f.Server] {
				seen[f.Server] = true
				out = append(out, f.Server)
			}
		}
	}
	return out
}

// ShortAddr drops the default DNS port: "163.28.136.21:53" -> "163.28.136.21".
func ShortAddr(addr string) string {
	if h, p, err := net.SplitHostPort(addr); err == nil && p == "53" {
		return h
	}
	return addr
}

func pick(s probe.School, keep func(finding.Finding) bool) []finding.Finding {
	var out []finding.Finding
	for _, f := range s.Findings {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Cell condenses findings into a few characters a person scans in a
// second: the worst status's mark and its short reason, and how many of
// several servers share that status when they differ.
func Cell(fs []finding.Finding) string {
	if len(fs) == 0 {
		return ""
	}
	worst := fs[0]
	n := 0
	for _, f := range fs {
		// Among equals, the finding with something to say wins: a pass
		// shows "count 50" rather than a bare mark.
		if f.Status.Worse(worst.Status) || f.Status == worst.Status && !informative(worst.Short) && informative(f.Short) {
			worst = f
		}
	}
	for _, f := range fs {
		if f.Status == worst.Status {
			n++
		}
	}
	c := Symbol(worst.Status)
	if informative(worst.Short) {
		c += " " + worst.Short
	}
	if n < len(fs) && worst.Status != finding.Pass {
		c += fmt.Sprintf(" (%d/%d)", n, len(fs))
	}
	return c
}

func informative(short string) bool { return short != "" && short != "ok" && short != "-" }

// Table writes the compliance table, then what to fix, then a summary, in
// English.
func Table(w io.Writer, r *probe.Report) error { return TableLang(w, r, Options{}) }

// TableLang is Table in o.Lang.
func TableLang(w io.Writer, r *probe.Report, o Options) error {
	if err := table(w, r, o.Lang); err != nil {
		return err
	}
	if err := fixes(w, r, o.Lang); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, SummaryLineLang(r, o.Lang))
	return err
}

// table writes only the compliance grid.
func table(w io.Writer, r *probe.Report, lang string) error {
	cols := LayoutLang(r, lang)
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
	)
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = c.Title
	}
	t.Header(head...)
	for _, s := range r.Schools {
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = c.cell(s)
		}
		if err := t.Append(row...); err != nil {
			return err
		}
	}
	return t.Render()
}

// SummaryLine is the one line a cron mail subject or a terminal ends with.
func SummaryLine(r *probe.Report) string { return SummaryLineLang(r, English) }

// SummaryLineLang is SummaryLine in lang.
func SummaryLineLang(r *probe.Report, lang string) string {
	s := r.Summary
	line := tr(lang, "%d schools: %d pass, %d warn, %d fail, %d unknown", s.Schools, s.Pass, s.Warn, s.Fail, s.Unknown)
	if r.Incomplete {
		line += " — " + tr(lang, "INCOMPLETE") + ": " + r.Reason
	}
	return line
}

// Fixes writes, for every school that is not a pass, what needs action
// and its remedy. Findings that say the same thing about several servers
// (the three city resolvers, typically) are merged into one entry, so one
// missing record reads as one problem, not a wall of text.
func Fixes(w io.Writer, r *probe.Report) error { return fixes(w, r, English) }

func fixes(w io.Writer, r *probe.Report, lang string) error {
	var b strings.Builder
	for _, s := range r.Schools {
		groups := GroupProblems(s)
		if len(groups) == 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n" + tr(lang, "What to fix:") + "\n")
		}
		fmt.Fprintf(&b, "\n%s %s (%s, %s)\n", Symbol(s.Status), s.ID, s.Name, s.Suffix)
		for _, g := range groups {
			where := checkLabel(lang, g.Check)
			if len(g.Servers) > 0 {
				where += " @" + strings.Join(g.Servers, ", ")
			}
			fmt.Fprintf(&b, "  %s [%s] %s\n", Symbol(g.Status), where, g.Message)
			for _, rem := range g.Remedies {
				fmt.Fprintf(&b, "      %s %s\n", tr(lang, "fix:"), rem)
			}
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Problem is one thing to fix at a school, possibly seen at several
// servers.
type Problem struct {
	Check    string
	Status   finding.Status
	Servers  []string // short addresses
	Message  string   // of the first finding
	Remedies []string // distinct remedies, in order
}

// GroupProblems merges a school's problem findings that share check,
// status and short reason.
func GroupProblems(s probe.School) []Problem {
	var out []Problem
	index := map[string]int{}
	for _, f := range ProblemFindings(s) {
		key := f.Check + "|" + f.Status.String() + "|" + f.Short
		if f.Short == "" {
			key += "|" + f.Message
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Problem{Check: f.Check, Status: f.Status, Message: f.Message})
		}
		p := &out[i]
		if f.Server != "" {
			p.Servers = append(p.Servers, ShortAddr(f.Server))
		}
		if f.Remedy != "" && !slices.Contains(p.Remedies, f.Remedy) {
			p.Remedies = append(p.Remedies, f.Remedy)
		}
	}
	return out
}

// ProblemFindings are a school's findings that need action (warn, fail,
// unknown), worst first, in a stable order.
func ProblemFindings(s probe.School) []finding.Finding {
	var out []finding.Finding
	for _, f := range s.Findings {
		if f.Status == finding.Warn || f.Status == finding.Fail || f.Status == finding.Unknown {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Status.Worse(out[j].Status) })
	return out
}

// checkLabel names a check: the id alone in English (what admins grep
// for), its Chinese title and the id in zh-TW.
func checkLabel(lang, check string) string {
	if lang == Chinese {
		return CheckTitle(lang, check) + " " + check
	}
	return check
}
