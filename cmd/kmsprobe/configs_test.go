package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kh-edu/kmsprobe/config"
)

func writeYAML(t *testing.T, y string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "schools.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, y string) *config.Config {
	t.Helper()
	cfg, err := config.Load(writeYAML(t, y))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSingleSchool: dns and kms --discover build their one school as Go
// values through the validator. --server names the servers judged as the
// school's own and asks nothing else; "resolvers: []" stays none.
func TestSingleSchool(t *testing.T) {
	base := mustLoad(t, "version: 1\nresolvers: [127.0.0.1:5300]\nkms: {host: kms.test.example, port: 1688}\nprobe: {timeout: 300ms, attempts: 1}\nschools:\n  - {id: a, suffix: a.test.example}\n")
	none := mustLoad(t, "version: 1\nresolvers: []\nschools:\n  - {id: a, suffix: a.test.example, dns: [127.0.0.1]}\n")
	tests := []struct {
		name          string
		base          *config.Config
		suffix        string
		servers       []string
		wantResolvers []string
		wantDNS       []string
		wantErr       string
	}{
		{"--server is the school's own", base, "X.test.example.", []string{"127.0.0.2"}, []string{}, []string{"127.0.0.2:53"}, ""},
		{"the city resolvers of the file", base, "x.test.example", nil, []string{"127.0.0.1:5300"}, nil, ""},
		{"resolvers: [] stays none", none, "x.test.example", nil, nil, nil, "no DNS server to ask: name one with --server ADDR"},
		{"no file: the defaults", nil, "x.test.example", nil, config.DefaultResolvers, nil, ""},
		{"bad suffix names SUFFIX", base, "a..b", nil, nil, nil, "SUFFIX: \"a..b\" has an empty label"},
		{"bad server names --server", base, "x.test.example", []string{"x y"}, nil, nil, "--server: \"x y\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := singleSchool(tc.base, "dns", tc.suffix, tc.servers)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "command line") {
					t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Schools) != 1 || cfg.Schools[0].Suffix != "x.test.example" {
				t.Fatalf("schools %+v", cfg.Schools)
			}
			if diff := cmp.Diff(tc.wantResolvers, cfg.Resolvers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("resolvers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDNS, cfg.Schools[0].DNS, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("school dns (-want +got):\n%s", diff)
			}
			if tc.base != nil && (cfg.KMS.Host != tc.base.KMS.Host || cfg.Probe.Timeout != tc.base.Probe.Timeout) {
				t.Errorf("settings of the file lost: kms %+v probe %+v", cfg.KMS, cfg.Probe)
			}
		})
	}
	if len(base.Schools) != 1 || base.Schools[0].ID != "a" || len(base.Resolvers) != 1 {
		t.Errorf("the loaded file was changed: %+v", base)
	}
}

// TestKMSSettingsValidatedOnce: the KMS flags go through the validator
// of schools.yaml; a problem from a flag names the flag, one from the
// file its file and line.
func TestKMSSettingsValidatedOnce(t *testing.T) {
	for _, tc := range []struct {
		s    kmsSettings
		want string
	}{
		{kmsSettings{protocol: 7}, "--protocol 7: 7 is not a KMS protocol version"},
		{kmsSettings{protocol: -1}, "--protocol -1:"},
		{kmsSettings{mode: "full"}, `--kms-mode full: "full" is not a mode`},
		{kmsSettings{product: "win10-ent,nope"}, `--product win10-ent,nope: unknown product: "nope"`},
		{kmsSettings{minCount: -3}, "--min-count -3:"},
	} {
		for _, cfg := range []*config.Config{nil, mustLoad(t, "version: 1\nschools:\n  - {id: a, suffix: a.test.example}\n")} {
			_, err := kmsOptions(cfg, tc.s)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("%+v (file %v): error %v, want %q", tc.s, cfg != nil, err, tc.want)
			}
		}
	}
	k, err := kmsOptions(nil, kmsSettings{product: "office2021-proplus", protocol: 5, minCount: 10, mode: "bind"})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Request.Products) != 1 || k.Request.Products[0].Key != "office2021-proplus" || k.Request.Protocol != 5 || k.Expect.MinCount != 10 || k.Request.Mode.String() != "bind" {
		t.Errorf("leg %+v", k)
	}
	// From the file, the same problems carry the file's line.
	p := writeYAML(t, "version: 1\nkms:\n  protocol: 7\n  mode: full\nschools:\n  - {id: a, suffix: a.test.example}\n")
	for _, args := range [][]string{{"kms", "127.0.0.1:1", "-c", p}, {"audit", "-c", p}, {"validate", "-c", p}} {
		code, _, stderr := runCmd(t, args...)
		if code != exitUnknown || !strings.Contains(stderr, p+":3: kms.protocol") || !strings.Contains(stderr, p+":4: kms.mode") {
			t.Errorf("kmsprobe %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
		}
	}
}

// TestConfigWarningsPrinted: every command that reads schools.yaml says
// its warnings, with their lines, on stderr.
func TestConfigWarningsPrinted(t *testing.T) {
	good := testCity(t, false, false)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// A documentation address in dhcp.allowed_servers warns and is never
	// contacted.
	p := writeYAML(t, strings.Replace(string(b), "schools:\n", "dhcp: {allowed_servers: [192.0.2.67]}\nschools:\n", 1))
	for _, args := range [][]string{
		{"audit", "-c", p, "--kms-mode", "tcp"},
		{"dns", "good.test.example", "-c", p},
		{"kms", "127.0.0.1:1", "--kms-mode", "tcp", "-c", p},
		{"checklist", "-c", p},
		// serve stops at the bad port, after reading the file; city finds
		// no Prometheus on 127.0.0.1:1, after reading it.
		{"serve", "-c", p, "--listen", "127.0.0.1:99999"},
		{"city", "-c", p, "--prometheus", "http://127.0.0.1:1", "--timeout", "5s"},
	} {
		code, _, stderr := runCmd(t, args...)
		if !strings.Contains(stderr, "kmsprobe: warning: "+p+":") || !strings.Contains(stderr, "192.0.2.67 is a documentation address") {
			t.Errorf("kmsprobe %s: exit %d, stderr lacks the warning with its line:\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	// city reads a schools.yaml it finds for the schools' names only, yet
	// says its warnings too.
	saved := config.SearchPath
	config.SearchPath = []string{p}
	defer func() { config.SearchPath = saved }()
	code, _, stderr := runCmd(t, "city", "--prometheus", "http://127.0.0.1:1", "--timeout", "5s")
	if !strings.Contains(stderr, "kmsprobe: warning: "+p+":") {
		t.Errorf("kmsprobe city with %s on the search path: exit %d, stderr lacks its warning:\n%s", p, code, stderr)
	}
}
