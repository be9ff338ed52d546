package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
	"github.com/kh-edu/kmsprobe/internal/safefile"
)

// SearchPath is where commands look for schools.yaml when -c is not given.
var SearchPath = []string{"schools.yaml", "/etc/kmsprobe/schools.yaml"}

// Find returns the first existing file of SearchPath, or an error that says
// where it looked and how to point at a file.
func Find() (string, error) {
	for _, p := range SearchPath {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s); pass one with -c FILE, or copy the example from the kmsprobe repository", ErrNoConfig, strings.Join(SearchPath, ", "))
}

// ErrNoConfig is returned by Find when no schools.yaml exists: commands
// that can run without one (dns, kms, dhcp) test for it, and only for it —
// a file that exists but is wrong must stop them.
var ErrNoConfig = errors.New("no schools.yaml found")

// Problem is one thing wrong in a configuration file.
type Problem struct {
	Path   string // file
	Line   int    // 1-based; 0 when the problem has no place (e.g. an empty file)
	School string // school id, or schools[N] when the id itself is missing
	Field  string // dotted field name, e.g. "suffix" or "probe.timeout"
	Msg    string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Path)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.School != "" {
		fmt.Fprintf(&b, "school %s: ", p.School)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "%s: ", p.Field)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in one file, sorted by line.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is/As see each problem, as with errors.Join.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// Load reads, defaults and validates a schools.yaml file. It reads only a
// regular file of at most 16 MiB, so a FIFO, a device or a runaway file is
// refused at once instead of hanging or eating memory.
func Load(path string) (*Config, error) {
	data, err := safefile.ReadFile(path, safefile.ConfigLimit)
	if err != nil {
		return nil, readError(path, err)
	}
	return Parse(path, data)
}

// readError words a refused read as advice.
func readError(path string, err error) error {
	var nr *safefile.NotRegularError
	var tl *safefile.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist; pass the right file with -c FILE", path)
	case errors.As(err, &nr):
		return fmt.Errorf("%s is %s, not a file; schools.yaml must be an ordinary file: pass its path with -c FILE", path, nr.Kind)
	case errors.As(err, &tl):
		return fmt.Errorf("%s is larger than %d MiB, the limit for schools.yaml (a city's list is a few hundred KiB); check that -c names the right file", path, tl.Limit>>20)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot read %s: permission denied; run as a user who may read it, or copy it somewhere readable", path)
	default:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read %s: %v; check the path given with -c FILE", path, err)
	}
}

// Limits that keep a small file small. Parsing a YAML document costs about
// 250 bytes of memory per node, and aliases can make a 100 KB file decode
// into gigabytes; the limits below keep any file under the size limit
// within about a second and 200 MB (measured: 50,000 schools written out,
// 0.6 s and 190 MB; a flow list at the limit, 0.4 s and 190 MB). A city of
// 50,000 schools (the benchmark's largest) uses about 600,000 marks; all of
// Taiwan's schools about 120,000; Kaohsiung's a few thousand.
const (
	// maxMarks bounds the characters that can start or separate YAML nodes
	// (newlines, commas, colons, brackets, list dashes), counted before
	// parsing, so a flat list of a million numbers is refused without
	// building its tree.
	maxMarks = 700_000
	// maxNodes bounds the document as the decoder sees it, every alias
	// counted at the size of what it repeats.
	maxNodes = 700_000
	// maxProblems keeps a file with a mistake repeated a million times
	// from printing a million lines.
	maxProblems = 1000
)

// Parse is Load for bytes already read; path is only used in messages.
func Parse(path string, data []byte) (*Config, error) {
	l := newLoader(path)
	if len(data) > safefile.ConfigLimit {
		l.add(0, "", "", fmt.Sprintf("the file is larger than %d MiB, the limit for schools.yaml; check that this is the right file", safefile.ConfigLimit>>20))
		return nil, l.err()
	}
	if marks := countMarks(data); marks > maxMarks {
		l.add(0, "", "", fmt.Sprintf("the file has more than %d lines, keys and list items, far more than the schools of a whole country need; check that this is the right file", maxMarks))
		return nil, l.err()
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(0, "", "", "the file is empty; start from the example schools.yaml (version: 1, kms:, schools:)")
			return nil, l.err()
		}
		// A syntax error leaves nothing to walk: report it alone, with the
		// line yaml gives, and stop.
		line, msg := syntaxError(err.Error(), data)
		l.add(line, "", "", msg)
		return nil, l.err()
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		l.add(doc.Line, "", "", "the top level must be a mapping (version:, kms:, schools: ...)")
		return nil, l.err()
	}
	// Size the document as the decoder will expand it before decoding, so
	// aliases repeating a big list cannot outgrow the limits.
	sz := sizer{memo: map[*yaml.Node]int{}}
	if n := sz.size(doc); sz.loop != nil {
		l.add(sz.loop.Line, "", "", fmt.Sprintf("the alias *%s refers to the mapping or list that contains it, which would repeat forever; repeat something outside it", sz.loop.Value))
		return nil, l.err()
	} else if n > maxNodes {
		l.add(sz.firstAlias, "", "", fmt.Sprintf("aliases (*name) repeat parts of this file into more than %d entries; write the schools out or repeat less", maxNodes))
		return nil, l.err()
	}

	l.walk(doc, reflect.TypeOf(Config{}), "")
	l.checkNullResolvers(doc)

	var c Config
	if err := doc.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			fatal := false
			for _, msg := range te.Errors {
				line := yamlErrLine(msg)
				school, field, path := l.typeErrorAt(line, msg)
				l.typeErr[path] = true
				l.add(line, school, field, rewordTypeError(msg, path, l.scalars[path]))
				// A duplicate key stops yaml from decoding the rest of
				// its mapping; what is left would give false problems.
				fatal = fatal || strings.Contains(msg, "already defined")
			}
			if fatal {
				return nil, l.err()
			}
		} else {
			// Not a type error (a duplicate key, say): the decode stopped
			// part-way, so validating what it left would report
			// problems that are not there.
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			l.add(yamlErrLine(msg), "", "", leadingLine.ReplaceAllString(msg, ""))
			return nil, l.err()
		}
	}
	c.Path = path
	for i := range c.Schools {
		c.Schools[i].Line = l.lines[fmt.Sprintf("schools[%d]", i)]
	}
	// A min_count written as 0 is a mistake, not "use the default".
	l.minCountWritten = l.lines["kms.min_count"] != 0 && !l.typeErr["kms.min_count"]
	l.rawMinCount = c.KMS.MinCount
	c.KMS.MinCountSet = l.minCountWritten
	c.applyDefaults()
	l.validate(&c)
	if len(l.problems) > 0 {
		return nil, l.err()
	}
	c.Warnings = l.sortedWarnings()
	return &c, nil
}

