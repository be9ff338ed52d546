package exporter

import (
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/internal/testenv"
)

// livePage serves the simulated city after two background audits (so
// there is a trend) with the clock at a known distance from the last.
func livePage(t *testing.T) (*httptest.Server, *Exporter) {
	t.Helper()
	city, err := sim.StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(city.Close)
	city.Config.Probe.Timeout.Duration = 3 * time.Second // generous under load
	var clock atomic.Pointer[time.Time]
	// Schools without a dead server: two audits take milliseconds.
	x, err := New(city.Config, Options{Interval: 2 * time.Minute, Hostname: "test", Schools: []string{"good-jh", "nosrv-es", "stale-es"},
		Now: func() time.Time {
			if p := clock.Load(); p != nil {
				return *p
			}
			return time.Now()
		}})
	if err != nil {
		t.Fatal(err)
	}
	x.AuditOnce(context.Background())
	x.AuditOnce(context.Background())
	rep := x.Snapshot().Report
	if rep == nil || rep.Incomplete {
		t.Fatalf("the audit did not complete: %+v", rep)
	}
	// Seven minutes after the audit ended: more than twice the interval.
	at := rep.GeneratedAt.Add(time.Duration(rep.DurationSeconds*float64(time.Second)) + 7*time.Minute)
	clock.Store(&at)
	srv := httptest.NewServer(x.Handler())
	t.Cleanup(srv.Close)
	return srv, x
}

func TestLivePageHTML(t *testing.T) {
	srv, _ := livePage(t)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(body)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not forbid outside resources", csp)
	}
	for _, want := range []string{
		`<meta http-equiv="refresh" content="30">`, // a quarter of 2 m
		"the last audit finished 7m0s ago",
		"these results are stale",
		`src="data:image/png;base64,`,
		"nosrv-es", "good-jh",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// No external resource of any kind.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page loads %s from outside", m)
	}
	for _, q := range []string{"?lang=zh-TW"} {
		resp, err := http.Get(srv.URL + "/" + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "上次稽核於 7m0s 前完成") {
			t.Errorf("%s: the page is not in Chinese:\n%.600s", q, b)
		}
	}
	resp, err = http.Get(srv.URL + "/?lang=fr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("?lang=fr: status %d, want 400", resp.StatusCode)
	}
}

// TestLivePageBeforeFirstAudit: a page that says so and reloads, not an
// empty table that reads as "all pass".
func TestLivePageBeforeFirstAudit(t *testing.T) {
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
	body := get(t, mustReq(srv.URL+"/"), http.StatusOK)
	for _, want := range []string{`http-equiv="refresh"`, "The first audit started"} {
		if !strings.Contains(body, want) {
			t.Errorf("page before the first audit lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "pass") {
		t.Errorf("page before the first audit mentions pass:\n%s", body)
	}
}

// TestLivePageChromium loads / in headless Chromium: the DOM as the
// browser built it, and a screenshot to look at.
func TestLivePageChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin := testenv.LookPath(t, "chromium", "chromium")
	srv, _ := livePage(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1400,900"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr)
		}
		return string(out)
	}
	dom := run("--dump-dom", srv.URL+"/")
	for _, want := range []string{"Live status: the last audit finished 7m0s ago", "nosrv-es", "good-jh", "stale-es", "data:image/png;base64,", `http-equiv="refresh"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("Chromium's DOM lacks %q", want)
		}
	}
	shot := filepath.Join(dir, "live.png")
	run("--screenshot="+shot, srv.URL+"/")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1400x900", b)
	}
}
