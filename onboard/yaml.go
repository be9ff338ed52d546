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
	mg, err := openSchools(existing)
	if err != nil {
		return nil, Changes{}, err
	}
	mg.es, mg.meta = es, m
	mg.index()
	mg.match()
	mg.settleSuffixes()
	mg.add()
	if err := mg.drop(); err != nil {
		return nil, mg.ch, err
	}
	mg.writeFoot()
	out, err := encode(mg.root)
	return out, mg.ch, err
}

// merger holds one merge: the file's tree, the entries from the lists and
// what each step learnt about them.
type merger struct {
	root     *yaml.Node // the whole document
	key, seq *yaml.Node // schools: and its list
	es       []Entry
	meta     Meta

	byCode, bySuffix map[string]*yaml.Node // the file's schools
	taken            map[string]bool       // ids the file uses
	matched          map[*yaml.Node]bool   // the file's schools that are in the lists
	fresh            []int                 // entries not in the file, by index into es
	lists            map[string]bool       // kinds of list read this time
	owners           map[string]string     // suffix -> the school of the file that owns it
	losers           map[*yaml.Node]string // init's schools sharing an owned suffix -> owner

	ch      Changes
	dropped []string // comment lines for the schools taken out
}

// openSchools parses the existing file and finds its schools: list (an
// empty one is made), with init's old block of unwritten schools taken
// out wherever a comment ended up holding it: it is written afresh.
func openSchools(existing []byte) (*merger, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(existing, &root); err != nil {
		return nil, fmt.Errorf("the existing file is not valid YAML (%s); fix it (kmsprobe validate -c FILE names the line) or move it away and run init again",
			strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the existing file is not a schools.yaml mapping (version:, schools: ...); move it away and run init again")
	}
	key, seq := schoolsOf(root.Content[0])
	if err := asSequence(seq); err != nil {
		return nil, err
	}
	walk(&root, func(n *yaml.Node) {
		n.HeadComment = stripBlock(n.HeadComment)
		n.LineComment = stripBlock(n.LineComment)
		n.FootComment = stripBlock(n.FootComment)
	})
	return &merger{root: &root, key: key, seq: seq}, nil
}

// schoolsOf finds the schools: key and value of doc, adding them when
// missing.
func schoolsOf(doc *yaml.Node) (key, seq *yaml.Node) {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "schools" {
			key, seq = doc.Content[i], doc.Content[i+1]
		}
	}
	if key == nil {
		key, seq = scalar("schools"), &yaml.Node{Kind: yaml.SequenceNode}
		doc.Content = append(doc.Content, key, seq)
	}
	return key, seq
}

// asSequence accepts a list, turns an empty schools: into one, and refuses
// anything else.
func asSequence(seq *yaml.Node) error {
	switch {
	case seq.Kind == yaml.SequenceNode:
		return nil
	case seq.Kind == yaml.ScalarNode && (seq.Value == "" || seq.Tag == "!!null"):
		*seq = yaml.Node{Kind: yaml.SequenceNode}
		return nil
	}
	return fmt.Errorf("line %d: schools: is not a list; fix it or move the file away", seq.Line)
}

// index notes the file's schools by 代碼 and suffix, and the ids it uses.
func (mg *merger) index() {
	mg.byCode, mg.bySuffix = map[string]*yaml.Node{}, map[string]*yaml.Node{}
	mg.taken, mg.matched = map[string]bool{}, map[*yaml.Node]bool{}
	for _, it := range mg.seq.Content {
		if it.Kind != yaml.MappingNode {
			continue
		}
		if c := codeOf(it); c != "" {
			mg.byCode[c] = it
		}
		if s := field(it, "suffix"); s != nil && s.Value != "" {
			mg.bySuffix[dnsname.Canonical(s.Value)] = it
		}
		if id := field(it, "id"); id != nil {
			mg.taken[id.Value] = true
		}
	}
}

// match pairs each entry with its school in the file and updates that
// school; the written entries without one are fresh.
func (mg *merger) match() {
	for i := range mg.es {
		e := &mg.es[i]
		it := mg.find(e)
		if it == nil || mg.matched[it] {
			if e.Written() {
				mg.fresh = append(mg.fresh, i)
			}
			continue
		}
		mg.matched[it] = true
		mg.update(it, e)
	}
}

// find is the file's school for e: the one with its 代碼, else a school
// written by hand with its suffix.
func (mg *merger) find(e *Entry) *yaml.Node {
	if it := mg.byCode[e.Code]; it != nil || !e.Written() {
		return it
	}
	if c := mg.bySuffix[e.Suffix]; c != nil && codeOf(c) == "" {
		return c // a school the admin wrote by hand: now it has its code
	}
	return nil
}

// update makes e take the file's id, reports the differences, and renews
// init's comment lines on the school.
func (mg *merger) update(it *yaml.Node, e *Entry) {
	if id := field(it, "id"); id != nil {
		e.ID = id.Value
	}
	mg.ch.Changed = append(mg.ch.Changed, reconcile(it, e)...)
	it.HeadComment = mergeComment(it.HeadComment, ownComment(*e))
}

