package history

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

type sch struct {
	id string
	fs map[string]finding.Status // check -> status
}

func rep(at time.Time, schools ...sch) *probe.Report {
	r := &probe.Report{Schema: probe.Schema, GeneratedAt: at}
	for _, s := range schools {
		ps := probe.School{ID: s.id, Name: s.id, Suffix: s.id + ".kh.edu.tw"}
		for c, st := range s.fs {
			ps.Findings = append(ps.Findings, finding.Finding{Check: c, Status: st, Message: c})
		}
		r.Schools = append(r.Schools, ps)
	}
	r.Finish()
	return r
}

var t0 = time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC)

func TestDiff(t *testing.T) {
	P, W, F, S := finding.Pass, finding.Warn, finding.Fail, finding.Skip
	tests := []struct {
		name      string
		old, cur  []sch
		want      probe.Changes
		worst     finding.Status
		regressed bool
	}{
		{
			name: "no change",
			old:  []sch{{"a", map[string]finding.Status{"dns.srv": P}}},
			cur:  []sch{{"a", map[string]finding.Status{"dns.srv": P}}},
		},
		{
			name:  "pass to fail names the check",
			old:   []sch{{"a", map[string]finding.Status{"dns.srv": P, "kms.tcp": P}}},
			cur:   []sch{{"a", map[string]finding.Status{"dns.srv": F, "kms.tcp": S}}},
			want:  probe.Changes{Regressions: []probe.Change{{School: "a", From: P, To: F, Checks: []string{"dns.srv"}}}},
			worst: F, regressed: true,
		},
		{
			name: "pass to warn, and a fix",
			old:  []sch{{"a", map[string]finding.Status{"dns.srv": P}}, {"b", map[string]finding.Status{"kms.rpc": F}}},
			cur:  []sch{{"a", map[string]finding.Status{"dns.srv": W}}, {"b", map[string]finding.Status{"kms.rpc": P}}},
			want: probe.Changes{
				Regressions: []probe.Change{{School: "a", From: P, To: W, Checks: []string{"dns.srv"}}},
				Fixes:       []probe.Change{{School: "b", From: F, To: P, Checks: []string{"kms.rpc"}}},
			},
			worst: W, regressed: true,
		},
		{
			name: "skip is no change",
			old:  []sch{{"a", map[string]finding.Status{"dns.srv": P}}},
			cur:  []sch{{"a", map[string]finding.Status{"dns.srv": S}}},
		},
		{
			name: "new and removed schools",
			old:  []sch{{"a", map[string]finding.Status{"dns.srv": P}}, {"gone", map[string]finding.Status{"dns.srv": F}}},
			cur:  []sch{{"a", map[string]finding.Status{"dns.srv": P}}, {"fresh", map[string]finding.Status{"dns.srv": F}}},
			want: probe.Changes{New: []string{"fresh"}, Removed: []string{"gone"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(rep(t0, tc.old...), rep(t0.Add(7*24*time.Hour), tc.cur...))
			want := tc.want
			want.Previous = t0
			for _, p := range []*[]probe.Change{&want.Regressions, &want.Fixes} {
				if *p == nil {
					*p = []probe.Change{}
				}
			}
			for _, p := range []*[]string{&want.New, &want.Removed} {
				if *p == nil {
					*p = []string{}
				}
			}
			// Per-finding changes are TestDiffFindings' subject.
			if diff := cmp.Diff(&want, got, cmpopts.IgnoreFields(probe.Change{}, "Findings")); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			w, ok := WorstRegression(got)
			if ok != tc.regressed || (ok && w != tc.worst) {
				t.Errorf("WorstRegression = %v, %v; want %v, %v", w, ok, tc.worst, tc.regressed)
			}
		})
	}
}

func TestSaveChangesAndRetention(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports")
	ctx := context.Background()
	a := sch{"a", map[string]finding.Status{"dns.srv": finding.Pass}}
	aFail := sch{"a", map[string]finding.Status{"dns.srv": finding.Fail}}
	for i := 0; i < 5; i++ {
		s := a
		if i == 4 {
			s = aFail
		}
		r := rep(t0.Add(time.Duration(i)*time.Hour), s)
		res, err := Save(ctx, dir, 3, r)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && (r.Changes != nil || res.Previous != "") {
			t.Errorf("first save has changes %+v against %q", r.Changes, res.Previous)
		}
		if i > 0 && r.Changes == nil {
			t.Fatalf("save %d has no changes section", i)
		}
	}
	es, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, filepath.Base(e.Path))
	}
	want := []string{Name(t0.Add(2 * time.Hour)), Name(t0.Add(3 * time.Hour)), Name(t0.Add(4 * time.Hour))}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("kept reports (-want +got):\n%s", diff)
	}
	last, err := probe.ReadFile(es[2].Path)
	if err != nil {
		t.Fatal(err)
	}
	if last.Changes == nil || len(last.Changes.Regressions) != 1 || !last.Changes.Previous.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("saved changes = %+v, want one regression since the 03:00 report", last.Changes)
	}
	pts, err := Trend(dir)
	if err != nil || len(pts) != 3 || pts[2].Summary.Fail != 1 {
		t.Errorf("Trend = %+v, %v", pts, err)
	}
}

