package finding

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// toEvidence builds the map NewEvidence promises (the value a JSON round
// trip gives) straight from v, without the round trip: a city audit makes
// tens of thousands of findings, and marshalling then parsing each one's
// evidence was a tenth of its CPU and most of its garbage. It returns
// ok false for anything whose JSON form it does not reproduce exactly;
// NewEvidence then takes the round trip.
func toEvidence(v any) (Evidence, bool) {
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
	e := make(Evidence, countKeys(rv, fs))
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
	fs []field
	ok bool
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
	fieldCache.Store(t, l)
	return l.fs, l.ok
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
)

func customJSON(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
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
func roundTrip(v any) Evidence {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("evidence %T does not marshal: %v", v, err)) // a programming error, caught by every test
	}
	var e Evidence
	if err := json.Unmarshal(b, &e); err != nil {
		panic(fmt.Sprintf("evidence %T is not a JSON object: %v", v, err))
	}
	return e
}
