package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/onboard"
)

func init() {
	register(&command{
		Name:    "init",
		Summary: "build schools.yaml from the Ministry of Education's school lists (CSV); --discover finds each school's own DNS servers",
		Spec:    spec{Required: []string{"from"}},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			var f initFlags
			f.register(fs)
			return func(ctx context.Context, e *env, in *input) int { return runInit(ctx, e, in, &f) }
		},
	})
}

// initFlags are init's own flags.
type initFlags struct {
	from, resolvers            listFlag
	city, zone, overrides, out string
	discover, force            bool
	nsPort, concurrency        int
	timeout                    time.Duration
}

func (f *initFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.from, "from", "a school list `FILE.csv` from the Ministry of Education (repeat for elementary, junior and senior high)")
	fs.StringVar(&f.city, "city", "高雄市", "keep the schools of this city `NAME` (縣市名稱, with or without its [code]); empty keeps all")
	fs.StringVar(&f.zone, "zone", "kh.edu.tw", "the city's DNS `ZONE`: a school's suffix is the name under it in its web address")
	fs.StringVar(&f.overrides, "overrides", "", "YAML `FILE` fixing schools by 代碼 or id: suffix, dns, id, name, skip")
	fs.BoolVar(&f.discover, "discover", false, "look up each school's name servers and write its own ones under dns:")
	fs.Var(&f.resolvers, "resolver", "resolver to ask with --discover, host or host:port (repeatable; default the city resolvers)")
	fs.IntVar(&f.nsPort, "ns-port", 53, "`PORT` the name servers listen on (labs and tests only)")
	fs.IntVar(&f.concurrency, "concurrency", 64, "`N` schools looked up at once with --discover")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Second, "per DNS question with --discover")
	fs.StringVar(&f.out, "o", "schools.yaml", "`FILE` to write, or - for standard output")
	fs.BoolVar(&f.force, "force", false, "merge into an existing file (its ids, edits and comments are kept)")
}

// runInit reads top to bottom: check the flags, refuse to clobber, read the
// lists, build the entries, discover their name servers, write the file,
// report what changed.
func runInit(ctx context.Context, e *env, in *input, f *initFlags) int {
	p, err := f.plan(in.Args)
	if err != nil {
		return fail(e, err)
	}
	// Refuse before any work: an existing file is only ever merged into.
	existing, err := readExisting(p.out, f.force)
	if err != nil {
		return fail(e, err)
	}
	start := time.Now()
	recs, sources, err := readSchoolLists(e.Stderr, f.from, f.city)
	if err != nil {
		return fail(e, err)
	}
	ov, err := readOverrides(f.overrides)
	if err != nil {
		return fail(e, err)
	}
	entries, notes := onboard.Build(recs, p.zone, ov)
	for _, n := range notes {
		fmt.Fprintln(e.Stderr, "note:", n)
	}
	if f.discover {
		if err := discoverEntries(ctx, e, entries, p); err != nil {
			return fail(e, err)
		}
	}
	res, err := composeInit(e.Stderr, p.out, existing, entries, p.meta(sources))
	if err != nil {
		return fail(e, err)
	}
	if err := writeInit(e.Stdout, p.out, res.data); err != nil {
		return fail(e, err)
	}
	w := e.Stdout
	if p.out == "-" {
		w = e.Stderr
	}
	reportInit(w, p, entries, res, time.Since(start))
	return exitPass
}

// initPlan is what init's flags mean once checked.
type initPlan struct {
	out, city, zone string
	discover        bool
	addrs           []string // resolvers asked with --discover, host:port
	fixedResolvers  bool     // --resolver was given: the file records them
	nsPort          int
	concurrency     int
	timeout         time.Duration
}

