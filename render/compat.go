package render

import (
	"io"
	"strings"

	"github.com/kh-edu/kmsprobe/probe"
)

// The names below keep cmd/kmsprobe and mailer compiling until they call
// Write, FormatList and HasFormat; delete this file then. They are thin
// views of the one format table, never a second one.

// Deprecated: use HasFormat and FormatList.
var Formats = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, f := range formats {
		m[f.name] = struct{}{}
	}
	return m
}()

// Deprecated: use FormatList.
func FormatNames() string { return strings.Join(FormatList(), ", ") }

// Deprecated: use Write with Options.Format.
func Render(format string, w io.Writer, r *probe.Report, o Options) error {
	o.Format = format
	return Write(w, r, o)
}

// Deprecated: use Write with Format "html".
func HTML(w io.Writer, r *probe.Report, o Options) error {
	o.Format = "html"
	return Write(w, r, o)
}

// Deprecated: use Write with Format "text".
func Text(w io.Writer, r *probe.Report, o Options) error {
	o.Format = "text"
	return Write(w, r, o)
}
