package city

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// fakeProm answers /api/v1/query like Prometheus over two exporters,
// A (campus-a:9688, school ok-es) and B (campus-b:9688, school fail-jh).
// B goes away while the city view reads: after the first query is
// answered, B's staleness markers land, stamped markerAt. A query
// evaluated at or after markerAt no longer sees B's last-scrape series
// (last_over_time still does, as in Prometheus); a query without time=
// is evaluated at the server's now.
type fakeProm struct {
	markerAt func(firstQueryAnswered time.Time) time.Time

	mu     sync.Mutex
	landed bool
	marker time.Time
	times  []string // the time= of every query, "" when absent
	order  []string // the queries, in order
}

type fakeSeries struct {
	metric string
	labels map[string]string
	value  float64
	probeB bool
}

// fakeData are the series; the last audits ended a minute ago.
func fakeData() []fakeSeries {
	a := func(m string, v float64, kv ...string) fakeSeries {
		return fakeSeries{m, lbl("kmsprobe", "campus-a:9688", kv...), v, false}
	}
	b := func(m string, v float64, kv ...string) fakeSeries {
		return fakeSeries{m, lbl("kmsprobe", "campus-b:9688", kv...), v, true}
	}
	last := float64(time.Now().Add(-time.Minute).Unix())
	return []fakeSeries{
		a(metricSchoolStatus, 0, "school", "ok-es"),
		a(metricSchoolInfo, 1, "school", "ok-es", "suffix", "ok-es.city.example"),
		a(metricFindingStatus, 0, "school", "ok-es", "check", "dns.srv", "server", "10.0.1.1:53"),
		a(metricInfraStatus, 2, "check", "kms.tcp", "server", "10.0.0.88:1688"),
		a(metricInfraAffects, 2, "check", "kms.tcp", "server", "10.0.0.88:1688"),
		a(metricLastSuccess, last),
		a(metricInterval, 900),
		a("up", 1),
		b(metricSchoolStatus, 2, "school", "fail-jh"),
		b(metricSchoolInfo, 1, "school", "fail-jh", "suffix", "fail-jh.city.example"),
		b(metricFindingStatus, 2, "school", "fail-jh", "check", "dns.srv", "server", "10.0.2.1:53"),
		b(metricFindingStatus, 0, "school", "fail-jh", "check", "dns.srv", "server", "10.0.0.21:53"),
		b(metricSkipped, 1, "school", "fail-jh", "check", "kms.tcp", "server", ""),
		b(metricLastSuccess, last),
		b(metricInterval, 900),
		b("up", 1),
	}
}

var queryRE = regexp.MustCompile(`^(last_over_time\()?([a-z_]+)\{[^}]*\}`)

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q, ts := r.Form.Get("query"), r.Form.Get("time")
	f.mu.Lock()
	f.times = append(f.times, ts)
	f.order = append(f.order, q)
	eval := time.Now()
	if ts != "" {
		secs, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			f.mu.Unlock()
			http.Error(w, "bad time", http.StatusBadRequest)
			return
		}
		eval = time.Unix(0, int64(secs*1e9))
	}
	bGone := f.landed && !eval.Before(f.marker)
	if !f.landed {
		// The markers land once this first answer is on its way.
		f.landed, f.marker = true, f.markerAt(time.Now())
	}
	f.mu.Unlock()

	m := queryRE.FindStringSubmatch(q)
	if m == nil {
		http.Error(w, "unexpected query "+q, http.StatusBadRequest)
		return
	}
	lastOver, metric := m[1] != "", m[2]
	type result struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	res := []result{}
	for _, s := range fakeData() {
		if s.metric != metric {
			continue
		}
		v := s.value
		if s.probeB && bGone && !lastOver {
			if metric != "up" {
				continue // stale: gone from an instant query
			}
			v = 0
		}
		l := map[string]string{"__name__": metric}
		if lastOver {
			l = map[string]string{}
		}
		for k, x := range s.labels {
			l[k] = x
		}
		res = append(res, result{l, [2]any{float64(eval.UnixMilli()) / 1e3, strconv.FormatFloat(v, 'g', -1, 64)}})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": res}})
}

// cityView is what an admin reads per school: status and each finding.
func cityView(r *probe.Report) (map[string]string, map[string]map[string]string, []string) {
	st := map[string]string{}
	fs := map[string]map[string]string{}
	for _, s := range r.Schools {
		st[s.ID] = s.Status.String()
		fs[s.ID] = map[string]string{}
		for _, f := range s.Findings {
			fs[s.ID][f.Check+" @"+f.Server] = f.Status.String()
		}
	}
	var infra []string
	for _, in := range r.Infrastructure {
		infra = append(infra, fmt.Sprintf("%s @%s %s affects %d", in.Check, in.Server, in.Status, in.Affects))
	}
	return st, fs, infra
}

