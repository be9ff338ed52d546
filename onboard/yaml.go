package onboard

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Meta describes the import for the file's header.
type Meta struct {
	Sources []string // the lists read, as named on the command line (base names)
	City    string
	Zone    string
	// Resolvers are written as resolvers: when set (an explicit
	// --resolver); otherwise the city's defaults apply.
	Resolvers []string
}

// Changes is what a merge did to an existing file.
type Changes struct {
	Added   []string // schools new in the lists
	Changed []string // schools whose data differs between the lists and the file
	Dropped []string // schools init had written that are no longer in the lists
	Kept    int      // schools in the file without a 代碼 (written by hand): left alone
	// OtherLists counts schools init wrote from a kind of list (國小,
	// 國中, 高中) not read this time: they are kept, not dropped.
	OtherLists int
}

// Comment lines init owns: the line naming a school's 代碼 and the notes
// under it on each school, and the block of schools it could not write.
// Everything else in a file's comments is the admin's and is kept.
const (
	codeLine   = "# 代碼 "
	noteLine   = "#  · "
	blockBegin = "# ---- kmsprobe init: schools not written (no suffix) ----"
	blockEnd   = "# ---- end of the kmsprobe init block ----"
)

var (
	codeRe = regexp.MustCompile(`(?m)^#\s*代碼\s+(\S+)`)
	listRe = regexp.MustCompile(`(?m)^#\s*代碼\s+\S+ · (\S+)`)
)

// Render writes a new schools.yaml.
func Render(es []Entry, m Meta) ([]byte, error) {
	AssignIDs(es, map[string]bool{})
	doc := &yaml.Node{Kind: yaml.MappingNode}
	doc.HeadComment = header(m)
	doc.Content = append(doc.Content, scalar("version"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"})
	if len(m.Resolvers) > 0 {
		k := scalar("resolvers")
		k.HeadComment = "# the resolvers the PCs of schools without their own DNS server ask"
		doc.Content = append(doc.Content, k, flowSeq(m.Resolvers))
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	key := scalar("schools")
	doc.Content = append(doc.Content, key, seq)
	for _, e := range es {
		if e.Written() {
			seq.Content = append(seq.Content, item(e))
		}
	}
	key.FootComment = block(es, m.Zone)
	return encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}})
}

func header(m Meta) string {
	lines := []string{
		"# schools.yaml made by `kmsprobe init` from " + strings.Join(m.Sources, ", "),
		fmt.Sprintf("# (city %s, zone %s). Check it with `kmsprobe validate`.", orText(m.City, "all"), m.Zone),
		"# Run init again with --force to merge next year's lists: your edits, ids",
		"# and comments are kept; the lines init writes start with `代碼` or `·`.",
		"# The KMS host, resolvers and probe budget have defaults (ap24.kh.edu.tw:1688,",
		"# the city resolvers): add kms:, resolvers: or probe: here to change them.",
	}
	return strings.Join(lines, "\n")
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func flowSeq(vs []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vs {
		n.Content = append(n.Content, scalar(v))
	}
	return n
}

func item(e Entry) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	n.Content = append(n.Content, scalar("id"), scalar(e.ID), scalar("name"), scalar(e.Name), scalar("suffix"), scalar(e.Suffix))
	if len(e.DNS) > 0 {
		n.Content = append(n.Content, scalar("dns"), flowSeq(e.DNS))
	}
	n.HeadComment = ownComment(e)
	return n
}

// ownComment is the comment init writes above a school.
func ownComment(e Entry) string {
	parts := []string{codeLine + e.Code}
	if e.List != "" {
		parts = append(parts, e.List)
	}
	if e.Kind != "" {
		parts = append(parts, oneLine(e.Kind))
	}
	if e.Year != "" {
		parts = append(parts, "學年度 "+oneLine(e.Year))
	}
	if e.Note != "" {
		parts = append(parts, "備註 "+oneLine(e.Note))
	}
	if e.URL != "" {
		parts = append(parts, "網址 "+oneLine(e.URL))
	}
	parts = append(parts, e.File)
	lines := []string{strings.Join(parts, " · ")}
	for _, n := range e.Notes {
		lines = append(lines, noteLine+oneLine(n))
	}
	return strings.Join(lines, "\n")
}

// oneLine keeps list text from breaking a comment line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)), " ")
}