// settleSuffixes finds which school of the file owns each suffix once the
// merge is done, and gives the entries of init's schools that lose theirs
// the reason.
func (mg *merger) settleSuffixes() {
	mg.lists = map[string]bool{}
	for _, e := range mg.es {
		mg.lists[e.List] = true
	}
	mg.owners, mg.losers = fileSuffixes(mg.seq.Content, mg.stays)
	for it, owner := range mg.losers {
		c := codeOf(it)
		for i := range mg.es {
			if mg.es[i].Code == c {
				mg.es[i].setReason(newReason("init.reason.same_suffix", "Suffix", dnsname.Canonical(field(it, "suffix").Value), "Other", owner, "Code", c))
			}
		}
	}
}

// stays says whether a school of the file is still written after the
// merge (see drop).
func (mg *merger) stays(it *yaml.Node) bool {
	return codeOf(it) == "" || mg.matched[it] || !mg.lists[listOf(it)]
}

// add appends the fresh entries, with ids the file does not use yet.
func (mg *merger) add() {
	var newEntries []Entry
	for _, i := range mg.fresh {
		newEntries = append(newEntries, mg.es[i])
	}
	sameSuffix(newEntries, mg.owners)
	AssignIDs(newEntries, mg.taken)
	for k, e := range newEntries {
		mg.es[mg.fresh[k]] = e
		if !e.Written() { // AssignIDs found no usable id: it goes to the block
			continue
		}
		it := item(e)
		mg.matched[it] = true
		mg.seq.Content = append(mg.seq.Content, it)
		mg.ch.Added = append(mg.ch.Added, fmt.Sprintf("%s (代碼 %s, %s)", e.ID, e.Code, e.Suffix))
	}
}

// drop keeps the file's schools that stay and turns the others into
// comments: init's schools no longer in the lists, and those that lost
// their suffix to another school.
func (mg *merger) drop() error {
	var kept []*yaml.Node
	for _, it := range mg.seq.Content {
		keep, err := mg.keep(it)
		if err != nil {
			return err
		}
		if keep {
			kept = append(kept, it)
		}
	}
	mg.seq.Content = kept
	return nil
}

// keep decides one school of the file, counting it, or comments it out.
func (mg *merger) keep(it *yaml.Node) (bool, error) {
	c := codeOf(it)
	if owner, ok := mg.losers[it]; ok {
		return false, mg.takeOut(it, c, owner)
	}
	switch {
	case c == "":
		mg.ch.Kept++
		return true, nil
	case mg.matched[it]:
		return true, nil
	case !mg.lists[listOf(it)]:
		mg.ch.OtherLists++
		return true, nil
	}
	return false, mg.dropGone(it, c)
}

// takeOut comments out a school init wrote earlier with a suffix another
// school of the file has: validate would warn, so it becomes a comment with
// the reason, like a school not written.
func (mg *merger) takeOut(it *yaml.Node, code, owner string) error {
	lines, err := commentedOut(it)
	if err != nil {
		return err
	}
	suffix := dnsname.Canonical(field(it, "suffix").Value)
	mg.ch.Changed = append(mg.ch.Changed, fmt.Sprintf("代碼 %s: taken out, its suffix %s is already that of %s", code, suffix, owner))
	mg.dropped = append(mg.dropped, fmt.Sprintf("# taken out by kmsprobe init: %s", newReason("init.reason.same_suffix", "Suffix", suffix, "Other", owner, "Code", code)))
	mg.dropped = append(mg.dropped, lines...)
	return nil
}

// dropGone comments out a school init wrote that is no longer in its list.
func (mg *merger) dropGone(it *yaml.Node, code string) error {
	id := ""
	if f := field(it, "id"); f != nil {
		id = f.Value
	}
	mg.ch.Dropped = append(mg.ch.Dropped, fmt.Sprintf("%s (代碼 %s)", id, code))
	lines, err := commentedOut(it)
	if err != nil {
		return err
	}
	mg.dropped = append(mg.dropped, fmt.Sprintf("# dropped by kmsprobe init: 代碼 %s is no longer in the lists (%s)", code, strings.Join(mg.meta.Sources, ", ")))
	mg.dropped = append(mg.dropped, lines...)
	return nil
}

// commentedOut is a school of the file as comment lines, its own comments
// kept as they are.
func commentedOut(it *yaml.Node) ([]string, error) {
	text, err := encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{it}})
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(text), "\n"), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines[i] = "#   " + l
		}
	}
	return lines, nil
}

// writeFoot writes, under schools:, the block of schools not written and
// the schools taken out, after the admin's own foot comment.
func (mg *merger) writeFoot() {
	var unwritten []Entry
	for _, e := range mg.es {
		if !e.Written() && mg.byCode[e.Code] == nil {
			unwritten = append(unwritten, e)
		}
	}
	foot := strings.TrimSpace(mg.key.FootComment)
	if b := block(unwritten, mg.meta.Zone); b != "" {
		foot = joinComments(b, foot)
	}
	if len(mg.dropped) > 0 {
		foot = joinComments(foot, strings.Join(mg.dropped, "\n"))
	}
	mg.key.FootComment = foot
}

// codeOf is the 代碼 on init's comment line of a school of the file, ""
// for a school written by hand.
func codeOf(it *yaml.Node) string {
	if c := codeRe.FindStringSubmatch(it.HeadComment); c != nil {
		return c[1]
	}
	return ""
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
	for _, suffix := range order {
		g := groups[suffix]
		// Hand-written first (no code sorts first), then by 代碼.
		slices.SortStableFunc(g, func(a, b *yaml.Node) int { return strings.Compare(codeOf(a), codeOf(b)) })
		owners[suffix] = describe(g[0], codeOf(g[0]))
		for _, it := range g[1:] {
			if codeOf(it) != "" {
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
