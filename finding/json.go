package finding

import (
	"slices"
	"strings"
)

// AppendIndent appends f as indented JSON: the bytes a json.Encoder with
// SetIndent(prefix, indent) and SetEscapeHTML(false) writes for f, without
// its trailing newline. A city's report holds ~130,000 findings, and
// encoding/json spent most of the report's writing time on reflection and
// on indenting the compact form in a second pass; this writes each byte
// once. Evidence that cannot be written (a NaN in a literal map: a
// programming error) is written as null, as Evidence.AppendIndent does.
func (f *Finding) AppendIndent(b []byte, prefix, indent string) []byte {
	w := jsonWriter{b: b, prefix: prefix, indent: indent}
	w.finding(f)
	return w.b
}

// jsonWriter appends a finding's members one indent deeper than prefix.
type jsonWriter struct {
	b              []byte
	prefix, indent string
}

func (w *jsonWriter) newline(depth int) {
	w.b = append(w.b, '\n')
	w.b = append(w.b, w.prefix...)
	for range depth {
		w.b = append(w.b, w.indent...)
	}
}

// member starts `"key": ` on its own line, after a comma unless first.
func (w *jsonWriter) member(first bool, key string, depth int) {
	if !first {
		w.b = append(w.b, ',')
	}
	w.newline(depth)
	w.b = appendString(w.b, key, true)
	w.b = append(w.b, ':', ' ')
}

func (w *jsonWriter) finding(f *Finding) {
	w.b = append(w.b, '{')
	w.member(true, "check", 1)
	w.b = appendString(w.b, f.Check, true)
	w.optString("server", f.Server)
	w.member(false, "status", 1)
	w.b = appendString(w.b, f.Status.String(), true)
	w.member(false, "message", 1)
	w.b = appendString(w.b, f.Message, true)
	w.optString("short", f.Short)
	if !f.Evidence.IsZero() {
		w.member(false, "evidence", 1)
		w.b = f.Evidence.AppendIndent(w.b, w.lead(), w.indent)
	}
	w.optString("remedy", f.Remedy)
	w.optString("id", f.ID)
	w.optString("remedy_id", f.RemedyID)
	if len(f.Args) > 0 {
		w.member(false, "args", 1)
		w.args(f.Args)
	}
	w.optString("depends_on", f.DependsOn)
	w.newline(0)
	w.b = append(w.b, '}')
}

// lead is the prefix of a member's line.
func (w *jsonWriter) lead() string {
	if n := len(w.prefix) + len(w.indent); n <= len(blanks) && isBlank(w.prefix) && isBlank(w.indent) {
		return blanks[:n] // a report's usual layout: no allocation per finding
	}
	return w.prefix + w.indent
}

const blanks = "                                                                "

func isBlank(s string) bool { return strings.Trim(s, " ") == "" }

// optString writes an omitempty string member; it is never the first.
func (w *jsonWriter) optString(key, v string) {
	if v == "" {
		return
	}
	w.member(false, key, 1)
	w.b = appendString(w.b, v, true)
}

// args writes the map with its keys sorted, as encoding/json does.
func (w *jsonWriter) args(m map[string]string) {
	var room [16]string // a handful of keys: no allocation
	keys := room[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.b = append(w.b, '{')
	for i, k := range keys {
		w.member(i == 0, k, 2)
		w.b = appendString(w.b, m[k], true)
	}
	w.newline(1)
	w.b = append(w.b, '}')
}

// AppendJSONString appends s as a JSON string, exactly as encoding/json
// writes it with HTML escaping off.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s, true) }