// countMarks counts the bytes that can begin or separate YAML nodes. It
// over-counts (a colon inside an IPv6 address, a comma in a comment), which
// only makes the limit stricter for files nobody writes.
func countMarks(data []byte) int {
	n := 0
	for i, b := range data {
		switch b {
		case '\n', ',', ':', '[', '{', '*':
			n++
		case '-', '?':
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\t' {
				n++
			}
		}
	}
	return n
}

// sizer counts the nodes a document decodes into, every alias at the size
// of its anchor, visiting each node of the tree once.
type sizer struct {
	memo       map[*yaml.Node]int // -1 while a node is being counted
	loop       *yaml.Node         // an alias inside its own anchor
	firstAlias int                // line of the first alias, for the message
}

func (s *sizer) size(n *yaml.Node) int {
	if n == nil || s.loop != nil {
		return 0
	}
	if v, ok := s.memo[n]; ok {
		if v < 0 {
			return maxNodes + 1
		}
		return v
	}
	s.memo[n] = -1
	total := 1
	if n.Kind == yaml.AliasNode {
		if s.firstAlias == 0 {
			s.firstAlias = n.Line
		}
		if v, ok := s.memo[n.Alias]; ok && v < 0 {
			s.loop = n
			return 0
		}
		total += s.size(n.Alias)
	}
	for _, c := range n.Content {
		total += s.size(c)
		if total > maxNodes {
			total = maxNodes + 1 // saturate: deep alias trees overflow int
			break
		}
	}
	s.memo[n] = total
	return total
}

type loader struct {
	path     string
	lines    map[string]int  // "schools[2].suffix" -> line
	typeErr  map[string]bool // fields already reported with a type error
	ids      map[int]string  // school index -> id as written, for messages
	walked   map[*yaml.Node]bool
	scalars  map[string]string // single values written where a list, mapping or number belongs
	values   []valueAt         // every value node walked, in file order, to place type errors
	blamed   map[int]bool      // values already named by a type error
	byLine   map[int]string    // line -> deepest field written there, built on first use
	problems []Problem
	warnings []Problem
	dropped  int // problems past maxProblems

	fromGo          bool // validating values built in Go: nothing is "written"
	minCountWritten bool
	rawMinCount     int
}

func newLoader(path string) *loader {
	return &loader{path: path, lines: map[string]int{}, typeErr: map[string]bool{}, ids: map[int]string{}, walked: map[*yaml.Node]bool{}, scalars: map[string]string{}}
}

func (l *loader) add(line int, school, field, msg string) {
	if len(l.problems) >= maxProblems {
		l.dropped++
		return
	}
	l.problems = append(l.problems, Problem{Path: l.path, Line: line, School: school, Field: field, Msg: msg})
}

func (l *loader) err() error {
	sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
	if l.dropped > 0 {
		l.problems = append(l.problems, Problem{Path: l.path, Msg: fmt.Sprintf("and %d more problems not shown; fix the ones above and run validate again", l.dropped)})
		l.dropped = 0
	}
	return &Error{Problems: l.problems}
}

// walk records where every field is and reports keys the schema does not
// know. yaml.v3's KnownFields stops at the first unknown key; walking the
// node tree ourselves finds them all. An alias is not followed into what it
// repeats once that has been walked: each node is visited once, so aliases
// cannot make the walk bigger than the file.
func (l *loader) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	l.lines[path] = n.Line
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || l.walked[n.Alias] {
			return
		}
		n = n.Alias
	}
	l.values = append(l.values, valueAt{node: n, path: path, goType: t.String()})
	if n.Kind == yaml.ScalarNode && t.Kind() != reflect.String {
		// yaml.v3 shortens the value in a type error; keep it whole.
		l.scalars[path] = n.Value
	}
	if n.Anchor != "" {
		if l.walked[n] {
			return
		}
		l.walked[n] = true
	}
	switch t.Kind() {
	case reflect.Struct:
		if t != reflect.TypeOf(Duration{}) && n.Kind == yaml.MappingNode {
			l.walkMapping(n, t, path) // else the decoder reports the type mismatch
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			l.walkSequence(n, t, path)
		}
	}
}

// walkMapping walks the keys of a mapping decoded into the struct type t.
func (l *loader) walkMapping(n *yaml.Node, t reflect.Type, path string) {
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			// "<<: *defaults" merges a mapping in: its keys belong
			// to this mapping's schema.
			line := l.lines[path]
			for _, m := range mergeSources(v) {
				l.walk(m, t, path)
			}
			l.lines[path] = line
			continue
		}
		child := join(path, k.Value)
		ft, ok := fields[k.Value]
		if !ok {
			l.add(k.Line, l.schoolOf(n, path), "", fmt.Sprintf("unknown field %q under %s%s; known fields there: %s", k.Value, orTop(path), suggest(k.Value, fields), strings.Join(sortedKeys(fields), ", ")))
			continue
		}
		l.lines[child] = k.Line
		l.walk(v, ft, child)
	}
}

