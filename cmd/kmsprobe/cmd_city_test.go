package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/city"
	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/exporter"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/probe"
)

// demoCityWant is what the simulated city's schools look like in the
// city view when the audit has no KMS and clock legs: written out from
// what each simulated school is built to get wrong, not computed by the
// code that feeds the metrics. Servers are named by role ("school", the
// school's own DNS server; "resolver-N", the Nth city resolver), because
// the simulated servers listen on random ports.
var demoCityWant = map[string]roleView{
	"good-jh": {Status: "pass", Findings: map[string]string{
		"dns.srv @school": "pass", "dns.srv @resolver-1": "pass", "dns.srv @resolver-2": "pass", "dns.srv @resolver-3": "pass",
		"dns.target @school": "pass", "dns.target @resolver-1": "pass", "dns.target @resolver-2": "pass", "dns.target @resolver-3": "pass",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	"tcp-es": {Status: "pass", Findings: map[string]string{
		"dns.srv @school": "pass", "dns.srv @resolver-1": "pass", "dns.srv @resolver-2": "pass", "dns.srv @resolver-3": "pass",
		"dns.target @school": "pass", "dns.target @resolver-1": "pass", "dns.target @resolver-2": "pass", "dns.target @resolver-3": "pass",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// No SRV record anywhere: NXDOMAIN at every server.
	"nosrv-es": {Status: "fail", Findings: map[string]string{
		"dns.srv @school": "fail", "dns.srv @resolver-1": "fail", "dns.srv @resolver-2": "fail", "dns.srv @resolver-3": "fail",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// The SRV record names the wrong port.
	"port-jh": {Status: "fail", Findings: map[string]string{
		"dns.srv @school": "fail", "dns.srv @resolver-1": "fail", "dns.srv @resolver-2": "fail", "dns.srv @resolver-3": "fail",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// The SRV target is another name, which resolves elsewhere.
	"target-hs": {Status: "fail", Findings: map[string]string{
		"dns.srv @school": "warn", "dns.srv @resolver-1": "warn", "dns.srv @resolver-2": "warn", "dns.srv @resolver-3": "warn",
		"dns.target @school": "fail", "dns.target @resolver-1": "fail", "dns.target @resolver-2": "fail", "dns.target @resolver-3": "fail",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// No DNS server of its own; the target does not resolve.
	"dangling-es": {Status: "fail", Findings: map[string]string{
		"dns.srv @resolver-1": "warn", "dns.srv @resolver-2": "warn", "dns.srv @resolver-3": "warn",
		"dns.target @resolver-1": "fail", "dns.target @resolver-2": "fail", "dns.target @resolver-3": "fail",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// Its own DNS server never answers; the resolvers are right.
	"dead-jh": {Status: "fail", Findings: map[string]string{
		"dns.srv @school": "fail", "dns.srv @resolver-1": "pass", "dns.srv @resolver-2": "pass", "dns.srv @resolver-3": "pass",
		"dns.target @resolver-1": "pass", "dns.target @resolver-2": "pass", "dns.target @resolver-3": "pass",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// The third resolver caches an old record: another name of the KMS
	// host. It is the odd one, and the school only warns.
	"stale-es": {Status: "warn", Findings: map[string]string{
		"dns.srv @resolver-1": "pass", "dns.srv @resolver-2": "pass", "dns.srv @resolver-3": "warn",
		"dns.target @resolver-1": "pass", "dns.target @resolver-2": "pass", "dns.target @resolver-3": "warn",
		"dns.consistency @resolver-3": "warn", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
	// Its own DNS server listens on IPv6 ([::1]); everything is right.
	"v6-jh": {Status: "pass", Findings: map[string]string{
		"dns.srv @school": "pass", "dns.srv @resolver-1": "pass", "dns.srv @resolver-2": "pass", "dns.srv @resolver-3": "pass",
		"dns.target @school": "pass", "dns.target @resolver-1": "pass", "dns.target @resolver-2": "pass", "dns.target @resolver-3": "pass",
		"dns.consistency @": "pass", "kms.tcp @": "skip", "kms.rpc @": "skip", "clock.offset @": "skip"}},
}

// roleView is one school in the city view with servers named by role.
type roleView struct {
	Status   string
	Findings map[string]string
}

// roleViews reads the city report with servers named by role; stale
// lists the probes each school's stale marker names.
func roleViews(r *probe.Report, cfg *config.Config) (map[string]roleView, map[string][]string) {
	role := map[string]string{}
	for i, a := range cfg.Resolvers {
		role[a] = fmt.Sprintf("resolver-%d", i+1)
	}
	for _, s := range cfg.Schools {
		for _, a := range s.DNS {
			role[a] = "school"
		}
	}
	out := map[string]roleView{}
	stale := map[string][]string{}
	for _, s := range r.Schools {
		v := roleView{Findings: map[string]string{}}
		var fs []finding.Finding
		for _, f := range s.Findings {
			if f.Check == city.CheckStale {
				stale[s.ID] = append(stale[s.ID], f.Evidence.Value("probe").(string))
				continue
			}
			name := role[f.Server]
			if name == "" {
				name = f.Server
			}
			v.Findings[f.Check+" @"+name] = f.Status.String()
			fs = append(fs, f)
		}
		// The school's status without the stale marker.
		v.Status = finding.Worst(fs).String()
		out[s.ID] = v
	}
	return out, stale
}

// TestCityFromPrometheus: a real Prometheus scrapes two exporters, each
// auditing half of the simulated city on 127.0.0.0/8; kmsprobe city
// renders both halves as one table, and marks the half whose exporter
// stops as stale while keeping its last results.
//
// Nothing here races the wall clock: every wait polls for the state it
// needs under a deadline of minutes, timeouts of the simulated audit are
// generous, and the expected view is literal, so a slow audit on a loaded
// machine only makes the test wait longer.
func TestCityFromPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with a real Prometheus; skipped with -short")
	}
	promBin := testenv.LookPath(t, "prometheus", "prometheus")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	sc, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	// The simulation's 400 ms suits a quiet machine; at load average 10
	// a healthy loopback server can miss it. Only dead-jh's own server
	// waits for the whole timeout, twice.
	sc.Config.Probe.Timeout.Duration = 3 * time.Second
	var ids []string
	for _, s := range sc.Config.Schools {
		ids = append(ids, s.ID)
	}
	want := maps.Clone(demoCityWant)
	if !slices.Contains(ids, "v6-jh") {
		delete(want, "v6-jh") // a host without ::1 leaves the IPv6 school out
	}
	if len(ids) != len(want) {
		t.Fatalf("the simulated city has %d schools, the expected view %d: update demoCityWant", len(ids), len(demoCityWant))
	}
	halves := [][]string{ids[:len(ids)/2], ids[len(ids)/2:]}
	var (
		srvs  []*httptest.Server
		stops []context.CancelFunc
	)
	for _, h := range halves {
		x, err := exporter.New(sc.Config, exporter.Options{Schools: h, Interval: 20 * time.Second, Hostname: "test"})
		if err != nil {
			t.Fatal(err)
		}
		xctx, stop := context.WithCancel(ctx)
		go x.Run(xctx)
		srv := httptest.NewServer(x.Handler()) // 127.0.0.1
		srvs, stops = append(srvs, srv), append(stops, stop)
	}
	defer func() {
		for i := range srvs {
			stops[i]()
			srvs[i].Close()
		}
	}()
	instA, instB := strings.TrimPrefix(srvs[0].URL, "http://"), strings.TrimPrefix(srvs[1].URL, "http://")

	promURL := startPrometheus(t, ctx, promBin, instA, instB)
	// Scrapes take at most 1 s (scrape_timeout): 2 s behind now is a
	// finished snapshot.
	args := []string{"--prometheus", promURL, "--selector", `job="kmsprobe"`, "--stale", "2m", "--settle", "2s"}

	// Poll until the city view is the expected one: the first audits
	// may still be running, or Prometheus not have scraped them yet.
	var (
		rep   *probe.Report
		code  int
		got   map[string]roleView
		stale map[string][]string
	)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var stderr string
		rep, code, stderr = runCityJSONMaybe(ctx, args)
		if rep != nil {
			got, stale = roleViews(rep, sc.Config)
			if cmp.Equal(demoCityWant, got) && !rep.Incomplete {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the city view did not become the expected one within 3 min (-want +got):\n%s\nincomplete: %v %s\nstderr: %s",
				cmp.Diff(demoCityWant, got), rep != nil && rep.Incomplete, reason(rep), stderr)
		}
		time.Sleep(time.Second)
	}
	if code != exitFail {
		t.Errorf("exit %d, want %d (schools fail)", code, exitFail)
	}
	for id, ps := range stale {
		t.Errorf("school %s marked stale by %v while both probes run", id, ps)
	}
	for _, s := range rep.Schools {
		wantProbe := instA
		if slices.Contains(halves[1], s.ID) {
			wantProbe = instB
		}
		for _, f := range s.Findings {
			if f.Evidence.Value("probe") != wantProbe {
				t.Errorf("%s %s: shown from probe %v, want %s", s.ID, f.Check, f.Evidence.Value("probe"), wantProbe)
			}
		}
	}

	// The table, as an admin reads it.
	var out, errb bytes.Buffer
	run(ctx, &env{Stdout: &out, Stderr: &errb}, append(append([]string{"city"}, args...), "--format", "table"))
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
	deadline = time.Now().Add(2 * time.Minute)
	for {
		rep, _, _ = runCityJSONMaybe(ctx, args)
		if rep != nil && rep.Incomplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("kmsprobe city did not mark the stopped exporter stale within 2 min")
		}
		time.Sleep(time.Second)
	}
	got, stale = roleViews(rep, sc.Config)
	for _, id := range halves[1] {
		if !slices.Contains(stale[id], instB) {
			t.Errorf("school %s of the stopped exporter is not marked stale: %v", id, stale[id])
		}
		if diff := cmp.Diff(want[id], got[id]); diff != "" {
			t.Errorf("school %s lost its last findings (-want +got):\n%s", id, diff)
		}
	}
	for _, id := range halves[0] {
		if len(stale[id]) > 0 {
			t.Errorf("school %s of the running exporter is marked stale", id)
		}
	}
	if !strings.Contains(rep.Reason, instB) {
		t.Errorf("reason %q does not name %s", rep.Reason, instB)
	}
}

func reason(r *probe.Report) string {
	if r == nil {
		return ""
	}
	return r.Reason
}

// runCityJSONMaybe is runCityJSON for polling: a failed run is a nil
// report, not a test failure.
func runCityJSONMaybe(ctx context.Context, args []string) (*probe.Report, int, string) {
	var out, errb bytes.Buffer
	code := run(ctx, &env{Stdout: &out, Stderr: &errb}, append(append([]string{"city"}, args...), "--format", "json"))
	rep, err := probe.ReadJSON(&out)
	if err != nil {
		return nil, code, errb.String()
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

// TestGrafanaDashboardQueries runs every panel's query of
// scripts/grafana/kmsprobe-dashboard.json against a real Prometheus
// scraping kmsprobe serve --demo's exporter (the simulated city with the
// replayed KMS host and a simulated NTP server), and asserts each
// returns data; the headline counts must be the simulated city's.
func TestGrafanaDashboardQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test with a real Prometheus; skipped with -short")
	}
	promBin := testenv.LookPath(t, "prometheus", "prometheus")
	raw, err := os.ReadFile("../../scripts/grafana/kmsprobe-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"` // inside collapsed rows
	}
	var dash struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	type query struct{ panel, ref, expr string }
	var queries []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				queries = append(queries, query{p.Title, tg.RefID, tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	seen := map[string]bool{}
	for _, q := range queries {
		if k := q.panel + "/" + q.ref; seen[k] {
			t.Errorf("two queries named %s: panel titles and refIds must be unique", k)
		} else {
			seen[k] = true
		}
	}
	if len(queries) < 10 {
		t.Fatalf("only %d queries in the dashboard", len(queries))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kms, err := startDemoKMS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer kms.stop()
	sc, err := sim.StartDemoCity(kms.port)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Config.Probe.Timeout.Duration = 3 * time.Second // generous under load
	x, err := exporter.New(sc.Config, exporter.Options{Interval: time.Minute, Hostname: "demo", Simulate: true,
		Legs: kms.legs(sc.Config)})
	if err != nil {
		t.Fatal(err)
	}
	xctx, stop := context.WithCancel(ctx)
	defer stop()
	go x.Run(xctx)
	srv := httptest.NewServer(x.Handler())
	defer srv.Close()
	promURL := startPrometheus(t, ctx, promBin, strings.TrimPrefix(srv.URL, "http://"))

	// Wait for a complete audit in Prometheus, and for a few scrapes of
	// it (increase() needs two samples).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		v, err := promVector(ctx, promURL, `count_over_time(kmsprobe_kms_active_clients{job="kmsprobe"}[1m]) >= 3`, time.Time{})
		if err == nil && len(v) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no KMS count from the demo exporter after 3 min (err %v)", err)
		}
		time.Sleep(time.Second)
	}
	at := time.Now()
	expand := strings.NewReplacer("$job", "kmsprobe", "${job}", "kmsprobe")
	counts := map[string]string{}
	rows := map[string]int{}
	for _, q := range queries {
		expr := expand.Replace(q.expr)
		if strings.Contains(expr, "$") {
			t.Errorf("panel %q %s: a template variable this test does not know: %s", q.panel, q.ref, expr)
			continue
		}
		v, err := promVector(ctx, promURL, expr, at)
		if err != nil {
			t.Errorf("panel %q %s: %v", q.panel, q.ref, err)
			continue
		}
		if len(v) == 0 {
			t.Errorf("panel %q %s returns no data: %s", q.panel, q.ref, expr)
			continue
		}
		counts[q.panel+"/"+q.ref] = v[0].Value
		rows[q.panel+"/"+q.ref] = len(v)
	}
	if n := rows["Failing schools/A"]; n != 5 {
		t.Errorf("the failing schools table has %d rows, want 5 (nosrv-es, port-jh, target-hs, dangling-es, dead-jh)", n)
	}
	// The simulated city: good-jh, tcp-es and v6-jh (when the host has
	// ::1) pass, stale-es warns, the other five fail, none is unknown.
	passing := "2"
	for _, s := range sc.Config.Schools {
		if s.ID == "v6-jh" {
			passing = "3"
		}
	}
	for key, want := range map[string]string{
		"Schools failing/A": "5", "Schools warning/A": "1", "Schools unknown/A": "0", "Schools passing/A": passing,
	} {
		if got := counts[key]; got != want {
			t.Errorf("%s = %q, want %s", key, got, want)
		}
	}
	if t.Failed() {
		st, _ := promVector(ctx, promURL, `kmsprobe_school_status`, at)
		t.Logf("kmsprobe_school_status in Prometheus: %v", st)
		if r := x.Snapshot().Report; r != nil {
			for _, s := range r.Schools {
				t.Logf("exporter: %s %s", s.ID, s.Status)
			}
		}
	}
}
