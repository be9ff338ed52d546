package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/render"
)

func init() {
	register(&command{
		Name:    "validate",
		Summary: "check schools.yaml and list every problem with its line; sends nothing",
		Spec: spec{Config: "`schools.yaml` to check (default ./schools.yaml, then /etc/kmsprobe/schools.yaml)",
			Formats: []formatChoice{{"table", "lines for people"}, {"json", "for programs"}}},
		Flags: func(*flag.FlagSet, *input) runFunc { return runValidate },
	})
}

func runValidate(ctx context.Context, e *env, in *input) int {
	path, format := in.config, in.format
	if err := noArgs(in, "validate", "name the file with -c FILE"); err != nil {
		return fail(e, err)
	}
	var problems, warnings []config.Problem
	cfg, err := loadConfig(path)
	var ce *config.Error
	switch {
	case errors.As(err, &ce):
		problems = ce.Problems
	case err != nil:
		return fail(e, err)
	default:
		// The loader checks the KMS settings too (products, mode,
		// protocol), each with its line: nothing is left to check here.
		warnings = cfg.Warnings
	}
	if format == "json" {
		v := render.Validation{Problems: problems, Warnings: warnings}
		if cfg != nil {
			v.Schools = len(cfg.Schools)
		}
		if err := render.ValidationJSON(e.Stdout, v); err != nil {
			return fail(e, err)
		}
	}
	if len(problems) > 0 {
		if format == "table" {
			for _, p := range problems {
				fmt.Fprintln(e.Stderr, p.Error())
			}
		}
		fmt.Fprintf(e.Stderr, "%d problem(s); nothing was audited\n", len(problems))
		return exitUnknown
	}
	if format == "table" {
		for _, w := range warnings {
			fmt.Fprintln(e.Stdout, w.Error())
		}
		dns := 0
		for _, s := range cfg.Schools {
			dns += len(s.DNS)
		}
		verdict := "ok"
		if len(warnings) > 0 {
			verdict = fmt.Sprintf("loads, with %d warning(s) above", len(warnings))
		}
		fmt.Fprintf(e.Stdout, "%s: %s: %d schools, %d school DNS servers, %d city resolvers, KMS host %s, min count %d\n",
			cfg.Path, verdict, len(cfg.Schools), dns, len(cfg.Resolvers), cfg.KMS.Address(), cfg.KMS.MinCount)
	}
	// A warning is exit 1, as a warning school is for audit: the file
	// works, but probably not as its author meant.
	if len(warnings) > 0 {
		return exitWarn
	}
	return exitPass
}