// block lists the schools not written, commented out, each with its
// reason and a stub to complete.
func block(es []Entry, zone string) string {
	var lines []string
	for _, e := range es {
		if e.Written() {
			continue
		}
		if len(lines) == 0 {
			lines = append(lines, blockBegin,
				"# Give each a suffix in the overrides file under its 代碼 (e.g. `"+orText(e.Code, "123456")+": {suffix: abc."+zone+"}`)",
				"# and run init again, or uncomment the school here and complete it.")
		}
		lines = append(lines, "#", fmt.Sprintf("%s%s %s (%s): %s", codeLine, oneLine(e.Code), oneLine(e.Name), oneLine(e.File), oneLine(e.Reason)))
		// No id and no suffix: init never invents them.
		lines = append(lines, "#   - id:", "#     name: "+oneLine(e.Name), "#     suffix:")
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(append(lines, blockEnd), "\n")
}

func encode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Merge folds the entries into an existing schools.yaml. Schools are
// matched on their 代碼 (from init's comment line) or else their suffix;
// a matched school keeps the file's id, name, suffix and dns (dns is only
// filled when the file has none), and the differences are reported. New
// schools are appended; schools init had written (they carry a 代碼) that
// are no longer in a list of their kind (國小, 國中, 高中) are taken out
// and kept as comments at the end — a school whose kind of list was not
// read this time stays; schools without a 代碼 were written by hand and
// are left alone.
func Merge(existing []byte, es []Entry, m Meta) ([]byte, Changes, error) {
	var ch Changes
	var root yaml.Node
	if err := yaml.Unmarshal(existing, &root); err != nil {
		return nil, ch, fmt.Errorf("the existing file is not valid YAML (%s); fix it (kmsprobe validate -c FILE names the line) or move it away and run init again",
			strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, ch, errors.New("the existing file is not a schools.yaml mapping (version:, schools: ...); move it away and run init again")
	}
	doc := root.Content[0]
	var key, seq *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "schools" {
			key, seq = doc.Content[i], doc.Content[i+1]
		}
	}
	if key == nil {
		key, seq = scalar("schools"), &yaml.Node{Kind: yaml.SequenceNode}
		doc.Content = append(doc.Content, key, seq)
	}
	if seq.Kind != yaml.SequenceNode {
		if seq.Kind == yaml.ScalarNode && (seq.Value == "" || seq.Tag == "!!null") {
			*seq = yaml.Node{Kind: yaml.SequenceNode}
		} else {
			return nil, ch, fmt.Errorf("line %d: schools: is not a list; fix it or move the file away", seq.Line)
		}
	}
	// Take init's old block out wherever a comment of the file ended up
	// holding it; it is written afresh below.
	walk(&root, func(n *yaml.Node) {
		n.HeadComment = stripBlock(n.HeadComment)
		n.LineComment = stripBlock(n.LineComment)
		n.FootComment = stripBlock(n.FootComment)
	})

	byCode := map[string]*yaml.Node{}
	bySuffix := map[string]*yaml.Node{}
	taken := map[string]bool{}
	for _, it := range seq.Content {
		if it.Kind != yaml.MappingNode {
			continue
		}
		if c := codeRe.FindStringSubmatch(it.HeadComment); c != nil {
			byCode[c[1]] = it
		}
		if s := field(it, "suffix"); s != nil && s.Value != "" {
			bySuffix[dnsname.Canonical(s.Value)] = it
		}
		if id := field(it, "id"); id != nil {
			taken[id.Value] = true
		}
	}
	matched := map[*yaml.Node]bool{}
	var fresh []int
	for i := range es {
		e := &es[i]
		it := byCode[e.Code]
		if it == nil && e.Written() {
			if c := bySuffix[e.Suffix]; c != nil && !codeRe.MatchString(c.HeadComment) {
				it = c // a school the admin wrote by hand: now it has its code
			}
		}
		if it == nil || matched[it] {
			if e.Written() {
				fresh = append(fresh, i)
			}
			continue
		}
		matched[it] = true
		if id := field(it, "id"); id != nil {
			e.ID = id.Value
		}
		ch.Changed = append(ch.Changed, reconcile(it, e)...)
		it.HeadComment = mergeComment(it.HeadComment, ownComment(*e))
	}

	lists := map[string]bool{}
	for _, e := range es {
		lists[e.List] = true
	}
	// stays: the file's schools that are still written after the merge
	// (see the loop that drops schools below).
	stays := func(it *yaml.Node) bool {
		return !codeRe.MatchString(it.HeadComment) || matched[it] || !lists[listOf(it)]
	}
	owners, losers := fileSuffixes(seq.Content, stays)
	for it, owner := range losers {
		c := codeRe.FindStringSubmatch(it.HeadComment)
		for i := range es {
			if es[i].Code == c[1] {
				es[i].setReason(newReason("init.reason.same_suffix", "Suffix", dnsname.Canonical(field(it, "suffix").Value), "Other", owner, "Code", c[1]))
			}
		}
	}

	var newEntries []Entry
	for _, i := range fresh {
		newEntries = append(newEntries, es[i])
	}
	sameSuffix(newEntries, owners)
	AssignIDs(newEntries, taken)
	for k, e := range newEntries {
		es[fresh[k]] = e
		if !e.Written() { // AssignIDs found no usable id: it goes to the block
			continue
		}
		it := item(e)
		matched[it] = true
		seq.Content = append(seq.Content, it)
		ch.Added = append(ch.Added, fmt.Sprintf("%s (代碼 %s, %s)", e.ID, e.Code, e.Suffix))
	}

	var kept []*yaml.Node
	var dropped []string
	for _, it := range seq.Content {
		c := codeRe.FindStringSubmatch(it.HeadComment)
		if owner, ok := losers[it]; ok {
			// A school init wrote earlier with a suffix another school
			// of the file has: validate would warn, so it becomes a
			// comment with the reason, like a school not written.
			text, err := encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{it}})
			if err != nil {
				return nil, ch, err
			}
			suffix := dnsname.Canonical(field(it, "suffix").Value)
			ch.Changed = append(ch.Changed, fmt.Sprintf("代碼 %s: taken out, its suffix %s is already that of %s", c[1], suffix, owner))
			dropped = append(dropped, fmt.Sprintf("# taken out by kmsprobe init: %s", newReason("init.reason.same_suffix", "Suffix", suffix, "Other", owner, "Code", c[1])))
			for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "#") {
					l = "#   " + l
				}
				dropped = append(dropped, l)
			}
			continue
		}
		switch {
		case c == nil:
			ch.Kept++
			kept = append(kept, it)
		case matched[it]:
			kept = append(kept, it)
		case !lists[listOf(it)]:
			ch.OtherLists++
			kept = append(kept, it)
		default:
			id := ""
			if f := field(it, "id"); f != nil {
				id = f.Value
			}
			ch.Dropped = append(ch.Dropped, fmt.Sprintf("%s (代碼 %s)", id, c[1]))
			text, err := encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{it}})
			if err != nil {
				return nil, ch, err
			}
			dropped = append(dropped, fmt.Sprintf("# dropped by kmsprobe init: 代碼 %s is no longer in the lists (%s)", c[1], strings.Join(m.Sources, ", ")))
			for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "#") {
					l = "#   " + l
				}
				dropped = append(dropped, l)
			}
		}
	}
	seq.Content = kept

	var unwritten []Entry
	for _, e := range es {
		if !e.Written() && byCode[e.Code] == nil {
			unwritten = append(unwritten, e)
		}
	}
	foot := strings.TrimSpace(key.FootComment)
	if b := block(unwritten, m.Zone); b != "" {
		foot = joinComments(b, foot)
	}
	if len(dropped) > 0 {
		foot = joinComments(foot, strings.Join(dropped, "\n"))
	}
	key.FootComment = foot
	out, err := encode(&root)
	return out, ch, err
}

