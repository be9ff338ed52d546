package finding

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Evidence is what was sent and seen, keyed by short snake_case names
// (rcode, rtt_ms, transport, records, ttl, attempts, epid...). Its JSON
// is an open object, so new facts need no schema change, with keys
// sorted as encoding/json sorts a map's, so reports stay byte-stable for
// golden files.
//
// It keeps what it was built from: a leg's typed struct (NewEvidence), a
// literal map (EvidenceMap) or the map a saved report decodes to. A city
// audit holds over a hundred thousand findings, and a typed struct is a
// fifth of the map a JSON round trip makes of it; readers still see the
// round-trip values (Get, Decode), whatever the origin.
type Evidence struct {
	typed any            // a plain struct value (see plain), or nil
	m     map[string]any // a literal or decoded map, when typed is nil
}

// NewEvidence turns a leg's typed evidence struct (or a pointer to one)
// into the evidence a Finding carries. Struct fields must carry json
// tags; omitempty decides which keys appear. A struct of plain fields is
// kept as it is (a copy of the struct; its slices and maps are shared,
// so do not change them afterwards); anything else takes a JSON round
// trip into a map, once.
func NewEvidence(v any) Evidence {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Struct && plain(rv) {
		if reflect.TypeOf(v).Kind() == reflect.Struct {
			return Evidence{typed: v}
		}
		return Evidence{typed: rv.Interface()}
	}
	return Evidence{m: roundTrip(v)}
}

// EvidenceMap is evidence written as a literal map. The map is kept, not
// copied; its values may be any JSON-marshallable Go values, and readers
// see them as a JSON round trip gives them (Get).
func EvidenceMap(m map[string]any) Evidence { return Evidence{m: m} }

// Len is the number of keys the evidence's JSON object has.
func (e Evidence) Len() int {
	if e.typed != nil {
		rv := reflect.ValueOf(e.typed)
		fs, _ := fieldsOf(rv.Type())
		return countKeys(rv, fs)
	}
	return len(e.m)
}

// IsZero reports whether there is nothing to show: a Finding omits such
// evidence from its JSON (the omitzero tag), as omitempty omitted an
// empty map.
func (e Evidence) IsZero() bool { return e.Len() == 0 }

// Keys are the evidence's keys, sorted as its JSON writes them.
func (e Evidence) Keys() []string {
	if e.typed != nil {
		rv := reflect.ValueOf(e.typed)
		var ks []string
		for _, f := range sortedFieldsOf(rv.Type()) {
			if !f.omitEmpty || !isEmpty(rv.Field(f.index)) {
				ks = append(ks, f.name)
			}
		}
		return ks
	}
	ks := make([]string, 0, len(e.m))
	for k := range e.m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Get is the value under key as a JSON round trip gives it: nil, bool,
// float64, string, []any or map[string]any. A key the JSON would not
// have (an omitted empty field) is not there.
func (e Evidence) Get(key string) (any, bool) {
	if e.typed != nil {
		rv := reflect.ValueOf(e.typed)
		fs, _ := fieldsOf(rv.Type())
		for _, f := range fs {
			if f.name != key {
				continue
			}
			fv := rv.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				return nil, false
			}
			x, _ := jsonValue(fv) // plain: it cannot fail
			return x, true
		}
		return nil, false
	}
	x, ok := e.m[key]
	if !ok {
		return nil, false
	}
	switch x := x.(type) {
	case nil, bool, float64:
		return x, true
	case string:
		return jsonString(x), true
	}
	if y, ok := jsonValue(reflect.ValueOf(x)); ok {
		return y, true
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, false
	}
	var y any
	if json.Unmarshal(b, &y) != nil {
		return nil, false
	}
	return y, true
}

// Value is Get's value alone: nil when key is absent (or null).
func (e Evidence) Value(key string) any {
	x, _ := e.Get(key)
	return x
}

// String is the value under key when it is a string, "" otherwise.
func (e Evidence) String(key string) string {
	x, _ := e.Get(key)
	s, _ := x.(string)
	return s
}

// Set puts v under key. Evidence kept as a typed struct becomes its
// round-trip map first; setting is for the few findings that gain a fact
// after judging (a role, the client's order), not for the judges' hot
// path. Like a map, copies of e made before share the change only when
// e already was a map.
func (e *Evidence) Set(key string, v any) {
	if e.typed != nil {
		e.m, _ = toEvidence(e.typed) // plain: it cannot fail
		e.typed = nil
	}
	if e.m == nil {
		e.m = map[string]any{}
	}
	e.m[key] = v
}

