// Package render turns a probe.Report into what people and programs read:
// the compliance table with its "what to fix" list, JSON (DESIGN.md §6),
// CSV and Markdown. Renderers only read the report; they never judge.
package render

import (
	"fmt"
	"io"
	"net"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

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
}

// Layout is the set of columns a report needs: one per city resolver that
// appears in it, DHCP only on a campus report.
func Layout(r *probe.Report) []Column {
	cols := []Column{
		{Title: "school", cell: func(s probe.School) string { return s.ID }},
		{Title: "suffix", cell: func(s probe.School) string { return s.Suffix }},
	}
	if hasCheck(r, "dhcp.") {
		cols = append(cols, Column{Title: "dhcp", cell: func(s probe.School) string {
			return Cell(pick(s, func(f finding.Finding) bool { return strings.HasPrefix(f.Check, "dhcp.") }))
		}})
	}
	cols = append(cols, Column{Title: "own dns", cell: func(s probe.School) string {
		return Cell(pick(s, func(f finding.Finding) bool { return f.Check == finding.DNSSRV && role(f) == "school" }))
	}})
	for _, res := range resolvers(r) {
		res := res
		cols = append(cols, Column{Title: ShortAddr(res), cell: func(s probe.School) string {
			return Cell(pick(s, func(f finding.Finding) bool { return f.Check == finding.DNSSRV && f.Server == res }))
		}})
	}
	cols = append(cols,
		Column{Title: "target", cell: func(s probe.School) string {
			return Cell(pick(s, func(f finding.Finding) bool { return f.Check == finding.DNSTarget }))
		}},
		Column{Title: "kms", cell: func(s probe.School) string {
			return Cell(pick(s, func(f finding.Finding) bool { return f.Check == finding.KMSTCP || f.Check == finding.KMSRPC }))
		}},
		Column{Title: "clock", cell: func(s probe.School) string {
			return Cell(pick(s, func(f finding.Finding) bool { return f.Check == finding.ClockOffset }))
		}},
		Column{Title: "status", cell: func(s probe.School) string { return Symbol(s.Status) + " " + strings.ToUpper(s.Status.String()) }},
	)
	return cols
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
		if f.Status.Worse(worst.Status) {
			worst = f
		}
	}
	for _, f := range fs {
		if f.Status == worst.Status {
			n++
		}
	}
	c := Symbol(worst.Status)
	if worst.Short != "" && worst.Short != "ok" && worst.Short != "-" {
		c += " " + worst.Short
	}
	if n < len(fs) && worst.Status != finding.Pass {
		c += fmt.Sprintf(" (%d/%d)", n, len(fs))
	}
	return c
}

// Table writes the compliance table, then what to fix, then a summary.
func Table(w io.Writer, r *probe.Report) error {
	cols := Layout(r)
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
	if err := t.Render(); err != nil {
		return err
	}
	if err := Fixes(w, r); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, SummaryLine(r))
	return err
}

// SummaryLine is the one line a cron mail subject or a terminal ends with.
func SummaryLine(r *probe.Report) string {
	s := r.Summary
	line := fmt.Sprintf("%d schools: %d pass, %d warn, %d fail, %d unknown", s.Schools, s.Pass, s.Warn, s.Fail, s.Unknown)
	if r.Incomplete {
		line += " — INCOMPLETE: " + r.Reason
	}
	return line
}

// Fixes writes, for every school that is not a pass, each finding that is
// not a pass with its remedy. Findings are grouped by check so one broken
// resolver reads as one problem, not a wall of text.
func Fixes(w io.Writer, r *probe.Report) error {
	var b strings.Builder
	for _, s := range r.Schools {
		bad := ProblemFindings(s)
		if len(bad) == 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\nWhat to fix:\n")
		}
		fmt.Fprintf(&b, "\n%s %s (%s, %s)\n", Symbol(s.Status), s.ID, s.Name, s.Suffix)
		for _, f := range bad {
			where := f.Check
			if f.Server != "" {
				where += " @" + ShortAddr(f.Server)
			}
			fmt.Fprintf(&b, "  %s [%s] %s\n", Symbol(f.Status), where, f.Message)
			if f.Remedy != "" {
				fmt.Fprintf(&b, "      fix: %s\n", f.Remedy)
			}
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
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
