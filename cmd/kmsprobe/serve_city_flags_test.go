package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestServeFlagsCheck: the ranges of serve's own flags, and an --interval
// left out (the file's or the default) told from one given as 0s.
func TestServeFlagsCheck(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"--interval", "10s"}, ""},
		{[]string{"--interval", "168h"}, ""},
		{[]string{"--interval", "9s"}, "--interval 9s is out of range"},
		{[]string{"--interval", "169h"}, "--interval 169h0m0s is out of range"},
		{[]string{"--interval", "0s"}, "--interval 0s is out of range"},
		{[]string{"--probe.max-budget", "1s"}, ""},
		{[]string{"--probe.max-budget", "10m"}, ""},
		{[]string{"--probe.max-budget", "11m"}, "--probe.max-budget 11m0s is out of range"},
		{[]string{"--probe.queue", "0"}, ""},
		{[]string{"--probe.queue", "10000"}, ""},
		{[]string{"--probe.queue", "10001"}, "--probe.queue 10001 is out of range"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := &serveFlags{fs: fs}
		f.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		err := f.check()
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("serve %q: check() = %v, want %q", tc.args, err, tc.err)
		}
	}
}

func TestCityFetchOptions(t *testing.T) {
	const prom = "http://127.0.0.1:9090"
	ok := cityFlags{stale: 0, lookback: time.Hour, timeout: time.Second, settle: 2 * time.Second}
	ok.fo.Prometheus = prom
	with := func(edit func(*cityFlags)) cityFlags { f := ok; edit(&f); return f }
	for _, tc := range []struct {
		name   string
		f      cityFlags
		settle time.Duration
		err    string
	}{
		{"as given", ok, 2 * time.Second, ""},
		{"settle 0 reads at now", with(func(f *cityFlags) { f.settle = 0 }), -1, ""},
		{"no Prometheus", with(func(f *cityFlags) { f.fo.Prometheus = "" }), 0, "city needs --prometheus URL"},
		{"negative stale", with(func(f *cityFlags) { f.stale = -time.Second }), 0, "must be positive durations"},
		{"zero lookback", with(func(f *cityFlags) { f.lookback = 0 }), 0, "must be positive durations"},
		{"zero timeout", with(func(f *cityFlags) { f.timeout = 0 }), 0, "must be positive durations"},
		{"negative settle", with(func(f *cityFlags) { f.settle = -time.Second }), 0, "must be positive durations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fo, err := tc.f.fetchOptions()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || fo.Prometheus != prom || fo.Lookback != tc.f.lookback || fo.Timeout != tc.f.timeout || fo.Settle != tc.settle {
				t.Errorf("fetchOptions() = %+v, %v", fo, err)
			}
		})
	}
}
