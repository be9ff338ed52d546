package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreSource leaves out what only says where a config came from.
var ignoreSource = cmp.Options{
	cmpopts.IgnoreFields(Config{}, "Path", "Warnings"),
	cmpopts.IgnoreFields(School{}, "Line"),
	cmpopts.IgnoreUnexported(Duration{}),
	cmpopts.EquateEmpty(),
}

// TestValuesAndFilesAgree: a configuration built in Go and the same
// configuration written as YAML come out of the one validator equal, or
// with the same problems (a file's carry a line, Go's do not).
func TestValuesAndFilesAgree(t *testing.T) {
	school := func(id, suffix string, dns ...string) School {
		return School{ID: id, Suffix: suffix, DNS: dns}
	}
	cases := []struct {
		name  string
		yaml  string
		build func(c *Config)
		want  string // a problem both must report, "" for none
	}{
		{"one school, city resolvers", "schools: [{id: dns, suffix: S1.kh.edu.tw.}]",
			func(c *Config) { c.Schools = []School{school("dns", "S1.kh.edu.tw.")} }, ""},
		{"--server: its servers only", "resolvers: []\nschools: [{id: dns, suffix: s1.kh.edu.tw, dns: [127.0.0.1, '[::1]:5353']}]",
			func(c *Config) {
				c.Resolvers = []string{}
				c.Schools = []School{school("dns", "s1.kh.edu.tw", "127.0.0.1", "[::1]:5353")}
			}, ""},
		{"kms settings", "kms: {host: KMS.example., port: 11688, products: [office2021-std], protocol: 5, mode: bind, addresses: ['::1']}\nschools: [{id: kms, suffix: s1.kh.edu.tw}]",
			func(c *Config) {
				c.KMS = KMS{Host: "KMS.example.", Port: 11688, Products: []string{"office2021-std"}, Protocol: 5, Mode: "bind", Addresses: []string{"::1"}}
				c.Schools = []School{school("kms", "s1.kh.edu.tw")}
			}, ""},
		{"budget", "probe: {timeout: 300ms, attempts: 3}\ndhcp: {window: 6s}\nschools: [{id: a, suffix: a.kh.edu.tw}]",
			func(c *Config) {
				c.Probe.Timeout.Duration, c.Probe.Attempts = 300*time.Millisecond, 3
				c.DHCP.Window.Duration = 6 * time.Second
				c.Schools = []School{school("a", "a.kh.edu.tw")}
			}, ""},
		{"bad server", "resolvers: []\nschools: [{id: dns, suffix: s1.kh.edu.tw, dns: [300.1.1.1]}]",
			func(c *Config) {
				c.Resolvers = []string{}
				c.Schools = []School{school("dns", "s1.kh.edu.tw", "300.1.1.1")}
			}, `school dns: dns: "300.1.1.1": not an IPv4 address`},
		{"bad product", "kms: {product: nope}\nschools: [{id: a, suffix: a.kh.edu.tw}]",
			func(c *Config) { c.KMS.Products = []string{"nope"}; c.Schools = []School{school("a", "a.kh.edu.tw")} },
			`"nope" is not a product kmsprobe knows`},
		{"bad protocol", "kms: {protocol: 7}\nschools: [{id: a, suffix: a.kh.edu.tw}]",
			func(c *Config) { c.KMS.Protocol = 7; c.Schools = []School{school("a", "a.kh.edu.tw")} },
			"kms.protocol: 7 is not a KMS protocol version"},
		{"bad mode", "kms: {mode: full}\nschools: [{id: a, suffix: a.kh.edu.tw}]",
			func(c *Config) { c.KMS.Mode = "full"; c.Schools = []School{school("a", "a.kh.edu.tw")} },
			`kms.mode: "full" is not a mode`},
		{"min count 0 written", "kms: {min_count: 0}\nschools: [{id: a, suffix: a.kh.edu.tw}]",
			func(c *Config) {
				c.KMS.MinCount, c.KMS.MinCountSet = 0, true
				c.Schools = []School{school("a", "a.kh.edu.tw")}
			},
			"kms.min_count: 0 must be at least 1"},
		{"timeout out of range", "probe: {timeout: 2m}\nschools: [{id: a, suffix: a.kh.edu.tw}]",
			func(c *Config) {
				c.Probe.Timeout.Duration = 2 * time.Minute
				c.Schools = []School{school("a", "a.kh.edu.tw")}
			},
			"probe.timeout: 2m0s is out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fromFile, fileErr := Parse("f.yaml", []byte("version: 1\n"+tc.yaml+"\n"))
			c := Default()
			tc.build(c)
			goErr := c.Validate()
			if tc.want != "" {
				for what, err := range map[string]error{"file": fileErr, "values": goErr} {
					var ce *Error
					if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("%s: %v, want a problem ~%q", what, err, tc.want)
					}
				}
				if !strings.HasPrefix(goErr.Error(), "command line: ") {
					t.Errorf("values: %q does not name its source", goErr)
				}
				return
			}
			if fileErr != nil || goErr != nil {
				t.Fatalf("file: %v\nvalues: %v", fileErr, goErr)
			}
			if diff := cmp.Diff(fromFile, c, ignoreSource); diff != "" {
				t.Errorf("file and values differ (-file +values):\n%s", diff)
			}
		})
	}
}

