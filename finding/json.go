package finding

// AppendIndent appends f as indented JSON: the bytes a json.Encoder with
// SetIndent(prefix, indent) and SetEscapeHTML(false) writes for f, without
// its trailing newline. A city's report holds ~130,000 findings, and
// encoding/json spent most of the report's writing time on reflection and
// on indenting the compact form in a second pass; this writes each byte
// once. Evidence that cannot be written (a NaN in a literal map: a
// programming error) is written as null, as Evidence.AppendIndent does.
func (f *Finding) AppendIndent(b []byte, prefix, indent string) []byte {
	w := writer{b: b, prefix: prefix, indent: indent, pretty: true, raw: true}
	w.key(true, "check")
	w.b = appendString(w.b, f.Check, true)
	w.optString("server", f.Server)
	w.key(false, "status")
	w.b = appendString(w.b, f.Status.String(), true)
	w.key(false, "message")
	w.b = appendString(w.b, f.Message, true)
	w.optString("short", f.Short)
	if !f.Evidence.IsZero() {
		w.key(false, "evidence")
		f.Evidence.write(&w)
	}
	w.optString("remedy", f.Remedy)
	w.optString("id", f.ID)
	w.optString("remedy_id", f.RemedyID)
	if len(f.Args) > 0 {
		w.key(false, "args")
		w.stringMap(f.Args)
	}
	w.optString("depends_on", f.DependsOn)
	w.endObject(false)
	return w.b
}

// optString writes an omitempty string member; it is never the first.
func (w *writer) optString(key, v string) {
	if v != "" {
		w.key(false, key)
		w.b = appendString(w.b, v, true)
	}
}

// AppendJSONString appends s as a JSON string, exactly as encoding/json
// writes it with HTML escaping off.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s, true) }
