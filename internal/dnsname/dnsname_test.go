package dnsname

import "testing"

func TestCanonical(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"AP24.KH.edu.tw.", "ap24.kh.edu.tw"},
		{"demo.kh.edu.tw\x00", "demo.kh.edu.tw"},
		{" demo.kh.edu.tw. ", "demo.kh.edu.tw"},
		{".", ""},
		{"", ""},
	} {
		if got := Canonical(c.in); got != c.want {
			t.Errorf("Canonical(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if SRVName("S1.kh.edu.tw.") != "_vlmcs._tcp.s1.kh.edu.tw." {
		t.Errorf("SRVName = %q", SRVName("S1.kh.edu.tw."))
	}
	if !IsRoot(".") || IsRoot("a.") {
		t.Error("IsRoot wrong")
	}
	if !Equal("A.b.", "a.B") {
		t.Error("Equal wrong")
	}
}