// Decode reads the evidence into a leg's typed struct. It works the same
// on a finding fresh from a judge and on one decoded from a saved report:
// v gets what decoding the evidence's JSON into it gives. Evidence built
// from a struct of v's own type is copied without the JSON.
func (e Evidence) Decode(v any) error {
	if e.typed == nil && e.m == nil {
		return nil
	}
	if e.typed != nil {
		dst := reflect.ValueOf(v)
		src := reflect.ValueOf(e.typed)
		if dst.Kind() == reflect.Pointer && !dst.IsNil() && dst.Elem().Type() == src.Type() && dst.Elem().IsZero() {
			c := reflect.New(src.Type()).Elem()
			if canon(c, src) {
				dst.Elem().Set(c)
				return nil
			}
		}
	}
	b, err := e.MarshalJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Equal reports whether e and o say the same: their JSON is the same.
// Evidence built in-process and the same evidence read back from a
// report are Equal (go-cmp uses this method too).
func (e Evidence) Equal(o Evidence) bool {
	a, err1 := e.MarshalJSON()
	b, err2 := o.MarshalJSON()
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// MarshalJSON writes the object, HTML characters unescaped: encoding/json
// escapes a Marshaler's output itself when its encoder escapes HTML, and
// must not find it escaped when its encoder does not.
func (e Evidence) MarshalJSON() ([]byte, error) {
	if e.typed != nil {
		w := writer{b: make([]byte, 0, 128)}
		w.value(reflect.ValueOf(e.typed))
		return w.b, nil
	}
	return marshalMap(e.m, "", "", false)
}

// UnmarshalJSON keeps the decoded map.
func (e *Evidence) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = Evidence{m: m}
	return nil
}

// AppendIndent appends to b what json.MarshalIndent(e, prefix, indent)
// writes with HTML escaping off (a report's encoder writes "<" as is).
// Typed evidence is written straight from its struct, without
// encoding/json. Evidence that cannot be written (a literal map holding
// a NaN: a programming error) is written as null.
func (e Evidence) AppendIndent(b []byte, prefix, indent string) []byte {
	w := writer{b: b, prefix: prefix, indent: indent, pretty: true}
	e.write(&w)
	return w.b
}

// write writes the evidence at w's depth: typed evidence as its round
// trip, a map's values as encoding/json writes them.
func (e Evidence) write(w *writer) {
	raw := w.raw
	defer func() { w.raw = raw }()
	if e.typed != nil {
		w.raw = false
		w.value(reflect.ValueOf(e.typed))
		return
	}
	if rv := reflect.ValueOf(e.m); e.m != nil && plainAs(rv, true, 0) {
		w.raw = true
		w.value(rv)
		return
	}
	lead := w.prefix + strings.Repeat(w.indent, w.depth)
	out, err := marshalMap(e.m, lead, w.indent, w.pretty)
	if err != nil {
		out = []byte("null")
	}
	w.b = append(w.b, out...)
}

func marshalMap(m map[string]any, prefix, indent string, pretty bool) ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	if rv := reflect.ValueOf(m); plainAs(rv, true, 0) {
		w := writer{b: make([]byte, 0, 128), prefix: prefix, indent: indent, pretty: pretty, raw: true}
		w.value(rv)
		return w.b, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if !pretty {
		return b, nil
	}
	// json.Indent, as MarshalIndent: an Encoder's SetIndent("", "")
	// would write compact JSON instead.
	var out bytes.Buffer
	if err := json.Indent(&out, b, prefix, indent); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// toEvidence builds the map NewEvidence promises (the value a JSON round
// trip gives) straight from v, without the round trip: a city audit makes
// tens of thousands of findings, and marshalling then parsing each one's
// evidence was a tenth of its CPU and most of its garbage. It returns
// ok false for anything whose JSON form it does not reproduce exactly;
// NewEvidence then takes the round trip.
func toEvidence(v any) (map[string]any, bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, false
	}
	fs, ok := fieldsOf(rv.Type())
	if !ok {
		return nil, false
	}
	e := make(map[string]any, countKeys(rv, fs))
	for _, f := range fs {
		fv := rv.Field(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		x, ok := jsonValue(fv)
		if !ok {
			return nil, false
		}
		e[f.name] = x
	}
	return e, true
}

func countKeys(rv reflect.Value, fs []field) int {
	n := 0
	for _, f := range fs {
		if !f.omitEmpty || !isEmpty(rv.Field(f.index)) {
			n++
		}
	}
	return n
}

type field struct {
	index     int
	name      string
	omitEmpty bool
}

type fieldList struct {
	fs     []field
	sorted []field // by name: the order the JSON object's keys take
	ok     bool
}

var fieldCache sync.Map // reflect.Type -> fieldList

// fieldsOf lists t's fields the way encoding/json names them, or ok false
// when t needs more of encoding/json than plain tagged fields (embedded
// structs, the string option, omitzero, duplicate names, its own
// marshaller).
func fieldsOf(t reflect.Type) ([]field, bool) {
	if c, ok := fieldCache.Load(t); ok {
		l := c.(fieldList)
		return l.fs, l.ok
	}
	l := fieldList{ok: !customJSON(t)}
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			l.ok = false
			break
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		omit := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				omit = true
			default: // string, omitzero, anything newer
				l.ok = false
			}
		}
		if !validTagName(name) || seen[name] {
			l.ok = false
		}
		seen[name] = true
		l.fs = append(l.fs, field{index: i, name: name, omitEmpty: omit})
	}
	l.sorted = slices.Clone(l.fs)
	slices.SortFunc(l.sorted, func(a, b field) int { return strings.Compare(a.name, b.name) })
	fieldCache.Store(t, l)
	return l.fs, l.ok
}

