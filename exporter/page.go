package exporter

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// maxTrend is how many background audits the live page's trend keeps:
// render draws at most 52 bars, and a day of 15-minute audits is 96, so
// the chart shows about the last half day at the default interval.
const maxTrend = 52

// recordTrend remembers a published audit for the live page's chart.
func (x *Exporter) recordTrend(r *probe.Report) {
	x.trendMu.Lock()
	defer x.trendMu.Unlock()
	x.trend = append(x.trend, render.TrendPoint{At: r.GeneratedAt, Summary: r.Summary, Incomplete: r.Incomplete})
	if len(x.trend) > maxTrend {
		x.trend = append(x.trend[:0:0], x.trend[len(x.trend)-maxTrend:]...)
	}
}

func (x *Exporter) trendPoints() []render.TrendPoint {
	x.trendMu.Lock()
	defer x.trendMu.Unlock()
	return append([]render.TrendPoint(nil), x.trend...)
}

// refreshEvery is how often the live page reloads itself: often enough
// that its "ago" stays right and a new audit shows within a minute,
// rarely enough that a wall display costs nothing.
func (x *Exporter) refreshEvery() time.Duration {
	return min(max(x.opts.Interval/4, 10*time.Second), time.Minute)
}

// pageCSP allows nothing from outside: the report is self-contained
// (inline styles, the chart as a data: URI), so a page that tried to load
// anything would be a bug or an injection.
const pageCSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// servePage answers / with the live status page: the last background
// audit as the HTML report, its age, the trend of the audits since
// serve started, reloading itself.
func (x *Exporter) servePage(w http.ResponseWriter, r *http.Request) {
	lang := x.cfg.Report.Lang
	if l := r.URL.Query().Get("lang"); l != "" {
		if err := render.CheckLang(l); err != nil {
			http.Error(w, "lang: "+err.Error(), http.StatusBadRequest)
			return
		}
		lang = l
	}
	if render.CheckLang(lang) != nil {
		lang = render.English
	}
	zh := lang == render.Chinese
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Cache-Control", "no-store")
	refresh := x.refreshEvery()
	now := x.opts.Now()
	snap := x.Snapshot()

	banner := func(text string, links bool) string {
		var b strings.Builder
		fmt.Fprintf(&b, "<div id=\"live\" style=\"font-family:Arial,'Noto Sans CJK TC',sans-serif;font-size:14px;background:#1f2328;color:#ffffff;padding:8px 16px;\">%s", text)
		if links {
			b.WriteString(` &middot; <a style="color:#9ecbff" href="metrics">/metrics</a> &middot; <a style="color:#9ecbff" href="report.json">/report.json</a> &middot; <a style="color:#9ecbff" href="healthz">/healthz</a> &middot; <a style="color:#9ecbff" href="probes">/probe</a>`)
			if zh {
				b.WriteString(` &middot; <a style="color:#9ecbff" href="?lang=en">English</a>`)
			} else {
				b.WriteString(` &middot; <a style="color:#9ecbff" href="?lang=zh-TW">中文</a>`)
			}
		}
		b.WriteString("</div>\n")
		return b.String()
	}
	meta := fmt.Sprintf("<meta http-equiv=\"refresh\" content=\"%d\">\n", int(refresh.Seconds()))

	if snap.Report == nil {
		msg := fmt.Sprintf("The first audit started when kmsprobe serve did (every %s); this page reloads every %s until it is done.", x.opts.Interval, refresh)
		if zh {
			msg = fmt.Sprintf("第一次稽核已在 kmsprobe serve 啟動時開始（每 %s 一次）；本頁每 %s 重新整理，直到完成。", x.opts.Interval, refresh)
		}
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n%s<title>kmsprobe</title></head><body style=\"margin:0\">%s</body></html>\n", meta, banner(html.EscapeString(msg), true))
		return
	}
	rep := snap.Report
	var doc bytes.Buffer
	if err := render.Write(&doc, rep, render.Options{Format: "html", Lang: lang, Trend: x.trendPoints()}); err != nil {
		x.opts.Log.Error("the live page could not be rendered", "err", err)
		http.Error(w, "the report could not be rendered; /report.json has it as JSON", http.StatusInternalServerError)
		return
	}
	age := now.Sub(rep.GeneratedAt.Add(time.Duration(rep.DurationSeconds * float64(time.Second)))).Round(time.Second)
	age = max(age, 0)
	var text string
	if zh {
		text = fmt.Sprintf("即時狀態：上次稽核於 %s 前完成（%s），每 %s 稽核一次；本頁每 %s 重新整理。", age, rep.GeneratedAt.Format("2006-01-02 15:04:05 -07:00"), x.opts.Interval, refresh)
	} else {
		text = fmt.Sprintf("Live status: the last audit finished %s ago (started %s); audits run every %s; this page reloads every %s.", age, rep.GeneratedAt.Format("2006-01-02 15:04:05 -07:00"), x.opts.Interval, refresh)
	}
	if age > 2*x.opts.Interval {
		if zh {
			text += " 警告：結果已過時，請查看 kmsprobe serve 的記錄。"
		} else {
			text += " WARNING: these results are stale; read kmsprobe serve's log."
		}
	}
	page := doc.String()
	// The report is a whole document made for mail; the page adds its
	// reload and its banner at the two places made for them.
	page = strings.Replace(page, "<head>\n", "<head>\n"+meta, 1)
	if i := strings.Index(page, "<body"); i >= 0 {
		if j := strings.Index(page[i:], ">"); j >= 0 {
			k := i + j + 1
			page = page[:k] + "\n" + banner(html.EscapeString(text), true) + page[k:]
		}
	}
	_, _ = w.Write([]byte(page))
}