// plan checks init's flags and arguments, in the order an admin fixes them.
func (f *initFlags) plan(args []string) (initPlan, error) {
	if len(args) > 0 {
		return initPlan{}, fmt.Errorf("init takes no arguments (got %q); name each list with --from FILE.csv", args)
	}
	if len(f.from) == 0 {
		return initPlan{}, errors.New("no school list given; download the lists (國民小學, 國民中學, 高級中等學校 名錄) as CSV from the Ministry of Education's open data and pass each with --from FILE.csv")
	}
	zone := dnsname.Canonical(f.zone)
	if zone == "" || !strings.Contains(zone, ".") {
		return initPlan{}, fmt.Errorf("--zone %q is not a DNS zone; give the city's zone, e.g. kh.edu.tw", zone)
	}
	if !inRange(f.nsPort, 1, 65535) || !inRange(f.concurrency, 1, 1024) || !inRange(f.timeout, time.Millisecond, time.Minute) {
		return initPlan{}, errors.New("--ns-port must be 1-65535, --concurrency 1-1024 and --timeout 1ms-1m")
	}
	addrs, err := discoverResolvers(f.resolvers, f.discover)
	if err != nil {
		return initPlan{}, err
	}
	return initPlan{
		out: f.out, city: f.city, zone: zone, discover: f.discover,
		addrs: addrs, fixedResolvers: len(f.resolvers) > 0,
		nsPort: f.nsPort, concurrency: f.concurrency, timeout: f.timeout,
	}, nil
}

func inRange[T int | time.Duration](v, lo, hi T) bool { return v >= lo && v <= hi }

// discoverResolvers turns --resolver into addresses; --discover without any
// asks the city resolvers.
func discoverResolvers(resolvers []string, discover bool) ([]string, error) {
	if len(resolvers) > 0 && !discover {
		return nil, errors.New("--resolver is only used with --discover; add --discover or drop --resolver")
	}
	var addrs []string
	for _, r := range resolvers {
		a, err := hostPort(r, 53)
		if err != nil {
			return nil, fmt.Errorf("--resolver %q: %v; write an address like 163.28.136.21 or 127.0.0.1:5353", r, err)
		}
		addrs = append(addrs, a)
	}
	if discover && len(addrs) == 0 {
		addrs = config.DefaultResolvers
	}
	return addrs, nil
}

// meta is what the written file records about how it was made.
func (p initPlan) meta(sources []string) onboard.Meta {
	m := onboard.Meta{Sources: sources, City: p.city, Zone: p.zone}
	if p.fixedResolvers {
		m.Resolvers = p.addrs
	}
	return m
}

// readExisting returns the file init would overwrite, nil when there is
// none (or it is standard output, a device or a FIFO), and an error when
// it exists and --force was not given.
func readExisting(out string, force bool) ([]byte, error) {
	if out == "-" {
		return nil, nil
	}
	b, err := safefile.ReadFile(out, safefile.ConfigLimit)
	switch {
	case err == nil && !force:
		return nil, fmt.Errorf("%s already exists; run again with --force to merge the lists into it (its ids, edits and comments are kept), or write elsewhere with -o FILE", out)
	case err == nil:
		return b, nil
	case errors.Is(err, safefile.ErrNotRegular):
		// A device or FIFO (-o /dev/stdout): nothing to merge or
		// lose, the file is written through.
		return nil, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("cannot read the existing %s: %v", out, err)
	}
	return nil, nil
}

// readSchoolLists reads every --from list, keeping the schools of city, and
// says on log how many each held.
func readSchoolLists(log io.Writer, from []string, city string) ([]onboard.Record, []string, error) {
	var recs []onboard.Record
	var sources []string
	for _, f := range from {
		b, err := safefile.ReadFile(f, safefile.OverrideLimit)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read the school list: %v", err)
		}
		rs, enc, err := onboard.ReadCSV(filepath.Base(f), b, city)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(log, "%s: %d schools%s (%s)\n", f, len(rs), inCity(city), enc)
		recs = append(recs, rs...)
		sources = append(sources, filepath.Base(f))
	}
	return recs, sources, nil
}

// readOverrides reads --overrides; none given is no overrides.
func readOverrides(path string) (onboard.Overrides, error) {
	if path == "" {
		return onboard.Overrides{}, nil
	}
	b, err := safefile.ReadFile(path, safefile.OverrideLimit)
	if err != nil {
		return onboard.Overrides{}, fmt.Errorf("cannot read the overrides: %v", err)
	}
	return onboard.ParseOverrides(path, b)
}

// discoverEntries looks up every entry's own name servers with a progress bar.
func discoverEntries(ctx context.Context, e *env, entries []onboard.Entry, p initPlan) error {
	bar := newProgress(e)
	err := onboard.Discover(ctx, entries, onboard.DiscoverOptions{
		Zone: p.zone, Resolvers: p.addrs, Concurrency: p.concurrency,
		Client:   delegation.Client{Timeout: p.timeout, Attempts: 2, NSPort: p.nsPort},
		Progress: bar.update,
	})
	bar.finish()
	if err != nil {
		return fmt.Errorf("--discover: %v; nothing was written", err)
	}
	return nil
}

