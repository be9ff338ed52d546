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

// ANSI colours repeat the symbol's meaning on a terminal; skip is dim,
// never green.
var ansi = map[finding.Status]string{
	finding.Pass:    "\x1b[32m",
	finding.Warn:    "\x1b[33m",
	finding.Fail:    "\x1b[1;31m",
	finding.Unknown: "\x1b[35m",
	finding.Skip:    "\x1b[2m",
}

const ansiReset = "\x1b[0m"

func paint(o Options, st finding.Status, s string) string {
	if !o.Color || s == "" {
		return s
	}
	return ansi[st] + s + ansiReset
}

// narrowWidth is the terminal width under which the grid gives way to one
// block per school: a grid with three city resolvers needs about 110
// columns, and a wrapped grid is unreadable.
const narrowWidth = 100

// groupMin is how many schools must share one problem and its fix before
// the fixes list says it once ("the same fix for 37 schools") instead of
// under each school: at 1,000 schools a city-wide mistake is otherwise
// thousands of lines.
const groupMin = 5

// Column is one column of the compliance table.
type Column struct {
	Title string
	// cell computes the cell from a school's findings.
	cell func(probe.School) string
	// status is the worst status behind the cell, for renderers that
	// colour it; false when the cell holds no verdict (id, suffix).
	status func(probe.School) (finding.Status, bool)
	// ident marks the columns that name the school (id, name, suffix).
	ident bool
}

// layout is the set of columns a report needs: the status first, the
// school, one column per city resolver that appears in the report, DHCP
// only on a campus report; titles in lang.
func layout(r *probe.Report, lang string) []Column {
	findings := func(title string, keep func(finding.Finding) bool) Column {
		return Column{
			Title: title,
			cell:  func(s probe.School) string { return Cell(pick(s, keep), lang) },
			status: func(s probe.School) (finding.Status, bool) {
				fs := pick(s, keep)
				return cellStatus(fs), len(fs) > 0
			},
		}
	}
	none := func(probe.School) (finding.Status, bool) { return finding.Pass, false }
	cols := []Column{
		{
			Title: t(lang, "render.col.status", nil),
			cell: func(s probe.School) string {
				return Symbol(s.Status) + " " + strings.ToUpper(StatusWord(lang, s.Status))
			},
			status: func(s probe.School) (finding.Status, bool) { return s.Status, true },
		},
		{Title: t(lang, "render.col.school", nil), cell: func(s probe.School) string { return s.ID }, status: none, ident: true},
		{Title: t(lang, "render.col.name", nil), cell: func(s probe.School) string { return s.Name }, status: none, ident: true},
		{Title: t(lang, "render.col.suffix", nil), cell: func(s probe.School) string { return s.Suffix }, status: none, ident: true},
	}
	if hasCheck(r, "dhcp.") {
		cols = append(cols, findings(t(lang, "render.col.dhcp", nil), func(f finding.Finding) bool { return strings.HasPrefix(f.Check, "dhcp.") }))
	}
	ownDNS := func(f finding.Finding) bool { return f.Check == finding.DNSSRV && role(f) == "school" }
	if has(r, ownDNS) {
		cols = append(cols, findings(t(lang, "render.col.own_dns", nil), ownDNS))
	}
	for _, res := range resolvers(r) {
		cols = append(cols, findings(t(lang, "render.col.resolver", i18n.Args{"Addr": ShortAddr(res)}), func(f finding.Finding) bool { return f.Check == finding.DNSSRV && f.Server == res }))
	}
	// A column appears only when some school has a finding for it: the
	// single-leg commands (dns, kms) show no empty KMS or clock column.
	for _, c := range []struct {
		id   string
		keep func(finding.Finding) bool
	}{
		{"render.col.target", func(f finding.Finding) bool { return f.Check == finding.DNSTarget }},
		{"render.col.kms", func(f finding.Finding) bool { return f.Check == finding.KMSTCP || f.Check == finding.KMSRPC }},
		{"render.col.clock", func(f finding.Finding) bool { return f.Check == finding.ClockOffset }},
	} {
		if has(r, c.keep) || c.id == "render.col.target" && has(r, func(f finding.Finding) bool { return f.Check == finding.DNSSRV }) {
			cols = append(cols, findings(t(lang, c.id, nil), c.keep))
		}
	}
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
	return has(r, func(f finding.Finding) bool { return strings.HasPrefix(f.Check, prefix) })
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

// rank orders schools for people: fail, unknown, warn, then pass (and
// all-skip) last.
func rank(s finding.Status) int {
	switch s {
	case finding.Fail:
		return 0
	case finding.Unknown:
		return 1
	case finding.Warn:
		return 2
	}
	return 3
}

// schools are the schools people see, worst first (stable within a
// status, so the configuration's order stays), without the passing ones
// under OnlyProblems.
func schools(r *probe.Report, o Options) []probe.School {
	out := make([]probe.School, 0, len(r.Schools))
	for _, s := range r.Schools {
		if o.OnlyProblems && rank(s.Status) == 3 {
			continue
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Status) < rank(out[j].Status) })
	return out
}

