package render

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var taipei = time.FixedZone("CST", 8*3600)

// fixture is a small city with every status, changes since last week and
// a term's trend: enough to exercise each section of the report.
func fixture() (*probe.Report, []TrendPoint) {
	res := func(addr string, st finding.Status, short string) finding.Finding {
		return finding.Finding{Check: finding.DNSSRV, Server: addr, Status: st, Short: short, Evidence: finding.EvidenceMap(map[string]any{"role": "resolver"}),
			Message: "SRV answer from " + addr, Remedy: func() string {
				if st == finding.Pass {
					return ""
				}
				return "_vlmcs._tcp.x.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."
			}()}
	}
	own := func(st finding.Status, short string) finding.Finding {
		f := finding.Finding{Check: finding.DNSSRV, Server: "10.1.2.3:53", Status: st, Short: short, Evidence: finding.EvidenceMap(map[string]any{"role": "school"}), Message: "SRV answer from the school's DNS"}
		if st != finding.Pass {
			f.Message = "NXDOMAIN for _vlmcs._tcp.demo-jh.kh.edu.tw"
			f.Remedy = "_vlmcs._tcp.demo-jh.kh.edu.tw. 3600 IN SRV 0 0 1688 kms.example.edu.tw."
		}
		return f
	}
	ok := func(check string) finding.Finding {
		return finding.Finding{Check: check, Server: "192.0.2.88:1688", Status: finding.Pass, Message: "ok"}
	}
	r := &probe.Report{
		Schema:      probe.Schema,
		GeneratedAt: time.Date(2026, 11, 23, 7, 0, 12, 0, taipei),
		Probe:       probe.Info{Hostname: "probe-1", Version: "1.0.0", Vantage: "central"},
		Schools: []probe.School{
			{ID: "good-jh", Name: "優良國中", Suffix: "good-jh.kh.edu.tw", Findings: []finding.Finding{
				own(finding.Pass, ""), res("192.0.2.21:53", finding.Pass, ""), res("192.0.2.22:53", finding.Pass, ""),
				ok(finding.DNSTarget), ok(finding.KMSTCP), ok(finding.KMSRPC), ok(finding.ClockOffset)}},
			{ID: "demo-jh", Name: "示範國中", Suffix: "demo-jh.kh.edu.tw", Findings: []finding.Finding{
				own(finding.Fail, "NXDOMAIN"), res("192.0.2.21:53", finding.Fail, "NXDOMAIN"), res("192.0.2.22:53", finding.Fail, "NXDOMAIN"),
				{Check: finding.KMSTCP, Status: finding.Skip, Message: "not run: no SRV record"}, ok(finding.ClockOffset)}},
			{ID: "alias-es", Name: "別名國小 <&>", Suffix: "alias-es.kh.edu.tw", Findings: []finding.Finding{
				res("192.0.2.21:53", finding.Warn, "other target"), res("192.0.2.22:53", finding.Pass, ""),
				{Check: finding.DNSTarget, Server: "192.0.2.21:53", Status: finding.Warn, Short: "alias", Message: "kms.alias-es.kh.edu.tw is another name for the KMS host", Remedy: "point the SRV record at kms.example.edu.tw itself"},
				ok(finding.KMSTCP), ok(finding.KMSRPC), ok(finding.ClockOffset)}},
			{ID: "new-hs", Name: "新設高中", Suffix: "new-hs.kh.edu.tw", Findings: []finding.Finding{
				res("192.0.2.21:53", finding.Pass, ""), res("192.0.2.22:53", finding.Pass, ""), ok(finding.DNSTarget),
				{Check: finding.KMSRPC, Server: "192.0.2.88:1688", Status: finding.Fail, Short: "count 12<25", Message: "the KMS host counts 12 clients, below the activation threshold 25", Remedy: "wait for more clients or check kms.min_count"},
				ok(finding.ClockOffset)}},
		},
	}
	r.Finish()
	r.Changes = &probe.Changes{
		Previous:    time.Date(2026, 11, 16, 7, 0, 9, 0, taipei),
		Regressions: []probe.Change{{School: "demo-jh", From: finding.Pass, To: finding.Fail, Checks: []string{finding.DNSSRV}}},
		Changed: []probe.Change{{School: "new-hs", From: finding.Fail, To: finding.Fail, Findings: []probe.FindingChange{
			{Check: finding.KMSRPC, Server: "192.0.2.88:1688", From: "fail", To: "fail", FromShort: "not KMS", ToShort: "count 12<25"}}}},
		Fixes:   []probe.Change{{School: "good-jh", From: finding.Warn, To: finding.Pass, Checks: []string{finding.DNSTarget}}},
		New:     []string{"new-hs"},
		Removed: []string{"closed-es"},
	}
	var trend []TrendPoint
	for i := 0; i < 12; i++ {
		fail := 3 - i/4
		warn := 1 + i%2
		trend = append(trend, TrendPoint{
			At:      time.Date(2026, 9, 7, 7, 0, 0, 0, taipei).AddDate(0, 0, 7*i),
			Summary: probe.Summary{Schools: 40, Fail: fail, Warn: warn, Pass: 40 - fail - warn},
		})
	}
	return r, trend
}

func with(o Options, format string) Options {
	o.Format = format
	return o
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is intended, run go test ./render -update:\n%s", path, diff)
	}
}

func TestGolden(t *testing.T) {
	r, trend := fixture()
	for _, lang := range Langs {
		o := Options{Lang: lang, Trend: trend, ChartSrc: "cid:" + ChartCID, ResendPath: "/var/lib/kmsprobe/reports/report-20261122T230012.000Z.json"}
		t.Run(lang, func(t *testing.T) {
			var h, x bytes.Buffer
			if err := Write(&h, r, with(o, "html")); err != nil {
				t.Fatal(err)
			}
			if err := Write(&x, r, with(o, "text")); err != nil {
				t.Fatal(err)
			}
			golden(t, "report."+lang+".html", h.Bytes())
			golden(t, "report."+lang+".txt", x.Bytes())
		})
	}
}

