package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestDNSSuffixArg(t *testing.T) {
	for _, tc := range []struct {
		arg, suffix, note, err string
	}{
		{"x.kh.edu.tw", "x.kh.edu.tw", "", ""},
		{"X.KH.edu.tw.", "x.kh.edu.tw", "", ""},
		{"_vlmcs._tcp.x.kh.edu.tw", "x.kh.edu.tw", "checking the suffix x.kh.edu.tw", ""},
		{"_VLMCS._TCP.x.kh.edu.tw.", "x.kh.edu.tw", "the record asked is _vlmcs._tcp.x.kh.edu.tw", ""},
		{"_vlmcs._tcp.", "", "", "no DNS suffix"},
		{"_vlmcs._tcp._vlmcs._tcp.x.kh.edu.tw", "", "", "no DNS suffix"},
		{"_vlmcs._udp.x.kh.edu.tw", "", "", "kmsprobe dns x.kh.edu.tw"},
		{"_ldap._tcp.x.kh.edu.tw", "", "", "kmsprobe dns x.kh.edu.tw"},
		{".", "", "", "empty"},
	} {
		s, note, err := dnsSuffixArg(tc.arg)
		if s != tc.suffix || !strings.Contains(note, tc.note) || (tc.note == "") != (note == "") {
			t.Errorf("dnsSuffixArg(%q) = %q, %q", tc.arg, s, note)
		}
		if (err != nil) != (tc.err != "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("dnsSuffixArg(%q) error %v, want ~%q", tc.arg, err, tc.err)
		}
	}
}

// TestDNSAcceptsTheRecordName: the full SRV name asks the right question
// (not _vlmcs._tcp._vlmcs._tcp...) and says so on stderr.
func TestDNSAcceptsTheRecordName(t *testing.T) {
	good := testCity(t, false, false)
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{"dns", "_vlmcs._tcp.good.test.example", "-c", good, "--format", "json"})
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "checking the suffix good.test.example") {
		t.Errorf("stderr does not say what was done: %q", errb.String())
	}
	var rep struct {
		Schools []struct {
			Suffix   string
			Findings []struct {
				Check    string
				Evidence map[string]any
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Schools) != 1 || rep.Schools[0].Suffix != "good.test.example" {
		t.Fatalf("schools = %+v", rep.Schools)
	}
	for _, f := range rep.Schools[0].Findings {
		if q, ok := f.Evidence["query"]; ok && q != "_vlmcs._tcp.good.test.example." {
			t.Errorf("%s asked %v", f.Check, q)
		}
	}
	code = run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{"dns", "_ldap._tcp.good.test.example", "-c", good})
	if code != 3 || !strings.Contains(errb.String(), "kmsprobe dns good.test.example") {
		t.Errorf("another service label: exit %d, stderr %q", code, errb.String())
	}
}