// sortedFieldsOf is fieldsOf's list in key order.
func sortedFieldsOf(t reflect.Type) []field {
	if c, ok := fieldCache.Load(t); ok {
		return c.(fieldList).sorted
	}
	fieldsOf(t)
	c, _ := fieldCache.Load(t)
	return c.(fieldList).sorted
}

// validTagName is a conservative subset of what encoding/json accepts.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
)

var customCache sync.Map // reflect.Type -> bool

// customJSON reports whether encoding/json writes t some way of its own
// (a marshaller, json.Number) rather than by its kind.
func customJSON(t reflect.Type) bool {
	if c, ok := customCache.Load(t); ok {
		return c.(bool)
	}
	c := t == numberType || t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
	customCache.Store(t, c)
	return c
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// jsonValue is what json.Unmarshal into an any gives for v's JSON form:
// nil, bool, float64, string, []any or map[string]any.
func jsonValue(v reflect.Value) (any, bool) {
	if customJSON(v.Type()) {
		return nil, false
	}
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), true
	case reflect.String:
		return jsonString(v.String()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint()), true
	case reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false // Marshal refuses it; let NewEvidence say so
		}
		return f, true
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, true
		}
		return jsonValue(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil, true
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil, false // base64
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			x, ok := jsonValue(v.Index(i))
			if !ok {
				return nil, false
			}
			out[i] = x
		}
		return out, true
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, false
		}
		if v.IsNil() {
			return nil, true
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			x, ok := jsonValue(it.Value())
			if !ok {
				return nil, false
			}
			out[jsonString(it.Key().String())] = x
		}
		if len(out) != v.Len() {
			return nil, false // two keys read back as one
		}
		return out, true
	case reflect.Struct:
		fs, ok := fieldsOf(v.Type())
		if !ok {
			return nil, false
		}
		out := make(map[string]any, countKeys(v, fs))
		for _, f := range fs {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			x, ok := jsonValue(fv)
			if !ok {
				return nil, false
			}
			out[f.name] = x
		}
		return out, true
	}
	return nil, false // float32, complex, chan, func: not evidence
}

// jsonString is s as it reads back from JSON: encoding/json writes each
// byte that is not valid UTF-8 as U+FFFD.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// roundTrip is NewEvidence's reference behaviour.
func roundTrip(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("evidence %T does not marshal: %v", v, err)) // a programming error, caught by every test
	}
	var e map[string]any
	if err := json.Unmarshal(b, &e); err != nil {
		panic(fmt.Sprintf("evidence %T is not a JSON object: %v", v, err))
	}
	return e
}

