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
var ErrNoConfig = errors.New("config: no schools.yaml found")

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

// Load reads, defaults and validates a schools.yaml file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config: %s does not exist; pass the right file with -c FILE", path)
		}
		return nil, fmt.Errorf("config: cannot read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse is Load for bytes already read; path is only used in messages.
func Parse(path string, data []byte) (*Config, error) {
	l := &loader{path: path, lines: map[string]int{}, typeErr: map[string]bool{}, ids: map[int]string{}}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(0, "", "", "the file is empty; start from the example schools.yaml (version: 1, kms:, schools:)")
			return nil, l.err()
		}
		// A syntax error leaves nothing to walk: report it alone, with the
		// line yaml gives, and stop.
		l.add(yamlErrLine(err.Error()), "", "", "YAML syntax error: "+strings.TrimPrefix(err.Error(), "yaml: "))
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

	l.walk(doc, reflect.TypeOf(Config{}), "")

	var c Config
	if err := doc.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			fatal := false
			for _, msg := range te.Errors {
				line := yamlErrLine(msg)
				school, field, path := l.fieldAt(line, &c)
				l.typeErr[path] = true
				l.add(line, school, field, rewordTypeError(msg))
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
	return &c, nil
}

type loader struct {
	path     string
	lines    map[string]int  // "schools[2].suffix" -> line
	typeErr  map[string]bool // fields already reported with a type error
	ids      map[int]string  // school index -> id as written, for messages
	problems []Problem

	minCountWritten bool
	rawMinCount     int
}

func (l *loader) add(line int, school, field, msg string) {
	l.problems = append(l.problems, Problem{Path: l.path, Line: line, School: school, Field: field, Msg: msg})
}

func (l *loader) err() error {
	sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
	return &Error{Problems: l.problems}
}

// walk records where every field is and reports keys the schema does not
// know. yaml.v3's KnownFields stops at the first unknown key; walking the
// node tree ourselves finds them all.
func (l *loader) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	l.lines[path] = n.Line
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(Duration{}) {
			return
		}
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := join(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				l.add(k.Line, l.schoolOf(n, path), "", fmt.Sprintf("unknown field %q under %s%s; known fields there: %s", k.Value, orTop(path), suggest(k.Value, fields), strings.Join(sortedKeys(fields), ", ")))
				continue
			}
			l.lines[child] = k.Line
			l.walk(v, ft, child)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			if path == "schools" {
				l.ids[i] = l.schoolOf(item, fmt.Sprintf("schools[%d]", i))
				if strings.HasPrefix(l.ids[i], "schools[") {
					l.ids[i] = ""
				}
			}
			l.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
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

// fieldAt finds the deepest field written on a line, so a type error
// yaml reports by line alone can name its school and field.
func (l *loader) fieldAt(line int, c *Config) (school, field, path string) {
	best := ""
	for p, n := range l.lines {
		if n == line && len(p) > len(best) {
			best = p
		}
	}
	best = regexp.MustCompile(`\[\d+\]$`).ReplaceAllString(best, "")
	if m := schoolIndex.FindStringSubmatch(best); m != nil {
		i, _ := strconv.Atoi(m[1])
		school = m[0]
		if id := l.ids[i]; id != "" {
			school = id
		}
		return school, strings.TrimPrefix(strings.TrimPrefix(best, m[0]), "."), best
	}
	return "", best, best
}

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

// rewordTypeError turns yaml.v3's "line 7: cannot unmarshal !!str `abc` into
// int" into words an admin without Go knows.
func rewordTypeError(msg string) string {
	msg = leadingLine.ReplaceAllString(msg, "")
	r := strings.NewReplacer(
		"cannot unmarshal !!str", "expected a different type, got the text",
		"cannot unmarshal !!seq", "expected a single value, got a list",
		"cannot unmarshal !!map", "expected a single value, got a mapping",
		"cannot unmarshal !!int", "expected a different type, got the number",
		"cannot unmarshal !!bool", "expected a different type, got the boolean",
		"cannot unmarshal !!float", "expected a different type, got the number",
		"into int", "where a whole number belongs",
		"into bool", "where true or false belongs",
		"into string", "where text belongs",
		"into []string", "where a list belongs, e.g. [10.1.2.3]",
		"into []config.School", "where the list of schools belongs",
		"into config.", "where a mapping belongs: ",
	)
	return r.Replace(msg)
}

// UnmarshalYAML keeps a bad duration for validate to report with its field
// name and line, instead of aborting the whole decode.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	d.raw, d.line = n.Value, n.Line
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		d.bad = true
		return nil
	}
	d.Duration = v
	return nil
}