// Cell condenses findings into a few words a person scans in a second:
// the worst status's mark and its short reason, and, when several servers
// or checks disagree, at how many of them that status was seen ("✗
// refused at 1 of 2 servers").
func Cell(fs []finding.Finding, lang string) string {
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
	servers := map[string]bool{}
	for _, f := range fs {
		if f.Status == worst.Status {
			n++
		}
		servers[f.Server] = true
	}
	c := Symbol(worst.Status)
	if informative(worst.Short) {
		c += " " + i18n.Short(lang, worst.Short)
	}
	if n < len(fs) && worst.Status != finding.Pass {
		id := "render.cell.of_checks"
		if len(servers) == len(fs) {
			id = "render.cell.of_servers"
		}
		c += " " + t(lang, id, i18n.Args{"N": n, "M": len(fs)})
	}
	return c
}

// cellStatus is the worst status of fs, except that checks which were all
// skipped are Skip, not the Pass that finding.Worst folds skip into: a
// skipped check must never look like a passing one.
func cellStatus(fs []finding.Finding) finding.Status {
	w := finding.Worst(fs)
	if w != finding.Pass {
		return w
	}
	for _, f := range fs {
		if f.Status == finding.Pass {
			return finding.Pass
		}
	}
	if len(fs) > 0 {
		return finding.Skip
	}
	return finding.Pass
}

func informative(short string) bool { return short != "" && short != "ok" && short != "-" }

// writeTable writes the shared-server faults, the compliance table, what
// to fix, and a summary.
func writeTable(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
	var b strings.Builder
	infraText(&b, r, o)
	if err := grid(&b, r, o); err != nil {
		return err
	}
	fixes(&b, r, o)
	b.WriteString(SummaryLine(r, lang) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// grid writes the compliance grid, or the narrow layout when the grid
// would not fit o.Width: a wrapped grid is unreadable.
func grid(b *strings.Builder, r *probe.Report, o Options) error {
	if o.Width > 0 && o.Width < narrowWidth {
		narrow(b, r, o)
		return nil
	}
	var g strings.Builder
	if err := table(&g, r, o); err != nil {
		return err
	}
	if o.Width > 0 {
		for _, line := range strings.Split(g.String(), "\n") {
			if displayWidth(stripANSI(line)) > o.Width {
				narrow(b, r, o)
				return nil
			}
		}
	}
	b.WriteString(g.String())
	return nil
}

func stripANSI(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return s
		}
		s = s[:i] + s[i+j+1:]
	}
}

// table writes only the compliance grid.
func table(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
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
	for _, s := range schools(r, o) {
		row := make([]any, len(cols))
		for i, c := range cols {
			cell := c.cell(s)
			if st, ok := c.status(s); ok {
				cell = paint(o, st, cell)
			}
			row[i] = cell
		}
		if err := t.Append(row...); err != nil {
			return err
		}
	}
	return t.Render()
}

