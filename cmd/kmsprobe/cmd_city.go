package main

import (
	"context"
	"errors"
	"flag"
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
		Summary: "the city-wide compliance table from Prometheus, across every probe it scrapes; stale probes are marked",
		Spec: spec{Config: helpConfig, Formats: reportFormats(), Out: true, OnlyProblems: true,
			Required: []string{"prometheus"}},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			f := &cityFlags{}
			f.register(fs)
			return func(ctx context.Context, e *env, in *input) int { return runCity(ctx, e, in, f) }
		},
	})
}

// cityFlags are city's own flags.
type cityFlags struct {
	fo                               city.FetchOptions
	stale, timeout, lookback, settle time.Duration
}

func (f *cityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.fo.Prometheus, "prometheus", "", "Prometheus base URL, e.g. http://prometheus.example.edu.tw:9090 (required)")
	fs.StringVar(&f.fo.Selector, "selector", "", `label matchers every query adds, e.g. job="kmsprobe"`)
	fs.DurationVar(&f.stale, "stale", 0, "a probe whose last complete audit is older than this is stale (default twice its own interval)")
	fs.DurationVar(&f.lookback, "lookback", 7*24*time.Hour, "how far back to look for the last results of a probe that stopped reporting")
	fs.DurationVar(&f.settle, "settle", city.DefaultSettle, "read Prometheus as it was this long ago, so every query sees the same finished scrapes; at least the scrape_timeout of the kmsprobe jobs")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "budget of each Prometheus query")
}

// runCity reads every probe's results from Prometheus and prints the
// city's table, then the probes behind it.
func runCity(ctx context.Context, e *env, in *input, f *cityFlags) int {
	if err := noArgs(in, "city", "name Prometheus with --prometheus URL"); err != nil {
		return fail(e, err)
	}
	fo, err := f.fetchOptions()
	if err != nil {
		return fail(e, err)
	}
	cfg, err := schoolNames(e, in.config)
	if err != nil {
		return fail(e, err)
	}
	d, err := city.Fetch(ctx, fo)
	if err != nil {
		return fail(e, err)
	}
	rep, probes := city.Build(d, city.Options{Stale: f.stale, Config: cfg})
	if err := in.emit(e, rep); err != nil {
		return fail(e, err)
	}
	if in.tableOnStdout() {
		writeProbes(e.Stdout, probes, d.At)
	}
	return in.exitCode(rep)
}

// fetchOptions are the flags as city.Fetch takes them, refused when
// Prometheus is not named or a duration is out of range.
func (f *cityFlags) fetchOptions() (city.FetchOptions, error) {
	fo := f.fo
	if fo.Prometheus == "" {
		return fo, errors.New("city needs --prometheus URL, the Prometheus that scrapes the kmsprobe exporters, e.g. --prometheus http://127.0.0.1:9090")
	}
	if f.stale < 0 || f.lookback <= 0 || f.timeout <= 0 || f.settle < 0 {
		return fo, errors.New("--stale, --lookback, --settle and --timeout must be positive durations such as 30s, 30m or 168h")
	}
	fo.Lookback, fo.Timeout, fo.Settle = f.lookback, f.timeout, f.settle
	if f.settle == 0 {
		fo.Settle = -1 // read at now
	}
	return fo, nil
}

// schoolNames is the schools.yaml city reads for the schools' names,
// which never travel through Prometheus (free text is not a label). It
// is optional: -c must load, but a file found on the search path that
// does not is left out. Either way its warnings are said, as every
// command says them.
func schoolNames(e *env, path string) (*config.Config, error) {
	if path != "" {
		return readConfig(e, path)
	}
	p, err := config.Find()
	if err != nil {
		return nil, nil
	}
	cfg, err := config.Load(p)
	if err != nil {
		return nil, nil
	}
	warnConfig(e, cfg)
	return cfg, nil
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
