package exporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

// deadCity is one school whose own DNS server and city resolver never
// answer, with a generous per-attempt timeout: an audit left alone would
// take seconds, so only the budget can make it quick.
func deadCity(t *testing.T) *config.Config {
	t.Helper()
	var addrs []string
	for _, ip := range []string{"127.0.0.61", "127.0.0.62"} {
		s, err := sim.Listen(ip, sim.Records{}, sim.Dead)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		addrs = append(addrs, s.Addr)
	}
	y := fmt.Sprintf(`version: 1
kms: {host: kms.city.example, port: 1688}
resolvers: [%s]
probe: {timeout: 3s, attempts: 2, concurrency: 8}
schools:
  - id: dead-jh
    suffix: dead-jh.city.example
    dns: [%s]
`, addrs[0], addrs[1])
	cfg, err := config.Parse("test", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestBudget(t *testing.T) {
	tests := []struct {
		header  string
		want    time.Duration
		wantErr bool
	}{
		{"", DefaultProbeTimeout, false},
		{"10", 9500 * time.Millisecond, false},
		{"1", 750 * time.Millisecond, false},
		{"0.4", 300 * time.Millisecond, false},
		// The caller's word is capped: a day-long budget would hold a
		// probe slot for a day.
		{"86400", DefaultMaxBudget, false},
		{"1e300", DefaultMaxBudget, false},
		{"60", 59500 * time.Millisecond, false},
		{"abc", 0, true},
		{"-1", 0, true},
		{"0", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set(ScrapeTimeoutHeader, tt.header)
			}
			got, err := Budget(h, DefaultProbeTimeout, DefaultMaxBudget)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("budget (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeHonoursBudget: a dead school, a 1 s scrape timeout. The legs
// never return on their own, so an answer at all proves the budget ended
// the audit; the legs' deadline shows it was the scrape's budget (0.75 s
// after the request at the earliest), not the 30 s default. No wall-clock
// bound on the answer itself: on a loaded machine it may come late.
func TestProbeHonoursBudget(t *testing.T) {
	cfg := deadCity(t)
	deadlines := make(chan time.Time, 4)
	hang := func(ctx context.Context) {
		if dl, ok := ctx.Deadline(); ok {
			select {
			case deadlines <- dl:
			default:
			}
		}
		<-ctx.Done()
	}
	kms := probe.LegFunc(func(ctx context.Context, addr string) []finding.Finding { hang(ctx); return nil })
	clock := probe.LegFunc(func(ctx context.Context, _ string) []finding.Finding { hang(ctx); return nil })
	x, err := New(cfg, Options{Legs: probe.Legs{KMS: kms, Clock: clock}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/probe?school=dead-jh", nil)
	req.Header.Set(ScrapeTimeoutHeader, "1")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	select {
	case dl := <-deadlines:
		if d := dl.Sub(start); d < 750*time.Millisecond || d > 10*time.Second {
			t.Errorf("the legs' deadline was %s after the request, want the 0.75 s budget of a 1 s scrape timeout (plus scheduling delay), not the 30 s default", d)
		}
	default:
		t.Error("the clock leg never ran with a deadline")
	}
	for _, want := range []string{
		"kmsprobe_probe_success 0",
		`kmsprobe_school_status{school="dead-jh"} `,
		"kmsprobe_audit_complete 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/probe output lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), AuditLastSuccess) {
		t.Errorf("an incomplete probe must not claim a last success:\n%s", body)
	}
}

func TestProbeSuccessOnSimCity(t *testing.T) {
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	x, err := New(city.Config, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/probe?school=nosrv-es", nil)
	req.Header.Set(ScrapeTimeoutHeader, "10")
	body := get(t, req, http.StatusOK)
	for _, want := range []string{
		"kmsprobe_probe_success 1",
		`kmsprobe_school_status{school="nosrv-es"} 2`,
		`kmsprobe_school_info{school="nosrv-es",suffix="nosrv-es.city.example"} 1`,
		"kmsprobe_probe_duration_seconds ",
		AuditLastSuccess + " ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/probe output lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `school="good-jh"`) {
		t.Errorf("/probe?school=nosrv-es reported another school:\n%s", body)
	}
	if strings.Contains(body, "go_goroutines") {
		t.Errorf("/probe must use a fresh registry, without the process metrics:\n%s", body)
	}
}

func TestEndpoints(t *testing.T) {
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	x, err := New(city.Config, Options{Schools: []string{"good-jh", "port-jh"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	req := func(path string, h ...string) *http.Request {
		r, _ := http.NewRequest("GET", srv.URL+path, nil)
		if len(h) == 2 {
			r.Header.Set(h[0], h[1])
		}
		return r
	}

	// Before the first audit: no school series, and the report is not
	// there yet.
	if body := get(t, req("/metrics"), http.StatusOK); strings.Contains(body, SchoolStatus) || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_") {
		t.Errorf("/metrics before the first audit:\n%.2000s", body)
	}
	get(t, req("/report.json"), http.StatusServiceUnavailable)

	x.AuditOnce(context.Background())
	body := get(t, req("/metrics"), http.StatusOK)
	for _, want := range []string{`kmsprobe_school_status{school="good-jh"} 0`, `kmsprobe_school_status{school="port-jh"} 2`, "kmsprobe_audit_last_success_timestamp_seconds ", "kmsprobe_audit_interval_seconds 900"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `school="nosrv-es"`) {
		t.Error("/metrics has a school outside --school")
	}
	rep, err := probe.ReadJSON(strings.NewReader(get(t, req("/report.json"), http.StatusOK)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Schools != 2 {
		t.Errorf("report.json has %d schools, want 2", rep.Summary.Schools)
	}
	get(t, req("/healthz"), http.StatusOK)
	get(t, req("/"), http.StatusOK)
	if body := get(t, req("/probes"), http.StatusOK); !strings.Contains(body, `href="probe?school=good-jh"`) {
		t.Errorf("/probes lacks the link to audit good-jh:\n%s", body)
	}
	get(t, req("/probe"), http.StatusBadRequest)
	get(t, req("/probe?school=nowhere"), http.StatusBadRequest)
	get(t, req("/probe?school=good-jh", ScrapeTimeoutHeader, "soon"), http.StatusBadRequest)
	get(t, req("/nothing"), http.StatusNotFound)
}

func get(t *testing.T, r *http.Request, status int) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", r.URL.Path, resp.StatusCode, status, b)
	}
	return string(b)
}

// TestNeverTwoAtOnce: while an audit runs, another start is a no-op.
func TestNeverTwoAtOnce(t *testing.T) {
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	var calls atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	clock := func(ctx context.Context) []finding.Finding {
		calls.Add(1)
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []finding.Finding{{Check: finding.ClockOffset, Server: "127.0.0.123:123", Evidence: finding.EvidenceMap(map[string]any{"offset_s": 0.5})}}
	}
	x, err := New(city.Config, Options{Schools: []string{"good-jh"}, Legs: probe.Legs{Clock: probe.LegFunc(func(ctx context.Context, _ string) []finding.Finding { return clock(ctx) })}, Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { x.AuditOnce(context.Background()); close(done) }()
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the first audit did not reach the clock leg")
	}
	x.AuditOnce(context.Background()) // must return at once
	close(release)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the first audit did not finish")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d audits ran, want 1", n)
	}
	if got := FromReport(x.Snapshot().Report).Clock; got["127.0.0.123:123"] != 0.5 {
		t.Errorf("clock offset series = %v", got)
	}
}

// TestRunStopsOnCancel: the loop ends promptly on shutdown.
func TestRunStopsOnCancel(t *testing.T) {
	cfg := deadCity(t)
	// The clock leg returns only when its context ends: if shutdown did
	// not reach the running audit, Run would never return.
	entered := make(chan struct{}, 1)
	clock := func(ctx context.Context) []finding.Finding {
		entered <- struct{}{}
		<-ctx.Done()
		return nil
	}
	x, err := New(cfg, Options{Interval: time.Hour, Legs: probe.Legs{Clock: probe.LegFunc(func(ctx context.Context, _ string) []finding.Finding { return clock(ctx) })}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.Run(ctx); close(done) }()
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the audit did not start within a minute")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not stop within a minute of cancellation (the hour-long interval and the hanging leg would keep it forever)")
	}
	if x.Snapshot().Report != nil {
		t.Error("an audit cut short by shutdown was published")
	}
}

// blockingClock is a clock leg that holds its audit until release is
// closed (or the audit's context ends), announcing each start on entered.
func blockingClock(entered chan<- struct{}, release <-chan struct{}, calls *atomic.Int32) probe.Leg {
	return probe.LegFunc(func(ctx context.Context, _ string) []finding.Finding {
		calls.Add(1)
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []finding.Finding{{Check: finding.ClockOffset, Server: "127.0.0.123:123", Evidence: finding.EvidenceMap(map[string]any{"offset_s": 0.1})}}
	})
}

// TestProbeQueueBounded: 200 concurrent /probe requests against one
// slot and a queue of one: one audit runs, one waits, 198 are refused at
// once with 503 and Retry-After, and the refusals are counted.
func TestProbeQueueBounded(t *testing.T) {
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	var calls atomic.Int32
	entered := make(chan struct{}, 300)
	release := make(chan struct{})
	x, err := New(city.Config, Options{MaxProbes: 1, Queue: 1, MaxBudget: 2 * time.Minute,
		Legs: probe.Legs{Clock: blockingClock(entered, release, &calls)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()

	const n = 200
	type result struct {
		status     int
		retryAfter string
	}
	results := make(chan result, n)
	client := &http.Client{Timeout: 2 * time.Minute}
	for range n {
		go func() {
			req, _ := http.NewRequest("GET", srv.URL+"/probe?school=good-jh", nil)
			req.Header.Set(ScrapeTimeoutHeader, "86400")
			resp, err := client.Do(req)
			if err != nil {
				results <- result{status: -1, retryAfter: err.Error()}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, resp.Header.Get("Retry-After")}
		}()
	}
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatal("no /probe audit started within 60 s")
	}
	// Everything but the running and the waiting request is answered
	// while the running one is still held: refusal does not wait.
	for i := range n - 2 {
		select {
		case r := <-results:
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("request %d: status %d (%s), want 503 while the slot and the queue are full", i, r.status, r.retryAfter)
			}
			if r.retryAfter != "120" {
				t.Errorf("Retry-After %q, want 120 (the longest a slot stays busy)", r.retryAfter)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("only %d of %d excess requests were refused within 60 s", i, n-2)
		}
	}
	if got := len(x.admit); got != 2 {
		t.Errorf("%d requests admitted, want 1 running + 1 queued", got)
	}
	close(release)
	for range 2 {
		select {
		case r := <-results:
			if r.status != http.StatusOK {
				t.Errorf("admitted request: status %d, want 200", r.status)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("admitted requests did not finish within 60 s of the release")
		}
	}
	if c := calls.Load(); c != 2 {
		t.Errorf("%d audits ran, want 2 (the running and the queued request)", c)
	}
	body := get(t, mustReq(srv.URL+"/metrics"), http.StatusOK)
	for _, want := range []string{
		`kmsprobe_probe_rejected_total{reason="queue_full"} 198`,
		`kmsprobe_probe_rejected_total{reason="budget"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestProbeBudgetCapped: a caller announcing a day-long scrape timeout
// gets the configured maximum, not a day.
func TestProbeBudgetCapped(t *testing.T) {
	cfg := deadCity(t)
	slow := func(ctx context.Context, addr string) []finding.Finding {
		<-ctx.Done()
		return nil
	}
	x, err := New(cfg, Options{Legs: probe.Legs{KMS: probe.LegFunc(slow)}, MaxBudget: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	req := mustReq(srv.URL + "/probe?school=dead-jh")
	req.Header.Set(ScrapeTimeoutHeader, "86400")
	done := make(chan string, 1)
	go func() { done <- get(t, req, http.StatusOK) }()
	select {
	case body := <-done:
		if !strings.Contains(body, "kmsprobe_probe_success 0") {
			t.Errorf("a probe cut at the cap must not succeed:\n%s", body)
		}
	case <-time.After(45 * time.Second):
		// A 1 s cap answered after 45 s even at load average 10 means
		// the header's day was obeyed.
		t.Fatal("/probe with a 86400 s scrape timeout ignored the 1 s cap")
	}
}

func mustReq(url string) *http.Request {
	r, err := http.NewRequest("GET", url, nil)
	if err != nil {
		panic(err)
	}
	return r
}

// TestIncompleteAuditKeepsLastSuccess: an audit cut short by its deadline
// is published (its unknowns are news) but does not advance
// kmsprobe_audit_last_success_timestamp_seconds, or the staleness alert
// would never fire for a probe whose audits never finish.
func TestIncompleteAuditKeepsLastSuccess(t *testing.T) {
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	var hang atomic.Bool
	clock := func(ctx context.Context) []finding.Finding {
		if hang.Load() {
			<-ctx.Done()
			return nil
		}
		return []finding.Finding{{Check: finding.ClockOffset, Server: "127.0.0.123:123", Evidence: finding.EvidenceMap(map[string]any{"offset_s": 0.1})}}
	}
	t1 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	var now atomic.Pointer[time.Time]
	now.Store(&t1)
	x, err := New(city.Config, Options{Schools: []string{"good-jh"}, Interval: 2 * time.Second,
		Legs: probe.Legs{Clock: probe.LegFunc(func(ctx context.Context, _ string) []finding.Finding { return clock(ctx) })}, Now: func() time.Time { return *now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	x.AuditOnce(context.Background())
	first := x.Snapshot()
	if first.Report == nil || first.Report.Incomplete {
		t.Fatalf("the first audit should complete: %+v", first.Report)
	}
	if first.LastSuccess.Before(t1) || first.LastSuccess.After(t1.Add(time.Hour)) {
		t.Fatalf("last success %s, want shortly after %s", first.LastSuccess, t1)
	}

	hang.Store(true)
	now.Store(&t2)
	x.AuditOnce(context.Background())
	second := x.Snapshot()
	if second.Report == nil || !second.Report.Incomplete {
		t.Fatalf("the hanging audit should be published as incomplete: %+v", second.Report)
	}
	if !second.LastSuccess.Equal(first.LastSuccess) {
		t.Errorf("an incomplete audit moved the last success from %s to %s", first.LastSuccess, second.LastSuccess)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	body := get(t, mustReq(srv.URL+"/metrics"), http.StatusOK)
	wantTS := fmt.Sprintf("%s %s", AuditLastSuccess, strconv.FormatFloat(float64(first.LastSuccess.UnixNano())/1e9, 'g', -1, 64))
	for _, want := range []string{"kmsprobe_audit_complete 0", wantTS} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestProbeBudgetRunsOutWhileQueued: a queued request whose scrape budget
// ends before a slot frees up is answered (probe_success 0) and counted.
func TestProbeBudgetRunsOutWhileQueued(t *testing.T) {
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer city.Close()
	var calls atomic.Int32
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	x, err := New(city.Config, Options{MaxProbes: 1, Queue: 1, Legs: probe.Legs{Clock: blockingClock(entered, release, &calls)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	first := make(chan string, 1)
	go func() { first <- get(t, mustReq(srv.URL+"/probe?school=good-jh"), http.StatusOK) }()
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the first audit did not start")
	}
	req := mustReq(srv.URL + "/probe?school=good-jh")
	req.Header.Set(ScrapeTimeoutHeader, "1")
	body := get(t, req, http.StatusOK)
	if !strings.Contains(body, "kmsprobe_probe_success 0") {
		t.Errorf("the queued request that ran out of budget must not succeed:\n%s", body)
	}
	close(release)
	<-first
	if c := calls.Load(); c != 1 {
		t.Errorf("%d audits ran, want 1: the queued request never got a slot", c)
	}
	m := get(t, mustReq(srv.URL+"/metrics"), http.StatusOK)
	for _, want := range []string{`kmsprobe_probe_rejected_total{reason="budget"} 1`, `kmsprobe_probe_rejected_total{reason="queue_full"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
