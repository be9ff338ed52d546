package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/city"
	"github.com/kh-edu/kmsprobe/exporter"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

// TestCityFromPrometheus: a real Prometheus scrapes two exporters, each
// auditing half of the simulated city on 127.0.0.0/8; kmsprobe city
// renders both halves as one table, and marks the half whose exporter
// stops as stale while keeping its last results.
func TestCityFromPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with a real Prometheus; skipped with -short")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("the prometheus binary is not installed (apt-get install prometheus); skipping the Prometheus integration test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	sc, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var ids []string
	for _, s := range sc.Config.Schools {
		ids = append(ids, s.ID)
	}
	halves := [][]string{ids[:len(ids)/2], ids[len(ids)/2:]}
	var (
		xs    []*exporter.Exporter
		srvs  []*httptest.Server
		stops []context.CancelFunc
	)
	for _, h := range halves {
		x, err := exporter.New(sc.Config, exporter.Options{Schools: h, Interval: 2 * time.Second, Hostname: "test"})
		if err != nil {
			t.Fatal(err)
		}
		xctx, stop := context.WithCancel(ctx)
		go x.Run(xctx)
		srv := httptest.NewServer(x.Handler()) // 127.0.0.1
		xs, srvs, stops = append(xs, x), append(srvs, srv), append(stops, stop)
	}
	defer func() {
		for i := range srvs {
			stops[i]()
			srvs[i].Close()
		}
	}()
	instA, instB := strings.TrimPrefix(srvs[0].URL, "http://"), strings.TrimPrefix(srvs[1].URL, "http://")

	promURL := startPrometheus(t, ctx, promBin, instA, instB)

	// Wait until Prometheus holds a complete audit of both halves.
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := city.Fetch(ctx, city.FetchOptions{Prometheus: promURL, Selector: `job="kmsprobe"`, Timeout: 5 * time.Second})
		if err == nil && len(d.Current[exporter.SchoolStatus]) == len(ids) && len(d.Last[exporter.AuditLastSuccess]) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape both exporters within 60 s (last error: %v)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// What the exporters themselves know, reduced the way the series are.
	want := map[string]schoolView{}
	for i, x := range xs {
		inst := []string{instA, instB}[i]
		rep := x.Snapshot().Report
		m := exporter.FromReport(rep)
		for _, s := range rep.Schools {
			v := schoolView{Status: s.Status.Code(), Suffix: s.Suffix, Probe: inst, Findings: map[string]int{}}
			for _, f := range m.Findings {
				if f.School == s.ID {
					v.Findings[f.Check+" @"+f.Server] = f.Status.Code()
				}
			}
			want[s.ID] = v
		}
	}

	args := []string{"--prometheus", promURL, "--selector", `job="kmsprobe"`, "--stale", "1m"}
	rep, code, _ := runCityJSON(t, ctx, args)
	if diff := cmp.Diff(want, views(rep)); diff != "" {
		t.Errorf("city report differs from the exporters' own (-want +got):\n%s", diff)
	}
	if rep.Incomplete {
		t.Errorf("fresh probes reported stale: %s", rep.Reason)
	}
	if wantCode := worstCode(want); code != wantCode {
		t.Errorf("exit %d, want %d", code, wantCode)
	}

	// The table, as an admin reads it.
	var out, errb bytes.Buffer
	runCity(ctx, &env{Stdout: &out, Stderr: &errb}, append(args, "--format", "table"))
	table := out.String()
	for _, id := range ids {
		if !strings.Contains(table, id) {
			t.Errorf("table lacks school %s:\n%s", id, table)
		}
	}
	if !strings.Contains(table, "FAIL") || !strings.Contains(table, "Probes (from Prometheus):") || strings.Contains(table, "STALE") {
		t.Errorf("table:\n%s\nstderr: %s", table, errb.String())
	}
	t.Logf("city table:\n%s", table)

	// Exporter B goes away: its schools stay, marked stale, with their
	// last findings.
	stops[1]()
	srvs[1].Close()
	deadline = time.Now().Add(30 * time.Second)
	for {
		rep, _, _ = runCityJSON(t, ctx, args)
		if rep.Incomplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("kmsprobe city did not mark the stopped exporter stale within 30 s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	got := views(rep)
	for _, id := range halves[1] {
		if !slicesContains(got[id].Stale, instB) {
			t.Errorf("school %s of the stopped exporter is not marked stale: %+v", id, got[id])
		}
		if diff := cmp.Diff(want[id].Findings, got[id].Findings); diff != "" {
			t.Errorf("school %s lost its last findings (-want +got):\n%s", id, diff)
		}
	}
	for _, id := range halves[0] {
		if len(got[id].Stale) > 0 {
			t.Errorf("school %s of the running exporter is marked stale", id)
		}
	}
	if !strings.Contains(rep.Reason, instB) {
		t.Errorf("reason %q does not name %s", rep.Reason, instB)
	}
}

type schoolView struct {
	Status   int
	Suffix   string
	Probe    string
	Findings map[string]int
	Stale    []string `cmp:"-"`
}

func views(r *probe.Report) map[string]schoolView {
	out := map[string]schoolView{}
	for _, s := range r.Schools {
		v := schoolView{Suffix: s.Suffix, Findings: map[string]int{}}
		for _, f := range s.Findings {
			if f.Check == city.CheckStale {
				v.Stale = append(v.Stale, f.Evidence["probe"].(string))
				continue
			}
			v.Findings[f.Check+" @"+f.Server] = f.Status.Code()
			v.Probe, _ = f.Evidence["probe"].(string)
		}
		// The school's status without the stale marker, to compare with
		// what the exporter said.
		var fs []finding.Finding
		for _, f := range s.Findings {
			if f.Check != city.CheckStale {
				fs = append(fs, f)
			}
		}
		v.Status = finding.Worst(fs).Code()
		if len(v.Stale) == 0 {
			v.Stale = nil
		}
		out[s.ID] = v
	}
	return out
}

func worstCode(m map[string]schoolView) int {
	w := 0
	for _, v := range m {
		// Codes order like severity except unknown (3) below fail (2).
		if v.Status == 2 || (v.Status > w && w != 2) {
			w = v.Status
		}
	}
	return w
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func runCityJSON(t *testing.T, ctx context.Context, args []string) (*probe.Report, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runCity(ctx, &env{Stdout: &out, Stderr: &errb}, append(args, "--format", "json"))
	rep, err := probe.ReadJSON(&out)
	if err != nil {
		t.Fatalf("kmsprobe city --format json (exit %d): %v\nstderr: %s", code, err, errb.String())
	}
	return rep, code, errb.String()
}

// startPrometheus runs Prometheus on 127.0.0.1 with a temporary
// configuration and TSDB, scraping the targets every second.
func startPrometheus(t *testing.T, ctx context.Context, bin string, targets ...string) string {
	t.Helper()
	return startPrometheusWith(t, ctx, bin, fmt.Sprintf(`  - job_name: kmsprobe
    static_configs:
      - targets: ['%s']
`, strings.Join(targets, "', '")))
}

// startPrometheusWith runs Prometheus with the given scrape_configs
// entries (YAML list items, indented two spaces), scraping every second.
// Relative paths in them (certificates) are under Prometheus's own
// temporary directory, which the caller can fill through files.
func startPrometheusWith(t *testing.T, ctx context.Context, bin, scrapeConfigs string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
` + scrapeConfigs
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", bin, err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-waited:
			t.Fatalf("prometheus exited at start:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30 s:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