// TestFetchOneSnapshot: B's staleness markers land between the first
// query and the rest. Every query carries the same time=, so either
// every query sees B's last scrape or, when the markers are stamped
// before that time, B's school keeps its last known findings: a failing
// school never shows as unknown or lose its findings. The expected
// values are written out, not derived from the code under test.
func TestFetchOneSnapshot(t *testing.T) {
	tests := []struct {
		name string
		// when the markers are stamped, given when they were written
		markerAt   func(written time.Time) time.Time
		wantStatus map[string]string
		wantFind   map[string]map[string]string
		wantStale  bool
	}{
		{
			name:       "markers stamped after the snapshot time",
			markerAt:   func(written time.Time) time.Time { return written },
			wantStatus: map[string]string{"ok-es": "pass", "fail-jh": "fail"},
			wantFind: map[string]map[string]string{
				"ok-es":   {"dns.srv @10.0.1.1:53": "pass"},
				"fail-jh": {"dns.srv @10.0.2.1:53": "fail", "dns.srv @10.0.0.21:53": "pass", "kms.tcp @": "skip"},
			},
		},
		{
			// A failed scrape's markers carry the scrape's start, before
			// the snapshot time, but are written when it ends: queries
			// after the first see B gone.
			name:       "markers stamped before the snapshot time, written during the read",
			markerAt:   func(time.Time) time.Time { return time.Unix(0, 0) },
			wantStatus: map[string]string{"ok-es": "pass", "fail-jh": "fail"},
			wantFind: map[string]map[string]string{
				"ok-es":   {"dns.srv @10.0.1.1:53": "pass"},
				"fail-jh": {"dns.srv @10.0.2.1:53": "fail", "dns.srv @10.0.0.21:53": "pass", "kms.tcp @": "skip", "probe.stale @": "unknown"},
			},
			wantStale: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := &fakeProm{markerAt: tt.markerAt}
			srv := httptest.NewServer(fp) // 127.0.0.1
			defer srv.Close()
			d, err := Fetch(context.Background(), FetchOptions{Prometheus: srv.URL, Selector: `job="kmsprobe"`, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			fp.mu.Lock()
			times, order := fp.times, fp.order
			fp.mu.Unlock()
			if len(times) < 3 || order[0] != `kmsprobe_school_status{job="kmsprobe"}` {
				t.Fatalf("queries: %q", order)
			}
			for i, ts := range times {
				if ts == "" || ts != times[0] {
					t.Errorf("query %d (%s) has time=%q, want the snapshot's %q", i, order[i], ts, times[0])
				}
			}
			// The snapshot is read behind now by the settle delay.
			secs, _ := strconv.ParseFloat(times[0], 64)
			at := time.Unix(0, int64(secs*1e9))
			if lag := time.Since(at); lag < DefaultSettle || lag > DefaultSettle+5*time.Minute {
				t.Errorf("snapshot time %s is %s behind now, want about %s", at, lag, DefaultSettle)
			}

			rep, _ := Build(d, Options{Stale: 24 * time.Hour})
			st, fs, infra := cityView(rep)
			if diff := cmp.Diff(tt.wantStatus, st); diff != "" {
				t.Errorf("school status (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFind, fs); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"kms.tcp @10.0.0.88:1688 fail affects 2"}, infra); diff != "" {
				t.Errorf("infrastructure (-want +got):\n%s", diff)
			}
			if rep.Incomplete != tt.wantStale {
				t.Errorf("incomplete = %v (%s), want %v", rep.Incomplete, rep.Reason, tt.wantStale)
			}
			if code := rep.ExitCode(); code != finding.Fail.Code() {
				t.Errorf("exit code %d, want 2 (a school fails)", code)
			}
		})
	}
}

// TestFetchErrors: each failure reads as advice, names Prometheus's
// address, and carries no Go package or HTTP method names.
func TestFetchErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // nothing listens there now
	badData := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:25: parse error: unexpected identifier"}`))
	}))
	defer badData.Close()
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer empty.Close()
	tests := []struct {
		name, url, selector string
		want                []string
	}{
		{"not a URL", "prometheus:9090", "", []string{`--prometheus "prometheus:9090" is not a URL like http://`}},
		{"nothing listens", closedURL, "", []string{"cannot query Prometheus at " + closedURL, "connection refused", "/-/ready"}},
		{"bad selector", badData.URL, `job=kmsprobe`, []string{"refused the query", "parse error", "check --selector"}},
		{"no kmsprobe series", empty.URL, `job="kmsprobe"`, []string{"holds no kmsprobe_school_status series", `--selector {job="kmsprobe"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fetch(context.Background(), FetchOptions{Prometheus: tt.url, Selector: tt.selector, Timeout: 10 * time.Second})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, bad := range []string{"Post ", "Get ", "client_error", "v1.", "api:", "city:"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("error shows %q:\n%v", bad, err)
				}
			}
		})
	}
}
