package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes (DESIGN.md §5, the monitoring-plugins convention).
const (
	exitPass    = 0
	exitWarn    = 1
	exitFail    = 2
	exitUnknown = 3 // the probe could not run: bad config, flags, privilege
)

// command is one subcommand. Each lives in its own cmd_*.go file and
// registers itself in init, so adding a command touches no other file.
//
// A command declares the shared flags it takes in Spec and its own in
// Flags; the flag set, -h and the Usage line come from them (spec.go).
type command struct {
	Name    string
	Summary string
	Spec    spec
	// Flags registers the command's own flags and returns its body.
	Flags func(fs *flag.FlagSet, in *input) runFunc
}

var commands = map[string]*command{}

func register(c *command) { commands[c.Name] = c }

// env is what a command may touch of the outside world; tests give their
// own writers.
type env struct {
	Stdout, Stderr io.Writer
	// args is the command line, for -h to find --lang wherever it stands
	// (it fires before the flags after it are parsed).
	args []string
	// StderrTTY enables the progress bar: only a person at a terminal
	// wants one, never cron or a pipe.
	StderrTTY bool
	// StdoutTTY and Width fit the table to a person's terminal.
	StdoutTTY bool
	Width     int
	// Now is the one clock of report times and ages; tests pin it. Nil
	// is time.Now.
	Now func() time.Time
}

func (e *env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// clock is e.Now for probe.Options, never nil.
func (e *env) clock() func() time.Time {
	if e.Now == nil {
		return time.Now
	}
	return e.Now
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first Ctrl-C the audit winds down and prints what it
		// knows; restoring default handling lets a second one kill it.
		<-ctx.Done()
		stop()
	}()
	e := &env{Stdout: os.Stdout, Stderr: os.Stderr, StderrTTY: isTerminal(os.Stderr), StdoutTTY: isTerminal(os.Stdout), Now: time.Now}
	if e.StdoutTTY {
		e.Width, _, _ = term.GetSize(int(os.Stdout.Fd()))
	}
	os.Exit(run(ctx, e, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	e.args = args
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.Stderr)
		if len(args) == 0 {
			return exitUnknown
		}
		return exitPass
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(e.Stdout, "kmsprobe", version)
		return exitPass
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.Stderr, "kmsprobe: unknown command %q\n\n", args[0])
		usage(e.Stderr)
		return exitUnknown
	}
	return c.exec(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kmsprobe checks that every school can activate Windows and Office through KMS.")
	fmt.Fprintln(w, "\nUsage:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  kmsprobe %-9s %s\n", c.Name, usageLine(c))
		fmt.Fprintf(w, "  %-18s %s\n", "", c.Summary)
	}
	fmt.Fprintln(w, "\nExit status: 0 all pass, 1 some warn, 2 some fail, 3 the probe could not run.")
	fmt.Fprintln(w, "Run 'kmsprobe COMMAND -h' for a command's flags. Start with 'kmsprobe demo'.")
}

// fail prints an error the way every command does and returns exit 3.
func fail(e *env, err error) int {
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintln(e.Stderr, "kmsprobe:", msg)
	return exitUnknown
}
