package onboard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Entry is one school as init will write it.
type Entry struct {
	Record
	ID     string
	Suffix string
	DNS    []string
	// Reason is why the school is written commented out ("" when it is
	// written as a school).
	Reason string
	// ReasonID and ReasonArgs are Reason as a message id with its
	// arguments (Reasons), for a translated rendering.
	ReasonID   string
	ReasonArgs map[string]string
	// Notes say what init decided for this school (an id made unique,
	// an override applied, what --discover found); they become comments.
	Notes []string
	// DNSFixed is set when the overrides gave dns:, so discovery leaves
	// it alone.
	DNSFixed bool
}

// Written reports whether the entry becomes a school (not a comment).
func (e Entry) Written() bool { return e.Reason == "" }

// Override is what an admin fixes for one school in the overrides file.
type Override struct {
	ID     string   `yaml:"id"`
	Name   string   `yaml:"name"`
	Suffix string   `yaml:"suffix"`
	DNS    []string `yaml:"dns"`
	Skip   bool     `yaml:"skip"`
}

// Overrides are keyed by the school's 代碼 (it survives renames and next
// year's lists) or by the id init derived for it.
type Overrides map[string]Override

// ParseOverrides reads an overrides file. Unknown fields are errors.
func ParseOverrides(name string, data []byte) (Overrides, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ov Overrides
	if err := dec.Decode(&ov); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s; each entry is `<代碼 or id>: {suffix: ..., dns: [...], id: ..., name: ..., skip: true}`",
			name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var errs []error
	keys := make([]string, 0, len(ov))
	for k := range ov {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		o := ov[k]
		if o.ID != "" && !idRe.MatchString(o.ID) {
			errs = append(errs, fmt.Errorf("%s: %s: id %q must be lower-case letters, digits and inner hyphens", name, k, o.ID))
		}
		if o.Suffix != "" {
			s := dnsname.Canonical(o.Suffix)
			if !validName(s) {
				errs = append(errs, fmt.Errorf("%s: %s: suffix %q is not a DNS name like abc.kh.edu.tw", name, k, o.Suffix))
			}
			o.Suffix = s
		}
		for _, d := range o.DNS {
			if !validAddr(d) {
				errs = append(errs, fmt.Errorf("%s: %s: dns %q is not an IP address or ip:port", name, k, d))
			}
		}
		ov[k] = o
	}
	return ov, errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !validLabel(l) && !(strings.HasPrefix(l, "_") && validLabel(l[1:])) {
			return false
		}
	}
	return true
}

func validAddr(s string) bool {
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return true
	}
	h, _, err := net.SplitHostPort(s)
	return err == nil && net.ParseIP(h) != nil
}

// Build turns the rows of every list into entries, in the order read: the
// suffix from 網址, then the overrides. Ids are assigned later (AssignIDs),
// once an existing file's ids are known. It also returns notes for the
// admin: duplicate codes and overrides that matched no school.
func Build(recs []Record, zone string, ov Overrides) ([]Entry, []string) {
	var out []Entry
	var notes []string
	seen := map[string]string{}
	used := map[string]bool{}
	for _, r := range recs {
		if r.Code != "" {
			if first, dup := seen[r.Code]; dup {
				notes = append(notes, fmt.Sprintf("%s:%d: 代碼 %s is listed again (first at %s); the first row is used", r.File, r.Line, r.Code, first))
				continue
			}
			seen[r.Code] = fmt.Sprintf("%s:%d", r.File, r.Line)
		}
		e := Entry{Record: r}
		cutFrom := ""
		if e.Name == "" {
			e.setReason(newReason("init.reason.no_name"))
		} else if e.Code == "" {
			e.setReason(newReason("init.reason.no_code"))
		} else {
			var why Reason
			e.Suffix, why, cutFrom = suffixReason(r.URL, zone)
			e.setReason(why)
		}
		derived := e.Suffix
		key, o, ok := lookup(ov, e)
		if ok {
			used[key] = true
			e.apply(key, o)
		}
		if cutFrom != "" && e.Written() && e.Suffix == derived {
			e.Notes = append(e.Notes, cutNote(cutFrom, e.Suffix, zone, e.Code))
		}
		out = append(out, e)
	}
	sameSuffix(out, nil)
	for _, k := range sortedKeys(ov) {
		if !used[k] {
			notes = append(notes, fmt.Sprintf("override %q matches no school of the lists (neither a 代碼 nor a derived id); check the key", k))
		}
	}
	return out, notes
}