// walkSequence walks the items of a list decoded into the slice type t,
// noting each school's id on the way.
func (l *loader) walkSequence(n *yaml.Node, t reflect.Type, path string) {
	for i, item := range n.Content {
		if path == "schools" {
			l.ids[i] = l.schoolOf(resolve(item), fmt.Sprintf("schools[%d]", i))
			if strings.HasPrefix(l.ids[i], "schools[") {
				l.ids[i] = ""
			}
		}
		l.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
	}
}

// checkNullResolvers refuses a resolvers: key with nothing under it. Left
// out, the key means the production resolvers; written as [] it means
// none. Written with only commented-out entries (or ~) it used to mean the
// production resolvers too, which an admin who commented them out did not
// ask for.
func (l *loader) checkNullResolvers(doc *yaml.Node) {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], resolve(doc.Content[i+1])
		if k.Value == "resolvers" && v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			l.typeErr["resolvers"] = true
			l.add(k.Line, "", "resolvers", "nothing is listed (only comments or ~ follow it); list the city resolvers, write `resolvers: []` to ask none, or delete the key to ask the production resolvers "+strings.Join(DefaultResolvers, ", "))
		}
	}
}

// resolve follows an alias to the node it repeats.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// mergeSources lists the mappings a merge key brings in: one, or a list.
func mergeSources(v *yaml.Node) []*yaml.Node {
	if r := resolve(v); r.Kind == yaml.SequenceNode {
		return r.Content
	}
	return []*yaml.Node{v}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		m[tag] = f.Type
	}
	return m
}

func sortedKeys(m map[string]reflect.Type) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// suggest names the known field an unknown key was probably meant to be.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var schoolPath = regexp.MustCompile(`^schools\[\d+\]`)

// schoolOf names the school a mapping belongs to: its id when the mapping
// has one, else its place in the list.
func (l *loader) schoolOf(n *yaml.Node, path string) string {
	if !schoolPath.MatchString(path) || path != schoolPath.FindString(path) {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "id" && n.Content[i+1].Value != "" {
			return n.Content[i+1].Value
		}
	}
	return path
}

// valueAt is one value node and the field it fills.
type valueAt struct {
	node   *yaml.Node
	path   string
	goType string // the field's type as yaml.v3 names it in a type error
}

// typeErrorAt names the field a yaml.v3 type error is about. yaml.v3 gives
// only the line, and a flow mapping ({port: "abc", min_count: -1}) puts
// several fields on one line; the message also names the value's tag, the
// start of its text and the Go type it missed, which together single out
// the value among those on the line. Errors come in file order, so among
// equal candidates the first not yet blamed is the one.
func (l *loader) typeErrorAt(line int, msg string) (school, field, path string) {
	m := typeErrRe.FindStringSubmatch(leadingLine.ReplaceAllString(msg, ""))
	if m != nil {
		if l.blamed == nil {
			l.blamed = map[int]bool{}
		}
		for i, v := range l.values {
			if l.blamed[i] || v.node.Line != line || v.goType != m[3] || !sameTag(v.node, m[1]) || !sameText(v.node, m[1], m[2]) {
				continue
			}
			l.blamed[i] = true
			school, field = l.nameOf(v.path)
			return school, field, v.path
		}
	}
	return l.fieldAt(line)
}

// sameTag compares a node with the short tag of a type error ("str",
// "seq", "map").
func sameTag(n *yaml.Node, tag string) bool {
	return strings.TrimPrefix(n.ShortTag(), "!!") == tag
}

// sameText compares a scalar with the text of a type error, which
// yaml.v3 cuts to seven characters and "..." past ten.
func sameText(n *yaml.Node, tag, text string) bool {
	if tag == "seq" || tag == "map" {
		return true
	}
	if short, ok := strings.CutSuffix(text, "..."); ok && len(n.Value) > 10 {
		return strings.HasPrefix(n.Value, short)
	}
	return n.Value == text
}

// nameOf splits a value's path into its school and the field named in
// messages: "schools[2].dns[0]" is school 2's id and "dns".
func (l *loader) nameOf(path string) (school, field string) {
	best := trailingIndex.ReplaceAllString(path, "")
	if m := schoolIndex.FindStringSubmatch(best); m != nil {
		i, _ := strconv.Atoi(m[1])
		school = m[0]
		if id := l.ids[i]; id != "" {
			school = id
		}
		return school, strings.TrimPrefix(strings.TrimPrefix(best, m[0]), ".")
	}
	return "", best
}

// fieldAt finds the deepest field written on a line, so a type error
// yaml reports by line alone can name its school and field.
func (l *loader) fieldAt(line int) (school, field, path string) {
	if l.byLine == nil {
		l.byLine = make(map[int]string, len(l.lines))
		for p, n := range l.lines {
			if b := l.byLine[n]; len(p) > len(b) || len(p) == len(b) && p > b {
				l.byLine[n] = p
			}
		}
	}
	best := trailingIndex.ReplaceAllString(l.byLine[line], "")
	school, field = l.nameOf(best)
	return school, field, best
}

var trailingIndex = regexp.MustCompile(`\[\d+\]$`)

var schoolIndex = regexp.MustCompile(`^schools\[(\d+)\]`)

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

var lineRe = regexp.MustCompile(`line (\d+)`)

// leadingLine is the "line N: " yaml puts before a message; the line is
// reported in our own prefix, but a "line N" inside the text (where a
// duplicate key was first defined) stays.
var leadingLine = regexp.MustCompile(`^\s*line \d+:\s*`)