// plain reports whether v's JSON round trip is what jsonValue, canon and
// writer reproduce: the only evidence kept typed. Map keys must be valid
// UTF-8 (encoding/json sorts keys before it repairs them).
func plain(v reflect.Value) bool { return plainAs(v, false, 0) }

// maxDepth is deeper than any evidence nests: a cycle, or anything that
// deep, goes to encoding/json, which says what is wrong with it.
const maxDepth = 32

// plainAs with raw is whether writer in raw mode writes v as
// encoding/json does (a literal or decoded map): no structs, whose
// fields encoding/json writes in declaration order.
func plainAs(v reflect.Value, raw bool, depth int) bool {
	if depth > maxDepth || customJSON(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	case reflect.Float64:
		f := v.Float()
		return !math.IsNaN(f) && !math.IsInf(f, 0)
	case reflect.Pointer:
		return v.IsNil() || plainAs(v.Elem(), raw, depth+1)
	case reflect.Interface:
		return v.IsNil() || v.NumMethod() == 0 && plainAs(v.Elem(), raw, depth+1)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false // base64
		}
		fallthrough
	case reflect.Array:
		for i := range v.Len() {
			if !plainAs(v.Index(i), raw, depth+1) {
				return false
			}
		}
		return true
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || customJSON(v.Type().Key()) {
			return false
		}
		for it := v.MapRange(); it.Next(); {
			if !raw && !utf8.ValidString(it.Key().String()) || !plainAs(it.Value(), raw, depth+1) {
				return false
			}
		}
		return true
	case reflect.Struct:
		fs, ok := fieldsOf(v.Type())
		if raw || !ok {
			return false
		}
		for _, f := range fs {
			if !plainAs(v.Field(f.index), raw, depth+1) {
				return false
			}
		}
		return true
	}
	return false // float32, complex, chan, func: not evidence
}

// maxExact bounds the integers a float64 holds exactly: a larger one
// comes back from the JSON round trip as another number, so Decode takes
// the JSON path for it.
const maxExact = 1 << 53

