package city

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/finding"
)

var now = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func lbl(job, inst string, kv ...string) map[string]string {
	m := map[string]string{"job": job, "instance": inst}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// probeData is one exporter's series: schools with a status each, one
// dns.srv finding per school at a resolver, its last success and up.
type probeData struct {
	inst     string
	up       *bool // nil: no up series
	current  bool  // its series are in the last scrape
	age      time.Duration
	interval time.Duration
	schools  map[string]float64
}

func build(ps []probeData) Data {
	d := Data{At: now, Current: map[string][]Sample{}, Last: map[string][]Sample{}}
	for _, p := range ps {
		add := func(m string, s Sample) {
			d.Last[m] = append(d.Last[m], s)
			if p.current {
				d.Current[m] = append(d.Current[m], s)
			}
		}
		for id, st := range p.schools {
			add(metricSchoolStatus, Sample{lbl("kmsprobe", p.inst, "school", id), st})
			add(metricSchoolInfo, Sample{lbl("kmsprobe", p.inst, "school", id, "suffix", id+".city.example"), 1})
			add(metricFindingStatus, Sample{lbl("kmsprobe", p.inst, "school", id, "check", "dns.srv", "server", "127.0.0.21:53"), st})
		}
		add(metricServerInfo, Sample{lbl("kmsprobe", p.inst, "server", "127.0.0.21:53", "role", "resolver"), 1})
		d.Last[metricLastSuccess] = append(d.Last[metricLastSuccess], Sample{lbl("kmsprobe", p.inst), float64(now.Add(-p.age).Unix())})
		if p.interval > 0 {
			d.Last[metricInterval] = append(d.Last[metricInterval], Sample{lbl("kmsprobe", p.inst), p.interval.Seconds()})
		}
		if p.up != nil {
			v := 0.0
			if *p.up {
				v = 1
			}
			d.Up = append(d.Up, Sample{lbl("kmsprobe", p.inst), v})
		}
	}
	return d
}

func ptr(b bool) *bool { return &b }

type row struct {
	School string
	Status finding.Status
	Checks []string
	Probe  string
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name      string
		probes    []probeData
		stale     time.Duration
		want      []row
		wantStale []string
	}{
		{
			name: "two fresh probes",
			probes: []probeData{
				{inst: "a:9688", up: ptr(true), current: true, age: time.Minute, schools: map[string]float64{"good-jh": 0, "nosrv-es": 2}},
				{inst: "b:9688", up: ptr(true), current: true, age: time.Minute, schools: map[string]float64{"target-hs": 1}},
			},
			want: []row{
				{"good-jh", finding.Pass, []string{"dns.srv"}, "a:9688"},
				{"nosrv-es", finding.Fail, []string{"dns.srv"}, "a:9688"},
				{"target-hs", finding.Warn, []string{"dns.srv"}, "b:9688"},
			},
		},
		{
			name: "down probe keeps its last results, marked stale",
			probes: []probeData{
				{inst: "a:9688", up: ptr(true), current: true, age: time.Minute, schools: map[string]float64{"good-jh": 0}},
				{inst: "b:9688", up: ptr(false), current: false, age: 3 * time.Minute, schools: map[string]float64{"target-hs": 0}},
			},
			want: []row{
				{"good-jh", finding.Pass, []string{"dns.srv"}, "a:9688"},
				{"target-hs", finding.Unknown, []string{"dns.srv", CheckStale}, "b:9688"},
			},
			wantStale: []string{"b:9688"},
		},
		{
			name: "old last success: twice the probe's own interval",
			probes: []probeData{
				{inst: "a:9688", up: ptr(true), current: true, age: 25 * time.Minute, interval: 10 * time.Minute, schools: map[string]float64{"good-jh": 0}},
				{inst: "b:9688", up: ptr(true), current: true, age: 35 * time.Minute, schools: map[string]float64{"port-jh": 2}}, // default interval 15m
			},
			want: []row{
				{"good-jh", finding.Unknown, []string{"dns.srv", CheckStale}, "a:9688"},
				// A failure outranks unknown: the school still pages.
				{"port-jh", finding.Fail, []string{"dns.srv", CheckStale}, "b:9688"},
			},
			wantStale: []string{"a:9688", "b:9688"},
		},
		{
			name:  "--stale overrides the interval",
			stale: time.Hour,
			probes: []probeData{
				{inst: "a:9688", up: ptr(true), current: true, age: 50 * time.Minute, interval: 10 * time.Minute, schools: map[string]float64{"good-jh": 0}},
			},
			want: []row{{"good-jh", finding.Pass, []string{"dns.srv"}, "a:9688"}},
		},
		{
			name: "removed from the targets: no up series",
			probes: []probeData{
				{inst: "gone:9688", up: nil, current: false, age: 2 * time.Hour, schools: map[string]float64{"good-jh": 0}},
			},
			want:      []row{{"good-jh", finding.Unknown, []string{"dns.srv", CheckStale}, "gone:9688"}},
			wantStale: []string{"gone:9688"},
		},
		{
			name: "a school audited twice is shown from the fresh probe",
			probes: []probeData{
				{inst: "central:9688", up: ptr(false), current: false, age: time.Hour, schools: map[string]float64{"good-jh": 2}},
				{inst: "campus:9688", up: ptr(true), current: true, age: time.Minute, schools: map[string]float64{"good-jh": 0}},
			},
			want:      []row{{"good-jh", finding.Pass, []string{"dns.srv"}, "campus:9688"}},
			wantStale: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, probes := Build(build(tt.probes), Options{Stale: tt.stale})
			var got []row
			for _, s := range rep.Schools {
				r := row{School: s.ID, Status: s.Status}
				for _, f := range s.Findings {
					r.Checks = append(r.Checks, f.Check)
					r.Probe = f.Evidence.Value("probe").(string)
					if f.Check == finding.DNSSRV && f.Evidence.Value("role") != "resolver" {
						t.Errorf("%s: dns.srv role = %v, want resolver (the table's columns depend on it)", s.ID, f.Evidence.Value("role"))
					}
				}
				if s.Suffix != s.ID+".city.example" {
					t.Errorf("%s: suffix %q", s.ID, s.Suffix)
				}
				got = append(got, r)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("schools (-want +got):\n%s", diff)
			}
			var stale []string
			for _, p := range probes {
				if p.Stale && len(p.Schools) > 0 {
					stale = append(stale, p.Instance)
				}
			}
			if tt.wantStale == nil {
				tt.wantStale = []string{}
			}
			if stale == nil {
				stale = []string{}
			}
			if diff := cmp.Diff(tt.wantStale, stale); diff != "" {
				t.Errorf("stale probes (-want +got):\n%s", diff)
			}
			if rep.Incomplete != (len(stale) > 0) {
				t.Errorf("Incomplete = %v with stale probes %v", rep.Incomplete, stale)
			}
		})
	}
}

func TestBuildSkip(t *testing.T) {
	d := build([]probeData{{inst: "a:9688", up: ptr(true), current: true, age: time.Minute, schools: map[string]float64{"nosrv-es": 2}}})
	kms := Sample{lbl("kmsprobe", "a:9688", "school", "nosrv-es", "check", "kms.tcp", "server", ""), 0}
	d.Current[metricFindingStatus] = append(d.Current[metricFindingStatus], kms)
	d.Current[metricSkipped] = append(d.Current[metricSkipped], Sample{kms.Labels, 1})
	rep, _ := Build(d, Options{})
	var got []finding.Status
	for _, f := range rep.Schools[0].Findings {
		got = append(got, f.Status)
	}
	if diff := cmp.Diff([]finding.Status{finding.Fail, finding.Skip}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}
