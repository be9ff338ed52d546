package render

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

// The HTML report is written for mail clients first, browsers second:
// every style is inline (Gmail and Outlook drop <style> blocks or rewrite
// them), layout is tables, there is no script and nothing is loaded from
// outside. Colour only repeats what the symbols ✓ ! ✗ ? – already say, so
// it survives grayscale printing and colour-blind readers.

// ChartCID is the Content-ID of the trend image in a mail.
const ChartCID = "trend.png"

type style struct{ bg, fg, border string }

var statusStyle = map[finding.Status]style{
	finding.Pass:    {"#e6f4ea", "#1e6b30", "#a8d5b5"},
	finding.Warn:    {"#fff4d6", "#6b4700", "#f0c850"},
	finding.Fail:    {"#fde2e1", "#a4161a", "#e8898b"},
	finding.Unknown: {"#eceff1", "#37474f", "#b0bec5"},
	finding.Skip:    {"#f2f2f2", "#5f6368", "#c8c8c8"},
}

const (
	fontFamily = `Arial, 'Microsoft JhengHei', 'PingFang TC', 'Noto Sans CJK TC', sans-serif`
	monoFamily = `Consolas, 'DejaVu Sans Mono', monospace`
)

func esc(s string) string { return html.EscapeString(s) }

// stamp formats a time the same way everywhere, with its offset, so a
// report read in another zone is not misread.
func stamp(t time.Time) string { return t.Format("2006-01-02 15:04 -07:00") }

