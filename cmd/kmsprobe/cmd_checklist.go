package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

func init() {
	register(&command{
		Name:    "checklist",
		Summary: "one page per school for the person at a PC: the commands to run with the school's own values, the right answers, and which line of the school's audit explains each activation error code",
		Spec: spec{Config: helpConfig, Schools: "school `ID` (repeatable, or comma-separated); default every school", Lang: true, Out: true,
			Formats: []formatChoice{{"markdown", "to print or paste into a wiki"}, {"html", "one page per school, for a browser or a mail"}}},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			var reportPath string
			fs.StringVar(&reportPath, "report", "", "a saved audit report (`REPORT.json`) whose findings explain each error code")
			return func(ctx context.Context, e *env, in *input) int { return runChecklist(ctx, e, in, reportPath) }
		},
	})
}

func runChecklist(ctx context.Context, e *env, in *input, reportPath string) int {
	cfgPath, lang, format, out, ids := in.config, in.report.lang, in.format, in.out, in.schools
	if err := noArgs(in, "checklist", "name schools with --school ID"); err != nil {
		return fail(e, err)
	}
	cfg, err := readConfig(e, cfgPath)
	if err != nil {
		return fail(e, err)
	}
	l, err := reportLang(lang, cfg)
	if err != nil {
		return fail(e, err)
	}
	list, err := checklistSchools(cfg, ids)
	if err != nil {
		return fail(e, err)
	}
	var rep *probe.Report
	if reportPath != "" {
		if rep, err = probe.ReadFile(reportPath); err != nil {
			return fail(e, fmt.Errorf("cannot read --report: %w", err))
		}
	}
	write := func(w io.Writer) error {
		return render.WriteChecklists(w, list, rep, render.Options{Format: format, Lang: l})
	}
	if out == "" || out == "-" {
		err = write(e.Stdout)
	} else {
		err = safefile.WriteFile(out, safefile.ReportMode, write, safefile.Elsewhere("choose another -o file"))
	}
	if err != nil {
		return fail(e, err)
	}
	return exitPass
}

// checklistSchools are the configured schools named by ids (all when
// none), with the values their checklist fills in.
func checklistSchools(cfg *config.Config, ids []string) ([]render.ChecklistSchool, error) {
	var out []render.ChecklistSchool
	add := func(s config.School) {
		out = append(out, ChecklistSchool(cfg, s))
	}
	if len(ids) == 0 {
		for _, s := range cfg.Schools {
			add(s)
		}
		return out, nil
	}
	for _, id := range ids {
		s, ok := cfg.School(id)
		if !ok {
			return nil, fmt.Errorf("--school %q is not in %s; 'kmsprobe validate' lists the schools", id, cfg.Path)
		}
		add(s)
	}
	return out, nil
}

// ChecklistSchool is the checklist's view of one configured school; the
// mail pipeline passes these to render.FailingChecklists.
func ChecklistSchool(cfg *config.Config, s config.School) render.ChecklistSchool {
	return render.ChecklistSchool{ID: s.ID, Name: s.Name, Suffix: s.Suffix, DNS: s.DNS, Resolvers: cfg.Resolvers, KMSHost: cfg.KMS.Host, KMSPort: cfg.KMS.Port}
}
