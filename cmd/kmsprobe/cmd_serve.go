package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/exporter"
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

func init() {
	register(&command{
		Name:    "serve",
		Summary: "Prometheus exporter: audit every interval, serve /metrics, /probe?school=ID, /report.json, /healthz",
		Spec:    spec{Config: helpConfig, Schools: "audit only this school id in the background (repeatable, or comma-separated)", Legs: true},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			f := &serveFlags{fs: fs}
			f.register(fs)
			return func(ctx context.Context, e *env, in *input) int { return runServe(ctx, e, in, f) }
		},
	})
}

// serveFlags are serve's own flags.
type serveFlags struct {
	listen, webCfg string
	interval       time.Duration
	maxBudget      time.Duration
	queue          int
	demo           bool
	// fs tells an --interval given from one left out.
	fs *flag.FlagSet
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "", "address to serve on (default serve.listen of schools.yaml, else "+config.DefaultServeListen+"); anything but loopback exposes every school's findings")
	fs.DurationVar(&f.interval, "interval", 0, "time between background audits (default serve.interval of schools.yaml, else "+config.DefaultServeEvery.String()+")")
	fs.StringVar(&f.webCfg, "web.config.file", "", "TLS and basic-auth settings in the format of Prometheus exporters (tls_server_config, basic_auth_users with bcrypt hashes); without it the exporter speaks plain HTTP to anyone who reaches it")
	fs.DurationVar(&f.maxBudget, "probe.max-budget", exporter.DefaultMaxBudget, "longest an on-demand /probe audit may run, whatever scrape timeout the caller announces")
	fs.IntVar(&f.queue, "probe.queue", exporter.DefaultQueue, "/probe requests that may wait for one of the "+fmt.Sprint(exporter.DefaultMaxProbes)+" audit slots; more are answered 503 at once")
	fs.BoolVar(&f.demo, "demo", false, "serve the simulated city of kmsprobe demo (127.0.0.0/8 only) instead of schools.yaml")
}

// shutdownGrace bounds how long in-flight scrapes may finish after
// SIGTERM; systemd's default stop timeout is 90 s, so this stays well
// inside it.
const shutdownGrace = 10 * time.Second

// runServe checks the flags, finds the city (schools.yaml or the demo's),
// settles the address, builds the legs as audit does, and serves until
// stopped.
func runServe(ctx context.Context, e *env, in *input, f *serveFlags) int {
	if len(in.Args) > 0 {
		return fail(e, fmt.Errorf("serve takes no arguments (got %q)", in.Args))
	}
	if err := f.check(); err != nil {
		return fail(e, err)
	}
	opts := exporter.Options{Schools: in.schools, Interval: f.interval, Version: version,
		MaxBudget: f.maxBudget, Queue: f.queue,
		Log: slog.New(slog.NewTextHandler(e.Stderr, nil))}
	cfg, stop, err := f.city(ctx, e, in, &opts)
	if err != nil {
		return fail(e, err)
	}
	defer stop()
	listen := f.address(cfg)
	if err := checkListen(listen); err != nil {
		return fail(e, err)
	}
	if !isLoopback(listen) && f.webCfg == "" {
		fmt.Fprintf(e.Stderr, "kmsprobe: serve: warning: listening on %s, which other hosts can reach: they will see every school's findings and can start audits through /probe. Use 127.0.0.1:9688 unless Prometheus scrapes from another host; then lock it with --web.config.file (TLS and basic auth) and allow only Prometheus in the firewall.\n", listen)
	}
	// The legs come from the same code path as audit, so a probe under
	// Prometheus measures exactly what an admin's audit does.
	built, err := in.legs.build(cfg, in.schools)
	if err != nil {
		return fail(e, err)
	}
	opts.Legs = fillLegs(opts.Legs, built)
	x, err := exporter.New(cfg, opts)
	if err != nil {
		return fail(e, err)
	}
	return serve(ctx, e, x, listen, f.webCfg, nil)
}

// check refuses serve's own flags out of range before anything starts.
func (f *serveFlags) check() error {
	// An explicit --interval 0s is a mistake, not a request for the
	// default: say so rather than audit every 15m unannounced.
	if f.intervalSet() && (f.interval < 10*time.Second || f.interval > 7*24*time.Hour) {
		return fmt.Errorf("--interval %s is out of range: use 10s to 168h (an audit must fit inside it; 15m suits most cities; leave the flag out to use serve.interval of schools.yaml)", f.interval)
	}
	if f.maxBudget < time.Second || f.maxBudget > 10*time.Minute {
		return fmt.Errorf("--probe.max-budget %s is out of range: use 1s to 10m (the default %s fits one school's audit)", f.maxBudget, exporter.DefaultMaxBudget)
	}
	if f.queue < 0 || f.queue > 10000 {
		return fmt.Errorf("--probe.queue %d is out of range: use 0 (refuse whenever every slot is busy) to 10000", f.queue)
	}
	if f.webCfg != "" {
		return checkWebConfig(f.webCfg)
	}
	return nil
}

func (f *serveFlags) intervalSet() bool {
	set := false
	f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "interval" })
	return set
}

// city is the configuration to serve: schools.yaml (its warnings said
// first, as every command does), or with --demo the simulated city,
// whose servers run until stop is called and whose KMS and clock legs
// go into opts.
func (f *serveFlags) city(ctx context.Context, e *env, in *input, opts *exporter.Options) (cfg *config.Config, stop func(), err error) {
	if !f.demo {
		cfg, err = readConfig(e, in.config)
		return cfg, func() {}, err
	}
	kms, err := startDemoKMS(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("serve --demo: cannot start the simulated KMS host: %w", err)
	}
	city, err := sim.StartDemoCity(kms.port)
	if err != nil {
		kms.stop()
		return nil, nil, fmt.Errorf("serve --demo: cannot start the simulated city on 127.0.0.0/8: %w", err)
	}
	opts.Simulate, opts.Hostname = true, "demo"
	opts.Legs = kms.legs(city.Config)
	return city.Config, func() { city.Close(); kms.stop() }, nil
}

