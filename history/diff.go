package history

import (
	"fmt"
	"sort"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// Diff says how cur differs from prev: schools whose status got worse
// (regressions) or better (fixes), schools whose status stayed but whose
// findings moved (changed), and schools that appeared or went away.
// Schools are matched by id and findings by check and server; the lists
// follow cur's order (prev's for removed schools) so the output reads like
// the table.
func Diff(prev, cur *probe.Report) *probe.Changes {
	ch := &probe.Changes{
		Previous:    prev.GeneratedAt,
		Regressions: []probe.Change{},
		Fixes:       []probe.Change{},
		New:         []string{},
		Removed:     []string{},
	}
	old := map[string]*probe.School{}
	for i := range prev.Schools {
		old[prev.Schools[i].ID] = &prev.Schools[i]
	}
	seen := map[string]bool{}
	for i := range cur.Schools {
		s := &cur.Schools[i]
		seen[s.ID] = true
		o, ok := old[s.ID]
		if !ok {
			// A school missing from a partial (--school) report is not
			// new, it was just not audited then.
			if len(prev.Selected) == 0 {
				ch.New = append(ch.New, s.ID)
			}
			continue
		}
		from, to := rank(o.Status), rank(s.Status)
		moved := FindingChanges(o.Findings, s.Findings)
		switch {
		case to.Worse(from):
			ch.Regressions = append(ch.Regressions, probe.Change{School: s.ID, From: o.Status, To: s.Status, Checks: movedChecks(o, s, true), Findings: moved})
		case from.Worse(to):
			ch.Fixes = append(ch.Fixes, probe.Change{School: s.ID, From: o.Status, To: s.Status, Checks: movedChecks(o, s, false), Findings: moved})
		case len(moved) > 0:
			ch.Changed = append(ch.Changed, probe.Change{School: s.ID, From: o.Status, To: s.Status, Findings: moved})
		}
	}
	for _, s := range prev.Schools {
		if !seen[s.ID] && len(cur.Selected) == 0 {
			ch.Removed = append(ch.Removed, s.ID)
		}
	}
	return ch
}

// FindingChanges lists, per check and server, the findings whose status,
// short reason or message id differ between before and after, and those
// that appeared or went away. Evidence and wording (round-trip times in a
// message) are not compared: they move every week without anything
// having changed for a PC. Skip folds into pass as for schools.
func FindingChanges(before, after []finding.Finding) []probe.FindingChange {
	type state struct {
		f   finding.Finding
		key string
	}
	index := func(fs []finding.Finding) (map[string]finding.Finding, []string) {
		m := map[string]finding.Finding{}
		var order []string
		n := map[string]int{}
		for _, f := range fs {
			base := f.Check + "@" + f.Server
			k := fmt.Sprintf("%s#%d", base, n[base])
			n[base]++
			m[k] = f
			order = append(order, k)
		}
		return m, order
	}
	bm, border := index(before)
	am, aorder := index(after)
	var out []probe.FindingChange
	for _, k := range aorder {
		a := am[k]
		b, ok := bm[k]
		switch {
		case !ok:
			if rank(a.Status) == finding.Pass {
				continue // a new passing check is nothing to act on
			}
			out = append(out, probe.FindingChange{Check: a.Check, Server: a.Server, To: a.Status.String(), ToShort: a.Short, Message: a.Message})
		case rank(a.Status) != rank(b.Status) || a.Short != b.Short || a.ID != b.ID:
			out = append(out, probe.FindingChange{Check: a.Check, Server: a.Server, From: b.Status.String(), To: a.Status.String(),
				FromShort: b.Short, ToShort: a.Short, Message: a.Message})
		}
	}
	for _, k := range border {
		if _, ok := am[k]; ok {
			continue
		}
		b := bm[k]
		if rank(b.Status) == finding.Pass {
			continue
		}
		out = append(out, probe.FindingChange{Check: b.Check, Server: b.Server, From: b.Status.String(), FromShort: b.Short, Message: b.Message})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Check != out[j].Check {
			return out[i].Check < out[j].Check
		}
		return out[i].Server < out[j].Server
	})
	return out
}

// rank folds skip into pass: a school whose only non-pass findings are
// skips has nothing to fix, so pass<->skip is no change.
func rank(s finding.Status) finding.Status {
	if s == finding.Skip {
		return finding.Pass
	}
	return s
}

// movedChecks lists the check ids whose worst status moved in the same
// direction as the school's (worse when worse is set), sorted, so the admin
// sees which leg broke or was repaired.
func movedChecks(o, s *probe.School, worse bool) []string {
	before, after := worstByCheck(o.Findings), worstByCheck(s.Findings)
	ids := map[string]bool{}
	for id := range before {
		ids[id] = true
	}
	for id := range after {
		ids[id] = true
	}
	var out []string
	for id := range ids {
		b, a := rank(before[id]), rank(after[id])
		if (worse && a.Worse(b)) || (!worse && b.Worse(a)) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func worstByCheck(fs []finding.Finding) map[string]finding.Status {
	m := map[string]finding.Status{}
	for _, f := range fs {
		if w, ok := m[f.Check]; !ok || f.Status.Worse(w) {
			m[f.Check] = f.Status
		}
	}
	return m
}

// WorstRegression is the worst status any regression moved to, and false
// when there is none. Changed schools never count: their status did not
// move, so `kmsprobe diff` exits as before.
func WorstRegression(ch *probe.Changes) (finding.Status, bool) {
	if ch == nil || len(ch.Regressions) == 0 {
		return finding.Pass, false
	}
	w := finding.Pass
	for _, c := range ch.Regressions {
		if c.To.Worse(w) {
			w = c.To
		}
	}
	return w, true
}
