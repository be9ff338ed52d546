package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

// Languages a report can be written in (report.lang, --lang).
const (
	English = i18n.English
	Chinese = i18n.Chinese
)

// Langs lists the supported languages.
var Langs = i18n.Langs

// CheckLang refuses a language the catalog does not have, with the fix.
func CheckLang(lang string) error { return i18n.Check(lang) }

// Options are everything a renderer may be asked beyond the report itself.
// The zero value is the English table, as wide as it needs, no colour.
type Options struct {
	// Format is one of FormatList(); empty means "table".
	Format string
	// Lang is English (default) or Chinese (zh-TW).
	Lang string
	// Width is the terminal's width in columns for the table; 0 means
	// no limit (a file, a pipe). Under narrowWidth the table switches
	// to a layout of one line per school.
	Width int
	// Color adds ANSI colours to the table. The caller decides: on a
	// terminal, and never when NO_COLOR is set (no-color.org).
	Color bool
	// OnlyProblems leaves passing schools out of the table and lists.
	OnlyProblems bool
	// Now is the time of rendering, for ages ("report is 3 h old") and
	// the checklist's date; zero means the report's own time.
	Now time.Time
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

func (o Options) lang() string {
	if o.Lang == "" {
		return English
	}
	return o.Lang
}

func (o Options) now(r *probe.Report) time.Time {
	if o.Now.IsZero() {
		return r.GeneratedAt
	}
	return o.Now
}

// format is one row of the table of formats.
type format struct {
	name  string
	help  string
	write func(io.Writer, *probe.Report, Options) error
}

// formats is the one table of output formats, in the order help lists
// them. It is never changed after start-up: there is nothing to register.
var formats = [...]format{
	{"table", "compliance table, what to fix, summary (fitted to the terminal, colour unless NO_COLOR)", writeTable},
	{"json", "the JSON report (a contract: fields are only added)", func(w io.Writer, r *probe.Report, _ Options) error { return r.WriteJSON(w) }},
	{"csv", "one row per finding, UTF-8, for scripts", writeCSV},
	{"csv-excel", "one row per finding with the report time, UTF-8 with BOM and CRLF so Excel on Traditional Chinese Windows opens it intact", writeCSVExcel},
	{"markdown", "table and fixes for a wiki or a ticket", writeMarkdown},
	{"html", "one email-safe HTML page", writeHTML},
	{"text", "the plain-text mail body: summary, changes, trend, table, fixes", writeText},
	{"nagios", "one monitoring-plugins status line with performance data", writeNagios},
}

// Write renders r in o.Format.
func Write(w io.Writer, r *probe.Report, o Options) error {
	name := o.Format
	if name == "" {
		name = "table"
	}
	for _, f := range formats {
		if f.name == name {
			if err := i18n.Check(o.lang()); err != nil {
				return err
			}
			return f.write(w, r, o)
		}
	}
	return fmt.Errorf("unknown output format %q; use one of %s", name, strings.Join(FormatList(), ", "))
}

// FormatList lists the --format values, in the order help shows them.
func FormatList() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.name
	}
	return out
}

// HasFormat reports whether name is a --format value.
func HasFormat(name string) bool {
	for _, f := range formats {
		if f.name == name {
			return true
		}
	}
	return false
}

// FormatDoc names one output format and what it is for, as --format's
// help shows it.
type FormatDoc struct{ Name, Help string }

// FormatDocs lists the formats with their help, in the order help shows
// them.
func FormatDocs() []FormatDoc {
	out := make([]FormatDoc, len(formats))
	for i, f := range formats {
		out[i] = FormatDoc{f.name, f.help}
	}
	return out
}
