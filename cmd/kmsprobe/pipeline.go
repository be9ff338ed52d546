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

// An audit (and the demo) runs one explicit pipeline:
//
//	audit -> save -> render -> mail -> exit code
//
// The report is saved (with its changes since the last one) before it is
// printed, so the output shows them; it is mailed after it is on disk, so
// a failed delivery can be resent with `kmsprobe mail FILE`. A failed save
// does not stop the mail (mail is the alert channel: it then says the
// report was not saved), and a failed save or delivery makes the run exit
// 3 with the audit's own result still printed (mailer.ExitCode).

// reportFlags are --save, --mail and --lang.
type reportFlags struct {
	save saveFlag
	mail bool
	lang string
}

func (h *reportFlags) register(fs *flag.FlagSet) {
	h.registerDelivery(fs)
	fs.StringVar(&h.lang, "lang", "", helpLang)
}

// registerDelivery adds --save and --mail.
func (h *reportFlags) registerDelivery(fs *flag.FlagSet) {
	fs.Var(&h.save, "save", "save the report as JSON in the history folder `DIR`: --save alone uses report.dir from schools.yaml, else ./"+history.DefaultDir+"; --save=DIR (or --save DIR) names the folder. Keeps the last report.keep reports (default 52)")
	fs.BoolVar(&h.mail, "mail", false, "mail the report to mail.to in schools.yaml (implies --save, so a failed delivery can be resent with 'kmsprobe mail FILE'); SMTP password from mail.password_file or $"+mailer.PasswordEnv)
}

// check refuses a bad --lang before any packet is sent: a typo must not
// cost a whole audit.
func (h *reportFlags) check() error {
	if h.lang == "" {
		return nil
	}
	_, err := reportLang(h.lang, nil)
	return err
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

// deliver runs the steps after the audit: save, render, mail. It returns
// the exit code of the whole run.
func deliver(ctx context.Context, e *env, cfg *config.Config, f *input, r *probe.Report) int {
	code := f.exitCode(r)
	var ro render.Options
	lang, err := reportLang(f.report.lang, cfg)
	if err != nil {
		fail(e, err)
		code, lang = exitUnknown, render.English
	}
	ro.Lang = lang

	// Save.
	var saveErr error
	saved := ""
	saveAsked := f.report.save.on || f.report.mail
	if saveAsked {
		dir := historyDir(f.report.save.dir, cfg)
		res, err := history.Folder{Dir: dir, Keep: cfg.Report.Keep}.Save(ctx, r)
		if err != nil {
			saveErr = fmt.Errorf("the report was not saved: %w", err)
			fail(e, saveErr)
		} else {
			for _, w := range res.Warnings {
				fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w)
			}
			saved = res.Path
			msg := "kmsprobe: saved " + res.Path
			if res.Previous != "" {
				msg += fmt.Sprintf(" (%s since %s)", changeCount(r.Changes), res.Previous)
			}
			if len(res.Removed) > 0 {
				msg += fmt.Sprintf("; removed %d old report(s) beyond report.keep=%d", len(res.Removed), cfg.Report.Keep)
			}
			fmt.Fprintln(e.Stderr, msg)
			// The folder's warnings were printed with the save above.
			pts, _, err := history.Folder{Dir: dir}.TrendOf(r.Probe.Simulation)
			if err != nil {
				fmt.Fprintln(e.Stderr, "kmsprobe: warning: trend:", err)
			}
			ro.Trend = trendPoints(pts)
		}
	}

	// Render. A failed -o (a full disk) is the probe's own trouble, but
	// the mail below still goes out.
	if err := f.emitWith(e, r, ro); err != nil {
		fail(e, err)
		code = exitUnknown
	}
	if err := f.legs.campusError(); err != nil {
		// DHCP was asked for and could not run: the probe's own trouble.
		// The error already names the fix (the setcap command).
		fmt.Fprintln(e.Stderr, "kmsprobe:", err)
		code = exitUnknown
	}
	if r.Incomplete {
		fmt.Fprintln(e.Stderr, "kmsprobe: audit interrupted: the report above is incomplete; unanswered checks are marked unknown")
	}

	// Mail.
	var mailErr error
	if f.report.mail {
		notice := ""
		if saveErr != nil {
			notice = mailer.SaveFailedNotice(saveErr)
		}
		ro.ResendPath = saved
		if mailErr = sendReport(ctx, e, cfg, r, ro, notice); mailErr != nil {
			fail(e, mailErr)
			if saved != "" {
				fmt.Fprintf(e.Stderr, "kmsprobe: the report is saved as %s; once the problem is fixed, resend it with: kmsprobe mail%s %s\n", saved, configArg(f.config), shellQuote(saved))
			}
		}
	}
	if saveErr != nil || mailErr != nil {
		fmt.Fprintln(e.Stderr, "kmsprobe: "+mailer.AuditLine(r, r.ExitCode()))
		return mailer.ExitCode(code, saveErr, mailErr)
	}
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

// configArg repeats -c, as the admin wrote it, for a command printed as
// a hint; without -c the command finds schools.yaml as the run did. The
// demo's own city is never named: it is no file.
func configArg(path string) string {
	if path == "" {
		return ""
	}
	return " -c " + shellQuote(path)
}

// shellQuote quotes s for a POSIX shell when it needs it, so a printed
// command can be pasted as it is.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sendReport composes and delivers r, printing what it did on stderr.
// notice, when set, opens the mail (the report could not be saved).
func sendReport(ctx context.Context, e *env, cfg *config.Config, r *probe.Report, ro render.Options, notice string) error {
	s, warns, err := mailer.FromConfig(cfg.Mail, os.Getenv)
	for _, w := range warns {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w)
	}
	if err != nil {
		return err
	}
	s.UserAgent = "kmsprobe " + version
	m, err := mailer.ComposeNotice(r, ro, s, notice, checklistAttachments(e, cfg, r, ro))
	if err != nil {
		return err
	}
	if err := mailer.Send(ctx, s, m); err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "kmsprobe: mailed %q to %s via %s\n", m.Subject, strings.Join(s.To, ", "), s.Addr)
	return nil
}

// checklistAttachments are the checklists of r's failing schools, for
// the teacher at each school's PCs, filled in with cfg's values. A
// checklist that cannot be rendered is left out with a warning: the
// report itself must still go out.
func checklistAttachments(e *env, cfg *config.Config, r *probe.Report, ro render.Options) []render.Attachment {
	schools := make([]render.ChecklistSchool, 0, len(cfg.Schools))
	for _, s := range cfg.Schools {
		schools = append(schools, ChecklistSchool(cfg, s))
	}
	atts, err := render.FailingChecklists(r, schools, render.Options{Lang: ro.Lang, Now: ro.Now})
	if err != nil {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning: the failing schools' checklists are not attached:", err)
		return nil
	}
	return atts
}