func yamlErrLine(msg string) int {
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// syntaxError words yaml's syntax error. yaml.v3 often names the line
// before the one at fault, and says "cannot start any token" where the
// admin needs to hear "tab".
func syntaxError(msg string, data []byte) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := yamlErrLine(msg)
	text := leadingLine.ReplaceAllString(msg, "")
	if strings.Contains(text, "tab") || strings.Contains(text, "cannot start any token") {
		lines := strings.Split(string(data), "\n")
		for _, n := range []int{line + 1, line, line + 2, line - 1} {
			if n >= 1 && n <= len(lines) && strings.Contains(lines[n-1][:len(lines[n-1])-len(strings.TrimLeft(lines[n-1], " \t"))], "\t") {
				return n, "a tab character indents this line; YAML needs spaces: replace the tab with spaces"
			}
		}
	}
	if n, addr := unquotedIPv6(data, line); n > 0 {
		return n, fmt.Sprintf("YAML syntax error: %s; YAML reads %s as a list because of its brackets: put an IPv6 address with brackets in quotes, \"%s\", e.g. dns: [\"[::1]:53\"]", text, addr, addr)
	}
	return line, "YAML syntax error: " + text + "; check the indentation and the quotes around this line"
}

// bracketedIPv6 is an IPv6 address in brackets, maybe with a port, as an
// admin writes it for a DNS server: [::1]:53, [fd00::53].
var bracketedIPv6 = regexp.MustCompile(`\[[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.%]*\](:[0-9]+)?`)

// unquotedIPv6 finds the line nearest near that holds a bracketed IPv6
// address outside quotes and comments, the usual cause of a syntax error
// in an address list. yaml.v3 names a line before the fault, sometimes
// several (the key of a block list), so the whole file is searched.
func unquotedIPv6(data []byte, near int) (line int, addr string) {
	best := -1
	for i, text := range strings.Split(string(data), "\n") {
		if loc := bracketedIPv6.FindStringIndex(text); loc != nil && !quotedOrComment(text, loc[0]) {
			d := i + 1 - near
			if d < 0 {
				d = -d * 4 // the fault is seldom before the line yaml names
			}
			if best < 0 || d < best {
				best, line, addr = d, i+1, text[loc[0]:loc[1]]
			}
		}
	}
	return line, addr
}

// quotedOrComment reports whether position at of a line is inside quotes
// or a comment.
func quotedOrComment(text string, at int) bool {
	var quote byte
	for i := 0; i < at; i++ {
		switch c := text[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			return true
		}
	}
	return quote != 0
}

// rewordTypeError turns yaml.v3's "line 7: cannot unmarshal !!str `abc` into
// int" into the field's expected shape and what was written, in words an
// admin without Go knows.
func rewordTypeError(msg, field, whole string) string {
	msg = leadingLine.ReplaceAllString(msg, "")
	m := typeErrRe.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	if short, ok := strings.CutSuffix(m[2], "..."); ok && strings.HasPrefix(whole, short) {
		m[2] = whole
	}
	if addressItem.MatchString(field) && (m[1] == "seq" || m[1] == "map") {
		// [fd00::53]:53 unquoted in a flow list is a list, or a
		// mapping from a list to 53: the brackets need quotes.
		return fmt.Sprintf("expected an address like 10.1.2.3, got %s; put an IPv6 address with brackets in quotes, e.g. [\"[fd00::53]:53\"]", writtenShape(m[1], m[2]))
	}
	return fmt.Sprintf("expected %s, got %s", expectedShape(m[3], field), writtenShape(m[1], m[2]))
}

// addressItem is the path of one entry of an address list.
var addressItem = regexp.MustCompile(`(^|\.)(dns|resolvers|ntp|allowed_servers|addresses)\[\d+\]$`)

var typeErrRe = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")

// fieldExamples show what a single value of a field looks like.
var fieldExamples = map[string]string{
	"id": "demo-jh", "name": "示範國中", "suffix": "demo-jh.kh.edu.tw", "host": DefaultKMSHost,
	"product": "win10-ent", "mode": "activate", "smtp": "smtp.example.edu.tw:587",
	"from": "kmsprobe@example.edu.tw", "username": "kmsprobe", "password_file": "/etc/kmsprobe/smtp.pass",
	"listen": DefaultServeListen, "lang": "zh-TW", "dir": "/var/lib/kmsprobe/reports", "state_dir": "/var/lib/kmsprobe",
	"port": "1688", "min_count": "25", "protocol": "6", "attempts": "2", "concurrency": "256", "keep": "52", "version": "1",
	"per_server": "32", "ns_port": "53",
}

// listExamples show what a list field looks like.
var listExamples = map[string]string{
	"dns": "a list of addresses like [10.1.2.3]", "resolvers": "a list of addresses like [163.28.136.21]",
	"ntp": "a list of addresses like [time.stdtime.gov.tw]", "allowed_servers": "a list of addresses like [10.1.2.1]",
	"addresses": "a list of addresses like [203.0.113.24]", "to": "a list of mail addresses like [netadmin@example.edu.tw]",
	"products": "a list of products like [win10-ent, office2021-proplus]",
}

func expectedShape(goType, field string) string {
	name := field[strings.LastIndex(field, ".")+1:]
	like := ""
	if ex, ok := fieldExamples[name]; ok {
		like = " like " + ex
	}
	switch {
	case goType == "int":
		return "a whole number" + like
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a single value" + like
	case goType == "[]config.School":
		return "the list of schools, each starting with - id:"
	case strings.HasPrefix(goType, "[]"):
		if ex, ok := listExamples[name]; ok {
			return ex
		}
		return "a list like [a, b]"
	case strings.HasPrefix(goType, "config.") || strings.HasPrefix(goType, "*config."):
		return "a mapping (its settings as name: value lines indented under it)"
	}
	return "another kind of value"
}

