package history

import (
	"bufio"
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
	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/internal/testenv"
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

const childEnv = "KMSPROBE_HISTORY_KILL_AT_RENAME"

// TestMain turns the test binary into the saver TestKillDuringSave kills:
// it saves one complete report, then a large one and, at the moment the
// large one is written and synced but not yet renamed into place, says so
// on stdout and waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		f := Folder{Dir: dir, Keep: 5, Now: func() time.Time { return t0.Add(time.Hour) }}
		if _, err := f.Save(context.Background(), rep(t0, sch{"first", nil})); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		safefile.BeforeRename = func(tmp, path string) {
			fmt.Printf("renaming %s %s\n", tmp, path)
			select {} // killed here
		}
		big := bigReport()
		big.GeneratedAt = t0.Add(time.Minute)
		if _, err := f.Save(context.Background(), big); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("saved without a rename")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// bigReport is the size of a whole city's report (megabytes), so a writer
// that wrote in place would leave a visibly torn file.
func bigReport() *probe.Report {
	var ss []sch
	for i := 0; i < 3000; i++ {
		ss = append(ss, sch{fmt.Sprintf("school-%04d", i), map[string]finding.Status{"dns.srv": finding.Pass, "dns.target": finding.Warn, "kms.tcp": finding.Pass}})
	}
	return rep(t0, ss...)
}

// TestKillDuringSave kill -9s a saver at the one moment an atomic save
// must survive: the new report is complete in its temporary file, not yet
// renamed. The report's final name must not exist yet (a writer that
// wrote in place would have it, torn), the earlier report must be intact,
// and the next save must neither wait on the dead process's lock nor
// leave its temporary file behind.
func TestKillDuringSave(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the saver never reached the rename: %s", stderr.String())
	}
	f := strings.Fields(l)
	if len(f) != 3 || f[0] != "renaming" {
		t.Fatalf("the saver said %q (stderr %q): a save must write a temporary file and rename it into place", l, stderr.String())
	}
	tmp, final := f[1], f[2]
	if _, err := os.Lstat(final); err == nil {
		t.Errorf("%s exists before the rename: the report was written in place, so a crash leaves it torn", final)
	}
	if st, err := os.Stat(tmp); err != nil || st.Size() < 1<<20 {
		t.Errorf("the temporary file %s should hold the whole report before the rename: %v %v", tmp, st, err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	killed = true

	es, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Path != filepath.Join(dir, Name(t0)) {
		t.Fatalf("after kill -9 the folder holds %v, want only the first report", es)
	}
	first, err := ReadReport(es[0].Path)
	if err != nil || len(first.Schools) != 1 || first.Schools[0].ID != "first" {
		t.Fatalf("the first report after kill -9: %v, %v", first, err)
	}
	if _, err := os.Lstat(final); err == nil {
		t.Errorf("%s exists after the kill", final)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := Folder{Dir: dir, Keep: 5, Now: func() time.Time { return t0.Add(2 * time.Hour) }}.Save(ctx, rep(t0.Add(time.Hour), sch{"a", nil}))
	if err != nil {
		t.Fatalf("save after kill -9: %v", err)
	}
	if res.Previous != es[0].Path {
		t.Errorf("save after kill -9 compared with %q, want the first report", res.Previous)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
		t.Errorf("half-written files left after the next save: %v", left)
	}
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

// at is a fixed clock for Folder.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func saveAll(t *testing.T, f Folder, reps ...*probe.Report) []*Saved {
	t.Helper()
	var out []*Saved
	for _, r := range reps {
		res, err := f.Save(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

func baseNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, filepath.Base(e.Path))
	}
	return names
}

// TestIncompleteIsNeverBaseline: an interrupted audit is full of
// unknowns; the next report compares with the last complete one.
func TestIncompleteIsNeverBaseline(t *testing.T) {
	f := Folder{Dir: t.TempDir(), Keep: 10, Now: at(t0.Add(24 * time.Hour))}
	pass := sch{"a", map[string]finding.Status{"dns.srv": finding.Pass}}
	unknown := sch{"a", map[string]finding.Status{"dns.srv": finding.Unknown}}
	cut := rep(t0.Add(time.Hour), unknown)
	cut.Incomplete = true
	res := saveAll(t, f, rep(t0, pass), cut, rep(t0.Add(2*time.Hour), pass))
	if want := filepath.Join(f.Dir, Name(t0)); res[2].Previous != want {
		t.Errorf("compared with %q, want the complete %q", res[2].Previous, want)
	}
	// Against the cut report, unknown -> pass would be a fix that is none.
	reps, _, err := f.Newest(1)
	if err != nil || len(reps) != 1 || reps[0].Changes == nil || len(reps[0].Changes.Fixes) != 0 || !reps[0].Changes.Previous.Equal(t0) {
		t.Errorf("saved changes %+v, %v: want none, since the complete 00:00 report", reps[0].Changes, err)
	}
}

// TestPruneNeverRemovesJustSaved: a resaved old report is older than all
// kept ones; it stays and the oldest other report goes.
func TestPruneNeverRemovesJustSaved(t *testing.T) {
	f := Folder{Dir: t.TempDir(), Keep: 3, Now: at(t0.Add(24 * time.Hour))}
	saveAll(t, f, rep(t0.Add(time.Hour), sch{"a", nil}), rep(t0.Add(2*time.Hour), sch{"a", nil}), rep(t0.Add(3*time.Hour), sch{"a", nil}))
	res := saveAll(t, f, rep(t0, sch{"old", nil}))[0]
	if _, err := os.Stat(res.Path); err != nil {
		t.Fatalf("the report just saved was removed: %v", err)
	}
	want := []string{Name(t0), Name(t0.Add(2 * time.Hour)), Name(t0.Add(3 * time.Hour))}
	if diff := cmp.Diff(want, baseNames(t, f.Dir)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

// writeRaw puts a file into the folder as an admin's copy would.
func writeRaw(t *testing.T, dir, name string, r *probe.Report, raw string, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name)
	var b strings.Builder
	if r != nil {
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString(raw)
	if err := os.WriteFile(p, []byte(b.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestFutureReportNeverBaseline: a report from a host whose clock ran a
// year ahead neither becomes "the last report" (every later report would
// show false regressions) nor stays forever: it goes first.
func TestFutureReportNeverBaseline(t *testing.T) {
	dir := t.TempDir()
	now := t0.Add(10 * 24 * time.Hour)
	f := Folder{Dir: dir, Keep: 3, Now: at(now)}
	good := sch{"a", map[string]finding.Status{"dns.srv": finding.Pass}}
	bad := sch{"a", map[string]finding.Status{"dns.srv": finding.Fail}}
	future := t0.Add(365 * 24 * time.Hour)
	fp := writeRaw(t, dir, Name(future), rep(future, good), "", time.Time{})
	// Ahead of its own file: named 5 days after it was written.
	ahead := t0.Add(5 * 24 * time.Hour)
	ap := writeRaw(t, dir, Name(ahead), rep(ahead, good), "", t0.Add(24*time.Hour))

	res := saveAll(t, f, rep(t0.Add(2*24*time.Hour), bad), rep(t0.Add(3*24*time.Hour), bad))
	if res[0].Previous != "" {
		t.Errorf("first real save compared with %q, want nothing (both others untrusted)", res[0].Previous)
	}
	if want := filepath.Join(dir, Name(t0.Add(2*24*time.Hour))); res[1].Previous != want {
		t.Errorf("compared with %q, want %q", res[1].Previous, want)
	}
	warns := strings.Join(res[1].Warnings, "\n")
	for _, w := range []string{fp + " is dated", "after the current time", ap + " is dated", "after the file was written"} {
		if !strings.Contains(warns, w) {
			t.Errorf("warnings lack %q:\n%s", w, warns)
		}
	}
	// Four real reports and keep 3: the untrusted ones go first, the
	// furthest-ahead name is not "the newest" that stays.
	if _, err := os.Stat(ap); err == nil {
		t.Errorf("%s should have been removed first (over report.keep)", ap)
	}
	saveAll(t, f, rep(t0.Add(4*24*time.Hour), bad))
	if _, err := os.Stat(fp); err == nil {
		t.Errorf("%s is never pruned", fp)
	}
	want := []string{Name(t0.Add(2 * 24 * time.Hour)), Name(t0.Add(3 * 24 * time.Hour)), Name(t0.Add(4 * 24 * time.Hour))}
	if diff := cmp.Diff(want, baseNames(t, dir)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	// diff's "two newest" and the trend skip it too.
	writeRaw(t, dir, Name(future), rep(future, good), "", time.Time{})
	reps, _, err := f.Newest(2)
	if len(reps) != 2 || !reps[0].GeneratedAt.Equal(t0.Add(4*24*time.Hour)) {
		t.Errorf("Newest = %d reports, first %v: %v", len(reps), reps[0].GeneratedAt, err)
	}
	pts, _ := f.Trend()
	if len(pts) != 3 || !pts[2].At.Equal(t0.Add(4*24*time.Hour)) {
		t.Errorf("Trend = %+v, want the 3 trusted reports", pts)
	}
}

// TestForeignFilesDoNotCount: damaged, foreign and other-schema files
// named like reports are skipped with a warning, left in place, and do
// not push real reports out of report.keep.
func TestForeignFilesDoNotCount(t *testing.T) {
	dir := t.TempDir()
	f := Folder{Dir: dir, Keep: 3, Now: at(t0.Add(30 * 24 * time.Hour))}
	late := t0.Add(20 * 24 * time.Hour)
	var b strings.Builder
	if err := rep(late, sch{"a", nil}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	full := b.String()
	other := &probe.Report{Schema: "kmsprobe.report/v0", GeneratedAt: late}
	foreign := []string{
		writeRaw(t, dir, name(late, 1), nil, full[:len(full)/2], time.Time{}),
		writeRaw(t, dir, name(late, 2), other, "", time.Time{}),
		writeRaw(t, dir, name(late, 3), nil, "PK\x03\x04 not json", time.Time{}),
		writeRaw(t, dir, name(t0.Add(-time.Hour), 0), nil, "", time.Time{}),
	}
	notes := writeRaw(t, dir, "notes.txt", nil, "admin's notes", time.Time{})
	var res []*Saved
	for i := range 4 {
		res = append(res, saveAll(t, f, rep(t0.Add(time.Duration(i)*time.Hour), sch{"a", nil}))...)
	}
	for _, p := range append(foreign, notes) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	sc, err := f.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Reports) != 3 {
		t.Errorf("%d real reports kept, want report.keep=3", len(sc.Reports))
	}
	warns := strings.Join(res[3].Warnings, "\n")
	for _, p := range foreign {
		if !strings.Contains(warns, "skipping "+p) {
			t.Errorf("no warning about %s:\n%s", p, warns)
		}
	}
	if strings.Contains(warns, "notes.txt") {
		t.Errorf("a file not named like a report is warned about: %s", warns)
	}
}

// TestSaveFullDisk: on a full filesystem the save fails with the fix in
// the message and every earlier report is intact.
func TestSaveFullDisk(t *testing.T) {
	testenv.Root(t, "a full filesystem (a small tmpfs the test mounts)")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "kmsprobe-test", mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, fmt.Sprintf("cannot mount a tmpfs: %v: %s", err, out))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmounting %s: %v", mnt, err)
		}
	})
	f := Folder{Dir: mnt, Keep: 5, Now: at(t0.Add(24 * time.Hour))}
	first := saveAll(t, f, rep(t0, sch{"a", nil}))[0]
	before, err := os.ReadFile(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Save(context.Background(), bigReport())
	if err == nil {
		t.Fatal("saving megabytes into 64 KiB succeeded")
	}
	for _, w := range []string{"no space left on device", "free space on " + mnt + " or choose another --save dir"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	after, err := os.ReadFile(first.Path)
	if err != nil || string(after) != string(before) {
		t.Errorf("the earlier report changed: %v", err)
	}
	if es, _ := List(mnt); len(es) != 1 {
		t.Errorf("folder holds %d reports after the failed save, want 1", len(es))
	}
}

func TestModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports")
	res := saveAll(t, Folder{Dir: dir, Keep: 3, Now: at(t0)}, rep(t0, sch{"a", nil}))[0]
	for p, want := range map[string]os.FileMode{dir: 0o750, res.Path: 0o640, filepath.Join(dir, lockName): 0o640} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may narrow the mode, never widen it.
		if m := st.Mode().Perm(); m&^want != 0 {
			t.Errorf("%s mode %04o, want at most %04o", p, m, want)
		}
	}
}

// TestDemoIsNeverARealBaseline: `demo --save` into the folder a real
// audit uses; the real audit compares with the last real report, never
// with the simulation, and diff picks two reports of one kind.
func TestDemoIsNeverARealBaseline(t *testing.T) {
	f := Folder{Dir: t.TempDir(), Keep: 10, Now: at(t0.Add(24 * time.Hour))}
	pass := sch{"a", map[string]finding.Status{"dns.srv": finding.Pass}}
	demo := rep(t0.Add(time.Hour), sch{"good-jh", map[string]finding.Status{"dns.srv": finding.Fail}})
	demo.Probe.Simulation = true
	res := saveAll(t, f, rep(t0, pass), demo, rep(t0.Add(2*time.Hour), pass))
	if want := filepath.Join(f.Dir, Name(t0)); res[2].Previous != want {
		t.Errorf("the real audit compared with %q, want the real %q", res[2].Previous, want)
	}
	if res[1].Previous != "" {
		t.Errorf("the demo compared with %q, want no earlier simulation", res[1].Previous)
	}
	reps, _, _ := f.Newest(2)
	if len(reps) != 2 || reps[0].Probe.Simulation || reps[1].Probe.Simulation {
		t.Errorf("Newest(2) mixed a simulation into a real diff: %d reports", len(reps))
	}
}
