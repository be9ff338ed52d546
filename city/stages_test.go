package city

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/finding"
)

func TestStaleness(t *testing.T) {
	tests := []struct {
		name      string
		p         Probe
		limit     time.Duration // --stale; 0: twice the interval
		wantStale bool
		wantWhy   string
	}{
		{
			name: "fresh within twice the default interval",
			p:    Probe{Up: ptr(true), LastSuccess: now.Add(-2*DefaultInterval + time.Second)},
		},
		{
			name:      "older than twice the default interval",
			p:         Probe{Up: ptr(true), LastSuccess: now.Add(-2*DefaultInterval - time.Second)},
			wantStale: true,
			wantWhy:   "its last complete audit ended 30m1s ago, more than 30m0s",
		},
		{
			name: "exactly at the limit is still fresh",
			p:    Probe{Up: ptr(true), LastSuccess: now.Add(-2 * DefaultInterval)},
		},
		{
			name:      "the probe's own interval",
			p:         Probe{Up: ptr(true), Interval: time.Minute, LastSuccess: now.Add(-150 * time.Second)},
			wantStale: true,
			wantWhy:   "its last complete audit ended 2m30s ago, more than 2m0s",
		},
		{
			name:  "--stale overrides the probe's interval",
			p:     Probe{Up: ptr(true), Interval: time.Minute, LastSuccess: now.Add(-150 * time.Second)},
			limit: time.Hour,
		},
		{
			name:      "--stale tighter than the interval",
			p:         Probe{Up: ptr(true), Interval: time.Hour, LastSuccess: now.Add(-11 * time.Minute)},
			limit:     10 * time.Minute,
			wantStale: true,
			wantWhy:   "its last complete audit ended 11m0s ago, more than 10m0s",
		},
		{
			name:      "age rounded to the second in the reason",
			p:         Probe{Up: ptr(true), LastSuccess: now.Add(-time.Hour - 1400*time.Millisecond)},
			wantStale: true,
			wantWhy:   "its last complete audit ended 1h0m1s ago, more than 30m0s",
		},
		{
			name:      "down outranks a recent success",
			p:         Probe{Up: ptr(false), LastSuccess: now.Add(-time.Second)},
			wantStale: true,
			wantWhy:   "Prometheus cannot scrape it (up == 0)",
		},
		{
			name:      "no up series",
			p:         Probe{LastSuccess: now.Add(-time.Second)},
			wantStale: true,
			wantWhy:   "Prometheus no longer scrapes it (no up series: removed from the targets, or its job was renamed)",
		},
		{
			name:      "up but never completed an audit",
			p:         Probe{Up: ptr(true)},
			wantStale: true,
			wantWhy:   "it has not completed an audit within the lookback window",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stale, why := staleness(&tt.p, now, tt.limit)
			if stale != tt.wantStale || why != tt.wantWhy {
				t.Errorf("staleness = %v, %q; want %v, %q", stale, why, tt.wantStale, tt.wantWhy)
			}
		})
	}
}