// initResult is the file init is about to write, checked by the validator.
type initResult struct {
	data   []byte
	merged bool
	ch     onboard.Changes
	cfg    *config.Config
}

// composeInit renders the entries (or merges them into existing) and checks
// the result as validate would, printing its problems on log.
func composeInit(log io.Writer, out string, existing []byte, entries []onboard.Entry, meta onboard.Meta) (initResult, error) {
	res := initResult{merged: existing != nil}
	var err error
	if res.merged {
		if res.data, res.ch, err = onboard.Merge(existing, entries, meta); err != nil {
			return res, fmt.Errorf("%s: %v", out, err)
		}
	} else if res.data, err = onboard.Render(entries, meta); err != nil {
		return res, err
	}
	if res.cfg, err = config.Parse(out, res.data); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(log, p.Error())
			}
		}
		return res, fmt.Errorf("the result would not pass validate (above); nothing was written. Fix the lists with --overrides FILE (a school is fixed by its 代碼)")
	}
	return res, nil
}

// writeInit writes data to out, or to standard output for "-".
func writeInit(stdout io.Writer, out string, data []byte) error {
	if out == "-" {
		_, _ = stdout.Write(data)
		return nil
	}
	return safefile.WriteFile(out, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }, safefile.Elsewhere("choose another -o file"))
}

// reportInit tells the admin what was written: each school's discovery
// line, the schools left out and why, what a merge changed, and the totals.
func reportInit(w io.Writer, p initPlan, entries []onboard.Entry, res initResult, took time.Duration) {
	if p.discover {
		printDiscovered(w, entries)
	}
	for _, en := range entries {
		if !en.Written() {
			fmt.Fprintf(w, "not written: 代碼 %s %s: %s\n", en.Code, en.Name, en.Reason)
		}
	}
	if res.merged {
		printChanges(w, p.out, res.ch, len(res.cfg.Schools))
	}
	written, withDNS := countWritten(entries)
	fmt.Fprintf(w, "%s: %d schools (%d with their own DNS servers), %d not written (listed at the end of the file with the reason) in %s; check it with: kmsprobe validate -c %s\n",
		p.out, written, withDNS, len(entries)-written, took.Round(time.Millisecond), p.out)
}

// countWritten counts the entries written to the file and, of them, those
// with their own DNS servers.
func countWritten(entries []onboard.Entry) (written, withDNS int) {
	for _, en := range entries {
		if !en.Written() {
			continue
		}
		written++
		if len(en.DNS) > 0 {
			withDNS++
		}
	}
	return written, withDNS
}

// printDiscovered prints what --discover found for each written school.
func printDiscovered(w io.Writer, entries []onboard.Entry) {
	for _, en := range entries {
		if !en.Written() {
			continue
		}
		for _, n := range en.Notes {
			if rest, ok := strings.CutPrefix(n, "discover: "); ok {
				fmt.Fprintf(w, "%-24s %s\n", en.ID, rest)
			}
		}
	}
}

// printChanges lists what a merge added, changed and dropped.
func printChanges(w io.Writer, out string, ch onboard.Changes, schools int) {
	for _, l := range ch.Added {
		fmt.Fprintln(w, "added:", l)
	}
	for _, l := range ch.Changed {
		fmt.Fprintln(w, "changed:", l)
	}
	for _, l := range ch.Dropped {
		fmt.Fprintln(w, "dropped:", l, "(kept as a comment at the end)")
	}
	fmt.Fprintf(w, "merged into %s: %d added, %d changed, %d dropped; kept %d written by hand and %d from lists not read this time; %d schools in the file\n",
		out, len(ch.Added), len(ch.Changed), len(ch.Dropped), ch.Kept, ch.OtherLists, schools)
}

func inCity(city string) string {
	if city == "" {
		return ""
	}
	return " in " + city
}

// hostPort normalises host or host:port (IP addresses only: the resolvers
// are asked before any name can be resolved).
func hostPort(s string, port int) (string, error) {
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), fmt.Sprint(port)), nil
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(h) == nil || p == "" {
		return "", errors.New("not an IP address or ip:port")
	}
	return s, nil
}