func TestDefaultIsProduction(t *testing.T) {
	c := Default()
	c.Schools = []School{{ID: "a", Suffix: "a.kh.edu.tw"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.KMS.Address() != "ap24.kh.edu.tw:1688" || len(c.Resolvers) != 3 || c.Probe.Timeout.Duration != DefaultTimeout ||
		c.KMS.Product != "win10-ent" || c.KMS.Mode != "activate" { // production defaults; nothing is sent
		t.Errorf("Default() = %+v", c)
	}
}

// TestValidateTwiceChangesNothing: a command may start from a loaded file,
// change one value and validate again; the rest must stay as it was.
func TestValidateTwiceChangesNothing(t *testing.T) {
	for _, file := range []string{"testdata/good.yaml", "testdata/warn-examples.yaml", "../schools.yaml"} {
		orig, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		again := orig.Clone()
		if err := again.Validate(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if diff := cmp.Diff(orig, again, cmpopts.IgnoreUnexported(Duration{}), cmpopts.IgnoreFields(Problem{}, "Line"), cmpopts.IgnoreFields(School{}, "Line")); diff != "" {
			t.Errorf("%s: validating again changed it (-loaded +again):\n%s", file, diff)
		}
		// Clone is deep: changing the copy leaves the original alone.
		again.Schools[0].DNS = append(again.Schools[0].DNS[:0:0], "10.9.9.9:53")
		again.Resolvers[0] = "10.9.9.9:53"
		if orig.Resolvers[0] == "10.9.9.9:53" || (len(orig.Schools[0].DNS) > 0 && orig.Schools[0].DNS[0] == "10.9.9.9:53") {
			t.Errorf("%s: Clone shares slices", file)
		}
	}
	// Products wins over Product in Go; Product alone is the shorthand.
	c := Default()
	c.Schools = []School{{ID: "a", Suffix: "a.kh.edu.tw"}}
	c.KMS.Products, c.KMS.Product = nil, "Office LTSC Standard 2021"
	if err := c.Validate(); err != nil || !cmp.Equal(c.KMS.Products, []string{"office2021-std"}) || c.KMS.Product != "office2021-std" {
		t.Errorf("Product alone: %v %v %q", err, c.KMS.Products, c.KMS.Product)
	}
	c.KMS.Products, c.KMS.Product = []string{"win10-edu", "office2021-std"}, "win10-ent"
	if err := c.Validate(); err != nil || !cmp.Equal(c.KMS.Products, []string{"win10-edu", "office2021-std"}) || c.KMS.Product != "win10-edu" {
		t.Errorf("Products and Product: %v %v %q", err, c.KMS.Products, c.KMS.Product)
	}
}
