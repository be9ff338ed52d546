package render

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kh-edu/kmsprobe/probe"
)

// Formats every command accepts for --format. html is added by the report
// renderer when it is registered.
var Formats = map[string]func(io.Writer, *probe.Report) error{
	"table":    Table,
	"json":     func(w io.Writer, r *probe.Report) error { return r.WriteJSON(w) },
	"csv":      CSV,
	"markdown": Markdown,
}

// FormatNames lists the accepted --format values for messages.
func FormatNames() string {
	names := make([]string, 0, len(Formats))
	for n := range Formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// CSV writes one row per finding: what a spreadsheet filters and sorts.
func CSV(w io.Writer, r *probe.Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"school", "name", "suffix", "school_status", "check", "server", "status", "message", "remedy"})
	for _, s := range r.Schools {
		for _, f := range s.Findings {
			_ = cw.Write([]string{s.ID, s.Name, s.Suffix, s.Status.String(), f.Check, f.Server, f.Status.String(), f.Message, f.Remedy})
		}
	}
	cw.Flush()
	return cw.Error()
}

// Markdown writes the compliance table and the fixes for a wiki or a
// ticket.
func Markdown(w io.Writer, r *probe.Report) error {
	cols := Layout(r)
	var b strings.Builder
	b.WriteString("# KMS activation audit\n\n")
	fmt.Fprintf(&b, "%s — %s\n\n", r.GeneratedAt.Format("2006-01-02 15:04 MST"), SummaryLine(r))
	row := func(cells []string) {
		for i := range cells {
			cells[i] = strings.ReplaceAll(cells[i], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	head := make([]string, len(cols))
	sep := make([]string, len(cols))
	for i, c := range cols {
		head[i], sep[i] = c.Title, "---"
	}
	row(head)
	row(sep)
	for _, s := range r.Schools {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.cell(s)
		}
		row(cells)
	}
	for _, s := range r.Schools {
		if len(ProblemFindings(s)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s %s (%s)\n\n", Symbol(s.Status), s.ID, s.Name)
		for _, g := range GroupProblems(s) {
			where := g.Check
			if len(g.Servers) > 0 {
				where += " @" + strings.Join(g.Servers, ", ")
			}
			fmt.Fprintf(&b, "- %s **%s**: %s\n", Symbol(g.Status), where, g.Message)
			for _, rem := range g.Remedies {
				fmt.Fprintf(&b, "  - fix: `%s`\n", strings.ReplaceAll(rem, "`", "'"))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
