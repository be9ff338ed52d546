package finding_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
)

// reference is what NewEvidence promises: the value a JSON round trip of
// v gives.
func reference(t *testing.T, v any) finding.Evidence {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var e finding.Evidence
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
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

// TestNewEvidenceIsTheRoundTrip: for every leg's evidence type and for a
// type with every kind of field, NewEvidence gives exactly what the JSON
// round trip gives, and marshals to the same bytes.
func TestNewEvidenceIsTheRoundTrip(t *testing.T) {
	types := []reflect.Type{
		reflect.TypeFor[everyKind](),
		reflect.TypeFor[dnscheck.SRVEvidence](),
		reflect.TypeFor[dnscheck.TargetEvidence](),
		reflect.TypeFor[dnscheck.ConsistencyEvidence](),
		reflect.TypeFor[kmscheck.TCPEvidence](),
		reflect.TypeFor[kmscheck.RPCEvidence](),
		reflect.TypeFor[clockcheck.Evidence](),
		reflect.TypeFor[delegation.Evidence](),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range types {
		for i := range 500 {
			p := reflect.New(typ)
			if i > 0 {
				fill(r, p.Elem(), 0)
			}
			v := p.Elem().Interface()
			got, want := finding.NewEvidence(v), reference(t, v)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: NewEvidence(%#v)\n = %#v\nwant %#v", typ, v, got, want)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Fatalf("%s: marshals to %s, want %s", typ, gb, wb)
			}
			// A pointer to the struct is the same evidence.
			if got := finding.NewEvidence(p.Interface()); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: NewEvidence of a pointer = %#v, want %#v", typ, got, want)
			}
		}
	}
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