// fileSuffixes names the school that owns each suffix among the schools
// of the file that stay, and the schools init wrote earlier that share an
// owned suffix (losers, each with its owner). A school written by hand
// owns its suffix before any of init's; among init's the smallest 代碼
// does. Two hand-written schools with one suffix are the admin's to
// settle: both stay.
func fileSuffixes(items []*yaml.Node, stays func(*yaml.Node) bool) (owners map[string]string, losers map[*yaml.Node]string) {
	owners, losers = map[string]string{}, map[*yaml.Node]string{}
	groups := map[string][]*yaml.Node{}
	var order []string
	for _, it := range items {
		s := field(it, "suffix")
		if it.Kind != yaml.MappingNode || s == nil || s.Value == "" || !stays(it) {
			continue
		}
		suffix := dnsname.Canonical(s.Value)
		if groups[suffix] == nil {
			order = append(order, suffix)
		}
		groups[suffix] = append(groups[suffix], it)
	}
	code := func(it *yaml.Node) string {
		if c := codeRe.FindStringSubmatch(it.HeadComment); c != nil {
			return c[1]
		}
		return ""
	}
	for _, suffix := range order {
		g := groups[suffix]
		// Hand-written first (no code sorts first), then by 代碼.
		slices.SortStableFunc(g, func(a, b *yaml.Node) int { return strings.Compare(code(a), code(b)) })
		owners[suffix] = describe(g[0], code(g[0]))
		for _, it := range g[1:] {
			if code(it) != "" {
				losers[it] = owners[suffix]
			}
		}
	}
	return owners, losers
}

