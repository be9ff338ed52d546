package finding_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
)

// reference is what NewEvidence promises: the map a JSON round trip of
// v gives, and the Evidence a saved report decodes to.
func reference(t testing.TB, v any) (map[string]any, finding.Evidence) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var e finding.Evidence
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return m, e
}

type inner struct {
	A string `json:"a"`
	B []int  `json:"b,omitempty"`
}

type everyKind struct {
	S      string            `json:"s"`
	SO     string            `json:"so,omitempty"`
	B      bool              `json:"b,omitempty"`
	I      int               `json:"i"`
	I8     int8              `json:"i8,omitempty"`
	U64    uint64            `json:"u64"`
	F      float64           `json:"f"`
	P      *uint32           `json:"p,omitempty"`
	PN     *int              `json:"pn"`
	L      []string          `json:"l,omitempty"`
	LN     []string          `json:"ln"`
	M      map[string]string `json:"m,omitempty"`
	MN     map[string]int    `json:"mn"`
	Any    any               `json:"any"`
	In     inner             `json:"in"`
	Ins    []inner           `json:"ins,omitempty"`
	Arr    [2]string         `json:"arr"`
	NoTag  string
	hidden string
	Skip   string `json:"-"`
	// Fields encoding/json treats specially: these take the round trip.
	IP  net.IP        `json:"ip,omitempty"`
	T   *time.Time    `json:"t,omitempty"`
	D   time.Duration `json:"d,omitempty"`
	Raw []byte        `json:"raw,omitempty"`
}

var strs = []string{"", "a", "a<b>&c", "學校", "\xff\xfeok", "x\xc3", "\u2028", "_vlmcs._tcp.s1.example."}

