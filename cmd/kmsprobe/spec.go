package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

// spec declares the shared flags a command takes. The flag set, the -h
// text and the Usage line are all built from it, so a flag cannot be
// taken without being listed, nor listed without being taken.
type spec struct {
	// Args is the positional part of the synopsis ("SUFFIX",
	// "[OLD.json NEW.json]"); it may name a flag that stands in for an
	// argument ("HOST[:PORT] | --discover SUFFIX").
	Args string
	// Config is the help of -c; empty means the command reads no
	// schools.yaml.
	Config string
	// Formats are the --format values, the first the default; nil means
	// no --format.
	Formats []formatChoice
	// Out adds -o FILE; OnlyProblems adds --only-problems.
	Out, OnlyProblems bool
	// Schools is the help of the repeatable --school; empty: none.
	Schools string
	// Legs adds the flags that select and tune the legs beyond DNS.
	Legs bool
	// Report adds --save and --mail; Lang adds --lang.
	Report, Lang bool
	// Required flags are shown without brackets in the Usage line.
	Required []string
}

// formatChoice is one --format value and what it is for.
type formatChoice struct{ Name, Help string }

// reportFormats are the formats of a probe report: render's table.
func reportFormats() []formatChoice {
	var out []formatChoice
	for _, f := range render.FormatDocs() {
		out = append(out, formatChoice{f.Name, f.Help})
	}
	return out
}

// runFunc is a command's body, run once its flags are parsed and the
// shared ones checked.
type runFunc func(ctx context.Context, e *env, in *input) int

// input is what the shared flags and the arguments say; a command's own
// flags live in the closure its Flags returned.
type input struct {
	outputFlags
	schools listFlag
	legs    legFlags
	report  reportFlags
	// Args are the positional arguments.
	Args []string
	spec *spec
}

// Shared flag help, written once.
const (
	helpConfig    = "`schools.yaml` to read (default ./schools.yaml, then /etc/kmsprobe/schools.yaml)"
	helpOut       = "write the output to `FILE` instead of standard output (a regular file is replaced atomically keeping its mode; symlinks, FIFOs and devices such as /dev/stdout are written through)"
	helpOnly      = "show only the schools (and infrastructure) with something to fix"
	helpLang      = "report language: `en|zh-TW` (default report.lang from schools.yaml, else en)"
	helpSchoolsID = "audit only this school `ID` (repeatable, or comma-separated)"
)

// flagSet builds the command's flag set: the shared groups its spec
// names, then its own flags.
func (c *command) flagSet(e *env, in *input) (*flag.FlagSet, runFunc) {
	s := &c.Spec
	in.spec = s
	fs := newFlagSet(e, c)
	if s.Config != "" {
		fs.StringVar(&in.config, "c", "", s.Config)
	}
	if s.Schools != "" {
		fs.Var(&in.schools, "school", s.Schools)
	}
	if s.Legs {
		in.legs.register(fs)
	}
	if len(s.Formats) > 0 {
		in.format = s.Formats[0].Name
		fs.Var(&formatValue{v: &in.format, choices: s.Formats}, "format", formatHelp(s.Formats))
	}
	if s.Out {
		fs.StringVar(&in.out, "o", "", helpOut)
	}
	if s.OnlyProblems {
		fs.BoolVar(&in.onlyProblems, "only-problems", false, helpOnly)
	}
	if s.Report {
		in.report.registerDelivery(fs)
	}
	if s.Lang {
		fs.StringVar(&in.report.lang, "lang", "", helpLang)
	}
	var fn runFunc
	if c.Flags != nil {
		fn = c.Flags(fs, in)
	}
	return fs, fn
}

// exec parses args by the command's spec, refuses a bad --format or
// --lang before any packet is sent, and runs the command.
func (c *command) exec(ctx context.Context, e *env, args []string) int {
	in := &input{}
	fs, fn := c.flagSet(e, in)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	in.Args = pos
	if err := in.check(c.Name); err != nil {
		return fail(e, err)
	}
	return fn(ctx, e, in)
}

// check refuses shared flag values the command cannot use.
func (in *input) check(name string) error {
	if fs := in.spec.Formats; len(fs) > 0 && !hasChoice(fs, in.format) {
		return fmt.Errorf("--format %q is not known for %s; use one of %s", in.format, name, strings.Join(choiceNames(fs), ", "))
	}
	return in.report.check()
}

