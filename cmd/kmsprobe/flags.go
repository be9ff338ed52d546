package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// listFlag is a repeatable flag (--school a --school b), also accepting
// comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// outputFlags are the flags every report-printing command shares.
type outputFlags struct {
	config       string
	format       string
	out          string
	onlyProblems bool
}

func newFlagSet(e *env, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("kmsprobe "+c.Name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	// The Usage line is made from the flags fs holds when -h is asked,
	// so it lists exactly what the command takes.
	fs.Usage = func() {
		// --lang zh-TW (anywhere on the line) or $KMSPROBE_LANG
		// translates the help of the shared flags.
		lang := i18n.HelpLang(e.args, os.Getenv)
		i18n.TranslateFlags(lang, fs)
		fmt.Fprintf(e.Stderr, "%s kmsprobe %s %s\n%s\n\n%s\n", i18n.T(lang, "flag.usage", nil), c.Name, synopsis(c.Spec.Args, c.Spec.Required, fs), c.Summary, i18n.T(lang, "flag.heading", nil))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags wherever they stand among the arguments, so
// "kmsprobe dns example.edu.tw --server 127.0.0.1" works as people type
// it. It returns the positional arguments, or an exit code to stop with.
func parse(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	args = joinOptionalValues(fs, args)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitPass, false
			}
			return nil, exitUnknown, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// emit renders the report to stdout or, with -o, to a file replaced
// atomically, so a reader (or a crash) never sees half a report.
func (o *outputFlags) emit(e *env, r *probe.Report) error {
	return o.emitWith(e, r, render.Options{})
}

// emitWith is emit with render options (language, trend) for the formats
// that use them.
func (o *outputFlags) emitWith(e *env, r *probe.Report, ro render.Options) error {
	ro.Format, ro.OnlyProblems = o.format, o.onlyProblems
	if ro.Now.IsZero() {
		ro.Now = e.now()
	}
	fn := func(w io.Writer) error { return render.Write(w, r, ro) }
	if o.out == "" || o.out == "-" {
		// A person at a terminal gets a table fitted to its width and,
		// unless NO_COLOR is set (no-color.org), colour.
		if e.StdoutTTY {
			ro.Width = e.Width
			ro.Color = os.Getenv("NO_COLOR") == ""
		}
		return fn(e.Stdout)
	}
	return safefile.WriteFile(o.out, safefile.ReportMode, fn, safefile.Elsewhere("choose another -o file"))
}

// optionalValue is a flag that works alone (--save) and with a value
// (--save=DIR). Go's flag package cannot take "--save DIR" for such a
// flag; joinOptionalValues makes it so.
type optionalValue interface {
	flag.Value
	IsBoolFlag() bool
	OptionalValue()
}

// joinOptionalValues rewrites "--save DIR" to "--save=DIR" when DIR does
// not look like a flag, so admins can write it either way. Only commands
// without positional arguments register such flags, so the word after one
// can only be its value.
func joinOptionalValues(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "-") && !strings.Contains(name, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			if f := fs.Lookup(name); f != nil {
				if _, ok := f.Value.(optionalValue); ok {
					out = append(out, a+"="+args[i+1])
					i++
					continue
				}
			}
		}
		out = append(out, a)
	}
	return out
}
