package render

import (
	"fmt"
	"html"
	"io"
	"net"
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

// ChecklistSchool is what a checklist needs to know about one school: its
// real values, filled into every command the teacher types.
type ChecklistSchool struct {
	ID, Name, Suffix string
	// DNS are the school's own DNS servers (host or host:port); empty
	// means its PCs use the city resolvers, listed in Resolvers.
	DNS       []string
	Resolvers []string
	KMSHost   string
	KMSPort   int
}

// block is one piece of a checklist page, rendered as Markdown or HTML.
type block struct {
	kind string // h1, h2, p, code, li
	text string
}

// checklist builds one school's page: what a person at one PC runs, what
// the right answer looks like, and which line of the school's audit (when
// rep has the school) explains each error code.
func checklist(s ChecklistSchool, rep *probe.Report, lang string) []block {
	tr := func(id string, a i18n.Args) string { return t(lang, "checklist."+id, a) }
	host := s.KMSHost
	if host == "" {
		host = "ap24.kh.edu.tw"
	}
	port := s.KMSPort
	if port == 0 {
		port = 1688
	}
	dns, dnsPort := "163.28.136.21", ""
	switch {
	case len(s.DNS) > 0:
		dns, dnsPort = splitServer(s.DNS[0])
	case len(s.Resolvers) > 0:
		dns, dnsPort = splitServer(s.Resolvers[0])
	}
	nslookup := "nslookup -type=srv"
	if dnsPort != "" {
		// nslookup asks port 53 unless told; a server elsewhere would
		// look dead from the teacher's PC.
		nslookup = "nslookup -port=" + dnsPort + " -type=srv"
	}
	a := i18n.Args{"ID": s.ID, "Name": s.Name, "Suffix": s.Suffix, "DNS": dns, "Host": host, "Port": port}
	srv := "_vlmcs._tcp." + s.Suffix
	var school *probe.School
	if rep != nil {
		for i := range rep.Schools {
			if rep.Schools[i].ID == s.ID {
				school = &rep.Schools[i]
			}
		}
	}
	b := []block{
		{"h1", tr("title", a)},
		{"p", tr("intro", a)},
		{"h2", tr("suffix.title", a)},
		{"code", "ipconfig /all"},
		{"p", tr("suffix.right", a)},
		{"h2", tr("srv.title", a)},
		{"code", fmt.Sprintf("%s %s %s", nslookup, srv, dns)},
		{"p", tr("srv.right", a)},
		{"code", fmt.Sprintf("%s  SRV service location:\n          priority       = 0\n          weight         = 0\n          port           = %d\n          svr hostname   = %s", srv, port, host)},
		{"h2", tr("tcp.title", a)},
		{"code", fmt.Sprintf("Test-NetConnection %s -Port %d", host, port)},
		{"p", tr("tcp.right", a)},
		{"h2", tr("windows.title", a)},
		{"code", "slmgr /dlv"},
		{"p", tr("windows.dlv", a)},
		{"code", "slmgr /xpr"},
		{"p", tr("windows.xpr", a)},
		{"h2", tr("clock.title", a)},
		{"code", "w32tm /query /status"},
		{"p", tr("clock.right", a)},
		{"h2", tr("office.title", a)},
		{"code", "cd \"C:\\Program Files\\Microsoft Office\\Office16\"\ncscript ospp.vbs /dstatus"},
		{"p", tr("office.right", a)},
		{"h2", tr("pinned.title", a)},
		{"p", tr("pinned.how", a)},
		{"code", "slmgr /ckms\nslmgr /ato"},
		{"code", "cscript ospp.vbs /remhst\ncscript ospp.vbs /act"},
		{"h2", tr("errors.title", a)},
	}
	if school == nil {
		b = append(b, block{"p", tr("errors.noreport", a)})
	} else {
		b = append(b, block{"p", tr("errors.report", i18n.Args{"At": stamp(rep.GeneratedAt), "Status": Symbol(school.Status) + " " + StatusWord(lang, school.Status)})})
	}
	for _, e := range []struct {
		code   string
		checks []string
	}{
		{"0xC004F074", []string{finding.DNSSRV, finding.DNSTarget, finding.KMSTCP, finding.KMSRPC}},
		{"0x8007232B", []string{finding.DHCPSuffix, finding.DNSSRV, finding.DHCPDNS}},
		{"0xC004F038", []string{finding.KMSRPC}},
		{"0xC004F06C", []string{finding.ClockOffset}},
		{"0xC004F042", []string{finding.KMSRPC, finding.DNSTarget}},
	} {
		b = append(b, block{"li", e.code + " — " + tr("errors."+e.code, a)})
		if school == nil {
			continue
		}
		var lines []string
		for _, f := range school.Findings {
			if !contains(e.checks, f.Check) {
				continue
			}
			where := f.Check
			if f.Server != "" {
				where += " @" + ShortAddr(f.Server)
			}
			lines = append(lines, Symbol(f.Status)+" "+where+": "+msg(lang, f))
		}
		if len(lines) == 0 {
			lines = []string{tr("errors.notchecked", a)}
		}
		for _, l := range lines {
			b = append(b, block{"sub", tr("errors.audit", nil) + " " + l})
		}
	}
	return b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// splitServer splits a DNS server (host or host:port) into the host and
// its port, the port empty when it is 53.
func splitServer(addr string) (host, port string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, ""
	}
	if p == "53" {
		p = ""
	}
	return h, p
}

// WriteChecklists writes one page per school, in o.Format ("markdown",
// the default, or "html") and o.Lang. rep, when not nil, is a saved audit
// whose findings explain the error codes.
func WriteChecklists(w io.Writer, list []ChecklistSchool, rep *probe.Report, o Options) error {
	lang := o.lang()
	if err := i18n.Check(lang); err != nil {
		return err
	}
	var b strings.Builder
	switch o.Format {
	case "", "markdown":
		for i, s := range list {
			if i > 0 {
				b.WriteString("\n---\n\n")
			}
			checklistMarkdown(&b, checklist(s, rep, lang))
		}
	case "html":
		htmlLang := "en"
		if lang == Chinese {
			htmlLang = "zh-Hant-TW"
		}
		fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n</head>\n<body style=\"margin:0;padding:16px;font-family:%s;font-size:15px;line-height:1.5;color:#1f2328;max-width:800px;\">\n",
			htmlLang, html.EscapeString(t(lang, "checklist.doctitle", nil)), fontFamily)
		for i, s := range list {
			style := ""
			if i > 0 {
				style = " style=\"page-break-before:always;break-before:page;\""
			}
			fmt.Fprintf(&b, "<section%s>\n", style)
			checklistHTML(&b, checklist(s, rep, lang))
			b.WriteString("</section>\n")
		}
		b.WriteString("</body>\n</html>\n")
	default:
		return fmt.Errorf("the checklist is written as markdown or html, not %q", o.Format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func checklistMarkdown(b *strings.Builder, bl []block) {
	for _, x := range bl {
		switch x.kind {
		case "h1":
			fmt.Fprintf(b, "# %s\n\n", x.text)
		case "h2":
			fmt.Fprintf(b, "## %s\n\n", x.text)
		case "p":
			fmt.Fprintf(b, "%s\n\n", x.text)
		case "code":
			fmt.Fprintf(b, "```\n%s\n```\n\n", x.text)
		case "li":
			fmt.Fprintf(b, "- %s\n", x.text)
		case "sub":
			fmt.Fprintf(b, "  - %s\n", x.text)
		}
	}
	b.WriteString("\n")
}

func checklistHTML(b *strings.Builder, bl []block) {
	inList := false
	for _, x := range bl {
		if x.kind != "li" && x.kind != "sub" && inList {
			b.WriteString("</ul>\n")
			inList = false
		}
		switch x.kind {
		case "h1":
			fmt.Fprintf(b, "<h1 style=\"font-size:22px;margin:0 0 8px 0;\">%s</h1>\n", esc(x.text))
		case "h2":
			fmt.Fprintf(b, "<h2 style=\"font-size:17px;margin:18px 0 6px 0;border-bottom:1px solid #1f2328;\">%s</h2>\n", esc(x.text))
		case "p":
			fmt.Fprintf(b, "<p style=\"margin:4px 0;\">%s</p>\n", esc(x.text))
		case "code":
			fmt.Fprintf(b, "<pre style=\"margin:6px 0;padding:8px;font-family:%s;font-size:13px;background:#f6f8fa;border:1px solid #dcdfe4;white-space:pre;overflow-x:auto;\">%s</pre>\n", monoFamily, esc(x.text))
		case "li", "sub":
			if !inList {
				b.WriteString("<ul style=\"margin:4px 0;padding-left:22px;\">\n")
				inList = true
			}
			style := ""
			if x.kind == "sub" {
				style = " style=\"list-style:none;color:#57606a;font-size:13px;\""
			}
			fmt.Fprintf(b, "<li%s>%s</li>\n", style, esc(x.text))
		}
	}
	if inList {
		b.WriteString("</ul>\n")
	}
}

// Attachment is one file for a mail.
type Attachment struct {
	Name        string
	ContentType string
	Body        []byte
}

// FailingChecklists are the HTML checklists of rep's failing schools, one
// attachment each, for the mail pipeline to attach ("checklist-<id>.html").
// schools supplies each school's configured values; a failing school
// missing from it gets its values from the report alone.
func FailingChecklists(rep *probe.Report, schools []ChecklistSchool, o Options) ([]Attachment, error) {
	byID := map[string]ChecklistSchool{}
	for _, s := range schools {
		byID[s.ID] = s
	}
	o.Format = "html"
	var out []Attachment
	for _, s := range rep.Schools {
		if s.Status != finding.Fail {
			continue
		}
		cs, ok := byID[s.ID]
		if !ok {
			cs = ChecklistSchool{ID: s.ID, Name: s.Name, Suffix: s.Suffix}
		}
		var b strings.Builder
		if err := WriteChecklists(&b, []ChecklistSchool{cs}, rep, o); err != nil {
			return nil, err
		}
		out = append(out, Attachment{Name: "checklist-" + s.ID + ".html", ContentType: "text/html; charset=utf-8", Body: []byte(b.String())})
	}
	return out, nil
}
