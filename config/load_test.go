package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the expected messages in testdata/*.err")

// TestBadConfigs checks the exact messages for every bad file in testdata:
// each names the file, the line, the school and the field, and all
// problems of a file come out at once.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if base := filepath.Base(file); strings.HasPrefix(base, "good") || strings.HasPrefix(base, "warn") {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load(%s) = %v, want a *config.Error", file, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("messages differ (-want +got):\n%s", diff)
			}
			for _, p := range ce.Problems {
				if p.Path != file {
					t.Errorf("problem without its file: %+v", p)
				}
			}
		})
	}
}

// TestWarnings checks the exact warnings for testdata/warn-*.yaml: files
// that load, but hold something that is probably a mistake.
func TestWarnings(t *testing.T) {
	files, err := filepath.Glob("testdata/warn-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, w := range c.Warnings {
				b.WriteString(w.Error() + "\n")
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".warn"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("warnings differ (-want +got):\n%s", diff)
			}
		})
	}
	// A file without leftovers has none.
	c, err := Load("testdata/good.yaml")
	if err != nil || len(c.Warnings) != 0 {
		t.Errorf("good.yaml: %v, warnings %v", err, c.Warnings)
	}
}

func TestGoodConfigIsNormalised(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"kms host lower case, no dot", c.KMS.Host, "kms.example"},
		{"kms port", c.KMS.Port, 1688},
		{"default min count", c.KMS.MinCount, DefaultMinCount},
		{"resolvers get ports", c.Resolvers, []string{"127.0.0.1:5353", "[::1]:53", "[::1]:5454"}},
		{"timeout", c.Probe.Timeout.Duration, 500 * time.Millisecond},
		{"default attempts", c.Probe.Attempts, DefaultAttempts},
		{"ntp port", c.NTP, []string{"127.0.0.1:1123"}},
		{"suffix lower case, no dot", c.Schools[0].Suffix, "a-jh.kh.edu.tw"},
		{"school dns gets port 53", c.Schools[0].DNS, []string{"127.0.0.2:53"}},
		{"name defaults to id", c.Schools[1].Name, "b-es"},
		{"school line", c.Schools[0].Line, 7},
		{"lang", c.Report.Lang, "en"},
	}
	for _, tc := range checks {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestDefaultsAreProduction(t *testing.T) {
	c, err := Parse("x.yaml", []byte("version: 1\nschools: [{id: a, suffix: a.kh.edu.tw}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.KMS.Address() != "ap24.kh.edu.tw:1688" { // the production default; nothing is sent
		t.Errorf("kms = %s", c.KMS.Address())
	}
	if diff := cmp.Diff(DefaultResolvers, c.Resolvers); diff != "" {
		t.Errorf("resolvers (-want +got):\n%s", diff)
	}
	// An explicit empty list means "no city resolvers", not the defaults.
	c, err = Parse("x.yaml", []byte("version: 1\nresolvers: []\nschools: [{id: a, suffix: a.kh.edu.tw, dns: [127.0.0.1]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Resolvers) != 0 {
		t.Errorf("resolvers: [] gave %v", c.Resolvers)
	}
}

func TestRepositorySchoolsYAMLIsValid(t *testing.T) {
	c, err := Load("../schools.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.KMS.Address() != "ap24.kh.edu.tw:1688" || len(c.Resolvers) != 3 || len(c.Schools) != 2 { // production defaults; nothing is sent
		t.Errorf("schools.yaml lost its production defaults or examples: %+v", c)
	}
	// Its example schools must be called out until they are replaced.
	var got []string
	for _, w := range c.Warnings {
		got = append(got, fmt.Sprintf("%d %s %s", w.Line, w.School, w.Field))
	}
	want := []string{"55 example-jh id", "58 example-jh dns", "59 example-es id"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings on the shipped schools.yaml (-want +got):\n%s", diff)
	}
}

func TestNormAddr(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"10.1.2.3", "10.1.2.3:53", ""},
		{"10.1.2.3:5353", "10.1.2.3:5353", ""},
		{"2001:db8::1", "[2001:db8::1]:53", ""},
		{"[2001:db8::1]:5353", "[2001:db8::1]:5353", ""},
		{"DNS.School.Example.", "dns.school.example:53", ""},
		{"dns.school.example:99", "dns.school.example:99", ""},
		{"", "", "empty address"},
		{"10.1.2.3:http", "", "not a number"},
		{"[2001:db8::1", "", "not an address"},
		{"bad name", "", "not allowed"},
	}
	for _, tc := range cases {
		got, err := normAddr(tc.in, 53)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("normAddr(%q) err = %v, want ~%q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil && (c == nil || len(c.Schools) == 0) {
			t.Fatalf("accepted a config without schools")
		}
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error is not a *config.Error: %v", err)
		}
		if err != nil {
			if len(ce.Problems) == 0 || len(ce.Problems) > maxProblems+1 {
				t.Fatalf("%d problems", len(ce.Problems))
			}
			for _, p := range ce.Problems {
				if p.Path != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("problem without its file or message: %+v", p)
				}
			}
			return
		}
		// What loads must load again the same from Go values.
		again := c.Clone()
		if err := again.Validate(); err != nil {
			t.Fatalf("a loaded config fails Validate: %v", err)
		}
		for _, w := range c.Warnings {
			if w.Path != "fuzz.yaml" || w.Msg == "" {
				t.Fatalf("warning without its file or message: %+v", w)
			}
		}
	})
}

// TestIPv6Everywhere: every address field takes an IPv6 address, bare or
// as [v6]:port, and hands it on as host:port (or a bare IP where no port
// belongs).
func TestIPv6Everywhere(t *testing.T) {
	y := `version: 1
kms:
  host: "[::1]"
  addresses: ["::1", "[2001:DB8::24]", 127.0.0.1]
  products: [win10-ent, Office LTSC Professional Plus 2021]
resolvers: ["[::1]:5353", "::2"]
ntp: ["[::1]:1123", "fe80::1"]
dhcp:
  allowed_servers: ["[fe80::1]", "fe80::2"]
mail: {smtp: "[::1]:2525", from: a@example.edu.tw, to: [b@example.edu.tw]}
serve: {listen: "[::1]:9688"}
schools:
  - id: a-jh
    suffix: a-jh.kh.edu.tw
    dns: ["2001:db8::53", "[2001:db8::54]:53", "[::1]"]
`
	c, err := Parse("v6.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"kms host", c.KMS.Address(), "[::1]:1688"},
		{"kms addresses", c.KMS.Addresses, []string{"::1", "2001:db8::24", "127.0.0.1"}},
		{"products as keys", c.KMS.Products, []string{"win10-ent", "office2021-proplus"}},
		{"product is the first", c.KMS.Product, "win10-ent"},
		{"resolvers", c.Resolvers, []string{"[::1]:5353", "[::2]:53"}},
		{"ntp", c.NTP, []string{"[::1]:1123", "[fe80::1]:123"}},
		{"dhcp servers", c.DHCP.AllowedServers, []string{"fe80::1", "fe80::2"}},
		{"smtp", c.Mail.SMTP, "[::1]:2525"},
		{"listen", c.Serve.Listen, "[::1]:9688"},
		{"school dns", c.Schools[0].DNS, []string{"[2001:db8::53]:53", "[2001:db8::54]:53", "[::1]:53"}},
	}
	for _, tc := range checks {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// Neither product nor products: the default product, as a key.
	c, err = Parse("x.yaml", []byte("version: 1\nschools: [{id: a, suffix: a.kh.edu.tw}]\n"))
	if err != nil || len(c.KMS.Products) != 1 || c.KMS.Products[0] != "win10-ent" || c.KMS.Product != "win10-ent" {
		t.Errorf("default products: %v %v", c.KMS.Products, err)
	}
}
