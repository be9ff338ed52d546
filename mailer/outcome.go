package mailer

import (
	"fmt"

	"github.com/kh-edu/kmsprobe/probe"
)

// Exit codes of the monitoring-plugins convention the program follows.
const (
	exitPass    = 0
	exitUnknown = 3
)

// ExitCode is the exit status of an audit whose report was to be saved
// and/or mailed. auditCode is the report's own (0 pass, 1 warn, 2 fail).
//
// The rule: when the report could not be saved or could not be mailed,
// the run exits 3, whatever the audit found. Mail is the alert channel
// and the history is the record; when either is broken, kmsprobe itself
// needs the admin, and a cron wrapper or systemd's OnFailure must not
// mistake that for an ordinary failing school (2) that someone already
// knows about by mail. The audit's own result is never hidden: AuditLine
// is printed on stderr next to the error, and the report says it too.
func ExitCode(auditCode int, saveErr, mailErr error) int {
	if saveErr != nil || mailErr != nil {
		return exitUnknown
	}
	return auditCode
}

// AuditLine is the audit's result for stderr when a save or a delivery
// failed, so the exit status 3 does not hide what the audit found.
func AuditLine(r *probe.Report, auditCode int) string {
	s := r.Summary
	return fmt.Sprintf("audit: %d school(s) fail, %d warn, %d pass, %d unknown (the audit alone would exit %d)",
		s.Fail, s.Warn, s.Pass, s.Unknown, auditCode)
}

// SaveFailedNotice is the notice a mail carries when the report could
// not be saved (ComposeNotice): the mail is then the only copy.
func SaveFailedNotice(saveErr error) string {
	return fmt.Sprintf("This report could not be saved on the probe host, so this mail is its only copy and the next report cannot show changes since it. The error was: %v", saveErr)
}

// Pipeline runs the save-then-mail step of an audit with the rule of
// ExitCode: a failed save does not stop the mail (the mail says the
// report was not saved), and every failure is printed (with AuditLine)
// through logf. save and mail are the caller's; mail gets the notice to
// put at the top ("" when the save worked). saveAsked/mailAsked say
// which the admin asked for.
func Pipeline(r *probe.Report, auditCode int, saveAsked, mailAsked bool,
	save func() error, mail func(notice string) error, logf func(format string, args ...any)) int {
	var saveErr, mailErr error
	if saveAsked {
		if saveErr = save(); saveErr != nil {
			logf("the report was not saved: %v", saveErr)
		}
	}
	if mailAsked {
		notice := ""
		if saveErr != nil {
			notice = SaveFailedNotice(saveErr)
		}
		if mailErr = mail(notice); mailErr != nil {
			logf("%v", mailErr)
		} else if saveErr != nil {
			logf("mailed the report although it could not be saved; free the space (see above) before the next run")
		}
	}
	code := ExitCode(auditCode, saveErr, mailErr)
	if code != auditCode {
		logf("%s", AuditLine(r, auditCode))
	}
	return code
}