// cutNote tells the admin that a suffix was cut from a longer host: the
// city delegates one zone per school directly under its own zone, so the
// school's zone is the one label below it. It is a derivation from that
// rule, not a guess, and the note says how to override it.
func cutNote(host, suffix, zone, code string) string {
	return fmt.Sprintf("suffix %s: cut from the 網址 host %s to the school's zone, the one label under the city zone %s; if its PCs get %s as their suffix, set suffix in the overrides file (key %s)",
		suffix, host, dnsname.Canonical(zone), strings.TrimPrefix(host, "www."), code)
}

// sameSuffix comments out every written entry whose suffix another school
// already has: one of the schools of the file (taken: suffix -> who), or
// another entry. Two schools with one suffix make validate warn, and
// init's output must validate cleanly; two schools sharing a web site
// (sxps.kh.edu.tw and sxps.kh.edu.tw:8080) are the usual cause. Among
// entries the smallest 代碼 keeps the suffix, as with ids: the choice
// does not depend on the order of the lists.
func sameSuffix(es []Entry, taken map[string]string) {
	bySuffix := map[string][]int{}
	for i := range es {
		if es[i].Written() && es[i].Suffix != "" {
			bySuffix[es[i].Suffix] = append(bySuffix[es[i].Suffix], i)
		}
	}
	for suffix, idx := range bySuffix {
		slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(es[a].Code, es[b].Code) })
		owner, ok := taken[suffix]
		if !ok {
			first := es[idx[0]]
			owner = strings.TrimSpace("代碼 " + first.Code + " " + first.Name)
			idx = idx[1:]
		}
		for _, i := range idx {
			e := &es[i]
			e.setReason(newReason("init.reason.same_suffix", "Suffix", suffix, "Other", owner, "Code", e.Code))
		}
	}
}

func sortedKeys(ov Overrides) []string {
	ks := make([]string, 0, len(ov))
	for k := range ov {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func lookup(ov Overrides, e Entry) (string, Override, bool) {
	if o, ok := ov[e.Code]; ok && e.Code != "" {
		return e.Code, o, true
	}
	if e.Suffix != "" {
		id := IDFrom(e.Suffix)
		if o, ok := ov[id]; ok {
			return id, o, true
		}
	}
	return "", Override{}, false
}

func (e *Entry) apply(key string, o Override) {
	var what []string
	if o.Skip {
		e.setReason(newReason("init.reason.skipped", "Key", key))
		e.Notes = append(e.Notes, "overrides: skipped")
		return
	}
	if o.Suffix != "" {
		e.Suffix = o.Suffix
		e.setReason(Reason{})
		what = append(what, "suffix")
	}
	if o.ID != "" {
		e.ID = o.ID
		what = append(what, "id")
	}
	if o.Name != "" {
		e.Name = o.Name
		what = append(what, "name")
	}
	if len(o.DNS) > 0 {
		e.DNS, e.DNSFixed = slices.Clone(o.DNS), true
		what = append(what, "dns")
	}
	if len(what) > 0 {
		e.Notes = append(e.Notes, "overrides ("+key+"): "+strings.Join(what, ", "))
	}
}

// AssignIDs gives every written entry a unique id: the one the overrides
// or an existing file gave (e.ID already set), else the first label of
// its suffix. Ids in taken belong to other schools. When several schools
// would get the same id, the one with the smallest 代碼 keeps it and the
// others get "<id>-<代碼>": deterministic, and stable across years
// because codes are.
func AssignIDs(es []Entry, taken map[string]bool) {
	want := map[string][]int{}
	for i := range es {
		e := &es[i]
		if !e.Written() {
			continue
		}
		if e.ID != "" {
			taken[e.ID] = true
			continue
		}
		id := IDFrom(e.Suffix)
		if !idRe.MatchString(id) {
			e.setReason(newReason("init.reason.no_id", "Suffix", e.Suffix, "Code", e.Code))
			continue
		}
		want[id] = append(want[id], i)
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		idx := want[id]
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(es[a].Code, es[b].Code) })
		for n, i := range idx {
			e := &es[i]
			if n == 0 && !taken[id] {
				e.ID = id
				taken[id] = true
				continue
			}
			alt := id + "-" + codeID(e.Code)
			for k := 2; taken[alt]; k++ {
				alt = fmt.Sprintf("%s-%s-%d", id, codeID(e.Code), k)
			}
			e.ID = alt
			taken[alt] = true
			e.Notes = append(e.Notes, fmt.Sprintf("id %s: %q is already another school's id, so 代碼 %s was added", alt, id, e.Code))
		}
	}
}

// codeID makes a code usable inside an id.
func codeID(code string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}