// fill sets v (addressable) to random values, nil and empty included.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(strs[r.IntN(len(strs))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		vals := []int64{0, 1, -1, 42, math.MaxInt8, 1 << 53, math.MaxInt64}
		x := vals[r.IntN(len(vals))]
		if v.OverflowInt(x) {
			x = 7
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		vals := []uint64{0, 1, 300, math.MaxUint32, 1<<53 + 1, math.MaxUint64}
		x := vals[r.IntN(len(vals))]
		if v.OverflowUint(x) {
			x = 9
		}
		v.SetUint(x)
	case reflect.Float64:
		vals := []float64{0, math.Copysign(0, -1), 0.1, 12.34, 1e21, 1e-7, -3.5, 1e300}
		v.SetFloat(vals[r.IntN(len(vals))])
	case reflect.Pointer:
		if r.IntN(3) == 0 || depth > 3 {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(r, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[net.IP]() {
			if r.IntN(2) == 0 {
				v.Set(reflect.ValueOf(net.IPv4(10, 1, 2, byte(r.IntN(256)))))
			}
			return
		}
		switch r.IntN(4) {
		case 0:
			return // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return
		}
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(r, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fill(r, v.Index(i), depth+1)
		}
	case reflect.Map:
		switch r.IntN(3) {
		case 0:
			return
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
			return
		}
		m := reflect.MakeMap(v.Type())
		for range 1 + r.IntN(3) {
			k := reflect.New(v.Type().Key()).Elem()
			fill(r, k, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(r, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		if r.IntN(2) == 0 {
			v.Set(reflect.ValueOf(strs[r.IntN(len(strs))]))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(r.IntN(1<<30)), 0).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
		}
	}
}

// plainKinds has only fields NewEvidence keeps typed.
type plainKinds struct {
	S   string            `json:"s"`
	SO  string            `json:"so,omitempty"`
	B   bool              `json:"b,omitempty"`
	I   int               `json:"i"`
	I8  int8              `json:"i8,omitempty"`
	U64 uint64            `json:"u64"`
	F   float64           `json:"f"`
	FO  float64           `json:"fo,omitempty"`
	P   *uint32           `json:"p,omitempty"`
	PN  *int              `json:"pn"`
	L   []string          `json:"l,omitempty"`
	LN  []string          `json:"ln"`
	M   map[string]string `json:"m,omitempty"`
	MN  map[string]int    `json:"mn"`
	Any any               `json:"any"`
	In  inner             `json:"in"`
	InP *inner            `json:"in_p,omitempty"`
	Ins []inner           `json:"ins,omitempty"`
	Arr [2]string         `json:"arr"`
	D   time.Duration     `json:"d,omitempty"`
	// Sorted after "s" though declared last: key order is by name.
	A      string `json:"a_first,omitempty"`
	NoTag  string
	hidden string
	Skip   string `json:"-"`
}

var evidenceTypes = []reflect.Type{
	reflect.TypeFor[everyKind](),
	reflect.TypeFor[plainKinds](),
	reflect.TypeFor[dnscheck.SRVEvidence](),
	reflect.TypeFor[dnscheck.TargetEvidence](),
	reflect.TypeFor[dnscheck.ConsistencyEvidence](),
	reflect.TypeFor[kmscheck.TCPEvidence](),
	reflect.TypeFor[kmscheck.RPCEvidence](),
	reflect.TypeFor[clockcheck.Evidence](),
	reflect.TypeFor[delegation.Evidence](),
}

// marshalNoHTML is what a report's encoder (SetEscapeHTML(false))
// writes of v: compact, or as json.MarshalIndent lays it out.
func marshalNoHTML(t testing.TB, v any, pretty bool, prefix, indent string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if !pretty {
		return strings.TrimSuffix(b.String(), "\n")
	}
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSuffix(b.Bytes(), []byte("\n")), prefix, indent); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// sameEvidence checks that got (built in-process from v) says exactly
// what want (the round-trip map) and dec (decoded from v's JSON) say:
// the same bytes under every encoder, the same keys and values, the same
// typed read-back.
func sameEvidence(t testing.TB, v any, got finding.Evidence, want map[string]any, dec finding.Evidence) {
	t.Helper()
	wb, _ := json.Marshal(want)
	for name, e := range map[string]finding.Evidence{"built": got, "decoded": dec} {
		if b, err := json.Marshal(e); err != nil || string(b) != string(wb) {
			t.Fatalf("%T %s: marshals to %s (%v), want %s", v, name, b, err, wb)
		}
		if b, want := marshalNoHTML(t, e, false, "", ""), marshalNoHTML(t, want, false, "", ""); b != want {
			t.Fatalf("%T %s: without HTML escaping %s, want %s", v, name, b, want)
		}
		if b, want := string(e.AppendIndent([]byte("x"), "\t", "  ")), "x"+marshalNoHTML(t, want, true, "\t", "  "); b != want {
			t.Fatalf("%T %s: AppendIndent\n%s\nwant\n%s", v, name, b, want)
		}
		if e.Len() != len(want) || e.IsZero() != (len(want) == 0) {
			t.Fatalf("%T %s: Len %d IsZero %v, want %d keys", v, name, e.Len(), e.IsZero(), len(want))
		}
		keys := slices.Sorted(maps.Keys(want))
		if !slices.Equal(e.Keys(), keys) {
			t.Fatalf("%T %s: keys %v, want %v", v, name, e.Keys(), keys)
		}
		for _, k := range keys {
			if x, ok := e.Get(k); !ok || !reflect.DeepEqual(x, want[k]) {
				t.Fatalf("%T %s: Get(%q) = %#v, %v, want %#v", v, name, k, x, ok, want[k])
			}
		}
		if _, ok := e.Get("no_such_key"); ok {
			t.Fatalf("%T %s: Get of a missing key says ok", v, name)
		}
	}
	if !got.Equal(dec) || !dec.Equal(got) {
		t.Fatalf("%T: built and decoded evidence are not Equal", v)
	}
	// Decode: the same struct from both, and the same as decoding v's
	// JSON, for the struct type and for a map.
	typ := reflect.TypeOf(v)
	for _, target := range []reflect.Type{typ, reflect.TypeFor[map[string]any]()} {
		fromGot, fromDec := reflect.New(target), reflect.New(target)
		err1, err2 := got.Decode(fromGot.Interface()), dec.Decode(fromDec.Interface())
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(fromGot.Elem().Interface(), fromDec.Elem().Interface()) {
			t.Fatalf("%T: Decode into %s:\nbuilt   %#v (%v)\ndecoded %#v (%v)", v, target, fromGot.Elem(), err1, fromDec.Elem(), err2)
		}
	}
}

// TestNewEvidenceIsTheRoundTrip: for every leg's evidence type and for
// types with every kind of field, evidence built in-process says exactly
// what the same evidence read back from JSON says.
func TestNewEvidenceIsTheRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range evidenceTypes {
		for i := range 500 {
			p := reflect.New(typ)
			if i > 0 {
				fill(r, p.Elem(), 0)
			}
			v := p.Elem().Interface()
			want, dec := reference(t, v)
			sameEvidence(t, v, finding.NewEvidence(v), want, dec)
			// A pointer to the struct is the same evidence.
			sameEvidence(t, v, finding.NewEvidence(p.Interface()), want, dec)
		}
	}
}

// TestEvidenceDecodeIsACopy: the fast path hands out fresh slices and
// pointers, as decoding JSON does, so a reader cannot change a finding.
func TestEvidenceDecodeIsACopy(t *testing.T) {
	ttl := uint32(300)
	e := finding.NewEvidence(dnscheck.SRVEvidence{Records: []string{"0 0 1688 kms.example."}, TTL: &ttl, Ignored: []string{}})
	var a dnscheck.SRVEvidence
	if err := e.Decode(&a); err != nil {
		t.Fatal(err)
	}
	a.Records[0], *a.TTL = "changed", 1
	var b dnscheck.SRVEvidence
	if err := e.Decode(&b); err != nil {
		t.Fatal(err)
	}
	if b.Records[0] != "0 0 1688 kms.example." || *b.TTL != 300 {
		t.Errorf("a reader's change reached the evidence: %+v", b)
	}
	if b.Ignored != nil {
		t.Errorf("an empty omitempty list decodes as %#v, want nil as from JSON", b.Ignored)
	}
}

// TestEvidenceMap: literal maps read back as JSON would give them, and
// write what encoding/json writes of the map.
func TestEvidenceMap(t *testing.T) {
	m := map[string]any{
		"count":  uint32(50),
		"n":      json.Number("30"),
		"offers": []map[string]any{{"lease_s": uint32(3600), "dns": []string{"10.0.0.1"}}},
		"html":   "<b>&</b>",
	}
	e := finding.EvidenceMap(m)
	want, dec := reference(t, m)
	sameEvidence(t, m, e, want, dec)
	// Bytes that are not UTF-8 are written as encoding/json writes the
	// literal (as before Evidence kept its origin), read as it reads back.
	e.Set("bad", "x\xff")
	if x := e.Value("count"); x != 50.0 {
		t.Errorf("count = %#v, want float64 50", x)
	}
	if x := e.Value("n"); x != 30.0 {
		t.Errorf("json.Number reads %#v, want float64 30", x)
	}
	if b, _ := json.Marshal(e); !strings.Contains(string(b), `"bad":"x\ufffd"`) {
		t.Errorf("a literal's invalid UTF-8 is written %s, want as encoding/json writes it", b)
	}
}

// TestEvidenceSet: a typed evidence that gains a key says all it said
// before, plus the key.
func TestEvidenceSet(t *testing.T) {
	e := finding.NewEvidence(dnscheck.SRVEvidence{Query: "_vlmcs._tcp.s1.example.", Rcode: "NOERROR"})
	before := e.Keys()
	e.Set("client_order", []string{"kms.example:1688"})
	if got := e.Keys(); len(got) != len(before)+1 || !slices.Contains(got, "client_order") {
		t.Errorf("keys after Set %v, before %v", got, before)
	}
	if got := e.Value("client_order"); !reflect.DeepEqual(got, []any{"kms.example:1688"}) || e.String("rcode") != "NOERROR" {
		t.Errorf("after Set: client_order %#v, rcode %q", got, e.String("rcode"))
	}
	var z finding.Evidence
	z.Set("role", "school")
	if z.String("role") != "school" || z.Len() != 1 {
		t.Errorf("Set on zero evidence: %#v", z)
	}
}

// TestEvidenceOmitted: a finding whose evidence has no key writes none,
// as omitempty did with an empty map; zero evidence marshals as null.
func TestEvidenceOmitted(t *testing.T) {
	for _, e := range []finding.Evidence{{}, finding.NewEvidence(clockcheck.Evidence{}), finding.EvidenceMap(map[string]any{})} {
		b, err := json.Marshal(finding.Finding{Check: "x", Evidence: e})
		if err != nil || strings.Contains(string(b), "evidence") {
			t.Errorf("%#v: %s %v", e, b, err)
		}
	}
	if b, _ := json.Marshal(finding.Evidence{}); string(b) != "null" {
		t.Errorf("zero evidence marshals as %s, want null (a nil map did)", b)
	}
	if got := string(finding.Evidence{}.AppendIndent(nil, "", "  ")); got != "null" {
		t.Errorf("zero evidence AppendIndent = %s, want null", got)
	}
}

// FuzzEvidenceJSON: whatever the field values, a typed evidence writes
// (compact and indented) and reads exactly what its round-trip map does.
func FuzzEvidenceJSON(f *testing.F) {
	f.Add("a<b>&c", "學校\u2028", int64(1)<<53+1, uint64(math.MaxUint64), 1e21, 1e-7, true, "\t", "  ")
	f.Add("\xff\xfe", "", int64(-42), uint64(0), -0.0, 12.34, false, "", "")
	f.Add("\x00\x1f\"\\", "\u2029x", int64(math.MinInt64), uint64(300), 1e300, 5e-324, true, ">", "\n")
	f.Fuzz(func(t *testing.T, s1, s2 string, i int64, u uint64, x, y float64, b bool, prefix, indent string) {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			t.Skip("encoding/json refuses NaN and infinities")
		}
		if !utf8.ValidString(s1) {
			s1 = strings.ToValidUTF8(s1, "") // map keys must be valid to be kept typed
		}
		u32 := uint32(u)
		v := plainKinds{S: s1, SO: s2, B: b, I: int(i), I8: int8(i), U64: u, F: x, FO: y, P: &u32,
			L: []string{s2, s1}, M: map[string]string{s1: s2, s2: s1}, MN: map[string]int{s1: int(i)},
			Any: s2, In: inner{A: s2, B: []int{int(i), 0}}, Ins: []inner{{A: s1}}, Arr: [2]string{s1, s2},
			D: time.Duration(i), A: s2}
		want, dec := reference(t, v)
		e := finding.NewEvidence(v)
		sameEvidence(t, v, e, want, dec)
		// Any prefix and indent: the report encoder passes its own.
		if got, want := string(e.AppendIndent(nil, prefix, indent)), marshalNoHTML(t, want, true, prefix, indent); got != want {
			t.Fatalf("AppendIndent(%q, %q) =\n%s\nwant\n%s", prefix, indent, got, want)
		}
		// A literal map writes what encoding/json writes of it, under
		// every encoder, its values as they are (integers exact, a byte
		// that is not UTF-8 as \ufffd).
		m := map[string]any{s1: s2, s2 + "x": i, "u": u, "x": x, "b": b, "l": []string{s1, s2}, "n": nil,
			"m": map[string]any{s2: y, s1: []any{b, u32, &u32}}, "o": []map[string]any{{s1: i}, nil}, "e": []int{}}
		lit := finding.EvidenceMap(m)
		mb, _ := json.Marshal(m)
		if got, _ := json.Marshal(lit); string(got) != string(mb) {
			t.Fatalf("literal marshals to %s, want %s", got, mb)
		}
		if got, want := marshalNoHTML(t, lit, false, "", ""), marshalNoHTML(t, m, false, "", ""); got != want {
			t.Fatalf("literal without HTML escaping %s, want %s", got, want)
		}
		if got, want := string(lit.AppendIndent(nil, prefix, indent)), marshalNoHTML(t, m, true, prefix, indent); got != want {
			t.Fatalf("literal AppendIndent(%q, %q) =\n%s\nwant\n%s", prefix, indent, got, want)
		}
	})
}

func BenchmarkNewEvidence(b *testing.B) {
	ttl := uint32(300)
	ev := dnscheck.SRVEvidence{Query: "_vlmcs._tcp.s1.example.", QType: "SRV", RTTms: 0.42, Attempts: 1, Transport: "udp",
		Rcode: "NOERROR", Role: "resolver", Records: []string{"0 0 1688 kms.example."}, TTL: &ttl}
	b.ReportAllocs()
	for b.Loop() {
		_ = finding.NewEvidence(ev)
	}
}

// BenchmarkEvidenceAppendIndent is what the report encoder pays per
// finding to write its evidence.
func BenchmarkEvidenceAppendIndent(b *testing.B) {
	ttl := uint32(300)
	e := finding.NewEvidence(dnscheck.SRVEvidence{Query: "_vlmcs._tcp.s1.example.", QType: "SRV", RTTms: 0.42, Attempts: 1, Transport: "udp",
		Rcode: "NOERROR", Role: "resolver", Records: []string{"0 0 1688 kms.example."}, TTL: &ttl})
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendIndent(buf[:0], "      ", "  ")
	}
}

// BenchmarkEvidenceDecode is a typed accessor's cost (SRVEvidenceOf).
func BenchmarkEvidenceDecode(b *testing.B) {
	ttl := uint32(300)
	e := finding.NewEvidence(dnscheck.SRVEvidence{Query: "_vlmcs._tcp.s1.example.", QType: "SRV", RTTms: 0.42, Attempts: 1, Transport: "udp",
		Rcode: "NOERROR", Role: "resolver", Records: []string{"0 0 1688 kms.example."}, TTL: &ttl})
	b.ReportAllocs()
	for b.Loop() {
		var ev dnscheck.SRVEvidence
		if err := e.Decode(&ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEvidenceCycle: a literal map that holds itself is an error from
// MarshalJSON, and null from AppendIndent, never a hang.
func TestEvidenceCycle(t *testing.T) {
	m := map[string]any{"a": 1}
	m["self"] = m
	e := finding.EvidenceMap(m)
	if _, err := json.Marshal(e); err == nil {
		t.Error("a map that holds itself marshals without an error")
	}
	if got := string(e.AppendIndent(nil, "", "  ")); got != "null" {
		t.Errorf("AppendIndent = %s, want null", got)
	}
}
