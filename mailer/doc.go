// Package mailer delivers a kmsprobe report by SMTP: the HTML report with
// a text/plain alternative and the trend chart as an inline image.
//
// Delivery is the last step of a cron run, after the report is saved, so a
// failure here never loses a report: the caller says how to resend it.
// The SMTP password comes from a file or the environment, never from the
// command line (where ps and shell history would show it), and never
// appears in an error or a log line.
//
// It owns: composing the report mail (text, HTML, chart, attachments), SMTP
// delivery with STARTTLS and AUTH, and turning delivery errors into advice.
// It must not know how an audit runs, nor render a report itself (render
// does).
package mailer