// canon sets dst (a settable zero value of src's type) to what decoding
// src's round-trip JSON into it gives: omitted fields stay zero, strings
// are repaired, pointers, slices and maps are fresh. It reports false
// where it would differ (an integer beyond maxExact, a non-empty
// interface); dst is then to be thrown away. src is plain.
func canon(dst, src reflect.Value) bool {
	switch src.Kind() {
	case reflect.Bool:
		dst.SetBool(src.Bool())
	case reflect.String:
		dst.SetString(jsonString(src.String()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := src.Int()
		if x > maxExact || x < -maxExact {
			return false
		}
		dst.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x := src.Uint()
		if x > maxExact {
			return false
		}
		dst.SetUint(x)
	case reflect.Float64:
		dst.SetFloat(src.Float())
	case reflect.Pointer:
		if src.IsNil() {
			return true
		}
		p := reflect.New(src.Type().Elem())
		if !canon(p.Elem(), src.Elem()) {
			return false
		}
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return true
		}
		if src.NumMethod() != 0 {
			return false
		}
		if x, _ := jsonValue(src.Elem()); x != nil {
			dst.Set(reflect.ValueOf(x))
		}
	case reflect.Slice:
		if src.IsNil() {
			return true
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			if !canon(s.Index(i), src.Index(i)) {
				return false
			}
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			if !canon(dst.Index(i), src.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		if src.IsNil() {
			return true
		}
		t := src.Type()
		m := reflect.MakeMapWithSize(t, src.Len())
		for it := src.MapRange(); it.Next(); {
			k := reflect.New(t.Key()).Elem()
			k.SetString(it.Key().String())
			x := reflect.New(t.Elem()).Elem()
			if !canon(x, it.Value()) {
				return false
			}
			m.SetMapIndex(k, x)
		}
		dst.Set(m)
	case reflect.Struct:
		fs, _ := fieldsOf(src.Type())
		for _, f := range fs {
			fv := src.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !canon(dst.Field(f.index), fv) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// writer writes a plain value's round-trip JSON the way encoding/json
// writes the round-trip map with HTML escaping off: object keys sorted,
// numbers as float64, strings repaired. pretty is MarshalIndent's layout.
// raw writes the value itself as encoding/json does instead (integers
// exact, a byte that is not UTF-8 as \ufffd): a literal map's values.
type writer struct {
	b              []byte
	prefix, indent string
	pretty, raw    bool
	depth          int
}

func (w *writer) newline() {
	if !w.pretty {
		return
	}
	w.b = append(w.b, '\n')
	w.b = append(w.b, w.prefix...)
	for range w.depth {
		w.b = append(w.b, w.indent...)
	}
}

func (w *writer) key(first bool, k string) {
	if first {
		w.b = append(w.b, '{')
		w.depth++
	} else {
		w.b = append(w.b, ',')
	}
	w.newline()
	w.b = appendString(w.b, k, w.raw)
	w.b = append(w.b, ':')
	if w.pretty {
		w.b = append(w.b, ' ')
	}
}

func (w *writer) endObject(empty bool) {
	if empty {
		w.b = append(w.b, '{', '}')
		return
	}
	w.depth--
	w.newline()
	w.b = append(w.b, '}')
}

func (w *writer) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		w.b = strconv.AppendBool(w.b, v.Bool())
	case reflect.String:
		w.b = appendString(w.b, v.String(), w.raw)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if w.raw {
			w.b = strconv.AppendInt(w.b, v.Int(), 10)
		} else {
			w.b = appendFloat(w.b, float64(v.Int()))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if w.raw {
			w.b = strconv.AppendUint(w.b, v.Uint(), 10)
		} else {
			w.b = appendFloat(w.b, float64(v.Uint()))
		}
	case reflect.Float64:
		w.b = appendFloat(w.b, v.Float())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			w.b = append(w.b, "null"...)
			return
		}
		w.value(v.Elem())
	case reflect.Invalid: // a nil in a map[string]any
		w.b = append(w.b, "null"...)
	case reflect.Slice:
		if v.IsNil() {
			w.b = append(w.b, "null"...)
			return
		}
		fallthrough
	case reflect.Array:
		if v.Len() == 0 {
			w.b = append(w.b, '[', ']')
			return
		}
		w.b = append(w.b, '[')
		w.depth++
		for i := range v.Len() {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.newline()
			w.value(v.Index(i))
		}
		w.depth--
		w.newline()
		w.b = append(w.b, ']')
	case reflect.Map:
		if v.IsNil() {
			w.b = append(w.b, "null"...)
			return
		}
		switch m := v.Interface().(type) {
		case map[string]any: // a decoded report's maps: no reflect.Value per key
			var room [16]string
			for i, k := range sortedKeys(room[:0], m) {
				w.key(i == 0, k)
				w.value(reflect.ValueOf(m[k]))
			}
			w.endObject(len(m) == 0)
			return
		case map[string]string:
			w.stringMap(m)
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for i, k := range keys {
			w.key(i == 0, k.String())
			w.value(v.MapIndex(k))
		}
		w.endObject(len(keys) == 0)
	case reflect.Struct:
		first := true
		for _, f := range sortedFieldsOf(v.Type()) {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			w.key(first, f.name)
			first = false
			w.value(fv)
		}
		w.endObject(first)
	default:
		panic(fmt.Sprintf("finding: evidence of kind %s is not plain", v.Kind())) // plain() keeps these out
	}
}

// stringMap writes m with its keys sorted, as encoding/json does.
func (w *writer) stringMap(m map[string]string) {
	var room [16]string
	for i, k := range sortedKeys(room[:0], m) {
		w.key(i == 0, k)
		w.b = appendString(w.b, m[k], w.raw)
	}
	w.endObject(len(m) == 0)
}

// sortedKeys appends m's keys to keys, in order. Evidence and message
// arguments have a handful: a caller's room on the stack holds them.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendFloat is encoding/json's float64 format: the shortest decimal,
// in exponent form only for very small or large magnitudes, with the
// exponent's leading zero dropped (1e-07 → 1e-7).
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hex = "0123456789abcdef"

// appendString is encoding/json's string form with HTML escaping off, of
// the string as it reads back: a byte that is not UTF-8 is U+FFFD itself
// (the round trip already replaced it), U+2028 and U+2029 are escaped.
// raw writes such a byte as encoding/json writes it, \ufffd.
func appendString(b []byte, s string, raw bool) []byte {
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
			case '\\', '"':
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
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1 && raw:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == utf8.RuneError && n == 1:
			b = append(b, s[start:i]...)
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
