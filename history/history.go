package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

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

// List returns the saved reports of dir, oldest first. A missing folder is
// an empty history, not an error: the first run creates it.
func List(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: cannot list %s: %w", dir, err)
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
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].seq < out[j].seq
	})
	return out, nil
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
func Trend(dir string) ([]Point, error) {
	es, err := List(dir)
	if err != nil {
		return nil, err
	}
	var pts []Point
	var errs []error
	for _, e := range es {
		var head struct {
			Schema      string        `json:"schema"`
			GeneratedAt time.Time     `json:"generated_at"`
			Summary     probe.Summary `json:"summary"`
			Incomplete  bool          `json:"incomplete"`
		}
		b, err := os.ReadFile(e.Path)
		if err == nil {
			err = json.Unmarshal(b, &head)
		}
		if err == nil && head.Schema != probe.Schema {
			err = fmt.Errorf("schema %q is not %q", head.Schema, probe.Schema)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Path, err))
			continue
		}
		pts = append(pts, Point{At: head.GeneratedAt, Summary: head.Summary, Incomplete: head.Incomplete})
	}
	return pts, errors.Join(errs...)
}

// Newest returns the n newest reports that can be read, newest first,
// skipping unreadable ones (named in the error).
func Newest(dir string, n int) ([]*probe.Report, []string, error) {
	es, err := List(dir)
	if err != nil {
		return nil, nil, err
	}
	var reps []*probe.Report
	var paths []string
	var errs []error
	for i := len(es) - 1; i >= 0 && len(reps) < n; i-- {
		r, err := probe.ReadFile(es[i].Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reps = append(reps, r)
		paths = append(paths, es[i].Path)
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

// Save computes r.Changes against the newest readable report already in
// dir, then writes r as a new file in dir and removes the oldest files
// beyond keep. dir is created if missing. Other savers wait on the lock
// until ctx is done or LockWait passes.
func Save(ctx context.Context, dir string, keep int, r *probe.Report) (*Saved, error) {
	if keep < 1 {
		keep = 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("history: cannot create the report folder %s: %w; create it or pass another with --save=DIR", dir, err)
	}
	unlock, err := Lock(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	res := &Saved{}
	// Holding the lock, any temp file is a dead writer's (killed mid-write):
	// remove it so crashes do not slowly fill the disk.
	if stale, _ := filepath.Glob(filepath.Join(dir, ".tmp-"+prefix+"*")); len(stale) > 0 {
		for _, p := range stale {
			if err := os.Remove(p); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("cannot remove a half-written report %s left by a crashed run: %v", p, err))
			}
		}
	}
	es, err := List(dir)
	if err != nil {
		return nil, err
	}
	for i := len(es) - 1; i >= 0; i-- {
		prev, err := probe.ReadFile(es[i].Path)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("skipping unreadable saved report: %v", err))
			continue
		}
		if prev.Incomplete && i > 0 {
			// An interrupted audit is full of unknowns: comparing with it
			// would report unknown->fail "regressions" that are not.
			continue
		}
		r.Changes = Diff(prev, r)
		res.Previous = es[i].Path
		break
	}

	taken := map[string]bool{}
	for _, e := range es {
		taken[filepath.Base(e.Path)] = true
	}
	at := r.GeneratedAt
	if at.IsZero() {
		at = time.Now()
	}
	seq := 0
	for taken[name(at, seq)] {
		seq++
	}
	path := filepath.Join(dir, name(at, seq))
	if err := writeAtomic(path, r); err != nil {
		return nil, err
	}
	res.Path = path

	es, err = List(dir)
	if err != nil {
		res.Warnings = append(res.Warnings, err.Error())
		return res, nil
	}
	// The report just saved is never removed, even when it is older than
	// the rest (a resaved old report): the next oldest goes instead.
	excess := len(es) - keep
	for i := 0; i < len(es) && excess > 0; i++ {
		if es[i].Path == path {
			continue
		}
		excess--
		if err := os.Remove(es[i].Path); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("cannot remove old report %s: %v", es[i].Path, err))
			continue
		}
		res.Removed = append(res.Removed, es[i].Path)
	}
	if len(res.Removed) > 0 {
		_ = syncDir(dir)
	}
	return res, nil
}

// writeAtomic writes the report to a temp file in the same folder, syncs it,
// renames it into place and syncs the folder, so after a crash the name
// either does not exist or holds the whole report.
func writeAtomic(path string, r *probe.Report) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("history: cannot write into %s: %w (is the folder writable by this user?)", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := r.WriteJSON(tmp); err != nil {
		return fmt.Errorf("history: writing %s: %w (disk full?)", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("history: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("history: writing %s: %w (disk full or failing?)", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("history: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("history: cannot move the new report into place as %s: %w", path, err)
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("history: saved %s but could not sync its folder: %w", path, err)
	}
	return nil
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
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: cannot open the lock file %s: %w (is the folder writable by this user?)", p, err)
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
			return nil, fmt.Errorf("history: cannot lock %s: %w", p, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				return nil, fmt.Errorf("history: stopped while waiting for the lock %s held by another kmsprobe: %w", p, context.Cause(ctx))
			}
			return nil, fmt.Errorf("history: another kmsprobe has been saving into %s for %s (it holds %s); try again when it has finished: %w",
				dir, time.Since(start).Round(time.Second), p, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
