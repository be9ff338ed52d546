package exporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
		{"abc", 0, true},
		{"-1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set(ScrapeTimeoutHeader, tt.header)
			}
			got, err := Budget(h, DefaultProbeTimeout)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("budget (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeHonoursBudget: a dead school, a 1 s scrape timeout; the
// answer must come within it and say the probe did not succeed.
func TestProbeHonoursBudget(t *testing.T) {
	cfg := deadCity(t)
	// A KMS leg that would hang forever if it ignored its context.
	slow := func(ctx context.Context, addr string) []finding.Finding {
		<-ctx.Done()
		return nil
	}
	x, err := New(cfg, Options{Legs: probe.Legs{KMS: probe.LegFunc(slow)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/probe?school=dead-jh", nil)
	req.Header.Set(ScrapeTimeoutHeader, "1")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if took > time.Second {
		t.Errorf("/probe answered after %s, beyond the 1 s scrape timeout", took)
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
		return []finding.Finding{{Check: finding.ClockOffset, Server: "127.0.0.123:123", Evidence: finding.Evidence{"offset_s": 0.5}}}
	}
	x, err := New(city.Config, Options{Schools: []string{"good-jh"}, Legs: probe.Legs{Clock: probe.LegFunc(func(ctx context.Context, _ string) []finding.Finding { return clock(ctx) })}, Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { x.AuditOnce(context.Background()); close(done) }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first audit did not reach the clock leg")
	}
	x.AuditOnce(context.Background()) // must return at once
	close(release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
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
	x, err := New(cfg, Options{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.Run(ctx); close(done) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop within 2 s of cancellation")
	}
	if x.Snapshot().Report != nil {
		t.Error("an audit cut short by shutdown was published")
	}
}
