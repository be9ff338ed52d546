package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/history"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

func init() {
	register(&command{
		Name:    "diff",
		Summary: "what changed between two saved reports (default: the two newest in the history); exit 0 no regression, 1 worst regression is a warn, 2 a fail or unknown, 3 cannot read",
		Spec: spec{Args: "[OLD.json NEW.json]", Config: "`schools.yaml`, for report.dir and report.lang (optional)", Lang: true,
			Formats: []formatChoice{{"table", "what changed, for people"}, {"json", "the changes, for programs"}}},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			var dir string
			fs.StringVar(&dir, "dir", "", "history folder `DIR` (default report.dir from schools.yaml, else ./"+history.DefaultDir+")")
			return func(ctx context.Context, e *env, in *input) int { return runDiff(ctx, e, in, dir) }
		},
	})
}

func runDiff(ctx context.Context, e *env, in *input, dir string) int {
	cfgPath, format, lang, pos := in.config, in.format, in.report.lang, in.Args
	// The configuration is optional here: diff reads files, and an admin
	// may run it on a copy of the history on another machine.
	var cfg *config.Config
	if cfgPath != "" || dir == "" || lang == "" {
		if c, err := loadConfig(cfgPath); err == nil {
			cfg = c
		} else if cfgPath != "" {
			return fail(e, err)
		}
	}
	l, err := reportLang(lang, cfg)
	if err != nil {
		return fail(e, err)
	}
	old, cur, warns, err := diffInputs(historyDir(dir, cfg), pos)
	for _, w := range warns {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w)
	}
	if err != nil {
		return fail(e, err)
	}
	cur.Changes = history.Diff(old, cur)
	if format == "json" {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(cur.Changes); err != nil {
			return fail(e, err)
		}
	} else {
		fmt.Fprintf(e.Stdout, "%s -> %s\n\n", stamp(old), stamp(cur))
		if err := render.ChangesText(e.Stdout, cur, l); err != nil {
			return fail(e, err)
		}
	}
	return diffExit(cur.Changes)
}

func stamp(r *probe.Report) string { return r.GeneratedAt.Format("2006-01-02 15:04 -07:00") }

// diffExit follows the monitoring-plugins convention on the regressions
// alone: a fix or a new school is no reason to page anyone.
func diffExit(ch *probe.Changes) int {
	w, ok := history.WorstRegression(ch)
	switch {
	case !ok:
		return exitPass
	case w == finding.Warn:
		return exitWarn
	default:
		return exitFail
	}
}

// diffInputs reads OLD and NEW from the arguments, or the two newest
// trusted, complete reports of dir; warns names the files it skipped
// (damaged, foreign, dated in the future, interrupted).
func diffInputs(dir string, pos []string) (old, cur *probe.Report, warns []string, err error) {
	switch len(pos) {
	case 2:
		if old, err = history.ReadReport(pos[0]); err != nil {
			return nil, nil, nil, fmt.Errorf("cannot read OLD: %w", err)
		}
		if cur, err = history.ReadReport(pos[1]); err != nil {
			return nil, nil, nil, fmt.Errorf("cannot read NEW: %w", err)
		}
		return old, cur, nil, nil
	case 0:
		reps, _, err := history.Newest(dir, 2)
		if err != nil {
			warns = strings.Split(err.Error(), "\n")
		}
		if len(reps) < 2 {
			return nil, nil, warns, fmt.Errorf("the history folder %s has %d usable report(s); diff needs two: run 'kmsprobe audit --save=%s' again, or name two files: kmsprobe diff OLD.json NEW.json", dir, len(reps), dir)
		}
		return reps[1], reps[0], warns, nil
	}
	return nil, nil, nil, fmt.Errorf("diff takes two reports (OLD.json NEW.json) or none (the two newest in the history), got %d", len(pos))
}