func writtenShape(tag, value string) string {
	switch tag {
	case "str":
		return fmt.Sprintf("the text %q", value)
	case "int", "float":
		return "the number " + value
	case "bool":
		return value
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	case "null":
		return "nothing"
	}
	return "a " + tag
}

// UnmarshalYAML keeps a bad duration for validate to report with its field
// name and line, instead of aborting the whole decode.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	d.raw, d.line = n.Value, n.Line
	if n.Kind != yaml.ScalarNode {
		d.bad, d.shape = true, "a list"
		if n.Kind == yaml.MappingNode {
			d.shape = "a mapping"
		}
		return nil
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		d.bad = true
		return nil
	}
	d.Duration = v
	return nil
}

func (c *Config) applyDefaults() {
	c.KMS.Host = dnsname.Canonical(c.KMS.Host)
	orDefault(&c.KMS.Host, DefaultKMSHost)
	orDefault(&c.KMS.Port, DefaultKMSPort)
	orDefault(&c.KMS.MinCount, DefaultMinCount)
	orDefault(&c.KMS.Mode, "activate")
	if c.Resolvers == nil {
		c.Resolvers = append([]string(nil), DefaultResolvers...)
	}
	c.Probe.Timeout.orDefault(DefaultTimeout)
	orDefault(&c.Probe.Attempts, DefaultAttempts)
	orDefault(&c.Probe.Concurrency, DefaultConcurrency)
	c.DHCP.Window.orDefault(DefaultDHCPWindow)
	orDefault(&c.Report.Lang, DefaultLang)
	orDefault(&c.Report.Keep, DefaultKeep)
	orDefault(&c.Serve.Listen, DefaultServeListen)
	c.Serve.Interval.orDefault(DefaultServeEvery)
	if c.Mail != nil {
		c.Mail.Timeout.orDefault(30 * time.Second)
	}
	for i := range c.Schools {
		s := &c.Schools[i]
		orDefault(&s.Name, s.ID)
		s.Suffix = dnsname.Canonical(s.Suffix)
	}
}

// orDefault sets *v to def when it is unset (zero).
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// orDefault sets an unset duration to def; one written wrong stays as it
// is, for validate to report.
func (d *Duration) orDefault(def time.Duration) {
	if d.Duration == 0 && !d.bad {
		d.Duration = def
	}
}

var idRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// validate checks a decoded config one section at a time, in the order
// its problems have always been reported (problems on one line keep it).
func (l *loader) validate(c *Config) {
	l.validateVersion(c)
	l.validateKMS(&c.KMS)
	c.Resolvers = l.addresses(c.Resolvers, 53, "resolvers", "", "resolvers", "write the city resolvers' real addresses")
	c.NTP = l.addresses(c.NTP, 123, "ntp", "", "ntp", "write the time servers the PCs use")
	l.validateBudgets(c)
	l.validateAllowedServers(&c.DHCP)
	l.validateReport(&c.Report)
	if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
		l.top("serve.listen", fmt.Sprintf("%q is not host:port, e.g. %s", c.Serve.Listen, DefaultServeListen))
	}
	if c.Mail != nil {
		l.validateMail(c.Mail)
	}
	l.validateSchools(c)
}

// top reports a problem with a top-level field, unless its type error
// already did: one problem per field.
func (l *loader) top(field, msg string) {
	if !l.typeErr[field] {
		l.add(l.lines[field], "", field, msg)
	}
}

func (l *loader) validateVersion(c *Config) {
	switch {
	case l.fromGo && c.Version == 0:
		c.Version = 1 // built in Go: there is no file whose version could be wrong
	case !l.fromGo && l.lines["version"] == 0:
		l.top("version", "missing; add `version: 1` at the top of the file")
	case c.Version != 1:
		l.top("version", fmt.Sprintf("version %d is not supported; this kmsprobe reads version 1", c.Version))
	}
}

// validateKMS checks the kms: section: host, port, min_count, products,
// addresses, protocol and mode.
func (l *loader) validateKMS(k *KMS) {
	if ip := parseIP(k.Host); ip != nil {
		// An address instead of a name: tests and the demo point at
		// loopback this way.
		k.Host = ip.String()
		l.docAddress(ip, "kms.host", "", "kms.host", "write the KMS host's real name or address")
	} else if err := checkHostname(k.Host); err != nil {
		l.top("kms.host", fmt.Sprintf("%q %v; write the KMS host's name, e.g. %s", k.Host, err, DefaultKMSHost))
	}
	if k.Port < 1 || k.Port > 65535 {
		l.top("kms.port", fmt.Sprintf("%d is not a TCP port (1-65535); KMS listens on 1688", k.Port))
	}
	if l.minCountWritten && l.rawMinCount < 1 {
		l.top("kms.min_count", fmt.Sprintf("%d must be at least 1; Windows clients need 25, Office and servers 5", l.rawMinCount))
	}
	l.validateProducts(k)
	l.validateKMSAddresses(k)
	if k.Protocol != 0 && (k.Protocol < 4 || k.Protocol > 6) {
		l.top("kms.protocol", fmt.Sprintf("%d is not a KMS protocol version; use 4, 5 or 6", k.Protocol))
	}
	if err := checkMode(k.Mode); err != nil {
		l.top("kms.mode", err.Error())
	}
}

