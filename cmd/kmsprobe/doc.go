// Command kmsprobe proves, from the network side, that every school can
// activate Windows and Office through KMS, and says what to fix where one
// cannot. See the README and DESIGN.md §5 for the command line.
//
// It owns: the command line (one declarative spec per command), the explicit
// pipeline audit → save → render → mail → exit code, and what is printed on
// stderr. It must not know how a check is made or judged: it builds legs
// through package legs, runs probe, and hands the report to render, history
// and mailer.
package main
