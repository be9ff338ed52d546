package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kh-edu/kmsprobe/city"
	"github.com/kh-edu/kmsprobe/config"
)

func init() {
	register(&command{
		Name:    "city",
		Usage:   "--prometheus URL [--selector 'job=\"kmsprobe\"'] [--stale DUR] [--lookback DUR] [--settle DUR] [--timeout DUR] [-c schools.yaml] [--format table|json|...] [-o FILE]",
		Summary: "the city-wide compliance table from Prometheus, across every probe it scrapes; stale probes are marked",
		Run:     runCity,
	})
}

func runCity(ctx context.Context, e *env, args []string) int {
	c := commands["city"]
	fs := newFlagSet(e, c)
	var (
		o        outputFlags
		fo       city.FetchOptions
		stale    time.Duration
		timeout  time.Duration
		lookback time.Duration
		settle   time.Duration
	)
	o.register(fs)
	fs.StringVar(&fo.Prometheus, "prometheus", "", "Prometheus base URL, e.g. http://prometheus.example.edu.tw:9090 (required)")
	fs.StringVar(&fo.Selector, "selector", "", `label matchers every query adds, e.g. job="kmsprobe"`)
	fs.DurationVar(&stale, "stale", 0, "a probe whose last complete audit is older than this is stale (default twice its own interval)")
	fs.DurationVar(&lookback, "lookback", 7*24*time.Hour, "how far back to look for the last results of a probe that stopped reporting")
	fs.DurationVar(&settle, "settle", city.DefaultSettle, "read Prometheus as it was this long ago, so every query sees the same finished scrapes; at least the scrape_timeout of the kmsprobe jobs")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "budget of each Prometheus query")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fail(e, fmt.Errorf("city takes no arguments (got %q); name Prometheus with --prometheus URL", pos))
	}
	if fo.Prometheus == "" {
		return fail(e, errors.New("city needs --prometheus URL, the Prometheus that scrapes the kmsprobe exporters, e.g. --prometheus http://127.0.0.1:9090"))
	}
	if err := o.checkFormat(); err != nil {
		return fail(e, err)
	}
	if stale < 0 || lookback <= 0 || timeout <= 0 || settle < 0 {
		return fail(e, errors.New("--stale, --lookback, --settle and --timeout must be positive durations such as 30s, 30m or 168h"))
	}
	fo.Lookback, fo.Timeout = lookback, timeout
	if fo.Settle = settle; settle == 0 {
		fo.Settle = -1 // read at now
	}

	// schools.yaml is optional here: it only adds the schools' names,
	// which never travel through Prometheus (free text is not a label).
	var cfg *config.Config
	if o.config != "" {
		var err error
		if cfg, err = config.Load(o.config); err != nil {
			return fail(e, err)
		}
	} else if p, err := config.Find(); err == nil {
		cfg, _ = config.Load(p)
	}

	d, err := city.Fetch(ctx, fo)
	if err != nil {
		return fail(e, err)
	}
	rep, probes := city.Build(d, city.Options{Stale: stale, Config: cfg})
	if err := o.emit(e, rep); err != nil {
		return fail(e, err)
	}
	if o.format == "table" && (o.out == "" || o.out == "-") {
		writeProbes(e.Stdout, probes, d.At)
	}
	return o.exitCode(rep)
}

// writeProbes lists the exporters behind the table, so a stale campus
// is seen next to the schools it hides.
func writeProbes(w io.Writer, probes []*city.Probe, now time.Time) {
	fmt.Fprintln(w, "\nProbes (from Prometheus):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  instance\tjob\tschools\tlast audit\tstate")
	for _, p := range probes {
		last := "never"
		if !p.LastSuccess.IsZero() {
			last = now.Sub(p.LastSuccess).Round(time.Second).String() + " ago"
		}
		state := "ok"
		if p.Stale {
			state = "STALE: " + p.Why
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", p.Instance, p.Job, schoolList(p.Schools), last, state)
	}
	_ = tw.Flush()
}

func schoolList(ids []string) string {
	if len(ids) <= 4 {
		return fmt.Sprintf("%d %s", len(ids), strings.Join(ids, ","))
	}
	return fmt.Sprintf("%d %s,…", len(ids), strings.Join(ids[:3], ","))
}
