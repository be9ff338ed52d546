package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/exporter"
	"github.com/kh-edu/kmsprobe/internal/sim"
)

func init() {
	register(&command{
		Name:    "serve",
		Usage:   "[-c schools.yaml] [--listen ADDR] [--interval DUR] [--school ID]... [--demo]",
		Summary: "Prometheus exporter: audit every interval, serve /metrics, /probe?school=ID, /report.json, /healthz",
		Run:     runServe,
	})
}

// shutdownGrace bounds how long in-flight scrapes may finish after
// SIGTERM; systemd's default stop timeout is 90 s, so this stays well
// inside it.
const shutdownGrace = 10 * time.Second

func runServe(ctx context.Context, e *env, args []string) int {
	c := commands["serve"]
	fs := newFlagSet(e, c)
	var (
		cfgPath  string
		listen   string
		interval time.Duration
		schools  listFlag
		legs     legFlags
		demo     bool
	)
	fs.StringVar(&cfgPath, "c", "", "schools.yaml to read (default ./schools.yaml, then /etc/kmsprobe/schools.yaml)")
	fs.StringVar(&listen, "listen", "", "address to serve on (default serve.listen of schools.yaml, else "+config.DefaultServeListen+"); anything but loopback exposes every school's findings")
	fs.DurationVar(&interval, "interval", 0, "time between background audits (default serve.interval of schools.yaml, else "+config.DefaultServeEvery.String()+")")
	fs.Var(&schools, "school", "audit only this school id in the background (repeatable, or comma-separated)")
	fs.BoolVar(&demo, "demo", false, "serve the simulated city of kmsprobe demo (127.0.0.0/8 only) instead of schools.yaml")
	legs.register(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fail(e, fmt.Errorf("serve takes no arguments (got %q)", pos))
	}
	if interval != 0 && (interval < 10*time.Second || interval > 7*24*time.Hour) {
		return fail(e, fmt.Errorf("--interval %s is out of range: use 10s to 168h (an audit must fit inside it; 15m suits most cities)", interval))
	}

	var cfg *config.Config
	opts := exporter.Options{Schools: schools, Interval: interval, Version: version,
		Log: slog.New(slog.NewTextHandler(e.Stderr, nil))}
	if demo {
		kms, err := startDemoKMS(ctx)
		if err != nil {
			return fail(e, fmt.Errorf("serve --demo: cannot start the simulated KMS host: %w", err))
		}
		defer kms.stop()
		city, err := sim.StartDemoCity(kms.port)
		if err != nil {
			return fail(e, fmt.Errorf("serve --demo: cannot start the simulated city on 127.0.0.0/8: %w", err))
		}
		defer city.Close()
		cfg = city.Config
		opts.Simulate, opts.Hostname = true, "demo"
		opts.Legs = kms.legs(cfg)
	} else {
		var err error
		if cfg, err = loadConfig(cfgPath); err != nil {
			return fail(e, err)
		}
	}
	if listen == "" {
		listen = cfg.Serve.Listen
	}
	if listen == "" {
		listen = config.DefaultServeListen
	}
	if err := checkListen(listen); err != nil {
		return fail(e, err)
	}
	if !isLoopback(listen) {
		fmt.Fprintf(e.Stderr, "kmsprobe: serve: warning: listening on %s, which other hosts can reach: they will see every school's findings and can start audits through /probe. Use 127.0.0.1:9688 unless Prometheus scrapes from another host, and then allow only it in the firewall.\n", listen)
	}

	// The legs come from the same code path as audit, so a probe under
	// Prometheus measures exactly what an admin's audit does.
	built, err := legs.build(cfg, schools)
	if err != nil {
		return fail(e, err)
	}
	if opts.Legs.KMS == nil {
		opts.Legs.KMS = built.KMS
	}
	if opts.Legs.Clock == nil {
		opts.Legs.Clock = built.Clock
	}
	if opts.Legs.Campus == nil {
		opts.Legs.Campus = built.Campus
	}
	x, err := exporter.New(cfg, opts)
	if err != nil {
		return fail(e, err)
	}
	return serve(ctx, e, x, listen, nil)
}

// serve runs the exporter until ctx is cancelled (SIGTERM, Ctrl-C). ready,
// when not nil, receives the bound address: tests listen on port 0.
func serve(ctx context.Context, e *env, x *exporter.Exporter, listen string, ready chan<- string) int {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fail(e, fmt.Errorf("cannot listen on %s: %w (is another kmsprobe serve running? choose another port with --listen)", listen, err))
	}
	srv := &http.Server{
		Handler:           x.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// /probe may take up to its budget; Prometheus never asks for more
		// than a scrape timeout of a few minutes.
		WriteTimeout: 5 * time.Minute,
		IdleTimeout:  2 * time.Minute,
	}
	fmt.Fprintf(e.Stderr, "kmsprobe: serving on http://%s/metrics (audit every %s)\n", ln.Addr(), x.Interval())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	bg, stopBG := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		x.Run(bg)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	code := exitPass
	select {
	case <-ctx.Done():
	case err := <-errc:
		code = fail(e, fmt.Errorf("serving on %s stopped: %w", listen, err))
	}
	stopBG()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.Stderr, "kmsprobe: serve: scrapes still running after %s were cut off: %v\n", shutdownGrace, err)
	}
	select {
	case <-loopDone:
	case <-sctx.Done():
		fmt.Fprintln(e.Stderr, "kmsprobe: serve: the running audit did not stop in time; exiting anyway")
	}
	if code == exitPass {
		fmt.Fprintln(e.Stderr, "kmsprobe: serve: stopped")
	}
	return code
}

func checkListen(listen string) error {
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("--listen %q is not host:port, e.g. %s", listen, config.DefaultServeListen)
	}
	return nil
}

// isLoopback reports whether listen binds only the loopback interface.
// Names other than localhost are not resolved: a name that resolves to a
// LAN address today is worth the warning.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
