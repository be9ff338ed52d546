package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kh-edu/kmsprobe/internal/safefile"
	"github.com/kh-edu/kmsprobe/probe"
)

// DefaultDir is where --save puts reports when neither the flag nor
// report.dir names a folder.
const DefaultDir = "reports"

// LockWait bounds how long Save waits for another run holding the lock. A
// weekly cron job and an admin's manual run may overlap; an audit of the
// whole city takes well under this, and a stuck run must not block cron
// forever.
const LockWait = 2 * time.Minute

// File names are "report-<UTC time>.json", optionally with ".N" before
// ".json" when two reports share a millisecond. The time is fixed-width so
// the names also sort by time in `ls`.
const (
	prefix     = "report-"
	suffix     = ".json"
	nameLayout = "20060102T150405.000Z"
	lockName   = ".lock"
)

// Entry is one saved report file.
type Entry struct {
	Path string
	At   time.Time // the report's generation time, from its name
	seq  int
}

// Name returns the file name a report generated at t gets (seq 0).
func Name(t time.Time) string { return name(t, 0) }

func name(t time.Time, seq int) string {
	n := prefix + t.UTC().Format(nameLayout)
	if seq > 0 {
		n += "." + strconv.Itoa(seq)
	}
	return n + suffix
}

// parseName is the inverse of name; ok is false for any other file (temp
// files, the lock, an admin's notes).
func parseName(base string) (time.Time, int, bool) {
	if !strings.HasPrefix(base, prefix) || !strings.HasSuffix(base, suffix) {
		return time.Time{}, 0, false
	}
	mid := strings.TrimSuffix(strings.TrimPrefix(base, prefix), suffix)
	seq := 0
	if len(mid) > len(nameLayout) {
		rest := mid[len(nameLayout):]
		if !strings.HasPrefix(rest, ".") {
			return time.Time{}, 0, false
		}
		n, err := strconv.Atoi(rest[1:])
		if err != nil || n < 1 {
			return time.Time{}, 0, false
		}
		seq, mid = n, mid[:len(nameLayout)]
	}
	t, err := time.Parse(nameLayout, mid)
	if err != nil {
		return time.Time{}, 0, false
	}
	return t, seq, true
}

// ClockSlack is how far a report's time (from its file name) may lie
// after now, or after its file's modification time, before it is not
// trusted. Clocks of probe hosts drift by seconds, not minutes; a report
// dated further ahead was written by a host whose clock was wrong, or
// copied in from one.
const ClockSlack = 5 * time.Minute

// Folder is one history folder. Now is the clock (nil: the system's);
// every decision about which report is the newest goes through it, so
// tests fix it.
type Folder struct {
	Dir  string
	Keep int // reports kept by Save; below 1 means 1
	Now  func() time.Time
}

func (f Folder) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// List returns the files of dir named like reports, ordered by the time
// in their names (oldest first), without reading them. A missing folder
// is an empty history, not an error: the first run creates it.
func List(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", dir, err)
	}
	var out []Entry
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		t, seq, ok := parseName(de.Name())
		if !ok {
			continue
		}
		out = append(out, Entry{Path: filepath.Join(dir, de.Name()), At: t, seq: seq})
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].At.Equal(es[j].At) {
			return es[i].At.Before(es[j].At)
		}
		return es[i].seq < es[j].seq
	})
}

// Saved report as Scan sees it.
type Report struct {
	Entry
	GeneratedAt time.Time
	Summary     probe.Summary
	Incomplete  bool
	// Simulation marks a report of the demo's simulated city: never
	// compared with a real audit, nor a real audit with it.
	Simulation bool
	// Untrusted is set when the time in the name is after now or after
	// the file's modification time (beyond ClockSlack): such a report is
	// never a baseline and is the first to go when over report.keep.
	Untrusted bool
}

// Scan is what a folder holds.
type Scan struct {
	// Reports are the real kmsprobe reports of this schema, ordered by
	// the time in their names, oldest first. Only these count toward
	// report.keep.
	Reports []Report
	// Warnings name the files skipped (damaged, foreign, another
	// schema) or not trusted (dated in the future), for the log.
	Warnings []string
}