func (c *Config) applyDefaults() {
	c.KMS.Host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(c.KMS.Host), "."))
	if c.KMS.Host == "" {
		c.KMS.Host = DefaultKMSHost
	}
	if c.KMS.Port == 0 {
		c.KMS.Port = DefaultKMSPort
	}
	if c.KMS.MinCount == 0 {
		c.KMS.MinCount = DefaultMinCount
	}
	if c.KMS.Mode == "" {
		c.KMS.Mode = "activate"
	}
	if c.Resolvers == nil {
		c.Resolvers = append([]string(nil), DefaultResolvers...)
	}
	if c.Probe.Timeout.Duration == 0 && !c.Probe.Timeout.bad {
		c.Probe.Timeout.Duration = DefaultTimeout
	}
	if c.Probe.Attempts == 0 {
		c.Probe.Attempts = DefaultAttempts
	}
	if c.Probe.Concurrency == 0 {
		c.Probe.Concurrency = DefaultConcurrency
	}
	if c.DHCP.Window.Duration == 0 && !c.DHCP.Window.bad {
		c.DHCP.Window.Duration = DefaultDHCPWindow
	}
	if c.Report.Lang == "" {
		c.Report.Lang = DefaultLang
	}
	if c.Report.Keep == 0 {
		c.Report.Keep = DefaultKeep
	}
	if c.Serve.Listen == "" {
		c.Serve.Listen = DefaultServeListen
	}
	if c.Serve.Interval.Duration == 0 && !c.Serve.Interval.bad {
		c.Serve.Interval.Duration = DefaultServeEvery
	}
	if c.Mail != nil && c.Mail.Timeout.Duration == 0 && !c.Mail.Timeout.bad {
		c.Mail.Timeout.Duration = 30 * time.Second
	}
	for i := range c.Schools {
		s := &c.Schools[i]
		if s.Name == "" {
			s.Name = s.ID
		}
		s.Suffix = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s.Suffix), "."))
	}
}

var idRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func (l *loader) validate(c *Config) {
	at := func(path string) int { return l.lines[path] }
	top := func(field, msg string) {
		if !l.typeErr[field] {
			l.add(at(field), "", field, msg)
		}
	}

	switch {
	case l.lines["version"] == 0:
		top("version", "missing; add `version: 1` at the top of the file")
	case c.Version != 1:
		top("version", fmt.Sprintf("version %d is not supported; this kmsprobe reads version 1", c.Version))
	}

	if err := checkHostname(c.KMS.Host); err != nil {
		top("kms.host", fmt.Sprintf("%q %v; write the KMS host's name, e.g. %s", c.KMS.Host, err, DefaultKMSHost))
	}
	if c.KMS.Port < 1 || c.KMS.Port > 65535 {
		top("kms.port", fmt.Sprintf("%d is not a TCP port (1-65535); KMS listens on 1688", c.KMS.Port))
	}
	if l.minCountWritten && l.rawMinCount < 1 {
		top("kms.min_count", fmt.Sprintf("%d must be at least 1; Windows clients need 25, Office and servers 5", l.rawMinCount))
	}
	if c.KMS.Protocol != 0 && (c.KMS.Protocol < 4 || c.KMS.Protocol > 6) {
		top("kms.protocol", fmt.Sprintf("%d is not a KMS protocol version; use 4, 5 or 6", c.KMS.Protocol))
	}
	switch c.KMS.Mode {
	case "tcp", "bind", "activate":
	default:
		top("kms.mode", fmt.Sprintf("%q is not a mode; use tcp, bind or activate", c.KMS.Mode))
	}

	c.Resolvers = l.addresses(c.Resolvers, 53, "resolvers", "", "resolvers")
	c.NTP = l.addresses(c.NTP, 123, "ntp", "", "ntp")

	l.duration(c.Probe.Timeout, "probe.timeout", time.Millisecond, time.Minute)
	l.duration(c.DHCP.Window, "dhcp.window", 100*time.Millisecond, time.Minute)
	l.duration(c.Serve.Interval, "serve.interval", 10*time.Second, 7*24*time.Hour)
	if c.Probe.Attempts < 1 || c.Probe.Attempts > 10 {
		top("probe.attempts", fmt.Sprintf("%d is out of range; use 1 to 10 attempts per query", c.Probe.Attempts))
	}
	if c.Probe.Concurrency < 1 || c.Probe.Concurrency > 10000 {
		top("probe.concurrency", fmt.Sprintf("%d is out of range; use 1 to 10000 exchanges in flight", c.Probe.Concurrency))
	}
	for i, s := range c.DHCP.AllowedServers {
		if net.ParseIP(s) == nil {
			l.add(at(fmt.Sprintf("dhcp.allowed_servers[%d]", i)), "", "dhcp.allowed_servers", fmt.Sprintf("%q is not an IP address; list the DHCP server identifiers (option 54), e.g. 10.1.2.1", s))
		}
	}
	switch c.Report.Lang {
	case "en", "zh-TW":
	default:
		top("report.lang", fmt.Sprintf("%q is not a supported language; use en or zh-TW", c.Report.Lang))
	}
	if c.Report.Keep < 1 {
		top("report.keep", fmt.Sprintf("%d must be at least 1 saved report", c.Report.Keep))
	}
	if _, _, err := net.SplitHostPort(c.Serve.Listen); err != nil {
		top("serve.listen", fmt.Sprintf("%q is not host:port, e.g. %s", c.Serve.Listen, DefaultServeListen))
	}
	if c.Mail != nil {
		l.validateMail(c.Mail)
	}

	if len(c.Schools) == 0 {
		l.add(at("schools"), "", "schools", "no schools listed; add at least one with id, suffix and optionally dns")
	}
	seen := map[string]int{}
	for i := range c.Schools {
		s := &c.Schools[i]
		base := fmt.Sprintf("schools[%d]", i)
		label := s.ID
		if label == "" {
			label = base
		}
		f := func(field, msg string) {
			if l.typeErr[base+"."+field] {
				return // one problem per field: the type error says it
			}
			line := at(base + "." + field)
			if line == 0 {
				line = at(base)
			}
			l.add(line, label, field, msg)
		}
		switch {
		case s.ID == "":
			f("id", "missing; give each school a unique lower-case id such as demo-jh")
		case !idRe.MatchString(s.ID):
			f("id", fmt.Sprintf("%q must be lower-case letters, digits and inner hyphens, e.g. demo-jh", s.ID))
		default:
			if first, dup := seen[s.ID]; dup {
				f("id", fmt.Sprintf("duplicate id: already used by the school on line %d; ids must be unique", first))
			} else {
				seen[s.ID] = at(base)
			}
		}
		if s.Suffix == "" {
			f("suffix", "missing; write the DNS suffix its PCs get from DHCP option 15, e.g. demo-jh.kh.edu.tw")
		} else if err := checkHostname(s.Suffix); err != nil {
			f("suffix", fmt.Sprintf("%q %v; write a DNS suffix like demo-jh.kh.edu.tw", s.Suffix, err))
		}
		s.DNS = l.addresses(s.DNS, 53, base+".dns", label, "dns")
		if len(s.DNS) == 0 && len(c.Resolvers) == 0 && !l.typeErr[base+".dns"] {
			// Nothing would be asked, and an audit that asks nothing
			// must not pass.
			f("dns", "no DNS server to check: list the school's own servers under dns:, or keep the city resolvers (resolvers:)")
		}
	}
}

func (l *loader) validateMail(m *Mail) {
	at := func(p string) int { return l.lines[p] }
	if m.SMTP == "" {
		l.add(at("mail"), "", "mail.smtp", "missing; write the SMTP server as host:port, e.g. smtp.example.edu.tw:587")
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
	if len(m.To) == 0 {
		l.add(at("mail"), "", "mail.to", "no recipients; list at least one address")
	}
	for i, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil {
			l.add(at(fmt.Sprintf("mail.to[%d]", i)), "", "mail.to", fmt.Sprintf("%q is not a mail address", to))
		}
	}
	l.duration(m.Timeout, "mail.timeout", time.Second, 10*time.Minute)
}

func (l *loader) duration(d Duration, field string, lo, hi time.Duration) {
	line := l.lines[field]
	switch {
	case d.bad:
		l.add(line, "", field, fmt.Sprintf("%q is not a duration; write it like 2s or 500ms", d.raw))
	case d.Duration < lo || d.Duration > hi:
		l.add(line, "", field, fmt.Sprintf("%s is out of range; use %s to %s", d.Duration, lo, hi))
	}
}

// addresses normalises a list of host, host:port or [v6]:port entries to
// host:port, reporting bad ones and duplicates.
func (l *loader) addresses(list []string, defPort int, path, school, field string) []string {
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for i, a := range list {
		line := l.lines[fmt.Sprintf("%s[%d]", path, i)]
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
	}
	return out
}

// normAddr accepts host, host:port, a bare IPv6 address or [v6]:port.
func normAddr(s string, defPort int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address; write an IP such as 10.1.2.3 or host:port")
	}
	if ip := net.ParseIP(s); ip != nil {
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
	if err := checkHostname(host); err != nil {
		return "", fmt.Errorf("host %v", err)
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), port), nil
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