// writeHTML writes the report as one email-safe HTML document.
func writeHTML(w io.Writer, r *probe.Report, o Options) error {
	lang := o.lang()
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	htmlLang := "en"
	if lang == Chinese {
		htmlLang = "zh-Hant-TW"
	}
	p("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n</head>\n", htmlLang, esc(Subject(lang, r)))
	p("<body style=\"margin:0;padding:0;background:#f4f5f7;\">\n")
	p("<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f5f7;\"><tr><td align=\"center\" style=\"padding:16px;\">\n")
	p("<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:1100px;width:100%%;table-layout:fixed;background:#ffffff;border:1px solid #dcdfe4;font-family:%s;font-size:14px;line-height:1.45;color:#1f2328;\"><tr><td style=\"padding:20px 24px;\">\n", fontFamily)

	// Header: title, the counts as badges, the summary sentence.
	p("<h1 style=\"margin:0 0 8px 0;font-size:22px;font-weight:bold;\">%s</h1>\n", esc(t(lang, "render.title", nil)))
	p("<p style=\"margin:0 0 8px 0;\">")
	for _, c := range []struct {
		st finding.Status
		n  int
	}{{finding.Fail, r.Summary.Fail}, {finding.Warn, r.Summary.Warn}, {finding.Unknown, r.Summary.Unknown}, {finding.Pass, r.Summary.Pass}} {
		if c.n == 0 && c.st != finding.Fail && c.st != finding.Pass {
			continue
		}
		p("%s ", badge(c.st, fmt.Sprintf("%s %d %s", Symbol(c.st), c.n, StatusWord(lang, c.st))))
	}
	p("</p>\n")
	p("<p style=\"margin:0 0 4px 0;font-size:15px;\"><b>%s</b></p>\n", esc(SummaryLine(r, lang)))
	p("<p style=\"margin:0 0 12px 0;color:#57606a;font-size:12px;\">%s</p>\n", esc(t(lang, "render.generated", i18n.Args{"At": stamp(r.GeneratedAt), "Host": r.Probe.Hostname, "Version": r.Probe.Version})))
	if r.Probe.Simulation {
		p("%s\n", notice(finding.Unknown, t(lang, "render.simulation_notice", nil)))
	}
	if r.Incomplete {
		p("%s\n", notice(finding.Fail, t(lang, "render.incomplete", nil)+": "+r.Reason))
	}

	// What changed comes first: a weekly reader has seen the rest before.
	htmlChanges(&b, r, lang)
	htmlTrend(&b, o, lang)

	htmlInfra(&b, r, lang)

	// The compliance table. It scrolls sideways inside its own box on a
	// narrow screen (a phone, a 600 px mail pane) so everything around
	// it still reflows; the school's name and suffix share its cell.
	p("<h2 style=\"margin:20px 0 8px 0;font-size:17px;border-bottom:2px solid #1f2328;padding-bottom:4px;\">%s</h2>\n", esc(t(lang, "render.compliance", nil)))
	var cols []Column
	for _, c := range layout(r, lang) {
		if c.ident && c.Title != t(lang, "render.col.school", nil) {
			continue
		}
		cols = append(cols, c)
	}
	p("<div style=\"overflow-x:auto;max-width:100%%;\">\n<table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%%;font-size:13px;\">\n<tr>")
	for _, c := range cols {
		p("<th align=\"left\" style=\"padding:4px 6px;border:1px solid #8c959f;background:#eaeef2;\">%s</th>", esc(c.Title))
	}
	p("</tr>\n")
	for _, s := range schools(r, o) {
		p("<tr>")
		for _, c := range cols {
			text := c.cell(s)
			st, ok := c.status(s)
			switch {
			case c.ident:
				p("<td style=\"padding:4px 6px;border:1px solid #8c959f;\"><b style=\"white-space:nowrap;\">%s</b><br><span style=\"color:#57606a;font-size:12px;\">%s</span><br><span style=\"color:#57606a;font-size:11px;font-family:%s;white-space:nowrap;\">%s</span></td>", esc(text), esc(s.Name), monoFamily, esc(s.Suffix))
			case !ok:
				p("<td style=\"padding:4px 6px;border:1px solid #8c959f;\"></td>")
			default:
				ss := statusStyle[st]
				weight := "normal"
				if st == finding.Fail {
					weight = "bold"
				}
				p("<td style=\"padding:4px 6px;border:1px solid #8c959f;background:%s;color:%s;font-weight:%s;word-break:keep-all;\">%s</td>", ss.bg, ss.fg, weight, esc(text))
			}
		}
		p("</tr>\n")
	}
	p("</table>\n</div>\n")
	p("<p style=\"margin:6px 0 0 0;color:#57606a;font-size:12px;\">%s: %s</p>\n", esc(t(lang, "render.legend.title", nil)), esc(t(lang, "render.legend.text", nil)))

	htmlFixes(&b, r, o)

	if o.ResendPath != "" {
		p("<p style=\"margin:24px 0 0 0;color:#57606a;font-size:12px;\">%s</p>\n", esc(t(lang, "render.resend", i18n.Args{"Path": o.ResendPath})))
	}
	p("</td></tr></table>\n</td></tr></table>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func badge(st finding.Status, text string) string {
	ss := statusStyle[st]
	return fmt.Sprintf("<span style=\"display:inline-block;padding:3px 10px;margin:0 4px 4px 0;border:1px solid %s;border-radius:3px;background:%s;color:%s;font-weight:bold;font-size:14px;\">%s</span>", ss.border, ss.bg, ss.fg, esc(text))
}

func notice(st finding.Status, text string) string {
	ss := statusStyle[st]
	return fmt.Sprintf("<p style=\"margin:0 0 10px 0;padding:8px 10px;border-left:4px solid %s;background:%s;color:%s;\">%s</p>", ss.fg, ss.bg, ss.fg, esc(text))
}

func h2(b *strings.Builder, title string) {
	fmt.Fprintf(b, "<h2 style=\"margin:20px 0 8px 0;font-size:17px;border-bottom:2px solid #1f2328;padding-bottom:4px;\">%s</h2>\n", esc(title))
}

func htmlChanges(b *strings.Builder, r *probe.Report, lang string) {
	ch := r.Changes
	if ch == nil {
		h2(b, t(lang, "render.changes.title_first", nil))
		fmt.Fprintf(b, "<p style=\"margin:0;color:#57606a;\">%s</p>\n", esc(t(lang, "render.changes.noprevious", nil)))
		return
	}
	h2(b, t(lang, "render.changes.title", i18n.Args{"Previous": stamp(ch.Previous)}))
	if len(ch.Regressions)+len(ch.Fixes)+len(ch.New)+len(ch.Removed)+len(ch.Changed) == 0 {
		fmt.Fprintf(b, "<p style=\"margin:0;\">%s</p>\n", esc(t(lang, "render.changes.nochange", nil)))
		return
	}
	names := map[string]string{}
	for _, s := range r.Schools {
		names[s.ID] = s.Name
	}
	list := func(title string, st finding.Status, items []string) {
		if len(items) == 0 {
			return
		}
		ss := statusStyle[st]
		fmt.Fprintf(b, "<p style=\"margin:8px 0 2px 0;font-weight:bold;color:%s;\">%s (%d)</p>\n<ul style=\"margin:0;padding-left:22px;\">\n", ss.fg, esc(title), len(items))
		for _, it := range items {
			fmt.Fprintf(b, "<li style=\"margin:2px 0;\">%s</li>\n", it)
		}
		b.WriteString("</ul>\n")
	}
	move := func(c probe.Change) string {
		s := fmt.Sprintf("<b>%s</b>", esc(c.School))
		if n := names[c.School]; n != "" && n != c.School {
			s += " " + esc(n)
		}
		s += fmt.Sprintf(": %s %s → %s %s", Symbol(c.From), esc(StatusWord(lang, c.From)), Symbol(c.To), esc(StatusWord(lang, c.To)))
		if len(c.Checks) > 0 {
			s += " <span style=\"color:#57606a;\">(" + esc(t(lang, "render.changes.checks", i18n.Args{"Checks": strings.Join(c.Checks, ", ")})) + ")</span>"
		}
		for _, fc := range c.Findings {
			s += "<br><span style=\"color:#57606a;font-size:12px;\">" + esc(findingChange(lang, fc)) + "</span>"
		}
		return s
	}
	var reg, fix, chg, nw, rm []string
	for _, c := range ch.Changed {
		chg = append(chg, move(c))
	}
	for _, c := range ch.Regressions {
		reg = append(reg, move(c))
	}
	for _, c := range ch.Fixes {
		fix = append(fix, move(c))
	}
	for _, id := range ch.New {
		nw = append(nw, "<b>"+esc(id)+"</b> "+esc(names[id]))
	}
	for _, id := range ch.Removed {
		rm = append(rm, "<b>"+esc(id)+"</b>")
	}
	list("✗ "+t(lang, "render.changes.regressions", nil), finding.Fail, reg)
	list("✓ "+t(lang, "render.changes.fixes", nil), finding.Pass, fix)
	list("~ "+t(lang, "render.changes.changed", nil), finding.Warn, chg)
	list("+ "+t(lang, "render.changes.new", nil), finding.Unknown, nw)
	list("− "+t(lang, "render.changes.removed", nil), finding.Unknown, rm)
}

func htmlTrend(b *strings.Builder, o Options, lang string) {
	img := ChartPNG(o.Trend)
	if img == nil {
		return
	}
	pts := o.Trend
	if len(pts) > maxPoints {
		pts = pts[len(pts)-maxPoints:]
	}
	first, last := pts[0], pts[len(pts)-1]
	h2(b, t(lang, "render.trend.title", nil))
	src := o.ChartSrc
	if src == "" {
		src = ChartDataURI(img)
	}
	alt := trendPoint(lang, first) +
		" → " + trendPoint(lang, last)
	fmt.Fprintf(b, "<p style=\"margin:0 0 4px 0;color:#57606a;font-size:12px;\">%s</p>\n", esc(t(lang, "render.trend.caption", nil)))
	fmt.Fprintf(b, "<img src=\"%s\" width=\"%d\" height=\"%d\" alt=\"%s\" style=\"display:block;max-width:100%%;height:auto;border:1px solid #dcdfe4;\">\n", esc(src), chartW, chartH, esc(alt))
	fmt.Fprintf(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:%dpx;max-width:100%%;font-size:12px;color:#57606a;\"><tr><td align=\"left\">%s</td><td align=\"right\">%s</td></tr></table>\n",
		chartW, esc(trendPoint(lang, first)),
		esc(trendPoint(lang, last)))
	fmt.Fprintf(b, "<p style=\"margin:4px 0 0 0;font-size:12px;\">%s %s %s %s</p>\n",
		swatch(barPass, t(lang, "render.status.pass", nil)), swatch(barWarn, t(lang, "render.status.warn", nil)), swatch(barUnk, t(lang, "render.status.unknown", nil)), swatch(barFail, t(lang, "render.status.fail", nil)+" (////)"))
}

func swatch(c interface{ RGBA() (r, g, b, a uint32) }, label string) string {
	r, g, bl, _ := c.RGBA()
	return fmt.Sprintf("<span style=\"display:inline-block;width:10px;height:10px;background:#%02x%02x%02x;border:1px solid #555;\"></span>&nbsp;%s&nbsp;&nbsp;", r>>8, g>>8, bl>>8, esc(label))
}

func htmlFixes(b *strings.Builder, r *probe.Report, o Options) {
	lang := o.lang()
	h2(b, t(lang, "render.fixes.heading", nil))
	list := schools(r, o)
	common, rest := CommonProblems(list, lang)
	any := false
	head := func(st finding.Status, title, sub string) {
		ss := statusStyle[st]
		fmt.Fprintf(b, "<h3 style=\"margin:16px 0 6px 0;font-size:15px;padding:4px 8px;background:%s;color:%s;border-left:4px solid %s;\">%s %s <span style=\"font-weight:normal;\">%s</span></h3>\n",
			ss.bg, ss.fg, ss.fg, Symbol(st), esc(title), esc(sub))
	}
	for _, c := range common {
		any = true
		head(c.Status, t(lang, "render.fixes.same", i18n.Args{"N": len(c.Schools), "Schools": nameList(c.Schools)}), "")
		htmlProblems(b, lang, []Problem{c.Problem})
	}
	for i, s := range list {
		if len(rest[i]) == 0 {
			continue
		}
		any = true
		head(s.Status, s.ID, nameAndSuffix(s, " · "))
		htmlProblems(b, lang, rest[i])
	}
	if !any {
		fmt.Fprintf(b, "<p style=\"margin:0;\">%s</p>\n", esc(t(lang, "render.fixes.none", nil)))
	}
}

func htmlProblems(b *strings.Builder, lang string, ps []Problem) {
	b.WriteString("<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%;table-layout:fixed;font-size:13px;\">\n")
	for _, g := range ps {
		fs := statusStyle[g.Status]
		fmt.Fprintf(b, "<tr><td valign=\"top\" style=\"padding:4px 8px;width:18px;color:%s;font-weight:bold;\">%s</td><td style=\"padding:4px 8px 8px 0;\">", fs.fg, Symbol(g.Status))
		fmt.Fprintf(b, "<b>%s</b> <span style=\"color:#57606a;\">%s", esc(CheckTitle(lang, g.Check)), esc(g.Check))
		if len(g.Servers) > 0 {
			fmt.Fprintf(b, " @ %s", esc(strings.Join(g.Servers, ", ")))
		}
		fmt.Fprintf(b, "</span><br>%s", esc(g.Message))
		for _, ref := range g.See {
			fmt.Fprintf(b, "<br><a href=\"#%s\" style=\"color:#0b57d0;\">%s</a>", esc(anchor(ref)), esc(t(lang, "render.infra.see", i18n.Args{"Ref": ref})))
		}
		for _, rem := range g.Remedies {
			htmlRemedy(b, lang, rem)
		}
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</table>\n")
}

// htmlRemedy shows prose as text and every zone line or command in its
// own block, whole: a person copies it with one selection, and it never
// breaks inside a word (a wrapped zone line pasted back is a broken one).
func htmlRemedy(b *strings.Builder, lang, rem string) {
	fmt.Fprintf(b, "<br><span style=\"color:#57606a;\">%s</span>", esc(t(lang, "render.fix", nil)))
	for _, line := range strings.Split(rem, "\n") {
		if codeLike(line) {
			fmt.Fprintf(b, "<pre style=\"margin:4px 0;padding:6px 8px;font-family:%s;font-size:12px;background:#f6f8fa;border:1px solid #dcdfe4;white-space:pre;overflow-x:auto;word-break:normal;overflow-wrap:normal;\">%s</pre>", monoFamily, esc(line))
		} else {
			fmt.Fprintf(b, " %s", esc(line))
		}
	}
}

var codePrefixes = []string{"_vlmcs.", "Add-", "Set-", "Remove-", "Get-", "Restart-", "slmgr", "cscript", "nslookup", "dnscmd", "w32tm", "ipconfig", "netsh", "dig ", "kmsprobe "}

// codeLike tells a zone line or a command from a sentence.
func codeLike(line string) bool {
	l := strings.TrimSpace(line)
	for _, p := range codePrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	for _, rr := range []string{" IN SRV ", " IN A ", " IN AAAA ", " IN NS ", " IN CNAME "} {
		if strings.Contains(l, rr) {
			return true
		}
	}
	return false
}

// anchor is an HTML id for an infrastructure reference.
func anchor(ref string) string {
	return "infra-" + strings.NewReplacer("@", "-", ":", "-", ".", "-", "[", "", "]", "").Replace(ref)
}

func htmlInfra(b *strings.Builder, r *probe.Report, lang string) {
	if len(r.Infrastructure) == 0 {
		return
	}
	h2(b, t(lang, "render.infra.heading", nil))
	b.WriteString("<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%;table-layout:fixed;font-size:13px;\">\n")
	for _, in := range r.Infrastructure {
		fs := statusStyle[in.Status]
		fmt.Fprintf(b, "<tr id=\"%s\"><td valign=\"top\" style=\"padding:4px 8px;width:18px;color:%s;font-weight:bold;\">%s</td><td style=\"padding:4px 8px 8px 0;\">", esc(anchor(in.Ref())), fs.fg, Symbol(in.Status))
		fmt.Fprintf(b, "<b>%s</b> <span style=\"color:#57606a;\">%s @ %s · %s</span><br>%s", esc(CheckTitle(lang, in.Check)), esc(in.Check), esc(ShortAddr(in.Server)), esc(t(lang, "render.infra.affects", i18n.Args{"N": in.Affects})), esc(msg(lang, in.Finding)))
		if rem := remedy(lang, in.Finding); rem != "" {
			htmlRemedy(b, lang, rem)
		}
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</table>\n")
}
