package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kh-edu/kmsprobe/history"
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/mailer"
	"github.com/kh-edu/kmsprobe/render"
)

func init() {
	register(&command{
		Name:    "mail",
		Summary: "mail a saved report (to resend one whose delivery failed); exit 0 sent, 3 not sent",
		Spec:    spec{Args: "REPORT.json", Config: "`schools.yaml` with the mail: section (default ./schools.yaml, then /etc/kmsprobe/schools.yaml)", Lang: true},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			var eml string
			fs.StringVar(&eml, "eml", "", "write the message to this `FILE` (RFC 5322, opens in any mail client) instead of sending it")
			return func(ctx context.Context, e *env, in *input) int { return runMail(ctx, e, in, eml) }
		},
	})
}

func runMail(ctx context.Context, e *env, in *input, eml string) int {
	cfgPath, lang, pos := in.config, in.report.lang, in.Args
	if len(pos) != 1 {
		return fail(e, fmt.Errorf("mail takes one saved report, e.g. kmsprobe mail /var/lib/kmsprobe/reports/report-20261125T000000.000Z.json (got %d arguments)", len(pos)))
	}
	path := pos[0]
	r, err := history.ReadReport(path)
	if err != nil {
		return fail(e, fmt.Errorf("cannot read the report to mail: %w", err))
	}
	cfg, err := readConfig(e, cfgPath)
	if err != nil {
		return fail(e, err)
	}
	l, err := reportLang(lang, cfg)
	if err != nil {
		return fail(e, err)
	}
	ro := render.Options{Lang: l, ResendPath: path}
	// The trend is the report's own folder up to the report itself, so a
	// resent report shows the same chart it would have shown that day.
	if pts, err := history.Trend(filepath.Dir(path)); err == nil {
		for _, p := range pts {
			if !p.At.After(r.GeneratedAt) {
				ro.Trend = append(ro.Trend, trendPoints([]history.Point{p})...)
			}
		}
	}
	if eml != "" {
		s, warns, err := mailer.FromConfig(cfg.Mail, os.Getenv)
		for _, w := range warns {
			fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w)
		}
		if err != nil {
			return fail(e, err)
		}
		m, err := mailer.Compose(r, ro, s, checklistAttachments(e, cfg, r, ro))
		if err != nil {
			return fail(e, err)
		}
		if err := safefile.WriteFile(eml, safefile.ReportMode, func(w io.Writer) error { _, err := m.WriteTo(w); return err }); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.Stderr, "kmsprobe: wrote %q to %s\n", m.Subject, eml)
		return exitPass
	}
	if err := sendReport(ctx, e, cfg, r, ro, ""); err != nil {
		return fail(e, err)
	}
	return exitPass
}