// validateBudgets checks the time and effort a run may spend: the probe's
// timeout, attempts and concurrency, the DHCP window and serve's interval.
func (l *loader) validateBudgets(c *Config) {
	l.duration(c.Probe.Timeout, "probe.timeout", time.Millisecond, time.Minute)
	l.duration(c.DHCP.Window, "dhcp.window", 100*time.Millisecond, time.Minute)
	l.duration(c.Serve.Interval, "serve.interval", 10*time.Second, 7*24*time.Hour)
	if c.Probe.Attempts < 1 || c.Probe.Attempts > 10 {
		l.top("probe.attempts", fmt.Sprintf("%d is out of range; use 1 to 10 attempts per query", c.Probe.Attempts))
	}
	if c.Probe.Concurrency < 1 || c.Probe.Concurrency > 10000 {
		l.top("probe.concurrency", fmt.Sprintf("%d is out of range; use 1 to 10000 exchanges in flight", c.Probe.Concurrency))
	}
}

// validateAllowedServers checks dhcp.allowed_servers: IP addresses, kept
// in their canonical text.
func (l *loader) validateAllowedServers(d *DHCP) {
	for i, s := range d.AllowedServers {
		p := fmt.Sprintf("dhcp.allowed_servers[%d]", i)
		if ip := parseIP(s); ip == nil {
			l.add(l.lines[p], "", "dhcp.allowed_servers", fmt.Sprintf("%q is not an IP address; list the DHCP server identifiers (option 54), e.g. 10.1.2.1", s))
		} else {
			d.AllowedServers[i] = ip.String()
			l.docAddress(ip, p, "", "dhcp.allowed_servers", "list the campus DHCP servers' real identifiers")
		}
	}
}

func (l *loader) validateReport(r *Report) {
	switch r.Lang {
	case "en", "zh-TW":
	default:
		l.top("report.lang", fmt.Sprintf("%q is not a supported language; use en or zh-TW", r.Lang))
	}
	if r.Keep < 1 {
		l.top("report.keep", fmt.Sprintf("%d must be at least 1 saved report", r.Keep))
	}
}

// schoolsSeen is what the schools before the one being checked used: ids
// must be unique, a suffix used twice is probably copied by mistake.
type schoolsSeen struct {
	ids      map[string]int       // id -> line
	suffixes map[string]suffixUse // suffix -> its first school
}

type suffixUse struct {
	id   string
	line int
}

// validateSchools checks every school; a school's dns: may be empty only
// when the city resolvers are kept.
func (l *loader) validateSchools(c *Config) {
	if len(c.Schools) == 0 && !l.typeErr["schools"] {
		l.add(l.lines["schools"], "", "schools", "no schools listed; add at least one with id, suffix and optionally dns")
	}
	seen := schoolsSeen{ids: map[string]int{}, suffixes: map[string]suffixUse{}}
	for i := range c.Schools {
		l.validateSchool(&c.Schools[i], i, len(c.Resolvers) > 0, &seen)
	}
}

// schoolAt places the problems of one school: each field on its own line,
// else on the school's.
type schoolAt struct {
	l     *loader
	base  string // schools[i]
	label string // the id, or base while it has none
	line  int
}

func (l *loader) schoolAt(s *School, i int) schoolAt {
	at := schoolAt{l: l, base: fmt.Sprintf("schools[%d]", i), label: s.ID}
	if at.label == "" {
		at.label = at.base
	}
	if at.line = l.lines[at.base]; at.line == 0 {
		at.line = s.Line // built in Go from a loaded school
	}
	return at
}

// problem reports msg on the school's field, unless its type error already
// did: one problem per field.
func (at schoolAt) problem(field, msg string) {
	if at.l.typeErr[at.base+"."+field] {
		return
	}
	line := at.l.lines[at.base+"."+field]
	if line == 0 {
		line = at.line
	}
	at.l.add(line, at.label, field, msg)
}

func (at schoolAt) warn(field, msg string) {
	at.l.warnAt(at.l.lines[at.base+"."+field], at.label, field, msg)
}

func (l *loader) validateSchool(s *School, i int, haveResolvers bool, seen *schoolsSeen) {
	at := l.schoolAt(s, i)
	at.validateID(s.ID, seen)
	at.validateSuffix(s.Suffix, seen)
	s.DNS = l.addresses(s.DNS, 53, at.base+".dns", at.label, "dns", "write the school's real DNS servers")
	if len(s.DNS) == 0 && !haveResolvers && !l.typeErr[at.base+".dns"] {
		// Nothing would be asked, and an audit that asks nothing
		// must not pass.
		at.problem("dns", "no DNS server to check: list the school's own servers under dns:, or keep the city resolvers (resolvers:)")
	}
}

func (at schoolAt) validateID(id string, seen *schoolsSeen) {
	switch {
	case id == "":
		at.problem("id", "missing; give each school a unique lower-case id such as demo-jh")
	case !idRe.MatchString(id):
		at.problem("id", fmt.Sprintf("%q must be lower-case letters, digits and inner hyphens, e.g. demo-jh", id))
	default:
		if first, dup := seen.ids[id]; dup {
			at.problem("id", fmt.Sprintf("duplicate id: already used by the school%s; ids must be unique", onLine(first)))
		} else {
			seen.ids[id] = at.line
		}
	}
	if exampleID.MatchString(id) {
		at.warn("id", "this is one of the example schools shipped in schools.yaml; replace it with a real school or delete it")
	}
}

func (at schoolAt) validateSuffix(suffix string, seen *schoolsSeen) {
	if suffix == "" {
		at.problem("suffix", "missing; write the DNS suffix its PCs get from DHCP option 15, e.g. demo-jh.kh.edu.tw")
	} else if err := checkHostname(suffix); err != nil {
		at.problem("suffix", fmt.Sprintf("%q %v; write a DNS suffix like demo-jh.kh.edu.tw", suffix, err))
	} else if first, dup := seen.suffixes[suffix]; dup {
		at.warn("suffix", fmt.Sprintf("%s is also the suffix of school %s%s; each school's PCs get their own suffix, so one of the two is probably copied by mistake", suffix, first.id, onLine(first.line)))
	} else {
		seen.suffixes[suffix] = suffixUse{at.label, at.line}
	}
}

