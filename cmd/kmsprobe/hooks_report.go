package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/history"
	"github.com/kh-edu/kmsprobe/mailer"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// The report hook adds --save, --mail and --lang to audit and demo. One
// hook does all three so their order is fixed: the report is saved (with
// its changes since the last one) before it is printed, and mailed only
// after it is safely on disk, so a failed delivery can be retried with
// `kmsprobe mail FILE`.
func init() {
	auditHooks = append(auditHooks, auditHook{
		flags: reportHook.register,
		// A typo in --lang must not cost a whole audit: refuse it first.
		check: func() error {
			if reportHook.lang == "" {
				return nil
			}
			_, err := reportLang(reportHook.lang, nil)
			return err
		},
		before: reportHook.before,
		after:  reportHook.after,
	})
}

// reportHook holds one invocation's flags and what before hands to after.
// Commands run one at a time, and register resets it for each.
var reportHook = &reportState{}

type reportState struct {
	save saveFlag
	mail bool
	lang string

	saved string // the saved report's path
	ro    render.Options
	skip  bool // before failed in a way that makes mailing pointless
}

// saveFlag is --save (to the default folder) or --save=DIR. It is a
// boolean flag for Go's flag package, so "--save" alone does not swallow
// the next argument; parse() joins "--save DIR" into "--save=DIR".
type saveFlag struct {
	on  bool
	dir string
}

func (s *saveFlag) String() string {
	if s == nil || !s.on {
		return ""
	}
	return s.dir
}

func (s *saveFlag) Set(v string) error {
	switch v {
	case "true":
		s.on, s.dir = true, ""
	case "false":
		s.on, s.dir = false, ""
	case "":
		return fmt.Errorf("--save= needs a folder, or write --save alone for %s", history.DefaultDir)
	default:
		s.on, s.dir = true, v
	}
	return nil
}

func (s *saveFlag) IsBoolFlag() bool { return true }
func (s *saveFlag) OptionalValue()   {}

func (h *reportState) register(fs *flag.FlagSet) {
	*h = reportState{}
	fs.Var(&h.save, "save", "save the report as JSON in the history folder: --save alone uses report.dir from schools.yaml, else ./"+history.DefaultDir+"; --save=DIR (or --save DIR) names the folder. Keeps the last report.keep reports (default 52)")
	fs.BoolVar(&h.mail, "mail", false, "mail the report to mail.to in schools.yaml (implies --save, so a failed delivery can be resent with 'kmsprobe mail FILE'); SMTP password from mail.password_file or $"+mailer.PasswordEnv)
	fs.StringVar(&h.lang, "lang", "", "report language: en or zh-TW (default report.lang from schools.yaml, else en)")
}

// historyDir is where --save and --mail keep reports.
func historyDir(flagDir string, cfg *config.Config) string {
	switch {
	case flagDir != "":
		return flagDir
	case cfg != nil && cfg.Report.Dir != "":
		return cfg.Report.Dir
	}
	return history.DefaultDir
}

// reportLang is --lang, else report.lang, else English.
func reportLang(flagLang string, cfg *config.Config) (string, error) {
	l := flagLang
	if l == "" && cfg != nil {
		l = cfg.Report.Lang
	}
	if l == "" {
		l = render.English
	}
	if err := render.CheckLang(l); err != nil {
		return "", fmt.Errorf("--lang: %w", err)
	}
	return l, nil
}

func (h *reportState) before(ctx context.Context, e *env, cfg *config.Config, r *probe.Report, ro *render.Options) int {
	code := -1
	lang, err := reportLang(h.lang, cfg)
	if err != nil {
		fail(e, err)
		code = exitUnknown
		lang = render.English
	}
	ro.Lang = lang
	if !h.save.on && !h.mail {
		h.ro = *ro
		return code
	}
	dir := historyDir(h.save.dir, cfg)
	res, err := history.Save(ctx, dir, cfg.Report.Keep, r)
	if err != nil {
		fail(e, fmt.Errorf("the report was not saved: %w", err))
		h.skip = true
		return exitUnknown
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w)
	}
	h.saved = res.Path
	msg := "kmsprobe: saved " + res.Path
	if res.Previous != "" {
		msg += fmt.Sprintf(" (%s since %s)", changeCount(r.Changes), res.Previous)
	}
	if len(res.Removed) > 0 {
		msg += fmt.Sprintf("; removed %d old report(s) beyond report.keep=%d", len(res.Removed), cfg.Report.Keep)
	}
	fmt.Fprintln(e.Stderr, msg)
	pts, err := history.Trend(dir)
	if err != nil {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning: trend:", err)
	}
	ro.Trend = trendPoints(pts)
	h.ro = *ro
	return code
}

func changeCount(ch *probe.Changes) string {
	if ch == nil {
		return "no changes"
	}
	return fmt.Sprintf("%d regression(s), %d fix(es), %d new, %d removed", len(ch.Regressions), len(ch.Fixes), len(ch.New), len(ch.Removed))
}

func trendPoints(pts []history.Point) []render.TrendPoint {
	out := make([]render.TrendPoint, len(pts))
	for i, p := range pts {
		out[i] = render.TrendPoint{At: p.At, Summary: p.Summary, Incomplete: p.Incomplete}
	}
	return out
}

func (h *reportState) after(ctx context.Context, e *env, cfg *config.Config, r *probe.Report) int {
	if !h.mail {
		return -1
	}
	if h.skip {
		fmt.Fprintln(e.Stderr, "kmsprobe: not mailing: the report could not be saved first (see above); fix that, then rerun the audit")
		return exitUnknown
	}
	ro := h.ro
	ro.ResendPath = h.saved
	if err := sendReport(ctx, e, cfg, r, ro); err != nil {
		fail(e, err)
		fmt.Fprintf(e.Stderr, "kmsprobe: the report is saved as %s; once the problem is fixed, resend it with: kmsprobe mail%s %s\n", h.saved, configArg(cfg), h.saved)
		return exitUnknown
	}
	return -1
}

// configArg repeats -c for a resend command when the configuration did
// not come from the default search path.
func configArg(cfg *config.Config) string {
	if cfg == nil || cfg.Path == "" {
		return ""
	}
	for _, p := range config.SearchPath {
		if p == cfg.Path {
			return ""
		}
	}
	return " -c " + cfg.Path
}

// sendReport composes and delivers r, printing what it did on stderr.
func sendReport(ctx context.Context, e *env, cfg *config.Config, r *probe.Report, ro render.Options) error {
	s, warns, err := mailer.FromConfig(cfg.Mail, os.Getenv)
	for _, w := range warns {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w)
	}
	if err != nil {
		return err
	}
	s.UserAgent = "kmsprobe " + version
	m, err := mailer.Compose(r, ro, s)
	if err != nil {
		return err
	}
	if err := mailer.Send(ctx, s, m); err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "kmsprobe: mailed %q to %s via %s\n", m.Subject, strings.Join(s.To, ", "), s.Addr)
	return nil
}