// TestHTMLEmailSafe checks the rules mail clients impose, on every
// language: no script, no style block, no external resource.
func TestHTMLEmailSafe(t *testing.T) {
	r, trend := fixture()
	for _, lang := range Langs {
		var b bytes.Buffer
		if err := Write(&b, r, Options{Format: "html", Lang: lang, Trend: trend}); err != nil {
			t.Fatal(err)
		}
		s := strings.ToLower(b.String())
		for _, bad := range []string{"<script", "<style", "<link", "http://", "https://", "<svg", "@import", "url("} {
			if strings.Contains(s, bad) {
				t.Errorf("%s: HTML contains %q, which mail clients block or strip", lang, bad)
			}
		}
		if !strings.Contains(s, `src="data:image/png;base64,`) {
			t.Errorf("%s: standalone HTML should inline the trend chart as a data: URI", lang)
		}
		if strings.Contains(b.String(), "別名國小 <&>") {
			t.Errorf("%s: school name not escaped", lang)
		}
	}
}

func TestTranslatedStrings(t *testing.T) {
	r, _ := fixture()
	tests := []struct {
		lang string
		want []string
	}{
		{English, []string{"KMS audit: 2 fail, 1 warn, 1 pass — 1 regression", "4 schools: 1 pass, 1 warn, 2 fail, 0 unknown"}},
		{Chinese, []string{"KMS 稽核：2 失敗、1 警告、1 通過 — 1 項退步", "4 所學校：1 通過、1 警告、2 失敗、0 未知"}},
	}
	for _, tc := range tests {
		got := []string{Subject(tc.lang, r), SummaryLine(r, tc.lang)}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.lang, diff)
		}
	}
	// Every fixed string the renderers use has a translation.
	for _, lang := range []string{Chinese} {
		var b bytes.Buffer
		_ = Write(&b, r, Options{Lang: lang})
		for _, en := range []string{"What to fix:", "school", "suffix", " fix: "} {
			if strings.Contains(b.String(), en) {
				t.Errorf("%s table still contains English %q", lang, en)
			}
		}
	}
}

// TestDefaultIsEnglishTable keeps the zero Options the English table.
func TestDefaultIsEnglishTable(t *testing.T) {
	r, _ := fixture()
	var a, b bytes.Buffer
	if err := Write(&a, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, r, Options{Format: "table", Lang: English}); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() || !strings.Contains(a.String(), "What to fix:") {
		t.Errorf("the zero Options are not the English table:\n%s", a.String())
	}
}

func TestChartNeedsTwoPoints(t *testing.T) {
	_, trend := fixture()
	if ChartPNG(trend[:1]) != nil {
		t.Error("one report drew a chart; a single bar is no trend")
	}
	if ChartPNG(trend) == nil {
		t.Error("no chart for 13 reports")
	}
}

// TestChromiumRenders opens the standalone HTML report in headless
// Chromium at a desktop width (1400 px) and a mail-pane width (600 px), in
// both languages: a real engine renders it, with real Chinese (the CJK
// font, fonts-noto-cjk, must be installed or the glyphs are boxes).
// Everything is written under t.TempDir; set KMSPROBE_SCREENSHOTS=DIR to
// keep the PNGs for a person to look at.
func TestChromiumRenders(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping headless Chromium")
	}
	bin := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		testenv.Missing(t, "chromium is not installed (Debian: apt-get install -y chromium fonts-noto-cjk)")
	}
	if _, err := exec.LookPath("fc-list"); err == nil {
		if out, _ := exec.Command("fc-list", ":lang=zh-tw").Output(); len(bytes.TrimSpace(out)) == 0 {
			testenv.Missing(t, "no Traditional Chinese font (Debian: apt-get install -y fonts-noto-cjk)")
		}
	}
	r, trend := fixture()
	ir := infraFixture()
	out := t.TempDir()
	keep := os.Getenv("KMSPROBE_SCREENSHOTS")
	for _, lang := range Langs {
		for _, width := range []int{1400, 600} {
			for name, rep := range map[string]*probe.Report{"report": r, "infra": ir} {
				base := fmt.Sprintf("%s.%s.%d", name, lang, width)
				htmlPath := filepath.Join(out, base+".html")
				pngPath := filepath.Join(out, base+".png")
				var b bytes.Buffer
				if err := Write(&b, rep, Options{Format: "html", Lang: lang, Trend: trend}); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(htmlPath, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
					"--disable-component-update", "--no-first-run", "--hide-scrollbars", "--user-data-dir="+t.TempDir(),
					"--screenshot="+pngPath, fmt.Sprintf("--window-size=%d,1800", width), "file://"+htmlPath)
				cmd.WaitDelay = 5 * time.Second
				outb, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("chromium: %v\n%s", err, outb)
				}
				fi, err := os.Stat(pngPath)
				if err != nil {
					t.Fatalf("chromium wrote no screenshot: %v\n%s", err, outb)
				}
				// A blank page compresses to a few kB; a rendered report
				// with its table and colours is far larger.
				if fi.Size() < 20_000 {
					t.Errorf("%s is only %d bytes: the page looks blank", base, fi.Size())
				}
				if keep != "" {
					data, _ := os.ReadFile(pngPath)
					if err := os.WriteFile(filepath.Join(keep, base+".png"), data, 0o644); err != nil {
						t.Error(err)
					}
				}
			}
		}
	}
}