// validateProducts turns kms.product or kms.products into product keys,
// each checked against the product table with its line.
func (l *loader) validateProducts(k *KMS) {
	single := strings.TrimSpace(k.Product)
	if l.fromGo {
		// In Go, Products wins and Product is the one-product
		// shorthand: a loaded config holds both, and validating it
		// again must not call that a mistake.
		if len(k.Products) > 0 || single == "" {
			single = ""
		}
		k.Product = ""
	}
	switch {
	case l.lines["kms.product"] != 0 && l.lines["kms.products"] != 0:
		l.add(l.lines["kms.product"], "", "kms.product", "both kms.product and kms.products are written; keep one: products: [a, b] lists several, product: a is the one-product form")
		k.Products = nil
	case l.lines["kms.products"] != 0 && len(k.Products) == 0 && !l.typeErr["kms.products"]:
		l.add(l.lines["kms.products"], "", "kms.products", fmt.Sprintf("no product listed; list at least one (%s), or delete the key for %s", strings.Join(ProductNames(), ", "), defaultProduct()))
	case single != "":
		k.Products = []string{single}
	}
	if len(k.Products) == 0 && l.lines["kms.products"] == 0 {
		k.Products = []string{defaultProduct()}
	}
	field, path := "kms.products", func(i int) string { return fmt.Sprintf("kms.products[%d]", i) }
	if single != "" {
		field, path = "kms.product", func(int) string { return "kms.product" }
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(k.Products))
	for i, name := range k.Products {
		line := l.lines[path(i)]
		if line == 0 {
			line = l.lines[field]
		}
		key, err := LookupProduct(name)
		switch {
		case err != nil:
			l.add(line, "", field, err.Error())
		case seen[key]:
			l.add(line, "", field, fmt.Sprintf("%s is listed twice", key))
		default:
			seen[key] = true
			out = append(out, key)
		}
	}
	k.Products = out
	k.Product = ""
	if len(out) > 0 {
		k.Product = out[0]
	}
}

// validateKMSAddresses checks kms.addresses: IP addresses only (a witness
// must not need DNS), kept in their canonical text.
func (l *loader) validateKMSAddresses(k *KMS) {
	seen := map[string]bool{}
	out := make([]string, 0, len(k.Addresses))
	for i, a := range k.Addresses {
		p := fmt.Sprintf("kms.addresses[%d]", i)
		line := l.lines[p]
		if line == 0 {
			line = l.lines["kms.addresses"]
		}
		ip := parseIP(a)
		switch {
		case ip == nil:
			l.add(line, "", "kms.addresses", fmt.Sprintf("%q is not an IP address; list the KMS host's addresses without a port, e.g. [203.0.113.24, 2001:db8::24]", a))
		case seen[ip.String()]:
			l.add(line, "", "kms.addresses", fmt.Sprintf("%s is listed twice", ip))
		default:
			seen[ip.String()] = true
			out = append(out, ip.String())
			if isDocumentation(ip) {
				l.warnAt(line, "", "kms.addresses", docAdvice(ip, "write the KMS host's real addresses"))
			}
		}
	}
	k.Addresses = out
}

func (l *loader) validateMail(m *Mail) {
	at := func(p string) int { return l.lines[p] }
	if m.SMTP == "" {
		if !l.typeErr["mail.smtp"] {
			l.add(at("mail"), "", "mail.smtp", "missing; write the SMTP server as host:port, e.g. smtp.example.edu.tw:587")
		}
	} else if norm, err := normAddr(m.SMTP, 587); err != nil {
		l.add(at("mail.smtp"), "", "mail.smtp", fmt.Sprintf("%q: %v", m.SMTP, err))
	} else {
		m.SMTP = norm
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		line := at("mail.from")
		if line == 0 {
			line = at("mail")
		}
		l.add(line, "", "mail.from", fmt.Sprintf("%q is not a mail address, e.g. kmsprobe@example.edu.tw", m.From))
	}
	if len(m.To) == 0 && !l.typeErr["mail.to"] {
		l.add(at("mail"), "", "mail.to", "no recipients; list at least one address")
	}
	for i, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil {
			l.add(at(fmt.Sprintf("mail.to[%d]", i)), "", "mail.to", fmt.Sprintf("%q is not a mail address", to))
		}
	}
	l.duration(m.Timeout, "mail.timeout", time.Second, 10*time.Minute)
	if m.PasswordFile != "" && !l.typeErr["mail.password_file"] {
		l.passwordFile(m.PasswordFile)
	}
}

// passwordFile checks mail.password_file the way the mail will read it,
// so /dev/zero or a FIFO is refused by validate, not by the weekly run
// hours later. It only stats: opening a device can do things (a tape
// rewinds). A file that does not exist yet is a warning, since it is
// often created after the configuration is written.
func (l *loader) passwordFile(path string) {
	line := l.lines["mail.password_file"]
	if line == 0 {
		line = l.lines["mail"]
	}
	const field = "mail.password_file"
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.warnAt(line, "", field, fmt.Sprintf("%s does not exist (yet); create it holding the SMTP password on one line (chmod 600) before mail is sent, or correct the path", path))
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		l.warnAt(line, "", field, fmt.Sprintf("cannot check %s: %v; make sure the user that sends the mail can read it", path, err))
	case !fi.Mode().IsRegular():
		l.add(line, "", field, fmt.Sprintf("%s is %s, not a file; name an ordinary file holding the SMTP password on one line (chmod 600)", path, safefile.Kind(fi.Mode())))
	case fi.Size() > safefile.SecretLimit:
		l.add(line, "", field, fmt.Sprintf("%s is %d bytes, more than the %d a password file may hold; name the file that holds only the SMTP password on one line", path, fi.Size(), safefile.SecretLimit))
	case fi.Size() == 0:
		l.warnAt(line, "", field, fmt.Sprintf("%s is empty; write the SMTP password on its first line before mail is sent", path))
	}
}

