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

func runInit(ctx context.Context, e *env, in *input, f *initFlags) int {
	from, resolvers := f.from, f.resolvers
	city, zone, overrides, out := f.city, f.zone, f.overrides, f.out
	discover, force := f.discover, f.force
	nsPort, concurrency, timeout := f.nsPort, f.concurrency, f.timeout
	pos := in.Args
	if len(pos) > 0 {
		return fail(e, fmt.Errorf("init takes no arguments (got %q); name each list with --from FILE.csv", pos))
	}
	if len(from) == 0 {
		return fail(e, errors.New("no school list given; download the lists (國民小學, 國民中學, 高級中等學校 名錄) as CSV from the Ministry of Education's open data and pass each with --from FILE.csv"))
	}
	zone = dnsname.Canonical(zone)
	if zone == "" || !strings.Contains(zone, ".") {
		return fail(e, fmt.Errorf("--zone %q is not a DNS zone; give the city's zone, e.g. kh.edu.tw", zone))
	}
	if nsPort < 1 || nsPort > 65535 || concurrency < 1 || concurrency > 1024 || timeout < time.Millisecond || timeout > time.Minute {
		return fail(e, errors.New("--ns-port must be 1-65535, --concurrency 1-1024 and --timeout 1ms-1m"))
	}
	if len(resolvers) > 0 && !discover {
		return fail(e, errors.New("--resolver is only used with --discover; add --discover or drop --resolver"))
	}
	var addrs []string
	for _, r := range resolvers {
		a, err := hostPort(r, 53)
		if err != nil {
			return fail(e, fmt.Errorf("--resolver %q: %v; write an address like 163.28.136.21 or 127.0.0.1:5353", r, err))
		}
		addrs = append(addrs, a)
	}
	if discover && len(addrs) == 0 {
		addrs = config.DefaultResolvers
	}

	// Refuse before any work: an existing file is only ever merged into.
	toStdout := out == "-"
	var existing []byte
	if !toStdout {
		b, err := safefile.ReadFile(out, safefile.ConfigLimit)
		switch {
		case err == nil && !force:
			return fail(e, fmt.Errorf("%s already exists; run again with --force to merge the lists into it (its ids, edits and comments are kept), or write elsewhere with -o FILE", out))
		case err == nil:
			existing = b
		case errors.Is(err, safefile.ErrNotRegular):
			// A device or FIFO (-o /dev/stdout): nothing to merge or
			// lose, the file is written through.
		case !errors.Is(err, os.ErrNotExist):
			return fail(e, fmt.Errorf("cannot read the existing %s: %v", out, err))
		}
	}

	start := time.Now()
	var recs []onboard.Record
	var sources []string
	for _, f := range from {
		b, err := safefile.ReadFile(f, safefile.OverrideLimit)
		if err != nil {
			return fail(e, fmt.Errorf("cannot read the school list: %v", err))
		}
		rs, enc, err := onboard.ReadCSV(filepath.Base(f), b, city)
		if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.Stderr, "%s: %d schools%s (%s)\n", f, len(rs), inCity(city), enc)
		recs = append(recs, rs...)
		sources = append(sources, filepath.Base(f))
	}
	var ov onboard.Overrides
	if overrides != "" {
		b, err := safefile.ReadFile(overrides, safefile.OverrideLimit)
		if err != nil {
			return fail(e, fmt.Errorf("cannot read the overrides: %v", err))
		}
		if ov, err = onboard.ParseOverrides(overrides, b); err != nil {
			return fail(e, err)
		}
	}
	entries, notes := onboard.Build(recs, zone, ov)
	for _, n := range notes {
		fmt.Fprintln(e.Stderr, "note:", n)
	}

	if discover {
		bar := newProgress(e)
		err := onboard.Discover(ctx, entries, onboard.DiscoverOptions{
			Zone: zone, Resolvers: addrs, Concurrency: concurrency,
			Client:   delegation.Client{Timeout: timeout, Attempts: 2, NSPort: nsPort},
			Progress: bar.update,
		})
		bar.finish()
		if err != nil {
			return fail(e, fmt.Errorf("--discover: %v; nothing was written", err))
		}
	}

	meta := onboard.Meta{Sources: sources, City: city, Zone: zone}
	if len(resolvers) > 0 {
		meta.Resolvers = addrs
	}
	var data []byte
	var ch onboard.Changes
	var err error
	if existing != nil {
		data, ch, err = onboard.Merge(existing, entries, meta)
		if err != nil {
			return fail(e, fmt.Errorf("%s: %v", out, err))
		}
	} else if data, err = onboard.Render(entries, meta); err != nil {
		return fail(e, err)
	}
	cfg, err := config.Parse(out, data)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(e.Stderr, p.Error())
			}
		}
		return fail(e, fmt.Errorf("the result would not pass validate (above); nothing was written. Fix the lists with --overrides FILE (a school is fixed by its 代碼)"))
	}
	if toStdout {
		_, _ = e.Stdout.Write(data)
	} else if err := safefile.WriteFile(out, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }, safefile.Elsewhere("choose another -o file")); err != nil {
		return fail(e, err)
	}

	w := e.Stdout
	if toStdout {
		w = e.Stderr
	}
	written, skipped, withDNS := 0, 0, 0
	for _, en := range entries {
		if !en.Written() {
			skipped++
			continue
		}
		written++
		if len(en.DNS) > 0 {
			withDNS++
		}
		if discover {
			for _, n := range en.Notes {
				if strings.HasPrefix(n, "discover: ") {
					fmt.Fprintf(w, "%-24s %s\n", en.ID, strings.TrimPrefix(n, "discover: "))
				}
			}
		}
	}
	for _, en := range entries {
		if !en.Written() {
			fmt.Fprintf(w, "not written: 代碼 %s %s: %s\n", en.Code, en.Name, en.Reason)
		}
	}
	if existing != nil {
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
			out, len(ch.Added), len(ch.Changed), len(ch.Dropped), ch.Kept, ch.OtherLists, len(cfg.Schools))
	}
	fmt.Fprintf(w, "%s: %d schools (%d with their own DNS servers), %d not written (listed at the end of the file with the reason) in %s; check it with: kmsprobe validate -c %s\n",
		out, written, withDNS, skipped, time.Since(start).Round(time.Millisecond), out)
	return exitPass
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