// Baseline returns the newest trusted, complete report of the same kind
// (a real audit, or the demo's simulation when sim is set), the one
// "since the last report" and diff compare with.
func (s *Scan) Baseline(sim bool) (Report, bool) {
	for i := len(s.Reports) - 1; i >= 0; i-- {
		if r := s.Reports[i]; !r.Untrusted && !r.Incomplete && r.Simulation == sim {
			return r, true
		}
	}
	return Report{}, false
}

// Scan reads the head of every report-named file. Files that are not
// whole reports of this schema are skipped with a warning and left in
// place: retention removes only what it knows to be its own.
func (f Folder) Scan() (*Scan, error) {
	es, err := List(f.Dir)
	if err != nil {
		return nil, err
	}
	now := f.now()
	sc := &Scan{}
	for _, e := range es {
		var head struct {
			Schema      string        `json:"schema"`
			GeneratedAt time.Time     `json:"generated_at"`
			Summary     probe.Summary `json:"summary"`
			Incomplete  bool          `json:"incomplete"`
			Probe       struct {
				Simulation bool `json:"simulation"`
			} `json:"probe"`
		}
		b, err := safefile.ReadFile(e.Path, safefile.ReportLimit)
		if err == nil {
			// Unmarshal checks the whole document, so a file cut short
			// by a crash or a full disk is caught here.
			err = json.Unmarshal(b, &head)
		}
		if err == nil && head.Schema != probe.Schema {
			err = fmt.Errorf("its schema is %q, not %q", head.Schema, probe.Schema)
		}
		if err != nil {
			sc.Warnings = append(sc.Warnings, fmt.Sprintf("skipping %s: not a complete kmsprobe report (%v); it does not count toward report.keep and is left as it is: move it out of %s", e.Path, err, f.Dir))
			continue
		}
		r := Report{Entry: e, GeneratedAt: head.GeneratedAt, Summary: head.Summary, Incomplete: head.Incomplete, Simulation: head.Probe.Simulation}
		var mtime time.Time
		if fi, err := os.Stat(e.Path); err == nil {
			mtime = fi.ModTime()
		}
		switch {
		case e.At.After(now.Add(ClockSlack)):
			r.Untrusted = true
			sc.Warnings = append(sc.Warnings, fmt.Sprintf("%s is dated %s, after the current time %s: it was written by a host whose clock was wrong, or copied in; it is never used as the last report, and goes first when the folder holds more than report.keep reports",
				e.Path, e.At.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		case !mtime.IsZero() && e.At.After(mtime.Add(ClockSlack)):
			r.Untrusted = true
			sc.Warnings = append(sc.Warnings, fmt.Sprintf("%s is dated %s, after the file was written (%s): it was written by a host whose clock was ahead; it is never used as the last report, and goes first when the folder holds more than report.keep reports",
				e.Path, e.At.Format(time.RFC3339), mtime.UTC().Format(time.RFC3339)))
		}
		sc.Reports = append(sc.Reports, r)
	}
	return sc, nil
}

// ReadReport reads a saved report the careful way: a regular file under
// the report size limit (never a FIFO or /dev/zero).
func ReadReport(path string) (*probe.Report, error) {
	b, err := safefile.ReadFile(path, safefile.ReportLimit)
	if err != nil {
		return nil, err
	}
	r, err := probe.ReadJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Point is one saved report reduced to what a trend chart needs.
type Point struct {
	At         time.Time
	Summary    probe.Summary
	Incomplete bool
}

// Trend reads the summaries of every saved report, oldest first. Files that
// cannot be read are skipped and named in the returned error, so one
// damaged file does not hide the whole trend.
func Trend(dir string) ([]Point, error) { return Folder{Dir: dir}.Trend() }

// Trend is the package-level Trend on f's clock. Untrusted reports are
// left out: a report dated next year would stretch the chart's time axis.
func (f Folder) Trend() ([]Point, error) {
	pts, warns, err := f.TrendOf(false)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, w := range warns {
		errs = append(errs, errors.New(w))
	}
	return pts, errors.Join(errs...)
}

// TrendOf is the trend of the reports of one kind (real audits, or the
// demo's simulations when sim is set), with the folder's warnings apart
// from a real error, so a caller that already printed them (Save) does
// not print them twice.
func (f Folder) TrendOf(sim bool) ([]Point, []string, error) {
	sc, err := f.Scan()
	if err != nil {
		return nil, nil, err
	}
	var pts []Point
	for _, r := range sc.Reports {
		if r.Untrusted || r.Simulation != sim {
			continue
		}
		pts = append(pts, Point{At: r.GeneratedAt, Summary: r.Summary, Incomplete: r.Incomplete})
	}
	return pts, sc.Warnings, nil
}

// Newest returns the n newest trusted, complete reports, newest first;
// what it skipped is named in the error.
func Newest(dir string, n int) ([]*probe.Report, []string, error) {
	return Folder{Dir: dir}.Newest(n)
}

// Newest is the package-level Newest on f's clock.
func (f Folder) Newest(n int) ([]*probe.Report, []string, error) {
	sc, err := f.Scan()
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, w := range sc.Warnings {
		errs = append(errs, errors.New(w))
	}
	var reps []*probe.Report
	var paths []string
	first := true
	var sim bool
	for i := len(sc.Reports) - 1; i >= 0 && len(reps) < n; i-- {
		e := sc.Reports[i]
		if e.Untrusted {
			continue
		}
		// The newest decides the kind: a demo run is never compared with
		// a real audit.
		if !first && e.Simulation != sim {
			errs = append(errs, fmt.Errorf("skipping %s: %s", e.Path, map[bool]string{true: "a report of the demo's simulated city, not a real audit", false: "a real audit, not the demo's simulation"}[e.Simulation]))
			continue
		}
		if e.Incomplete {
			errs = append(errs, fmt.Errorf("skipping %s: an interrupted audit, full of unknowns", e.Path))
			continue
		}
		r, err := ReadReport(e.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first {
			first, sim = false, e.Simulation
		}
		reps = append(reps, r)
		paths = append(paths, e.Path)
	}
	return reps, paths, errors.Join(errs...)
}

// Saved says what Save did.
type Saved struct {
	Path     string // the new report
	Previous string // the report Changes was computed against, if any
	Removed  []string
	// Warnings are problems that did not stop the save (an unreadable old
	// report, a failed removal), for the log.
	Warnings []string
}

// Save saves r in dir keeping keep reports, on the system clock.
func Save(ctx context.Context, dir string, keep int, r *probe.Report) (*Saved, error) {
	return Folder{Dir: dir, Keep: keep}.Save(ctx, r)
}

// Save computes r.Changes against the newest trusted, complete report
// already in the folder, then writes r as a new file and removes the
// oldest reports beyond Keep. The folder is created if missing (mode
// safefile.DirMode). Other savers wait on the lock until ctx is done or
// LockWait passes.
func (f Folder) Save(ctx context.Context, r *probe.Report) (*Saved, error) {
	if err := os.MkdirAll(f.Dir, safefile.DirMode); err != nil {
		return nil, fmt.Errorf("cannot create the report folder %s: %w; create it or pass another with --save=DIR", f.Dir, err)
	}
	unlock, err := Lock(ctx, f.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	res := &Saved{Warnings: removeDeadTemps(f.Dir)}
	sc, err := f.Scan()
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, sc.Warnings...)
	res.compare(sc, r)
	saved, err := f.write(sc, r)
	if err != nil {
		return nil, err
	}
	res.Path = saved.Path
	res.retire(retired(append(sc.Reports, saved), max(f.Keep, 1), saved.Path))
	if len(res.Removed) > 0 {
		_ = syncDir(f.Dir)
	}
	return res, nil
}

// removeDeadTemps removes the temp files in dir. Holding the lock, any
// temp file is a dead writer's (killed mid-write): removing it keeps
// crashes from slowly filling the disk.
func removeDeadTemps(dir string) (warnings []string) {
	stale, _ := filepath.Glob(filepath.Join(dir, safefile.TempPrefix(prefix+"*")+"*"))
	old, _ := filepath.Glob(filepath.Join(dir, ".tmp-"+prefix+"*")) // older versions' temp names
	for _, p := range append(stale, old...) {
		if err := os.Remove(p); err != nil {
			warnings = append(warnings, fmt.Sprintf("cannot remove a half-written report %s left by a crashed run: %v", p, err))
		}
	}
	return warnings
}

// compare sets r.Changes against the scan's baseline, skipping (with a
// warning) any it cannot read. The baseline is never an interrupted
// audit, full of unknowns, nor a future-dated report, which is not the
// last one: comparing with either would report changes that did not
// happen.
func (res *Saved) compare(sc *Scan, r *probe.Report) {
	for base, ok := sc.Baseline(r.Probe.Simulation); ok; base, ok = sc.Baseline(r.Probe.Simulation) {
		prev, err := ReadReport(base.Path)
		if err == nil {
			r.Changes = Diff(prev, r)
			res.Previous = base.Path
			return
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("skipping unreadable saved report: %v", err))
		sc.Reports = slices.DeleteFunc(sc.Reports, func(x Report) bool { return x.Path == base.Path })
	}
}

// write saves r under the first name its time gives that no file in the
// folder has yet, and returns it as the scan would list it.
func (f Folder) write(sc *Scan, r *probe.Report) (Report, error) {
	taken := map[string]bool{}
	for _, e := range sc.Reports {
		taken[filepath.Base(e.Path)] = true
	}
	if es, err := List(f.Dir); err == nil {
		for _, e := range es {
			taken[filepath.Base(e.Path)] = true
		}
	}
	at := r.GeneratedAt
	if at.IsZero() {
		at = f.now()
	}
	seq := 0
	for taken[name(at, seq)] {
		seq++
	}
	path := filepath.Join(f.Dir, name(at, seq))
	err := safefile.WriteFile(path, safefile.ReportMode, r.WriteJSON, safefile.Elsewhere("choose another --save dir (or report.dir in schools.yaml)"))
	return Report{Entry: Entry{Path: path, At: at.UTC(), seq: seq}}, err
}

// retired are the reports retention removes from all to keep keep:
// reports with a wrong-clock date first, then the oldest. It counts real
// reports only and never picks saved, the one just written (even when
// it is the oldest, a resaved old report).
func retired(all []Report, keep int, saved string) []Report {
	all = slices.Clone(all)
	slices.SortStableFunc(all, func(a, b Report) int {
		switch {
		case a.Untrusted != b.Untrusted:
			if a.Untrusted {
				return -1
			}
			return 1
		case !a.At.Equal(b.At):
			return a.At.Compare(b.At)
		}
		return a.seq - b.seq
	})
	all = slices.DeleteFunc(all, func(v Report) bool { return v.Path == saved })
	return all[:max(0, min(len(all), len(all)+1-keep))]
}

// retire removes old, noting each removal or the failure to remove it.
func (res *Saved) retire(old []Report) {
	for _, v := range old {
		if err := os.Remove(v.Path); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("cannot remove old report %s: %v", v.Path, err))
			continue
		}
		res.Removed = append(res.Removed, v.Path)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Lock takes the folder's lock (flock on DIR/.lock), waiting while another
// process holds it, until ctx is done or LockWait passes. The kernel drops
// the lock when its holder dies, even by kill -9, so a crashed run never
// leaves the folder locked.
func Lock(ctx context.Context, dir string) (unlock func(), err error) {
	p := filepath.Join(dir, lockName)
	// Read-only is enough for flock, so a member of the folder's group
	// can take the lock on a file another user made.
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE, safefile.LockMode)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w (is the folder writable by this user?)", p, err)
	}
	ctx, cancel := context.WithTimeout(ctx, LockWait)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("cannot lock %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				return nil, fmt.Errorf("stopped while waiting for the lock %s held by another kmsprobe: %w", p, context.Cause(ctx))
			}
			return nil, fmt.Errorf("another kmsprobe has been saving into %s for %s (it holds %s); try again when it has finished: %w",
				dir, time.Since(start).Round(time.Second), p, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