func hasChoice(cs []formatChoice, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

func choiceNames(cs []formatChoice) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func formatHelp(cs []formatChoice) string {
	var b strings.Builder
	b.WriteString("output `format`:")
	for i, c := range cs {
		if i > 0 {
			b.WriteString(";")
		}
		if c.Help == "" {
			fmt.Fprintf(&b, " %s", c.Name)
		} else {
			fmt.Fprintf(&b, " %s (%s)", c.Name, c.Help)
		}
	}
	return b.String()
}

// formatValue is --format: a string that knows its choices, so the
// Usage line can list them.
type formatValue struct {
	v       *string
	choices []formatChoice
}

func (f *formatValue) String() string {
	if f == nil || f.v == nil {
		return ""
	}
	return *f.v
}

func (f *formatValue) Set(s string) error { *f.v = s; return nil }

// sharedOrder is where the shared flags stand in a Usage line, after the
// arguments and the command's own flags.
var sharedOrder = []string{"c", "school", "dhcp-iface", "dhcp-mac", "dhcp-window", "kms-mode", "product", "protocol", "format", "o", "only-problems", "save", "mail", "lang"}

// synopsis is the Usage line's text after "kmsprobe NAME": the
// arguments, then every flag fs holds, each once. A flag the Args
// already name is not repeated.
func synopsis(args string, required []string, fs *flag.FlagSet) string {
	rank := map[string]int{}
	for i, n := range sharedOrder {
		rank[n] = i + 1
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !mentions(args, f.Name) {
			names = append(names, f.Name)
		}
	})
	sort.SliceStable(names, func(i, j int) bool {
		// Required flags stand first: they read as arguments.
		qi, qj := contains(required, names[i]), contains(required, names[j])
		if qi != qj {
			return qi
		}
		ri, rj := rank[names[i]], rank[names[j]]
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	var parts []string
	if args != "" {
		parts = append(parts, args)
	}
	for _, n := range names {
		item := flagSyntax(fs.Lookup(n))
		if !contains(required, n) {
			item = "[" + item + "]"
			if isRepeatable(fs.Lookup(n)) {
				item += "..."
			}
		}
		parts = append(parts, item)
	}
	return strings.Join(parts, " ")
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// dash is the flag as people type it: -c and -o, --long-name.
func dash(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagSyntax is one flag as the Usage line shows it: "--mail",
// "--save[=DIR]", "--format table|json", "-c schools.yaml".
func flagSyntax(f *flag.Flag) string {
	d := dash(f.Name)
	switch v := f.Value.(type) {
	case *formatValue:
		return d + " " + strings.Join(choiceNames(v.choices), "|")
	case optionalValue:
		return d + "[=" + valueName(f) + "]"
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return d
	}
	return d + " " + valueName(f)
}

// valueName is the placeholder of a flag's value: the `quoted` word of
// its help, as flag.PrintDefaults shows it, else one by its type.
func valueName(f *flag.Flag) string {
	if n, _ := flag.UnquoteUsage(f); n != "" && strings.Contains(f.Usage, "`") {
		return n
	}
	if n, ok := placeholders[f.Name]; ok {
		return n
	}
	switch n, _ := flag.UnquoteUsage(f); n {
	case "duration":
		return "DUR"
	case "int":
		return "N"
	}
	return "VALUE"
}

// placeholders name the values of flags whose help quotes none.
var placeholders = map[string]string{
	"c": "schools.yaml", "o": "FILE", "school": "ID", "server": "ADDR", "listen": "ADDR",
	"prometheus": "URL", "selector": "MATCHERS", "save": "DIR", "iface": "IFACE", "resolver": "ADDR", "dhcp-iface": "IFACE",
	"web.config.file": "FILE",
}

func isRepeatable(f *flag.Flag) bool {
	_, ok := f.Value.(*listFlag)
	return ok
}

// mentions reports whether text names the flag (-x or --x as a word).
func mentions(text, name string) bool {
	for _, w := range usageFlags(text) {
		if w == name {
			return true
		}
	}
	return false
}

// usageFlags lists the flag names a Usage text mentions.
func usageFlags(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(" []|()", r) }) {
		if !strings.HasPrefix(w, "-") || w == "-" || w == "--" {
			continue
		}
		w = strings.TrimLeft(w, "-")
		if i := strings.IndexAny(w, "=["); i >= 0 {
			w = w[:i]
		}
		w = strings.TrimSuffix(w, "...")
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// usageLine is the synopsis of c for the top-level help, built from
// the flag set its spec makes, as its -h is.
func usageLine(c *command) string {
	var in input
	fs, _ := c.flagSet(&env{Stdout: discard{}, Stderr: discard{}}, &in)
	return synopsis(c.Spec.Args, c.Spec.Required, fs)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// emitReport renders r in --lang, else report.lang of cfg (which may be
// nil), else English.
func (in *input) emitReport(e *env, cfg *config.Config, r *probe.Report) error {
	lang, err := reportLang(in.report.lang, cfg)
	if err != nil {
		return err
	}
	return in.emitWith(e, r, render.Options{Lang: lang})
}

// exitCode is the exit code of a command that printed r: the report's,
// except that --format nagios exits with the state it printed.
func (o *outputFlags) exitCode(r *probe.Report) int {
	if o.format == "nagios" {
		return render.NagiosCode(r)
	}
	return r.ExitCode()
}
