package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/probe"
)

func init() {
	register(&command{
		Name:    "audit",
		Usage:   "[-c schools.yaml] [--school ID]... [--dhcp-iface IFACE] [--format table|json|csv|markdown|html] [-o FILE] [--save [DIR]]",
		Summary: "audit every school (or the named ones): DNS, KMS, clock, and DHCP on a campus LAN",
		Run:     runAudit,
	})
}

// auditFlags are the flags audit and demo share.
type auditFlags struct {
	outputFlags
	schools listFlag
	legs    legFlags
	report  reportFlags
}

func runAudit(ctx context.Context, e *env, args []string) int {
	var f auditFlags
	if code, ok := f.parse(e, commands["audit"], args, func(fs *flag.FlagSet) {
		fs.Var(&f.schools, "school", "audit only this school id (repeatable, or comma-separated)")
		f.legs.register(fs)
	}); !ok {
		return code
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		return fail(e, err)
	}
	return audit(ctx, e, cfg, &f, probe.Options{Schools: f.schools, Version: version, LookupHost: hostLookup})
}

// parse reads the flags audit and demo share (output, report) plus the
// command's own, and refuses positional arguments and unknown formats.
func (f *auditFlags) parse(e *env, c *command, args []string, own func(fs *flag.FlagSet)) (int, bool) {
	fs := newFlagSet(e, c)
	f.outputFlags.register(fs)
	f.report.register(fs)
	own(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code, false
	}
	if len(pos) > 0 {
		return fail(e, fmt.Errorf("%s takes no arguments (got %q); name schools with --school ID", c.Name, pos)), false
	}
	if err := f.checkFormat(); err != nil {
		return fail(e, err), false
	}
	if err := f.report.check(); err != nil {
		return fail(e, err), false
	}
	return 0, true
}

// audit runs the pipeline: the audit with the legs the flags ask for,
// then save, render and mail (deliver). demo shares it.
func audit(ctx context.Context, e *env, cfg *config.Config, f *auditFlags, opts probe.Options) int {
	if _, err := probe.Select(cfg, opts.Schools); err != nil {
		return fail(e, err)
	}
	// The demo brings its own KMS and clock legs (a replay needs the
	// capture's identity), so this machine's identity is not needed.
	var legs probe.Legs
	if opts.Legs.KMS == nil || opts.Legs.Clock == nil || f.legs.dhcpIface != "" {
		var err error
		if legs, err = f.legs.build(cfg, opts.Schools); err != nil {
			return fail(e, err)
		}
	}
	if opts.Legs.KMS == nil {
		opts.Legs.KMS = legs.KMS
	}
	if opts.Legs.Clock == nil {
		opts.Legs.Clock = legs.Clock
	}
	if opts.Legs.Campus == nil {
		opts.Legs.Campus = legs.Campus
	}
	if opts.Legs.Zone == nil && !opts.Simulate {
		opts.Legs.Zone = legs.Zone
	}
	bar := newProgress(e)
	opts.Progress = bar.update
	rep, err := probe.Run(ctx, cfg, opts)
	bar.finish()
	if err != nil {
		return fail(e, err)
	}
	return deliver(ctx, e, cfg, f, rep)
}

// progress draws a bar on stderr only when a person is watching.
type progress struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
	max int
}

func newProgress(e *env) *progress {
	if !e.StderrTTY {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(e.Stderr),
		progressbar.OptionSetDescription("asking"),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000),
	)}
}

func (p *progress) update(done, total int) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if total != p.max {
		p.max = total
		p.bar.ChangeMax(total)
	}
	_ = p.bar.Set(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
