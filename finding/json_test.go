package finding

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// reference is what AppendIndent promises to equal: one json.Encoder pass.
func reference(t testing.TB, f *Finding, prefix, indent string) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent(prefix, indent)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

type plainEvidence struct {
	Query   string   `json:"query"`
	Records []string `json:"records,omitempty"`
	RTT     float64  `json:"rtt_ms"`
	TTL     int      `json:"ttl,omitempty"`
	TC      bool     `json:"tc,omitempty"`
	Note    string   `json:"note,omitempty"`
}

type foreignEvidence struct {
	Name  string   `json:"name"`
	Items []string `json:"items,omitempty"`
	N     float32  `json:"n"`
}

func TestAppendIndentIsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Finding
	}{
		{"minimal", Finding{Check: DNSSRV, Message: "m"}},
		{"every field", Finding{Check: DNSSRV, Server: "127.0.0.1:53", Status: Fail, Message: "a -> b", Short: "NXDOMAIN",
			Evidence: EvidenceMap(map[string]any{"records": []any{"0 0 1688 kms.example."}, "rtt_ms": 1.25, "attempts": 1, "ttl": float64(3600), "tc": true, "none": nil}),
			Remedy:   "add the record", ID: "dns.srv.nxdomain", RemedyID: "dns.srv.nxdomain.fix",
			Args:      map[string]string{"Server": "127.0.0.1:53", "Name": "x", "A": ""},
			DependsOn: "dns.srv@127.0.0.121:53"}},
		{"escapes", Finding{Check: "c", Status: Unknown, Message: "<&> \"q\" \\ \n\r\t\b\f\x00\x1f\x7f 示範 \u2028\u2029 \xff\xfe ok",
			Evidence: EvidenceMap(map[string]any{"k\"ey<": "v\u2029", "\xff": []any{}})}},
		{"typed evidence", Finding{Check: DNSSRV, Status: Pass, Message: "ok", Evidence: NewEvidence(plainEvidence{Query: "_vlmcs._tcp.a<b>.", Records: []string{"0 0 1688 kms.", "\xff"}, RTT: 0.000000125, TTL: 3600, TC: true})}},
		{"typed evidence, empties omitted", Finding{Check: DNSSRV, Evidence: NewEvidence(&plainEvidence{Query: "q"})}},
		{"floats", Finding{Check: "c", Evidence: EvidenceMap(map[string]any{"a": 0.0, "b": 1e-7, "c": 1e21, "d": 123456789.125, "e": -0.000001, "f": 1e-10, "g": 5e-324, "h": math.MaxFloat64, "i": -1e20})}},
		{"nested", Finding{Check: "c", Evidence: EvidenceMap(map[string]any{"sets": map[string]any{"b": "x", "a": []any{map[string]any{}, map[string]any{"z": []any{1.5, "s", nil, true}}}}, "m": map[string]string{"y": "1", "x": "2"}, "e": map[string]string{}, "s": []string{"a", "b"}, "ns": []string(nil), "nm": map[string]any(nil)})}},
		{"foreign values", Finding{Check: "c", Evidence: EvidenceMap(map[string]any{"typed": foreignEvidence{Name: "<x>", Items: []string{"a"}, N: 1.5}, "i8": int8(-3), "u": uint(7), "f32": float32(0.1), "empty": foreignEvidence{}})}},
	} {
		for _, ind := range [][2]string{{"", "  "}, {"    ", "  "}, {"\t", "\t"}} {
			want, err := reference(t, &tc.f, ind[0], ind[1])
			if err != nil {
				t.Fatal(err)
			}
			got := tc.f.AppendIndent(nil, ind[0], ind[1])
			if string(got) != want {
				t.Errorf("%s (prefix %q):\n--- encoding/json\n%s\n--- AppendIndent\n%s", tc.name, ind[0], want, got)
			}
		}
	}
}

// FuzzAppendIndent: for any strings and numbers a server or a config can
// put into a finding, the bytes equal encoding/json's.
func FuzzAppendIndent(f *testing.F) {
	f.Add("dns.srv", "127.0.0.1:53", "msg <&>\n", "key", "value\u2028", 1.5, int64(3), true)
	f.Add("", "", "\xff\xfe\x00", "", "\x7f", 1e-7, int64(-1), false)
	f.Fuzz(func(t *testing.T, check, server, msg, key, val string, num float64, n int64, flag bool) {
		fd := Finding{Check: check, Server: server, Status: Status(n & 7), Message: msg, Short: val, Remedy: key,
			Evidence: EvidenceMap(map[string]any{key: val, "n": num, "i": n, "b": flag, "l": []any{val, num, map[string]any{key: msg}}}),
			Args:     map[string]string{key: msg, val: server}}
		want, err := reference(t, &fd, "    ", "  ")
		if err != nil {
			return // NaN: encoding/json refuses it, AppendIndent writes null
		}
		got := fd.AppendIndent([]byte("head"), "    ", "  ")
		if string(got) != "head"+want {
			t.Fatalf("differs:\n--- encoding/json\n%s\n--- AppendIndent\n%s", want, got[4:])
		}
	})
}
