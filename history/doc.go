// Package history keeps the saved audit reports of one folder: it saves a
// report atomically under a lock, trims the folder to the last N reports,
// lists and reads them back, and says what changed between two reports.
//
// The folder is written by cron jobs that may be killed at any moment and
// read by people and by `kmsprobe diff`/`kmsprobe mail`. So every report
// file is either absent or complete (temp file, fsync, rename, fsync of the
// folder), and two runs saving at once take turns through flock(2) on
// DIR/.lock instead of interleaving their retention passes.
package history
