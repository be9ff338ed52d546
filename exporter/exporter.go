package exporter

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// Defaults of Options.
const (
	// DefaultProbeTimeout is the /probe budget when the request carries
	// no scrape timeout header (a person with curl): long enough for
	// every leg's timeouts, short enough that a browser still waits.
	DefaultProbeTimeout = 30 * time.Second
	// DefaultMaxProbes bounds concurrent /probe audits. Each one may
	// open hundreds of exchanges (probe.concurrency); a scrape storm must
	// not multiply that without limit.
	DefaultMaxProbes = 4
	// DefaultMaxBudget caps the /probe budget whatever the scrape
	// timeout header says. One school's audit with the default probe
	// settings (2 s per exchange, 2 attempts, a few exchanges in a row
	// per leg) ends within about 20 s; Prometheus's own scrape_timeout
	// rarely exceeds 30 s. A minute leaves room for slow campus links
	// while a caller announcing a day (86400) cannot hold a slot longer.
	DefaultMaxBudget = time.Minute
	// DefaultQueue is how many /probe requests may wait for a free slot
	// beyond the MaxProbes that run: a scrape of every school at once
	// in a small city waits; a storm beyond it is answered 503 at once
	// instead of piling up goroutines, sockets and audits.
	DefaultQueue = 16
	// ScrapeTimeoutMargin is kept free of the scrape timeout for the
	// audit to wind down and the answer to travel, like blackbox's
	// timeout_offset. Short timeouts keep a quarter instead.
	ScrapeTimeoutMargin = 500 * time.Millisecond
)

// ScrapeTimeoutHeader is where Prometheus tells a target its budget.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// Options configure an Exporter.
type Options struct {
	// Legs run every audit; the command builds them the way audit does.
	Legs probe.Legs
	// Schools limits the background audit (empty: all of schools.yaml).
	Schools []string
	// Interval between the starts of background audits; each audit must
	// also finish within it (default config serve.interval).
	Interval     time.Duration
	Version      string
	Hostname     string
	Simulate     bool
	ProbeTimeout time.Duration // /probe budget without a header
	// MaxBudget caps every /probe budget, header or not.
	MaxBudget time.Duration
	// MaxProbes run at once; Queue more wait; the rest get 503.
	MaxProbes int
	Queue     int
	Log       *slog.Logger
	// Now is the clock for ages and timestamps (tests inject it).
	Now func() time.Time
}

// Exporter runs background audits and serves their results.
type Exporter struct {
	cfg   *config.Config
	opts  Options
	state atomic.Pointer[Snapshot]
	sem   chan struct{} // running /probe audits
	admit chan struct{} // running plus waiting /probe requests
	reg   *prometheus.Registry

	rejected *prometheus.CounterVec

	trendMu sync.Mutex
	trend   []render.TrendPoint // published background audits, oldest first

	running sync.Mutex // held during a background audit: never two at once
}

// New makes an exporter. It audits nothing until Run.
func New(cfg *config.Config, opts Options) (*Exporter, error) {
	if _, err := probe.Select(cfg, opts.Schools); err != nil {
		return nil, err
	}
	if opts.Interval <= 0 {
		opts.Interval = cfg.Serve.Interval.Duration
	}
	if opts.Interval <= 0 {
		opts.Interval = config.DefaultServeEvery
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = DefaultProbeTimeout
	}
	if opts.MaxBudget <= 0 {
		opts.MaxBudget = DefaultMaxBudget
	}
	opts.ProbeTimeout = min(opts.ProbeTimeout, opts.MaxBudget)
	if opts.MaxProbes <= 0 {
		opts.MaxProbes = DefaultMaxProbes
	}
	if opts.Queue < 0 {
		opts.Queue = 0
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	x := &Exporter{cfg: cfg, opts: opts, reg: prometheus.NewRegistry(),
		sem:   make(chan struct{}, opts.MaxProbes),
		admit: make(chan struct{}, opts.MaxProbes+opts.Queue),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ProbeRejected,
			Help: "/probe requests answered without an audit: queue_full (503 at once, more requests than probe slots plus queue) or budget (the scrape budget ran out while waiting for a slot).",
		}, []string{"reason"}),
	}
	// Both reasons exist from the start: a counter that appears only
	// after the first rejection makes rate() miss that first one.
	x.rejected.WithLabelValues(rejectQueueFull)
	x.rejected.WithLabelValues(rejectBudget)
	x.state.Store(&Snapshot{})
	x.reg.MustRegister(
		x.rejected,
		&Collector{Get: x.Snapshot},
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: BackgroundInterval,
			Help: "Configured time between background audits; the city view calls a probe stale after twice this.",
		}, func() float64 { return opts.Interval.Seconds() }),
	)
	return x, nil
}

