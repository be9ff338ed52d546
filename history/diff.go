package history

import (
	"sort"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// Diff says how cur differs from prev: schools whose status got worse
// (regressions) or better (fixes), and schools that appeared or went away.
// Schools are matched by id; the lists follow cur's order (prev's for
// removed schools) so the output reads like the table.
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
		switch {
		case to.Worse(from):
			ch.Regressions = append(ch.Regressions, probe.Change{School: s.ID, From: o.Status, To: s.Status, Checks: movedChecks(o, s, true)})
		case from.Worse(to):
			ch.Fixes = append(ch.Fixes, probe.Change{School: s.ID, From: o.Status, To: s.Status, Checks: movedChecks(o, s, false)})
		}
	}
	for _, s := range prev.Schools {
		if !seen[s.ID] && len(cur.Selected) == 0 {
			ch.Removed = append(ch.Removed, s.ID)
		}
	}
	return ch
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
// when there is none.
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
