package city

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenSeries is one scenario's series, written out label by label so
// the golden file pins every rule of Build at once: which source a
// school's findings come from, owners, skip markers, staleness, shared
// servers and the wording of every finding.
type goldenSeries struct {
	metric  string
	current bool // also in the last scrape
	value   float64
	labels  []string // job, instance, then key/value pairs
}

func goldenData(at time.Time, ss []goldenSeries, up map[string]float64, lastSuccess map[string]time.Duration, interval map[string]time.Duration) Data {
	d := Data{At: at, Current: map[string][]Sample{}, Last: map[string][]Sample{}, Prometheus: "http://prometheus.test:9090", LookbackTxt: "7d"}
	for _, s := range ss {
		smp := Sample{lbl(s.labels[0], s.labels[1], s.labels[2:]...), s.value}
		d.Last[s.metric] = append(d.Last[s.metric], smp)
		if s.current {
			d.Current[s.metric] = append(d.Current[s.metric], smp)
		}
	}
	for _, k := range sortedKeys(up) {
		d.Up = append(d.Up, Sample{lbl("kmsprobe", k), up[k]})
	}
	for _, k := range sortedKeys(lastSuccess) {
		d.Last[metricLastSuccess] = append(d.Last[metricLastSuccess], Sample{lbl("kmsprobe", k), float64(at.Add(-lastSuccess[k]).Unix())})
	}
	for _, k := range sortedKeys(interval) {
		d.Last[metricInterval] = append(d.Last[metricInterval], Sample{lbl("kmsprobe", k), interval[k].Seconds()})
	}
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestBuildGolden pins Build's whole output (report and probes) for
// scenarios that exercise every stage together.
func TestBuildGolden(t *testing.T) {
	const k = "kmsprobe"
	cfg := &config.Config{Schools: []config.School{
		{ID: "good-jh", Name: "示範國中", Suffix: "good-jh.kh.edu.tw"},
		{ID: "twice-es", Name: "重複國小", Suffix: "twice-es.kh.edu.tw"},
	}}
	scenarios := []struct {
		name        string
		series      []goldenSeries
		up          map[string]float64
		lastSuccess map[string]time.Duration
		interval    map[string]time.Duration
		opts        Options
	}{
		{
			name: "fresh, stale and vanished probes with shared servers",
			series: []goldenSeries{
				// campus-a: fresh, audits good-jh and twice-es.
				{metricSchoolStatus, true, 1, []string{k, "campus-a:9688", "school", "good-jh"}},
				{metricSchoolStatus, true, 0, []string{k, "campus-a:9688", "school", "twice-es"}},
				{metricSchoolInfo, true, 1, []string{k, "campus-a:9688", "school", "good-jh", "suffix", "good-jh.kh.edu.tw"}},
				{metricServerInfo, true, 1, []string{k, "campus-a:9688", "server", "10.0.0.1:53", "role", "school"}},
				{metricServerInfo, true, 1, []string{k, "campus-a:9688", "server", "163.28.136.21:53", "role", "resolver"}},
				{metricFindingStatus, true, 0, []string{k, "campus-a:9688", "school", "good-jh", "check", "dns.srv", "server", "163.28.136.21:53"}},
				{metricFindingStatus, true, 1, []string{k, "campus-a:9688", "school", "good-jh", "check", "dns.srv", "server", "10.0.0.1:53"}},
				{metricFindingStatus, true, 3, []string{k, "campus-a:9688", "school", "good-jh", "check", "clock.offset", "server", "10.0.0.123:123"}},
				{metricFindingStatus, true, 2, []string{k, "campus-a:9688", "school", "good-jh", "check", "kms.rpc", "server", "10.0.0.88:1688"}},
				{metricFindingStatus, true, 0, []string{k, "campus-a:9688", "school", "good-jh", "check", "dhcp.offer", "server", ""}},
				// An older exporter's 0 beside a skip marker is a skip.
				{metricFindingStatus, true, 0, []string{k, "campus-a:9688", "school", "good-jh", "check", "kms.tcp", "server", ""}},
				{metricSkipped, true, 1, []string{k, "campus-a:9688", "school", "good-jh", "check", "kms.tcp", "server", ""}},
				// A check that ran and was marked skipped: the run wins.
				{metricFindingStatus, true, 1, []string{k, "campus-a:9688", "school", "good-jh", "check", "dns.target", "server", "10.0.0.1:53"}},
				{metricSkipped, true, 1, []string{k, "campus-a:9688", "school", "good-jh", "check", "dns.target", "server", "10.0.0.1:53"}},
				// twice-es: the campus box's findings vanished from the last
				// scrape, so the last known ones stand.
				{metricFindingStatus, false, 2, []string{k, "campus-a:9688", "school", "twice-es", "check", "dns.srv", "server", "10.0.0.2:53"}},
				{metricInfraStatus, true, 1, []string{k, "campus-a:9688", "check", "dns.srv", "server", "163.28.136.22:53"}},
				{metricInfraAffects, true, 4, []string{k, "campus-a:9688", "check", "dns.srv", "server", "163.28.136.22:53"}},
				{metricInfraStatus, true, 2, []string{k, "campus-a:9688", "check", "kms.tcp", "server", "10.0.0.88:1688"}},
				{metricInfraAffects, true, 2, []string{k, "campus-a:9688", "check", "kms.tcp", "server", "10.0.0.88:1688"}},

				// central: fresh too, audits twice-es with an older
				// success (loses it to campus-a) and reports the same
				// shared server worse, for more schools.
				{metricSchoolStatus, true, 2, []string{k, "central:9688", "school", "twice-es"}},
				{metricFindingStatus, true, 2, []string{k, "central:9688", "school", "twice-es", "check", "dns.srv", "server", "10.0.0.2:53"}},
				{metricInfraStatus, true, 2, []string{k, "central:9688", "check", "dns.srv", "server", "163.28.136.22:53"}},
				{metricInfraAffects, true, 9, []string{k, "central:9688", "check", "dns.srv", "server", "163.28.136.22:53"}},
				{metricInfraStatus, true, 1, []string{k, "central:9688", "check", "kms.tcp", "server", "10.0.0.88:1688"}},
				{metricInfraAffects, true, 1, []string{k, "central:9688", "check", "kms.tcp", "server", "10.0.0.88:1688"}},

				// down: up == 0, last known values only; its shared
				// server fault is old news while others are fresh.
				{metricSchoolStatus, false, 2, []string{k, "down:9688", "school", "down-es"}},
				{metricSchoolInfo, false, 1, []string{k, "down:9688", "school", "down-es", "suffix", "down-es.kh.edu.tw"}},
				{metricFindingStatus, false, 2, []string{k, "down:9688", "school", "down-es", "check", "kms.rpc", "server", "10.0.0.88:1688"}},
				{metricSkipped, false, 1, []string{k, "down:9688", "school", "down-es", "check", "clock.offset", "server", ""}},
				{metricInfraStatus, false, 3, []string{k, "down:9688", "check", "clock.offset", "server", "10.0.0.123:123"}},
				{metricInfraAffects, false, 1, []string{k, "down:9688", "check", "clock.offset", "server", "10.0.0.123:123"}},

				// The /probe pattern: the instance is the school; no up series.
				{metricSchoolStatus, false, 0, []string{k, "gone-hs", "school", "gone-hs"}},
				{metricFindingStatus, false, 0, []string{k, "gone-hs", "school", "gone-hs", "check", "dns.srv", "server", "10.0.0.3:53"}},

				// Other jobs' up series are none of the city's business.
			},
			up:          map[string]float64{"campus-a:9688": 1, "central:9688": 1, "down:9688": 0, "node:9100": 1},
			lastSuccess: map[string]time.Duration{"campus-a:9688": time.Minute, "central:9688": 5 * time.Minute, "down:9688": 3 * time.Hour, "gone-hs": 2 * time.Hour},
			interval:    map[string]time.Duration{"campus-a:9688": 10 * time.Minute},
			opts:        Options{Config: cfg},
		},
		{
			name: "every probe stale: the worst stale view of a shared server stands",
			series: []goldenSeries{
				{metricSchoolStatus, true, 2, []string{k, "a:9688", "school", "good-jh"}},
				{metricFindingStatus, true, 2, []string{k, "a:9688", "school", "good-jh", "check", "dns.srv", "server", "10.0.0.1:53"}},
				{metricInfraStatus, true, 1, []string{k, "a:9688", "check", "dns.srv", "server", "163.28.136.21:53"}},
				{metricInfraAffects, true, 3, []string{k, "a:9688", "check", "dns.srv", "server", "163.28.136.21:53"}},
				{metricSchoolStatus, true, 1, []string{k, "b:9688", "school", "twice-es"}},
				{metricInfraStatus, true, 2, []string{k, "b:9688", "check", "dns.srv", "server", "163.28.136.21:53"}},
				{metricInfraAffects, true, 1, []string{k, "b:9688", "check", "dns.srv", "server", "163.28.136.21:53"}},
			},
			up:          map[string]float64{"a:9688": 1, "b:9688": 1},
			lastSuccess: map[string]time.Duration{"a:9688": 50 * time.Minute, "b:9688": 40 * time.Minute},
			opts:        Options{Stale: 30 * time.Minute},
		},
		{
			name: "a probe that never completed an audit",
			series: []goldenSeries{
				{metricSchoolStatus, true, 3, []string{k, "new:9688", "school", "good-jh"}},
				{metricFindingStatus, true, 3, []string{k, "new:9688", "school", "good-jh", "check", "dns.srv", "server", "10.0.0.1:53"}},
			},
			up:   map[string]float64{"new:9688": 1},
			opts: Options{Config: cfg},
		},
	}
	type out struct {
		Name   string
		Report any
		Probes any
	}
	var got []out
	for _, sc := range scenarios {
		rep, probes := Build(goldenData(now, sc.series, sc.up, sc.lastSuccess, sc.interval), sc.opts)
		got = append(got, out{sc.name, rep, probes})
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	golden := "testdata/build.golden.json"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("Build's output differs from %s (-want +got); run go test ./city -update if the change is intended:\n%s", golden, diff)
	}
}