// address is --listen, else serve.listen of cfg, else the default.
func (f *serveFlags) address(cfg *config.Config) string {
	return cmp.Or(f.listen, cfg.Serve.Listen, config.DefaultServeListen)
}

// fillLegs is have with the legs it lacks taken from built: the demo
// brings its own KMS and clock.
func fillLegs(have, built probe.Legs) probe.Legs {
	if have.KMS == nil {
		have.KMS = built.KMS
	}
	if have.Clock == nil {
		have.Clock = built.Clock
	}
	if have.Campus == nil {
		have.Campus = built.Campus
	}
	// The demo's simulated city has no delegation to check: its legs
	// come without a zone leg, and build is not asked for one.
	if have.Zone == nil {
		have.Zone = built.Zone
	}
	return have
}

// serve runs the exporter until ctx is cancelled (SIGTERM, Ctrl-C). ready,
// when not nil, receives the bound address: tests listen on port 0.
// webCfg, when not empty, is the exporter-toolkit web configuration (TLS,
// basic auth), read again on every connection as Prometheus's own
// exporters do, so a renewed certificate needs no restart.
func serve(ctx context.Context, e *env, x *exporter.Exporter, listen, webCfg string, ready chan<- string) int {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fail(e, listenError(listen, err))
	}
	srv := &http.Server{
		Handler:           x.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// /probe may take up to its budget; Prometheus never asks for more
		// than a scrape timeout of a few minutes.
		WriteTimeout: 5 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		// Failed TLS handshakes (a scanner, a curl without https) go to
		// the same log as the rest, not the process's bare stderr.
		ErrorLog: slog.NewLogLogger(slog.NewTextHandler(e.Stderr, nil).WithAttrs([]slog.Attr{slog.String("source", "http")}), slog.LevelWarn),
	}
	if webCfg == "" {
		fmt.Fprintf(e.Stderr, "kmsprobe: serving on http://%s/metrics (audit every %s)\n", ln.Addr(), x.Interval())
	} else {
		fmt.Fprintf(e.Stderr, "kmsprobe: serving on %s/metrics, TLS and users as %s says (audit every %s)\n", ln.Addr(), webCfg, x.Interval())
	}
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
	no := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{listen}, WebSystemdSocket: &no, WebConfigFile: &webCfg}
	// The toolkit logs each connection's TLS handshake failure and its
	// own start at info; our log stays about audits.
	tkLog := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { errc <- web.Serve(ln, srv, flags, tkLog) }()

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
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q is not host:port, e.g. %s", listen, config.DefaultServeListen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--listen %q: invalid port %q: a port is a number from 1 to 65535, e.g. %s", listen, port, config.DefaultServeListen)
	}
	return nil
}

// listenError explains why the socket could not be bound. Only an address
// in use suggests another kmsprobe serve; the other causes have their own
// fix.
func listenError(listen string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: the address is in use (is another kmsprobe serve running? ss -ltnp shows who holds it; choose another port with --listen)", listen)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; the usual port is 9688)", listen)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("cannot listen on %s: no interface of this host has that address (ip -br addr lists them; 0.0.0.0 means all)", listen)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot listen on %s: the host name does not resolve (%s); use an address such as 127.0.0.1", listen, dnsErr.Err)
	}
	return fmt.Errorf("cannot listen on %s: %v", listen, err)
}

// checkWebConfig reads the --web.config.file before anything starts, so
// a typo or an unreadable certificate is an error at start, not a failed
// handshake on every scrape.
func checkWebConfig(path string) error {
	if _, err := safefile.ReadFile(path, maxWebConfig); err != nil {
		return fmt.Errorf("--web.config.file: %w", err)
	}
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("--web.config.file %s is not usable: %s (it takes tls_server_config with cert_file and key_file, and basic_auth_users with bcrypt hashes such as htpasswd -nBC 10 USER prints)", path, webConfigProblem(err))
	}
	return nil
}

// webConfigProblem words the toolkit's parse errors for an admin: no Go
// type names, no library prefixes, a tab called a tab.
func webConfigProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "found character that cannot start any token"):
		line := ""
		if m := yamlLine.FindString(msg); m != "" {
			line = " at " + m
		}
		return "a tab" + line + ": indent YAML with spaces"
	case strings.Contains(msg, "crypto/bcrypt") || strings.Contains(msg, "hashedSecret") || strings.Contains(msg, "bcrypt"):
		return "a password in basic_auth_users is not a bcrypt hash (write the hash, never the password itself)"
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	msg = unknownField.ReplaceAllString(msg, "unknown key $1")
	msg = cannotUnmarshal.ReplaceAllStringFunc(msg, func(m string) string {
		kind := cannotUnmarshal.FindStringSubmatch(m)[1]
		switch kind {
		case "seq":
			kind = "list"
		case "map":
			kind = "mapping (key: value lines)"
		case "str":
			kind = "text"
		}
		return "a " + kind + " where another kind of value belongs"
	})
	return msg
}

var (
	yamlLine        = regexp.MustCompile(`line \d+`)
	unknownField    = regexp.MustCompile(`field (\S+) not found in type \S+`)
	cannotUnmarshal = regexp.MustCompile(`cannot unmarshal !!(\w+) into \S+`)
)

// maxWebConfig bounds the web configuration read: a few users and paths,
// or certificates inline, fit in far less.
const maxWebConfig = 1 << 20

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
