package history

import (
	"slices"
	"testing"
	"time"
)

// TestRetired: retention picks wrong-clock reports first, then the
// oldest (by time, then by sequence), never the one just saved, and
// nothing while the folder holds no more than keep.
func TestRetired(t *testing.T) {
	at := func(h, seq int, path string) Report {
		return Report{Entry: Entry{Path: path, At: t0.Add(time.Duration(h) * time.Hour), seq: seq}}
	}
	future := at(1000, 0, "future")
	future.Untrusted = true
	a, b, b1, c := at(1, 0, "a"), at(2, 0, "b"), at(2, 1, "b.1"), at(3, 0, "c")
	for _, tc := range []struct {
		name  string
		all   []Report
		keep  int
		saved string
		want  []string
	}{
		{"under keep", []Report{a, b, c}, 3, "c", nil},
		{"the oldest go", []Report{c, a, b}, 2, "c", []string{"a"}},
		{"time, then sequence", []Report{b1, c, b, a}, 1, "c", []string{"a", "b", "b.1"}},
		{"wrong clock first", []Report{a, future, b, c}, 3, "c", []string{"future"}},
		{"the saved one stays even when oldest", []Report{a, b, c}, 1, "a", []string{"b", "c"}},
		{"keep 1 with only the saved one", []Report{a}, 1, "a", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.all)
			var got []string
			for _, r := range retired(tc.all, tc.keep, tc.saved) {
				got = append(got, r.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("retired(keep %d, saved %s) = %q, want %q", tc.keep, tc.saved, got, tc.want)
			}
			if !slices.EqualFunc(before, tc.all, func(x, y Report) bool { return x.Path == y.Path }) {
				t.Error("retired reordered its argument")
			}
		})
	}
}
