package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Issue 10: `dhcp --expect-suffix S -c schools.yaml` judges against the
// school whose suffix is S (its own DNS servers are then recognised in
// option 6), and with no suffix at all no city resolver is asked for
// "_vlmcs._tcp.".
func TestDHCPConfigSchoolBySuffix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "schools.yaml")
	yaml := `version: 1
resolvers: [192.0.2.21]
schools:
  - id: s1
    name: One
    suffix: s1.example.edu.tw
    dns: [198.51.100.53]
  - id: s2
    name: Two
    suffix: s2.example.edu.tw
`
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expect, wantID, wantSuffix string
		wantDNS                    int
	}{
		{"S1.example.edu.tw.", "s1", "s1.example.edu.tw", 1},
		{"other.example", "dhcp", "other.example", 0},
		{"", "dhcp", "", 0},
	}
	for _, tc := range tests {
		cfg, err := dhcpConfig(&env{Stdout: io.Discard, Stderr: io.Discard}, p, "", tc.expect)
		if err != nil {
			t.Fatalf("%q: %v", tc.expect, err)
		}
		s := cfg.Schools[0]
		if len(cfg.Schools) != 1 || s.ID != tc.wantID || s.Suffix != tc.wantSuffix || len(s.DNS) != tc.wantDNS {
			t.Errorf("--expect-suffix %q: school %+v, want id %s suffix %q with %d DNS servers", tc.expect, s, tc.wantID, tc.wantSuffix, tc.wantDNS)
		}
		if len(cfg.Resolvers) != 1 {
			t.Errorf("--expect-suffix %q: resolvers %v, want the file's (the campus leg recognises them in option 6)", tc.expect, cfg.Resolvers)
		}
	}
}