// narrow is the table for a terminal under narrowWidth columns: one line
// per school, then one indented line per column that is not a pass.
func narrow(b *strings.Builder, r *probe.Report, o Options) {
	lang := o.lang()
	cols := layout(r, lang)
	for _, s := range schools(r, o) {
		head := Symbol(s.Status) + " " + strings.ToUpper(StatusWord(lang, s.Status))
		b.WriteString(clip(paint(o, s.Status, head)+"  "+s.ID+"  "+s.Name, o.Width, o.Color) + "\n")
		for _, c := range cols {
			st, ok := c.status(s)
			if !ok || c.ident || rank(st) == 3 || c.Title == cols[0].Title {
				continue
			}
			b.WriteString(clip("    "+c.Title+": "+paint(o, st, c.cell(s)), o.Width, o.Color) + "\n")
		}
	}
}

// clip shortens a line to width display columns with "…"; a line with
// colour codes is left whole rather than cut inside an escape.
func clip(s string, width int, color bool) string {
	if width <= 0 || displayWidth(s) <= width || color && strings.Contains(s, "\x1b[") {
		return s
	}
	var out strings.Builder
	n := 0
	for _, r := range s {
		w := displayWidth(string(r))
		if n+w > width-1 {
			break
		}
		out.WriteRune(r)
		n += w
	}
	return out.String() + "…"
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

// infraText writes the faults of shared servers, each once, before the
// schools: they are the city's to fix, and the school cells point here.
func infraText(b *strings.Builder, r *probe.Report, o Options) {
	if len(r.Infrastructure) == 0 {
		return
	}
	lang := o.lang()
	b.WriteString(t(lang, "render.infra.heading_colon", nil) + "\n\n")
	for _, in := range r.Infrastructure {
		where := checkLabel(lang, in.Check)
		if in.Server != "" {
			where += " @" + ShortAddr(in.Server)
		}
		fmt.Fprintf(b, "  %s [%s] %s (%s)\n", paint(o, in.Status, Symbol(in.Status)), where, msg(lang, in.Finding), t(lang, "render.infra.affects", i18n.Args{"N": in.Affects}))
		if rem := remedy(lang, in.Finding); rem != "" {
			fmt.Fprintf(b, "      %s %s\n", t(lang, "render.fix", nil), rem)
		}
	}
	b.WriteString("\n")
}

// fixes writes, for every school that is not a pass, what needs action
// and its remedy. Findings that say the same thing about several servers
// (the three city resolvers, typically) are merged into one entry, so one
// missing record reads as one problem, not a wall of text; a problem with
// the same fix at groupMin or more schools is written once.
func fixes(b *strings.Builder, r *probe.Report, o Options) {
	lang := o.lang()
	list := schools(r, o)
	common, rest := CommonProblems(list, lang)
	started := false
	start := func() {
		if !started {
			b.WriteString("\n" + t(lang, "render.fixes.heading_colon", nil) + "\n")
			started = true
		}
	}
	for _, c := range common {
		start()
		fmt.Fprintf(b, "\n%s %s\n", paint(o, c.Status, Symbol(c.Status)), t(lang, "render.fixes.same", i18n.Args{"N": len(c.Schools), "Schools": nameList(c.Schools)}))
		writeProblem(b, o, c.Problem)
	}
	for i, s := range list {
		groups := rest[i]
		if len(groups) == 0 {
			continue
		}
		start()
		fmt.Fprintf(b, "\n%s %s (%s)\n", paint(o, s.Status, Symbol(s.Status)), s.ID, nameAndSuffix(s, ", "))
		for _, g := range groups {
			writeProblem(b, o, g)
		}
	}
	if started {
		b.WriteString("\n")
	}
}

// nameAndSuffix heads a school's problems. A pseudo-school (kmsprobe dhcp
// with no suffix to expect, kmsprobe kms HOST) has no suffix: its name
// stands alone rather than beside an empty one.
func nameAndSuffix(s probe.School, sep string) string {
	if s.Suffix == "" {
		return s.Name
	}
	return s.Name + sep + s.Suffix
}

func writeProblem(b *strings.Builder, o Options, g Problem) {
	lang := o.lang()
	where := checkLabel(lang, g.Check)
	if len(g.Servers) > 0 {
		where += " @" + strings.Join(g.Servers, ", ")
	}
	fmt.Fprintf(b, "  %s [%s] %s\n", paint(o, g.Status, Symbol(g.Status)), where, g.Message)
	for _, ref := range g.See {
		fmt.Fprintf(b, "      %s\n", t(lang, "render.infra.see", i18n.Args{"Ref": ref}))
	}
	for _, rem := range g.Remedies {
		fmt.Fprintf(b, "      %s %s\n", t(lang, "render.fix", nil), rem)
	}
}

// Problem is one thing to fix at a school, possibly seen at several
// servers.
type Problem struct {
	Check    string
	Status   finding.Status
	Servers  []string // short addresses
	Message  string   // of the first finding, in the renderer's language
	Remedies []string // distinct remedies, in order
	// See names the infrastructure findings this problem follows from
	// ("dns.srv@163.28.136.21:53"); their remedy is there, not here.
	See []string
	key string
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
			out = append(out, Problem{Check: f.Check, Status: f.Status, Message: msg(lang, f), key: key})
		}
		p := &out[i]
		if f.Server != "" {
			p.Servers = append(p.Servers, ShortAddr(f.Server))
		}
		if f.DependsOn != "" {
			if !slices.Contains(p.See, f.DependsOn) {
				p.See = append(p.See, f.DependsOn)
			}
			continue
		}
		if rem := remedy(lang, f); rem != "" && !slices.Contains(p.Remedies, rem) {
			p.Remedies = append(p.Remedies, rem)
		}
	}
	return out
}