func (l *loader) duration(d Duration, field string, lo, hi time.Duration) {
	line := l.lines[field]
	switch {
	case d.bad && d.shape != "":
		l.add(line, "", field, fmt.Sprintf("expected a duration like 2s or 500ms, got %s", d.shape))
	case d.bad:
		l.add(line, "", field, fmt.Sprintf("%q is not a duration; write it like 2s or 500ms", d.raw))
	case d.Duration < lo || d.Duration > hi:
		l.add(line, "", field, fmt.Sprintf("%s is out of range; use %s to %s", d.Duration, lo, hi))
	}
}

// addresses normalises a list of host, host:port or [v6]:port entries to
// host:port, reporting bad ones and duplicates, and warning about
// documentation addresses left from the example (advice says what to write
// instead).
func (l *loader) addresses(list []string, defPort int, path, school, field, advice string) []string {
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for i, a := range list {
		line := l.lines[fmt.Sprintf("%s[%d]", path, i)]
		if line == 0 {
			line = l.lines[path]
		}
		norm, err := normAddr(a, defPort)
		if err != nil {
			l.add(line, school, field, fmt.Sprintf("%q: %v", a, err))
			continue
		}
		if seen[norm] {
			l.add(line, school, field, fmt.Sprintf("%s is listed twice", norm))
			continue
		}
		seen[norm] = true
		out = append(out, norm)
		if host, _, err := net.SplitHostPort(norm); err == nil {
			if ip := net.ParseIP(host); ip != nil && isDocumentation(ip) {
				l.warnAt(line, school, field, docAdvice(ip, advice))
			}
		}
	}
	return out
}

// Documentation ranges (RFC 5737, RFC 3849): an address in them is an
// example nobody replaced, never a real server.
var docNets = func() []*net.IPNet {
	var out []*net.IPNet
	for _, c := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"} {
		_, n, _ := net.ParseCIDR(c)
		out = append(out, n)
	}
	return out
}()

func isDocumentation(ip net.IP) bool {
	for _, n := range docNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func docAdvice(ip net.IP, advice string) string {
	for _, n := range docNets {
		if n.Contains(ip) {
			return fmt.Sprintf("%s is a documentation address (%s), an example nobody replaced; %s", ip, n, advice)
		}
	}
	return ""
}

// docAddress warns about one address field holding a documentation address.
func (l *loader) docAddress(ip net.IP, path, school, field, advice string) {
	if isDocumentation(ip) {
		l.warnAt(l.lines[path], school, field, docAdvice(ip, advice))
	}
}

// exampleID matches the ids of the example schools shipped in schools.yaml.
var exampleID = regexp.MustCompile(`^example(-|$)`)

func (l *loader) warnAt(line int, school, field, msg string) {
	if len(l.warnings) < maxProblems {
		l.warnings = append(l.warnings, Problem{Path: l.path, Line: line, School: school, Field: field, Msg: msg})
	}
}

func (l *loader) sortedWarnings() []Problem {
	sort.SliceStable(l.warnings, func(i, j int) bool { return l.warnings[i].Line < l.warnings[j].Line })
	return l.warnings
}

// parseIP accepts an address with or without the brackets of [v6].
func parseIP(s string) net.IP {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	return net.ParseIP(s)
}

// normAddr accepts host, host:port, a bare IPv6 address or [v6]:port.
func normAddr(s string, defPort int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address; write an IP such as 10.1.2.3 or host:port")
	}
	if ip := parseIP(s); ip != nil {
		return net.JoinHostPort(ip.String(), strconv.Itoa(defPort)), nil
	}
	host, port := s, strconv.Itoa(defPort)
	if strings.Contains(s, ":") || strings.HasPrefix(s, "[") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return "", errors.New("not an address; write host, host:port or [IPv6]:port")
		}
		host, port = h, p
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	if ip := net.ParseIP(host); ip != nil {
		return net.JoinHostPort(ip.String(), port), nil
	}
	if allDigitsAndDots(host) {
		return "", errors.New("not an IPv4 address (four numbers from 0 to 255, e.g. 10.1.2.3), and numbers alone are not a host name either")
	}
	if err := checkHostname(host); err != nil {
		return "", fmt.Errorf("host %v", err)
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), port), nil
}

func onLine(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" on line %d", n)
}

func allDigitsAndDots(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// checkHostname applies RFC 1123 host name rules, which is what Windows
// requires of a DNS suffix and what an SRV target may be.
func checkHostname(name string) error {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return errors.New("is empty")
	}
	if len(name) > 253 {
		return errors.New("is longer than 253 characters")
	}
	if allDigitsAndDots(name) {
		// RFC 1123 §2.1: a name that is all numbers is read as an
		// address, so it can never be a host name.
		if net.ParseIP(name) != nil {
			return errors.New("is an IP address, not a DNS name")
		}
		return errors.New("is not an IPv4 address (four numbers from 0 to 255, e.g. 10.1.2.3), and a name of numbers only is not a DNS name either")
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return errors.New("has an empty label (two dots in a row?)")
		case len(label) > 63:
			return fmt.Errorf("has the label %q longer than 63 characters", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("has the label %q starting or ending with a hyphen", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("contains %q, which is not allowed in a DNS name", r)
			}
		}
	}
	return nil
}
