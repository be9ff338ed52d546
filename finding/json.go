package finding

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendIndent appends f as indented JSON: the bytes a json.Encoder with
// SetIndent(prefix, indent) and SetEscapeHTML(false) writes for f, without
// its trailing newline. A city's report holds ~130,000 findings, and
// encoding/json spent most of the report's writing time on reflection and
// on indenting the compact form in a second pass; this writes each byte
// once. Values it does not know (a leg's own evidence types) still go
// through encoding/json, so the output never differs. The error is
// encoding/json's for a value it refuses (NaN, a function).
func (f *Finding) AppendIndent(b []byte, prefix, indent string) ([]byte, error) {
	w := jsonWriter{b: b, prefix: prefix, indent: indent}
	w.finding(f, 0)
	return w.b, w.err
}

// jsonWriter appends indented JSON the way encoding/json's Encoder does
// with SetEscapeHTML(false); depth counts the indents of the current line.
type jsonWriter struct {
	b              []byte
	prefix, indent string
	err            error
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
	w.b = appendString(w.b, key)
	w.b = append(w.b, ':', ' ')
}

func (w *jsonWriter) finding(f *Finding, depth int) {
	w.b = append(w.b, '{')
	d := depth + 1
	w.member(true, "check", d)
	w.b = appendString(w.b, f.Check)
	w.optString("server", f.Server, d)
	w.member(false, "status", d)
	w.b = appendString(w.b, f.Status.String())
	w.member(false, "message", d)
	w.b = appendString(w.b, f.Message)
	w.optString("short", f.Short, d)
	if len(f.Evidence) > 0 {
		w.member(false, "evidence", d)
		w.object(f.Evidence, d)
	}
	w.optString("remedy", f.Remedy, d)
	w.optString("id", f.ID, d)
	w.optString("remedy_id", f.RemedyID, d)
	if len(f.Args) > 0 {
		w.member(false, "args", d)
		w.stringMap(f.Args, d)
	}
	w.optString("depends_on", f.DependsOn, d)
	w.newline(depth)
	w.b = append(w.b, '}')
}

// optString writes an omitempty string member; it is never the first.
func (w *jsonWriter) optString(key, v string, depth int) {
	if v == "" {
		return
	}
	w.member(false, key, depth)
	w.b = appendString(w.b, v)
}

func (w *jsonWriter) stringMap(m map[string]string, depth int) {
	var room [16]string // evidence and args have a handful of keys: no allocation
	keys := room[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.b = append(w.b, '{')
	for i, k := range keys {
		w.member(i == 0, k, depth+1)
		w.b = appendString(w.b, m[k])
	}
	w.newline(depth)
	w.b = append(w.b, '}')
}

// object writes a map with its keys sorted, as encoding/json does.
func (w *jsonWriter) object(m map[string]any, depth int) {
	if m == nil {
		w.b = append(w.b, "null"...)
		return
	}
	if len(m) == 0 {
		w.b = append(w.b, '{', '}')
		return
	}
	var room [16]string // evidence and args have a handful of keys: no allocation
	keys := room[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.b = append(w.b, '{')
	for i, k := range keys {
		w.member(i == 0, k, depth+1)
		w.value(m[k], depth+1)
	}
	w.newline(depth)
	w.b = append(w.b, '}')
}

// value writes what evidence holds after NewEvidence or a JSON round
// trip; anything else takes encoding/json's own path.
func (w *jsonWriter) value(v any, depth int) {
	switch x := v.(type) {
	case nil:
		w.b = append(w.b, "null"...)
	case string:
		w.b = appendString(w.b, x)
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	case float64:
		w.float(x)
	case int:
		w.b = strconv.AppendInt(w.b, int64(x), 10)
	case int64:
		w.b = strconv.AppendInt(w.b, x, 10)
	case []any:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.array(len(x), depth, func(i int) { w.value(x[i], depth+1) })
	case []string:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.array(len(x), depth, func(i int) { w.b = appendString(w.b, x[i]) })
	case map[string]any:
		w.object(x, depth)
	case map[string]string:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		if len(x) == 0 {
			w.b = append(w.b, '{', '}')
			return
		}
		w.stringMap(x, depth)
	default:
		w.foreign(v, depth)
	}
}

func (w *jsonWriter) array(n, depth int, elem func(int)) {
	if n == 0 {
		w.b = append(w.b, '[', ']')
		return
	}
	w.b = append(w.b, '[')
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.newline(depth + 1)
		elem(i)
	}
	w.newline(depth)
	w.b = append(w.b, ']')
}

// float is encoding/json's float64 form: 'f' in [1e-6, 1e21), else 'e'
// with a one-digit negative exponent written without its leading zero.
func (w *jsonWriter) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.foreign(f, 0) // encoding/json's error
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	w.b = strconv.AppendFloat(w.b, f, format, -1, 64)
	if format == 'e' {
		n := len(w.b)
		if n >= 4 && w.b[n-4] == 'e' && w.b[n-3] == '-' && w.b[n-2] == '0' {
			w.b[n-2] = w.b[n-1]
			w.b = w.b[:n-1]
		}
	}
}

// foreign encodes v with encoding/json and indents it to depth.
func (w *jsonWriter) foreign(v any, depth int) {
	if w.err != nil {
		return
	}
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.err = err
		return
	}
	var ind bytes.Buffer
	lead := w.prefix
	for range depth {
		lead += w.indent
	}
	if err := json.Indent(&ind, bytes.TrimSuffix(compact.Bytes(), []byte("\n")), lead, w.indent); err != nil {
		w.err = err
		return
	}
	w.b = append(w.b, ind.Bytes()...)
}

// appendString is encoding/json's string form with HTML escaping off:
// quotes, backslashes and control characters escaped, invalid UTF-8 as
// U+FFFD, and U+2028/U+2029 escaped for JavaScript readers.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONString appends s as a JSON string, exactly as encoding/json
// writes it with HTML escaping off.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }
