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

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
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

// layout is the set of columns a report needs: one per city resolver that
// appears in it, DHCP only on a campus report, titles in lang.
func layout(r *probe.Report, lang string) []Column {
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
		{Title: t(lang, "render.col.school", nil), cell: func(s probe.School) string { return s.ID }, status: none},
		{Title: t(lang, "render.col.suffix", nil), cell: func(s probe.School) string { return s.Suffix }, status: none},
	}
	if hasCheck(r, "dhcp.") {
		cols = append(cols, findings(t(lang, "render.col.dhcp", nil), func(f finding.Finding) bool { return strings.HasPrefix(f.Check, "dhcp.") }))
	}
	ownDNS := func(f finding.Finding) bool { return f.Check == finding.DNSSRV && role(f) == "school" }
	if has(r, ownDNS) {
		cols = append(cols, findings(t(lang, "render.col.own_dns", nil), ownDNS))
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
		{"render.col.target", func(f finding.Finding) bool { return f.Check == finding.DNSTarget || f.Check == finding.DNSSRV }},
		{"render.col.kms", func(f finding.Finding) bool { return f.Check == finding.KMSTCP || f.Check == finding.KMSRPC }},
		{"render.col.clock", func(f finding.Finding) bool { return f.Check == finding.ClockOffset }},
	} {
		if has(r, c.keep) {
			keep := c.keep
			if c.title == "render.col.target" {
				keep = func(f finding.Finding) bool { return f.Check == finding.DNSTarget }
			}
			cols = append(cols, findings(t(lang, c.title, nil), keep))
		}
	}
	cols = append(cols,
		Column{
			Title: t(lang, "render.col.status", nil),
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
	s, _ := f.Evidence["role"].(string)
	return s
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

// writeTable writes the compliance table, then what to fix, then a
// summary.
func writeTable(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
	if err := table(w, r, lang); err != nil {
		return err
	}
	if err := fixes(w, r, lang); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, SummaryLine(r, lang))
	return err
}

// table writes only the compliance grid.
func table(w io.Writer, r *probe.Report, lang string) error {
	cols := layout(r, lang)
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
func SummaryLine(r *probe.Report, lang string) string {
	s := r.Summary
	line := t(lang, "render.summary", i18n.Args{"Schools": s.Schools, "Pass": s.Pass, "Warn": s.Warn, "Fail": s.Fail, "Unknown": s.Unknown})
	if r.Incomplete {
		line += " — " + t(lang, "render.incomplete", nil) + ": " + r.Reason
	}
	return line
}

// fixes writes, for every school that is not a pass, what needs action
// and its remedy. Findings that say the same thing about several servers
// (the three city resolvers, typically) are merged into one entry, so one
// missing record reads as one problem, not a wall of text.
func fixes(w io.Writer, r *probe.Report, lang string) error {
	var b strings.Builder
	for _, s := range r.Schools {
		groups := GroupProblems(s, lang)
		if len(groups) == 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n" + t(lang, "render.fixes.heading_colon", nil) + "\n")
		}
		fmt.Fprintf(&b, "\n%s %s (%s, %s)\n", Symbol(s.Status), s.ID, s.Name, s.Suffix)
		for _, g := range groups {
			where := checkLabel(lang, g.Check)
			if len(g.Servers) > 0 {
				where += " @" + strings.Join(g.Servers, ", ")
			}
			fmt.Fprintf(&b, "  %s [%s] %s\n", Symbol(g.Status), where, g.Message)
			for _, rem := range g.Remedies {
				fmt.Fprintf(&b, "      %s %s\n", t(lang, "render.fix", nil), rem)
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
func GroupProblems(s probe.School, lang string) []Problem {
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
			out = append(out, Problem{Check: f.Check, Status: f.Status, Message: msg(lang, f)})
		}
		p := &out[i]
		if f.Server != "" {
			p.Servers = append(p.Servers, ShortAddr(f.Server))
		}
		if rem := remedy(lang, f); rem != "" && !slices.Contains(p.Remedies, rem) {
			p.Remedies = append(p.Remedies, rem)
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