// describe names a school of the file in a reason.
func describe(it *yaml.Node, code string) string {
	name := ""
	if n := field(it, "name"); n != nil {
		name = " " + n.Value
	}
	if code != "" {
		return "代碼 " + code + name
	}
	id := "?"
	if f := field(it, "id"); f != nil {
		id = f.Value
	}
	return "id " + id + name
}

// listOf is the kind of list a school of the file came from, "" when
// its comment does not say.
func listOf(it *yaml.Node) string {
	if m := listRe.FindStringSubmatch(it.HeadComment); m != nil {
		switch m[1] {
		case ListElementary, ListJunior, ListSenior:
			return m[1]
		}
	}
	return "?"
}

func joinComments(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n#\n" + b
}

// reconcile compares a school of the file with the lists: the file wins,
// except that an empty dns: is filled from discovery.
func reconcile(it *yaml.Node, e *Entry) []string {
	var out []string
	who := e.ID + " (代碼 " + e.Code + ")"
	if s := field(it, "suffix"); e.Written() && s != nil && dnsname.Canonical(s.Value) != e.Suffix {
		out = append(out, fmt.Sprintf("%s: the lists give suffix %s, the file has %s (kept; change the file or the overrides to take it)", who, e.Suffix, s.Value))
	}
	if n := field(it, "name"); n != nil && e.Name != "" && n.Value != e.Name {
		out = append(out, fmt.Sprintf("%s: the lists name it %s, the file %s (kept)", who, e.Name, n.Value))
	}
	if len(e.DNS) == 0 {
		return out
	}
	d := field(it, "dns")
	var have []string
	if d != nil {
		for _, c := range d.Content {
			have = append(have, c.Value)
		}
	}
	switch {
	case len(have) == 0:
		if d == nil {
			it.Content = append(it.Content, scalar("dns"), flowSeq(e.DNS))
		} else {
			*d = *flowSeq(e.DNS)
		}
		out = append(out, fmt.Sprintf("%s: dns filled from discovery: %s", who, strings.Join(e.DNS, ", ")))
	case !slices.Equal(sortedCopy(have), sortedCopy(e.DNS)):
		out = append(out, fmt.Sprintf("%s: discovery found dns %s, the file has %s (kept)", who, strings.Join(e.DNS, ", "), strings.Join(have, ", ")))
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// mergeComment replaces init's lines in a school's comment and keeps the
// admin's, in place.
func mergeComment(old, own string) string {
	var admin []string
	for _, l := range strings.Split(old, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, strings.TrimSpace(codeLine)) || codeRe.MatchString(t) || strings.HasPrefix(t, strings.TrimSpace(noteLine)) {
			continue
		}
		admin = append(admin, l)
	}
	return strings.Join(append(admin, own), "\n")
}

func stripBlock(s string) string {
	for {
		i := strings.Index(s, blockBegin)
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], blockEnd)
		if j < 0 {
			return strings.TrimRight(s[:i], "\n#")
		}
		s = strings.TrimRight(s[:i], "\n") + strings.TrimLeft(s[i+j+len(blockEnd):], "\n")
		s = strings.Trim(s, "\n")
		s = strings.TrimPrefix(s, "#\n")
	}
}

func walk(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		walk(c, fn)
	}
}

func field(m *yaml.Node, k string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i+1]
		}
	}
	return nil
}