// TestSaveSameInstant gives two reports the same time: both are kept, in
// order.
func TestSaveSameInstant(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		if _, err := Save(context.Background(), dir, 10, rep(t0, sch{fmt.Sprint("s", i), nil})); err != nil {
			t.Fatal(err)
		}
	}
	reps, _, err := Newest(dir, 3)
	if err != nil || len(reps) != 3 {
		t.Fatalf("Newest = %d reports, %v", len(reps), err)
	}
	if got := reps[0].Schools[0].ID; got != "s2" {
		t.Errorf("newest is %s, want s2", got)
	}
}

// TestConcurrentSaves runs savers at once: the lock serialises them, so
// every report is complete and retention never deletes more than it must.
func TestConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := Save(context.Background(), dir, 5, rep(t0.Add(time.Duration(i)*time.Minute), sch{"a", nil}))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	es, _ := List(dir)
	if len(es) != 5 {
		t.Errorf("%d reports kept, want 5", len(es))
	}
	for _, e := range es {
		if _, err := probe.ReadFile(e.Path); err != nil {
			t.Error(err)
		}
	}
}

func TestLockTimesOut(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = Save(ctx, dir, 3, rep(t0, sch{"a", nil}))
	if err == nil || !strings.Contains(err.Error(), "another kmsprobe") {
		t.Fatalf("Save under a held lock = %v, want a clear wait error", err)
	}
}

const childEnv = "KMSPROBE_HISTORY_SAVE_LOOP"

// TestMain turns the test binary into a saver that loops until killed,
// for TestKillDuringSave.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		big := bigReport()
		for i := 0; ; i++ {
			big.GeneratedAt = t0.Add(time.Duration(i) * time.Second)
			if _, err := Save(context.Background(), dir, 5, big); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(m.Run())
}

// bigReport is large enough (about a city's size) that a kill often lands
// in the middle of a write.
func bigReport() *probe.Report {
	var ss []sch
	for i := 0; i < 300; i++ {
		ss = append(ss, sch{fmt.Sprintf("school-%03d", i), map[string]finding.Status{"dns.srv": finding.Pass, "dns.target": finding.Warn, "kms.tcp": finding.Pass}})
	}
	return rep(t0, ss...)
}

// TestKillDuringSave SIGKILLs a process that saves in a loop, several
// times: every report left in the folder must read back whole, and the
// next save must not wait on a lock held by the dead process.
func TestKillDuringSave(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+37*round) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	es, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 {
		t.Fatal("the child saved nothing before it was killed; the test proves nothing")
	}
	for _, e := range es {
		if _, err := probe.ReadFile(e.Path); err != nil {
			t.Errorf("after kill -9: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Save(ctx, dir, 5, rep(t0.Add(time.Hour), sch{"a", nil})); err != nil {
		t.Fatalf("save after kill -9: %v", err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(tmp) > 0 {
		t.Errorf("half-written files left after the next save: %v", tmp)
	}
	t.Logf("%d complete reports after 5 kills", len(es))
}

// TestDiffAfterPartialAudit: a --school run covers only some schools; the
// others are neither removed then nor new afterwards.
func TestDiffAfterPartialAudit(t *testing.T) {
	full := &probe.Report{Schools: []probe.School{{ID: "a", Status: finding.Pass}, {ID: "b", Status: finding.Pass}}}
	part := &probe.Report{Selected: []string{"a"}, Schools: []probe.School{{ID: "a", Status: finding.Fail}}}
	ch := Diff(full, part)
	if len(ch.Removed) != 0 || len(ch.Regressions) != 1 {
		t.Errorf("full -> partial: %+v", ch)
	}
	ch = Diff(part, full)
	if len(ch.New) != 0 || len(ch.Fixes) != 1 {
		t.Errorf("partial -> full: %+v", ch)
	}
	// A whole-city audit that lost a school still says so.
	ch = Diff(full, &probe.Report{Schools: []probe.School{{ID: "a", Status: finding.Pass}}})
	if len(ch.Removed) != 1 {
		t.Errorf("full -> smaller full: %+v", ch)
	}
}
