// Package history keeps the saved audit reports of one folder: it saves a
// report atomically under a lock, trims the folder to the last N reports,
// lists and reads them back, and says what changed between two reports.
//
// The folder is written by cron jobs that may be killed at any moment and
// read by people and by `kmsprobe diff`/`kmsprobe mail`. So every report
// file is either absent or complete (temp file, fsync, rename, fsync of the
// folder), and two runs saving at once take turns through flock(2) on
// DIR/.lock instead of interleaving their retention passes.
//
// Reports are found by their file names (report-<UTC time>.json) and
// ordered by the time in the name. That time is trusted only when it is
// not after now, nor after the file's modification time, by more than
// ClockSlack: a report from a host with a wrong clock, or copied in, is
// warned about, never becomes the baseline of "since the last report" or
// diff, and is the first to go over report.keep. Files named like reports
// that are not whole reports of this schema (cut short, foreign, older
// schema) are warned about, left alone and not counted toward
// report.keep, so they never push a real report out.
//
// Modes: the folder 0750, reports and the lock 0640 (the umask may narrow
// them). Reports hold the city's network map, so they are never
// world-readable; the group is the kmsprobe group install.sh creates, for
// admins who read reports without becoming the service user.
package history