// Snapshot is the latest background audit.
func (x *Exporter) Snapshot() Snapshot { return *x.state.Load() }

// Interval is the effective time between background audits.
func (x *Exporter) Interval() time.Duration { return x.opts.Interval }

// Run audits at once and then every Interval until ctx is done. A slow
// audit delays the next one rather than overlapping it: two audits at
// once would double the load on the schools' servers and race for the
// snapshot.
func (x *Exporter) Run(ctx context.Context) {
	t := time.NewTicker(x.opts.Interval)
	defer t.Stop()
	for {
		x.AuditOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AuditOnce runs one background audit, bounded by the interval, and
// publishes it. It returns at once when another is running.
func (x *Exporter) AuditOnce(ctx context.Context) {
	if !x.running.TryLock() {
		return
	}
	defer x.running.Unlock()
	if ctx.Err() != nil {
		return
	}
	actx, cancel := context.WithTimeout(ctx, x.opts.Interval)
	defer cancel()
	start := x.opts.Now()
	rep, err := probe.Run(actx, x.cfg, x.probeOptions(x.opts.Schools))
	if err != nil {
		x.opts.Log.Error("background audit could not run; /metrics keeps the previous results", "err", err)
		return
	}
	if ctx.Err() != nil {
		// Shutting down: a report cut short by our own exit is no news.
		return
	}
	prev := x.Snapshot()
	next := Snapshot{Report: rep, LastSuccess: prev.LastSuccess}
	if !rep.Incomplete {
		next.LastSuccess = start.Add(time.Duration(rep.DurationSeconds * float64(time.Second)))
	} else {
		x.opts.Log.Warn("background audit incomplete: it did not finish within the interval; raise serve.interval or lower probe.timeout", "interval", x.opts.Interval, "reason", rep.Reason)
	}
	x.state.Store(&next)
	x.recordTrend(rep)
	x.opts.Log.Info("audit done", "schools", rep.Summary.Schools, "pass", rep.Summary.Pass, "warn", rep.Summary.Warn,
		"fail", rep.Summary.Fail, "unknown", rep.Summary.Unknown, "seconds", strconv.FormatFloat(rep.DurationSeconds, 'f', 2, 64))
}

func (x *Exporter) probeOptions(schools []string) probe.Options {
	return probe.Options{
		Legs:     x.opts.Legs,
		Schools:  schools,
		Version:  x.opts.Version,
		Hostname: x.opts.Hostname,
		Simulate: x.opts.Simulate,
	}
}

// Handler serves the exporter's endpoints.
func (x *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(x.opts.Log.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /probe", x.serveProbe)
	mux.HandleFunc("GET /report.json", x.serveReport)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", x.servePage)
	mux.HandleFunc("GET /probes", x.serveIndex)
	return mux
}

func (x *Exporter) serveReport(w http.ResponseWriter, _ *http.Request) {
	rep := x.Snapshot().Report
	if rep == nil {
		http.Error(w, "no audit has finished yet; the first one started when kmsprobe serve did, try again in a moment", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = rep.WriteJSON(w)
}

func (x *Exporter) serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>kmsprobe exporter</title></head><body><h1>kmsprobe exporter</h1><ul>")
	b.WriteString(`<li><a href="metrics">/metrics</a>: the latest background audit</li>`)
	b.WriteString(`<li><a href="report.json">/report.json</a>: the latest report</li>`)
	b.WriteString(`<li><a href="healthz">/healthz</a></li><li>/probe?school=ID: audit one school now:<ul>`)
	for _, s := range x.cfg.Schools {
		fmt.Fprintf(&b, `<li><a href="probe?school=%s">%s</a> %s</li>`, html.EscapeString(s.ID), html.EscapeString(s.ID), html.EscapeString(s.Name))
	}
	b.WriteString("</ul></li></ul></body></html>\n")
	_, _ = w.Write([]byte(b.String()))
}

// serveProbe audits one school now, in a fresh registry, within the
// scrape's budget (blackbox_exporter's prober/handler.go).
func (x *Exporter) serveProbe(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("school")
	if id == "" {
		http.Error(w, "the school parameter is missing: ask /probe?school=ID with an id from schools.yaml", http.StatusBadRequest)
		return
	}
	if _, ok := x.cfg.School(id); !ok {
		http.Error(w, fmt.Sprintf("school %q is not in %s; check the scrape config's targets against the ids in schools.yaml", id, x.cfg.Path), http.StatusBadRequest)
		return
	}
	budget, err := Budget(r.Header, x.opts.ProbeTimeout, x.opts.MaxBudget)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	defer cancel()
	start := time.Now()

	success := prometheus.NewGauge(prometheus.GaugeOpts{Name: ProbeSuccess,
		Help: "1 when the on-demand audit finished within the scrape's budget; the school's verdict is kmsprobe_school_status."})
	duration := prometheus.NewGauge(prometheus.GaugeOpts{Name: ProbeDuration,
		Help: "Wall time of the on-demand audit."})
	reg := prometheus.NewRegistry()
	reg.MustRegister(success, duration)

	var snap Snapshot
	// Admission first, without waiting: a full queue is answered at
	// once, so a storm costs a goroutine per request for microseconds,
	// not an audit each.
	select {
	case x.admit <- struct{}{}:
		defer func() { <-x.admit }()
	default:
		x.rejected.WithLabelValues(rejectQueueFull).Inc()
		x.opts.Log.Warn("probe refused: every slot and the queue are busy; scrape fewer targets at once or raise --probe.queue", "school", id, "running", x.opts.MaxProbes, "queue", x.opts.Queue)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(x.opts.MaxBudget.Seconds()))))
		http.Error(w, fmt.Sprintf("busy: %d audits are running and %d more are waiting; try again later, or scrape fewer schools at once", x.opts.MaxProbes, x.opts.Queue), http.StatusServiceUnavailable)
		return
	}
	select {
	case x.sem <- struct{}{}:
		rep, err := probe.Run(ctx, x.cfg, x.probeOptions([]string{id}))
		<-x.sem
		switch {
		case err != nil:
			x.opts.Log.Error("probe could not run", "school", id, "err", err)
		case rep.Incomplete:
			x.opts.Log.Warn("probe did not finish within the scrape budget; raise scrape_timeout or lower probe.timeout", "school", id, "budget", budget)
			snap.Report = rep
		default:
			snap = Snapshot{Report: rep, LastSuccess: x.opts.Now()}
			success.Set(1)
		}
	case <-ctx.Done():
		x.rejected.WithLabelValues(rejectBudget).Inc()
		x.opts.Log.Warn("probe not started: too many /probe audits at once for the budget; scrape fewer targets in parallel or raise scrape_timeout", "school", id, "max", x.opts.MaxProbes)
	}
	duration.Set(time.Since(start).Seconds())
	reg.MustRegister(NewCollector(snap))
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// Budget is the time an on-demand audit may take: the scrape timeout the
// header announces minus a margin, or def without the header, never more
// than max: the header is the caller's word, and a caller announcing a
// day must not hold a probe slot for a day.
func Budget(h http.Header, def, max time.Duration) (time.Duration, error) {
	v := h.Get(ScrapeTimeoutHeader)
	if v == "" {
		return min(def, max), nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || secs <= 0 {
		return 0, errors.New("header " + ScrapeTimeoutHeader + " is " + strconv.Quote(v) + ", not a positive number of seconds")
	}
	if secs > max.Seconds() {
		return max, nil
	}
	t := time.Duration(secs * float64(time.Second))
	return t - min(ScrapeTimeoutMargin, t/4), nil
}

const (
	rejectQueueFull = "queue_full"
	rejectBudget    = "budget"
)
