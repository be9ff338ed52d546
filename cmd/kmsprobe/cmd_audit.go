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
		Summary: "audit every school (or the named ones): DNS, KMS, clock, and DHCP on a campus LAN",
		Spec: spec{Config: helpConfig, Schools: helpSchoolsID, Legs: true,
			Formats: reportFormats(), Out: true, OnlyProblems: true, Report: true, Lang: true},
		Flags: func(*flag.FlagSet, *input) runFunc { return runAudit },
	})
}

func runAudit(ctx context.Context, e *env, in *input) int {
	if err := noArgs(in, "audit", "name schools with --school ID"); err != nil {
		return fail(e, err)
	}
	cfg, err := readConfig(e, in.config)
	if err != nil {
		return fail(e, err)
	}
	return audit(ctx, e, cfg, in, probe.Options{Schools: in.schools, Version: version, LookupHost: hostLookup})
}

// noArgs refuses positional arguments to a command that takes none,
// saying what to write instead.
func noArgs(in *input, name, instead string) error {
	if len(in.Args) == 0 {
		return nil
	}
	return fmt.Errorf("%s takes no arguments (got %q); %s", name, in.Args, instead)
}

// audit runs the pipeline: the audit with the legs the flags ask for,
// then save, render and mail (deliver). demo shares it.
func audit(ctx context.Context, e *env, cfg *config.Config, f *input, opts probe.Options) int {
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
	opts.Legs = fillLegs(opts.Legs, legs)
	if opts.Now == nil {
		opts.Now = e.clock()
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
