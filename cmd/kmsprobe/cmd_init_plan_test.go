package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/config"
)

// plan checks init's flags before any file is read, in the order an admin
// fixes them, and turns them into what the run uses.
func TestInitPlan(t *testing.T) {
	base := func() initFlags {
		return initFlags{from: listFlag{"a.csv"}, zone: "KH.edu.tw.", out: "schools.yaml", nsPort: 53, concurrency: 64, timeout: 2 * time.Second}
	}
	for _, tc := range []struct {
		name    string
		args    []string
		edit    func(*initFlags)
		wantErr string
		check   func(initPlan) bool
	}{
		{name: "arguments", args: []string{"x"}, wantErr: "takes no arguments"},
		{name: "no list", edit: func(f *initFlags) { f.from = nil }, wantErr: "no school list given"},
		{name: "not a zone", edit: func(f *initFlags) { f.zone = "tw." }, wantErr: `--zone "tw" is not a DNS zone`},
		{name: "port out of range", edit: func(f *initFlags) { f.nsPort = 0 }, wantErr: "--ns-port must be 1-65535"},
		{name: "timeout out of range", edit: func(f *initFlags) { f.timeout = 2 * time.Minute }, wantErr: "--timeout 1ms-1m"},
		{name: "resolver without discover", edit: func(f *initFlags) { f.resolvers = listFlag{"127.0.0.1"} }, wantErr: "only used with --discover"},
		{name: "resolver not an address", edit: func(f *initFlags) { f.discover, f.resolvers = true, listFlag{"dns.example"} }, wantErr: `--resolver "dns.example"`},
		{name: "zone canonical, no resolvers without discover",
			check: func(p initPlan) bool { return p.zone == "kh.edu.tw" && p.addrs == nil && !p.fixedResolvers }},
		{name: "discover asks the city resolvers, not written to the file",
			edit: func(f *initFlags) { f.discover = true },
			check: func(p initPlan) bool {
				return slices.Equal(p.addrs, config.DefaultResolvers) && p.meta(nil).Resolvers == nil
			}},
		{name: "explicit resolvers get port 53 and are written",
			edit: func(f *initFlags) { f.discover, f.resolvers = true, listFlag{"127.0.0.1", "127.0.0.2:5353"} },
			check: func(p initPlan) bool {
				want := []string{"127.0.0.1:53", "127.0.0.2:5353"}
				return slices.Equal(p.addrs, want) && slices.Equal(p.meta(nil).Resolvers, want)
			}},
	} {
		f := base()
		if tc.edit != nil {
			tc.edit(&f)
		}
		p, err := f.plan(tc.args)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.check != nil && !tc.check(p):
			t.Errorf("%s: plan %+v", tc.name, p)
		}
	}
}