func TestPickOwners(t *testing.T) {
	probe := func(inst string, stale bool, age time.Duration) *Probe {
		return &Probe{Job: "kmsprobe", Instance: inst, Stale: stale, LastSuccess: now.Add(-age)}
	}
	status := func(inst string, schools ...string) []Sample {
		var out []Sample
		for _, s := range schools {
			out = append(out, Sample{lbl("kmsprobe", inst, "school", s), 0})
		}
		return out
	}
	tests := []struct {
		name   string
		probes []*Probe
		status []Sample
		want   map[string]string // school -> instance
	}{
		{
			name:   "one probe per school",
			probes: []*Probe{probe("a:9688", false, time.Minute), probe("b:9688", false, time.Minute)},
			status: append(status("a:9688", "s1", "s2"), status("b:9688", "s3")...),
			want:   map[string]string{"s1": "a:9688", "s2": "a:9688", "s3": "b:9688"},
		},
		{
			name:   "fresh beats stale even when the stale one succeeded later",
			probes: []*Probe{probe("central:9688", true, time.Second), probe("campus:9688", false, 10*time.Minute)},
			status: append(status("central:9688", "s1"), status("campus:9688", "s1")...),
			want:   map[string]string{"s1": "campus:9688"},
		},
		{
			name:   "both fresh: the later complete audit",
			probes: []*Probe{probe("a:9688", false, 5*time.Minute), probe("b:9688", false, time.Minute)},
			status: append(status("a:9688", "s1"), status("b:9688", "s1")...),
			want:   map[string]string{"s1": "b:9688"},
		},
		{
			name:   "both stale: the later complete audit",
			probes: []*Probe{probe("a:9688", true, time.Hour), probe("b:9688", true, 2*time.Hour)},
			status: append(status("b:9688", "s1"), status("a:9688", "s1")...),
			want:   map[string]string{"s1": "a:9688"},
		},
		{
			name:   "a tie goes to the first key whatever the series order",
			probes: []*Probe{probe("b:9688", false, time.Minute), probe("a:9688", false, time.Minute)},
			status: append(status("b:9688", "s1"), status("a:9688", "s1")...),
			want:   map[string]string{"s1": "a:9688"},
		},
		{
			name:   "no status series, no owner",
			probes: []*Probe{probe("a:9688", false, time.Minute)},
			want:   map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probes := map[string]*Probe{}
			for _, p := range tt.probes {
				probes[p.Key()] = p
			}
			got := map[string]string{}
			for school, p := range pickOwners(probes, tt.status) {
				got[school] = p.Instance
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	f := func(check string, v float64) Sample {
		return Sample{lbl("kmsprobe", "a:9688", "school", "s1", "check", check, "server", "10.0.0.1:53"), v}
	}
	type got struct {
		Check  string
		Status finding.Status
	}
	tests := []struct {
		name          string
		status, skips []Sample
		want          []got
	}{
		{
			name:   "statuses in series order",
			status: []Sample{f("dns.srv", 0), f("dns.target", 1), f("kms.tcp", 2), f("kms.rpc", 3), f("clock.offset", 7)},
			want:   []got{{"dns.srv", finding.Pass}, {"dns.target", finding.Warn}, {"kms.tcp", finding.Fail}, {"kms.rpc", finding.Unknown}, {"clock.offset", finding.Unknown}},
		},
		{
			name:  "a skip marker alone",
			skips: []Sample{f("kms.tcp", 1)},
			want:  []got{{"kms.tcp", finding.Skip}},
		},
		{
			name:   "an older exporter's 0 beside a skip marker is a skip, after the checks that ran",
			status: []Sample{f("kms.tcp", 0), f("dns.srv", 1)},
			skips:  []Sample{f("kms.tcp", 1)},
			want:   []got{{"dns.srv", finding.Warn}, {"kms.tcp", finding.Skip}},
		},
		{
			name:   "a check that ran and was marked skipped: the run wins",
			status: []Sample{f("kms.tcp", 2)},
			skips:  []Sample{f("kms.tcp", 1)},
			want:   []got{{"kms.tcp", finding.Fail}},
		},
		{
			name:  "a marker held twice is one skip",
			skips: []Sample{f("kms.tcp", 1), f("kms.tcp", 1)},
			want:  []got{{"kms.tcp", finding.Skip}},
		},
		{
			name:   "a marker of 0 is no skip",
			status: []Sample{f("kms.tcp", 0)},
			skips:  []Sample{f("kms.tcp", 0), f("kms.rpc", 0)},
			want:   []got{{"kms.tcp", finding.Pass}},
		},
		{
			name: "nothing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []got
			for _, v := range verdicts(tt.status, tt.skips) {
				out = append(out, got{v.labels["check"], v.status})
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSources: a probe's series come from the last scrape when it has one;
// a school's findings come all from one source.
func TestSources(t *testing.T) {
	d := Data{Current: map[string][]Sample{}, Last: map[string][]Sample{}}
	add := func(m string, current bool, inst string, kv ...string) {
		s := Sample{lbl("kmsprobe", inst, kv...), 1}
		d.Last[m] = append(d.Last[m], s)
		if current {
			d.Current[m] = append(d.Current[m], s)
		}
	}
	add(metricSchoolStatus, true, "up:9688", "school", "s1")
	add(metricSchoolStatus, true, "up:9688", "school", "s2")
	add(metricSchoolStatus, false, "down:9688", "school", "s3")
	add(metricFindingStatus, true, "up:9688", "school", "s1", "check", "dns.srv")
	add(metricFindingStatus, false, "up:9688", "school", "s2", "check", "dns.srv") // vanished mid-snapshot
	add(metricFindingStatus, false, "down:9688", "school", "s3", "check", "dns.srv")
	src := newSources(d)
	names := func(ss []Sample) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Labels["instance"]+" "+s.Labels["school"])
		}
		return out
	}
	if diff := cmp.Diff([]string{"up:9688 s1", "up:9688 s2", "down:9688 s3"}, names(src.series(metricSchoolStatus))); diff != "" {
		t.Errorf("school status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"up:9688 s1", "up:9688 s2", "down:9688 s3"}, names(src.findingSeries(metricFindingStatus))); diff != "" {
		t.Errorf("finding status (-want +got):\n%s", diff)
	}
	// Per probe, the last known finding of s2 would be dropped: the
	// probe has a last scrape, but s2's findings are not in it.
	if diff := cmp.Diff([]string{"up:9688 s1", "down:9688 s3"}, names(src.series(metricFindingStatus))); diff != "" {
		t.Errorf("finding status read per probe (-want +got):\n%s", diff)
	}
}