// Common is one problem with the same fix at many schools.
type Common struct {
	Problem
	Schools []string
}

// CommonProblems takes out of each school's problems those that groupMin
// or more schools share word for word once the school's own suffix and id
// are written as <suffix> and <school>; rest[i] are schools[i]'s other
// problems.
func CommonProblems(list []probe.School, lang string) (common []Common, rest [][]Problem) {
	type gen struct {
		p   Problem
		sig string
	}
	all := make([][]gen, len(list))
	count := map[string]int{}
	first := map[string]Problem{}
	for i, s := range list {
		for _, p := range GroupProblems(s, lang) {
			g := generalize(p, s)
			sig := g.key + "\x00" + g.Message + "\x00" + strings.Join(g.Remedies, "\x00") + "\x00" + strings.Join(g.See, "\x00") + "\x00" + strings.Join(g.Servers, ",")
			all[i] = append(all[i], gen{p, sig})
			if count[sig] == 0 {
				first[sig] = g
			}
			count[sig]++
		}
	}
	idx := map[string]int{}
	rest = make([][]Problem, len(list))
	for i, s := range list {
		for _, g := range all[i] {
			if count[g.sig] < groupMin {
				rest[i] = append(rest[i], g.p)
				continue
			}
			j, ok := idx[g.sig]
			if !ok {
				j = len(common)
				idx[g.sig] = j
				common = append(common, Common{Problem: first[g.sig]})
			}
			common[j].Schools = append(common[j].Schools, s.ID)
		}
	}
	return common, rest
}

func generalize(p Problem, s probe.School) Problem {
	rep := func(x string) string {
		if s.Suffix != "" {
			x = strings.ReplaceAll(x, s.Suffix, "<suffix>")
		}
		return x
	}
	g := p
	g.key = rep(p.key)
	g.Message = rep(p.Message)
	g.Remedies = nil
	for _, r := range p.Remedies {
		g.Remedies = append(g.Remedies, rep(r))
	}
	return g
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

// nameListMax bounds a list of school ids in one line.
const nameListMax = 12

func nameList(ids []string) string {
	if len(ids) <= nameListMax {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:nameListMax], ", ") + fmt.Sprintf(", … (+%d)", len(ids)-nameListMax)
}
