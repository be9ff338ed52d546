package render

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

var csvHeader = []string{"school", "name", "suffix", "school_status", "check", "server", "status", "message", "remedy"}

// writeCSV writes one row per finding: what a script filters and sorts.
// Its columns are a contract like the JSON's; messages stay English.
func writeCSV(w io.Writer, r *probe.Report, o Options) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, s := range r.Schools {
		for _, f := range s.Findings {
			_ = cw.Write([]string{s.ID, s.Name, s.Suffix, s.Status.String(), f.Check, f.Server, f.Status.String(), f.Message, f.Remedy})
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeCSVExcel is the CSV a person opens by double-click. Excel reads a
// CSV without a byte-order mark in the Windows code page (Big5 on a
// Traditional Chinese Windows) and turns every school name into mojibake;
// with the UTF-8 BOM it reads UTF-8. CRLF is what Excel writes itself.
// Each row carries the report time, so rows pasted together from several
// weeks stay distinguishable. Messages and remedies are in o.Lang.
func writeCSVExcel(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	at := r.GeneratedAt.Format("2006-01-02 15:04:05 -07:00")
	_ = cw.Write(append([]string{"report_time"}, csvHeader...))
	for _, s := range r.Schools {
		if o.OnlyProblems && !isProblem(s) {
			continue
		}
		for _, f := range s.Findings {
			_ = cw.Write([]string{at, s.ID, s.Name, s.Suffix, s.Status.String(), f.Check, f.Server, f.Status.String(), excelSafe(msg(lang, f)), excelSafe(remedy(lang, f))})
		}
	}
	cw.Flush()
	return cw.Error()
}

// excelSafe keeps Excel from taking a text that starts with = + - @ as a
// formula (CSV injection): a leading apostrophe makes it text.
func excelSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeMarkdown writes the compliance table and the fixes for a wiki or a
// ticket.
func writeMarkdown(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
	cols := layout(r, lang)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", t(lang, "render.title", nil))
	fmt.Fprintf(&b, "%s — %s\n\n", r.GeneratedAt.Format("2006-01-02 15:04 MST"), SummaryLine(r, lang))
	if len(r.Infrastructure) > 0 {
		fmt.Fprintf(&b, "## %s\n\n", t(lang, "render.infra.heading", nil))
		for _, in := range r.Infrastructure {
			fmt.Fprintf(&b, "- %s **%s**: %s (%s)\n", Symbol(in.Status), in.Check+" @"+ShortAddr(in.Server), msg(lang, in.Finding), t(lang, "render.infra.affects", i18n.Args{"N": in.Affects}))
			if rem := remedy(lang, in.Finding); rem != "" {
				fmt.Fprintf(&b, "  - %s `%s`\n", t(lang, "render.fix", nil), strings.ReplaceAll(rem, "`", "'"))
			}
		}
		b.WriteString("\n")
	}
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
	list := schools(r, o)
	for _, s := range list {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.cell(s)
		}
		row(cells)
	}
	mdProblem := func(g Problem) {
		where := g.Check
		if len(g.Servers) > 0 {
			where += " @" + strings.Join(g.Servers, ", ")
		}
		fmt.Fprintf(&b, "- %s **%s**: %s\n", Symbol(g.Status), where, g.Message)
		for _, ref := range g.See {
			fmt.Fprintf(&b, "  - %s\n", t(lang, "render.infra.see", i18n.Args{"Ref": ref}))
		}
		for _, rem := range g.Remedies {
			fmt.Fprintf(&b, "  - %s `%s`\n", t(lang, "render.fix", nil), strings.ReplaceAll(rem, "`", "'"))
		}
	}
	common, rest := CommonProblems(list, lang)
	for _, c := range common {
		fmt.Fprintf(&b, "\n## %s %s\n\n", Symbol(c.Status), t(lang, "render.fixes.same", i18n.Args{"N": len(c.Schools), "Schools": nameList(c.Schools)}))
		mdProblem(c.Problem)
	}
	for i, s := range list {
		if len(rest[i]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s %s (%s)\n\n", Symbol(s.Status), s.ID, s.Name)
		for _, g := range rest[i] {
			mdProblem(g)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func isProblem(s probe.School) bool { return len(ProblemFindings(s)) > 0 }
