package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
)

// Options tune one audit.
type Options struct {
	Legs     Legs
	Schools  []string // ids to audit; empty means all
	Version  string
	Vantage  string // "central" (default) or "campus"
	Simulate bool   // mark the report as a simulation (the demo)
	// Progress is told how many exchanges are done out of how many are
	// known so far; total grows as later phases are planned.
	Progress func(done, total int)
	Now      func() time.Time
	Hostname string
	// DNSOnly stops after the DNS leg: no KMS or clock findings at all
	// (kmsprobe dns).
	DNSOnly bool
	// LookupHost asks the probe host's own resolver for the KMS host's
	// addresses, the witness of last resort (§4.1) when no city resolver
	// answers and kms.addresses is not written. nil: no such witness.
	LookupHost func(ctx context.Context, host string) []net.IP
	// Witnesses are DNS servers asked only for the KMS host's addresses,
	// never judged (the city resolvers when a command judges named
	// servers).
	Witnesses []string
}

// ErrUnknownSchool is returned for a --school id that is not configured.
var ErrUnknownSchool = errors.New("unknown school")

// Select returns the configured schools with the given ids, in file order,
// or all when ids is empty.
func Select(cfg *config.Config, ids []string) ([]config.School, error) {
	if len(ids) == 0 {
		return cfg.Schools, nil
	}
	var out []config.School
	for _, id := range ids {
		if _, ok := cfg.School(id); !ok {
			known := make([]string, 0, len(cfg.Schools))
			for _, s := range cfg.Schools {
				known = append(known, s.ID)
			}
			return nil, fmt.Errorf("%w %q: %s lists %s", ErrUnknownSchool, id, cfg.Path, strings.Join(known, ", "))
		}
	}
	for _, s := range cfg.Schools {
		if slices.Contains(ids, s.ID) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Run audits the schools: plan every question, exchange, judge. It always
// returns a report: when ctx is cancelled it stops every exchange promptly
// and returns what is known, marked incomplete. The error is only for an
// audit that cannot run.
// bigAudit is the number of exchanges from which the answers' memory is
// collected before the delegation leg runs (see Run): a few hundred
// schools' answers are not worth a collection.
const bigAudit = 20000

func Run(ctx context.Context, cfg *config.Config, opts Options) (*Report, error) {
	schools, err := Select(cfg, opts.Schools)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := time.Now()
	rep := newReport(opts, now())

	// The campus leg comes first: its offers decide which extra servers
	// and domains the DNS stage asks.
	var m Measurements
	if opts.Legs.Campus != nil {
		v, err := opts.Legs.Campus.Measure(ctx)
		if err != nil {
			return nil, err
		}
		m.Campus = v
		rep.Probe.Vantage = "campus"
	}

	plan := MakePlan(cfg, schools, m.Campus)
	plan.DNSOnly, plan.HaveKMS, plan.HaveZone = opts.DNSOnly, opts.Legs.KMS != nil, opts.Legs.Zone != nil && !opts.DNSOnly
	plan.AddWitnesses(opts.Witnesses)

	x := newExecutor(dnscheck.Client{Timeout: plan.PerAttempt, Attempts: plan.Attempts}, plan.Expect, cfg.Probe.Concurrency, cfg.Probe.PerServer, opts.Progress)
	x.dns(ctx, plan.Queries, true)
	// Every follow-up was asked as its answer came in; a stopped audit
	// records the ones it never reached as not asked.
	if ctx.Err() != nil {
		x.dns(ctx, targetQueries(plan, x.ans, plan.Expect), false)
	}
	m.DNS = x.ans
	if NeedsHostResolver(plan, m) && opts.LookupHost != nil && ctx.Err() == nil {
		m.HostResolver = opts.LookupHost(ctx, plan.Expect.Host)
	}

	// The DNS verdicts read only m.DNS and m.HostResolver, complete
	// here: made once, for the KMS targets and the report. The answers
	// are let go before the other legs run: they are a third of a city
	// audit's live memory, and the verdicts hold what the report needs.
	dv := judgeDNS(plan, m)
	exchanges := len(m.DNS)
	m.DNS, x.ans = nil, nil
	if exchanges >= bigAudit && plan.HaveZone {
		// The collector's next target is twice the heap it last found
		// live, and it last looked while the answers and the verdicts
		// were both held; at 10,000 schools the delegation leg's garbage
		// then grew the heap to 2.5 times the report before the next
		// collection. One collection now, with the answers gone, sets the
		// target by the report alone: peak RSS 235 → 176 MiB, for about
		// 60 ms. Without that leg little is allocated from here on.
		runtime.GC()
	}
	if !plan.DNSOnly {
		// KMS, clock and delegation are measured together: none depends
		// on another. Each writes only its own result; m is filled in
		// after all are done.
		var kmsTargets []string
		if plan.HaveKMS {
			kmsTargets = dv.kmsTargets()
		}
		var clock *Measured
		var zones, kms map[string]Measured
		var wg sync.WaitGroup
		if opts.Legs.Clock != nil {
			wg.Go(func() { clock = measureOne(ctx, opts.Legs.Clock) })
		}
		if opts.Legs.Zone != nil {
			zone, end := forAudit(opts.Legs.Zone)
			wg.Go(func() {
				defer end()
				zones = x.measureAll(ctx, zone, plan.Zones())
			})
		}
		if plan.HaveKMS {
			kms = x.measureAll(ctx, opts.Legs.KMS, kmsTargets)
		}
		wg.Wait()
		m.Clock, m.Zones, m.KMS = clock, zones, kms
	}
	m.Stopped = stopReason(ctx)

	rep.Schools, rep.Infrastructure = judgeWith(plan, m, dv)
	rep.Probe.Exchanges = exchanges
	rep.Probe.PeakPerServer = x.peakPerServer
	if m.Stopped != nil {
		rep.Incomplete = true
		rep.Reason = "the audit was stopped before every answer arrived (" + m.Stopped.Error() + "); unanswered checks are unknown"
	}
	rep.DurationSeconds = time.Since(start).Seconds()
	rep.Finish()
	return rep, nil
}

func newReport(opts Options, start time.Time) *Report {
	rep := &Report{
		Schema:      Schema,
		GeneratedAt: start,
		Probe:       Info{Hostname: opts.Hostname, Version: opts.Version, Vantage: opts.Vantage, Simulation: opts.Simulate},
		Selected:    opts.Schools,
	}
	if rep.Probe.Hostname == "" {
		rep.Probe.Hostname, _ = os.Hostname()
	}
	if rep.Probe.Vantage == "" {
		rep.Probe.Vantage = "central"
	}
	return rep
}
