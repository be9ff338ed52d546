package safefile

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Modes for new files. Reports list every school's resolvers, KMS host
// and findings: the city's network map. They are readable by the owner
// and the owner's group (the kmsprobe group install.sh creates, which
// admins join to read reports), never by everyone. The umask can only
// narrow these. An existing file keeps the mode it has, so an admin's
// chmod is never undone.
const (
	ReportMode fs.FileMode = 0o640 // saved reports, -o outputs, .eml files
	DirMode    fs.FileMode = 0o750 // the report folder
	LockMode   fs.FileMode = 0o640 // the report folder's lock (empty; group members may lock it read-only)
)

// maxLinks is how many symbolic links WriteFile follows, as the kernel
// does (ELOOP after 40).
const maxLinks = 40

// fifoWait bounds how long WriteFile waits for a program to open a FIFO
// for reading: long enough for "reader <fifo & kmsprobe -o fifo", short
// enough that cron never hangs on a FIFO nobody reads.
var fifoWait = 10 * time.Second

// BeforeRename, when set, is called after the temporary file is complete
// and synced and before it is renamed over path. Tests only: it lets a
// test kill a writer at the one moment an atomic writer must survive.
var BeforeRename func(tmp, path string)

// TempPrefix is how the names of WriteFile's temporary files for a file
// named base begin, so a folder's owner (history) can find and remove the
// ones a killed writer left behind.
func TempPrefix(base string) string { return "." + base + ".tmp-" }

// Option adjusts WriteFile.
type Option func(*options)

type options struct{ elsewhere string }

// Elsewhere is the advice a full-disk error ends with, e.g. "choose
// another --save dir".
func Elsewhere(hint string) Option { return func(o *options) { o.elsewhere = hint } }

// NoSpaceError is WriteFile's error when the filesystem is full (or the
// user's quota is used up). The old file, if any, is untouched.
type NoSpaceError struct {
	Path  string // the file that could not be written
	Mount string // where the full filesystem is mounted
	Hint  string // the Elsewhere advice
	Err   error
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("cannot write %s: no space left on device (the filesystem mounted at %s is full); the previous file, if any, is unchanged: free space on %s or %s",
		e.Path, e.Mount, e.Mount, e.Hint)
}

func (e *NoSpaceError) Unwrap() error { return e.Err }

// WriteFile writes what write produces to path, the way an admin expects
// of "> path" from a careful program:
//
//   - an existing regular file is replaced atomically (a temporary file
//     in the same folder, fsync, rename, fsync of the folder): a reader or
//     a crash sees the old content or the new, never half. The new file
//     keeps the old one's mode, and its owner when running as root.
//   - a symbolic link is followed and its target written by these rules;
//     the link itself stays a link.
//   - a FIFO or a character device (/dev/null, a terminal) is opened and
//     written in place, never replaced: renaming over /dev/null as root
//     would break the whole machine. /dev/stdout, /dev/stderr and
//     /dev/fd/N write to this process's own descriptors.
//   - a missing file is created with perm (narrowed by the umask),
//     atomically as above.
//   - a folder, a block device (a disk) or a socket is refused.
func WriteFile(path string, perm fs.FileMode, write func(io.Writer) error, opts ...Option) error {
	o := options{elsewhere: "write it somewhere else"}
	for _, f := range opts {
		f(&o)
	}
	t, err := resolve(path)
	if err != nil {
		return err
	}
	if t.fd >= 0 {
		return writeFD(path, t.fd, write)
	}
	if t.proc {
		return writeProc(path, t.path, write)
	}
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return replace(t.path, nil, perm, write, o)
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	m := st.Mode()
	switch {
	case m.IsRegular():
		return replace(t.path, st, perm, write, o)
	case m&fs.ModeNamedPipe != 0:
		return writeFIFO(path, t.path, write)
	case m&fs.ModeCharDevice != 0:
		return writeInPlace(path, t.path, os.O_WRONLY, write)
	case m.IsDir():
		return fmt.Errorf("cannot write %s: it is a folder; give a file name inside it", path)
	case m&fs.ModeDevice != 0:
		return fmt.Errorf("cannot write %s: it is a block device (a disk); refusing to write a report over it", path)
	default:
		return fmt.Errorf("cannot write %s: it is %s, not a file kmsprobe can write to", path, Kind(m))
	}
}

// target is where a path leads: this process's descriptor fd (>= 0), a
// /proc link the kernel must follow itself, or a plain path.
type target struct {
	path string
	fd   int
	proc bool
}

// resolve follows symbolic links one at a time, so a link to a file that
// does not exist yet leads to that file (created like "> path" would),
// and a link into /proc or /dev/fd is recognised before it leads to a
// name like "pipe:[1234]" that is no path at all.
func resolve(path string) (target, error) {
	p := filepath.Clean(path)
	for range maxLinks {
		if fd, ok := ownFD(p); ok {
			return target{path: p, fd: fd}, nil
		}
		if p == "/proc" || strings.HasPrefix(p, "/proc/") {
			return target{path: p, fd: -1, proc: true}, nil
		}
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			// A missing name or an unreadable folder: the write says so.
			return target{path: p, fd: -1}, nil
		}
		l, err := os.Readlink(p)
		if err != nil {
			return target{}, fmt.Errorf("cannot write %s: reading the symbolic link %s: %w", path, p, err)
		}
		if !filepath.IsAbs(l) {
			// Relative to the link's real folder: ".." must climb out of
			// the folder the link is in, not out of a symlinked path to it.
			dir := filepath.Dir(p)
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				dir = real
			}
			l = filepath.Join(dir, l)
		}
		p = filepath.Clean(l)
	}
	return target{}, fmt.Errorf("cannot write %s: more than %d symbolic links (a loop?); point it at a file", path, maxLinks)
}

// ownFD recognises the names of this process's own descriptors.
func ownFD(p string) (int, bool) {
	switch p {
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	for _, dir := range []string{"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/"} {
		if rest, ok := strings.CutPrefix(p, dir); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
				return n, true
			}
		}
	}
	return 0, false
}

// writeFD writes to a copy of descriptor fd, so the shell's offset,
// append mode and pipe are used as they are and the descriptor stays open.
func writeFD(path string, fd int, write func(io.Writer) error) error {
	nfd, err := unix.Dup(fd)
	if err != nil {
		return fmt.Errorf("cannot write %s: descriptor %d is not open: %w", path, fd, err)
	}
	f := os.NewFile(uintptr(nfd), path)
	return finish(path, f, write, false)
}

// writeProc writes through a /proc link of another process (the kernel
// follows it): in place, truncating only a regular file.
func writeProc(path, p string, write func(io.Writer) error) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	flag := os.O_WRONLY
	if st.Mode().IsRegular() {
		flag |= os.O_TRUNC
	}
	return writeInPlace(path, p, flag, write)
}

func writeInPlace(path, p string, flag int, write func(io.Writer) error) error {
	f, err := os.OpenFile(p, flag, 0)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	st, err := f.Stat()
	return finish(path, f, write, err == nil && st.Mode().IsRegular())
}

// writeFIFO waits up to fifoWait for a reader instead of blocking in
// open(2) forever, as a shell would.
func writeFIFO(path, p string, write func(io.Writer) error) error {
	deadline := time.Now().Add(fifoWait)
	for {
		f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			// Go polls the descriptor, so writes to a full pipe wait for
			// the reader rather than failing with EAGAIN.
			return finish(path, f, write, false)
		}
		if !errors.Is(err, syscall.ENXIO) {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cannot write %s: it is a FIFO and no program opened it for reading within %s; start the reader first", path, fifoWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func finish(path string, f *os.File, write func(io.Writer) error, sync bool) error {
	bw := bufio.NewWriterSize(f, 64<<10)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// replace writes a regular file atomically. old is the file being
// replaced, nil for a new one.
func replace(p string, old fs.FileInfo, perm fs.FileMode, write func(io.Writer) error, o options) (err error) {
	dir, base := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	createPerm := perm
	if old != nil {
		// Owner-only until the old mode is copied: the content is not
		// exposed to more people than the old file allowed.
		createPerm = 0o600
	}
	tmp, err := createTemp(dir, base, createPerm)
	if err != nil {
		if isNoSpace(err) {
			return &NoSpaceError{Path: p, Mount: mountPoint(dir), Hint: o.elsewhere, Err: err}
		}
		return fmt.Errorf("cannot write %s: %w (does the folder exist, and may this user write in it?)", p, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			if isNoSpace(err) {
				err = &NoSpaceError{Path: p, Mount: mountPoint(dir), Hint: o.elsewhere, Err: err}
			}
		}
	}()
	if old != nil {
		if err := keepMode(tmp, old); err != nil {
			return fmt.Errorf("cannot write %s: keeping its mode and owner: %w", p, err)
		}
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	// Data reaches the disk before the name points at it: after a crash
	// the name holds the old file or the whole new one.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	if BeforeRename != nil {
		BeforeRename(tmp.Name(), p)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("cannot move the new %s into place: %w", p, err)
	}
	// The rename itself is durable only once the folder is synced.
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			return fmt.Errorf("wrote %s but could not sync its folder %s: %w", p, dir, serr)
		}
	}
	return nil
}

// createTemp is os.CreateTemp with a mode: O_EXCL on a random name, so
// the umask narrows a new file's mode as for any program.
func createTemp(dir, base string, perm fs.FileMode) (*os.File, error) {
	var err error
	for range 100 {
		var b [6]byte
		if _, rerr := rand.Read(b[:]); rerr != nil {
			return nil, rerr
		}
		name := filepath.Join(dir, TempPrefix(base)+fmt.Sprintf("%x", b))
		var f *os.File
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, err
}

// keepMode gives the temporary file the replaced file's permission bits
// and, as root, its owner and group (root rewriting a service user's file
// must not take it away from that user). Another user cannot give a file
// away; the group is kept when the user belongs to it.
func keepMode(tmp *os.File, old fs.FileInfo) error {
	if err := tmp.Chmod(old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		return err
	}
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if os.Geteuid() == 0 {
		return tmp.Chown(int(st.Uid), int(st.Gid))
	}
	_ = tmp.Chown(-1, int(st.Gid))
	return nil
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// mountPoint is the folder where the filesystem holding dir is mounted:
// the highest ancestor on the same device.
func mountPoint(dir string) string {
	p, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	dev := func(p string) (uint64, bool) {
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil {
			return 0, false
		}
		return st.Dev, true
	}
	d, ok := dev(p)
	if !ok {
		return p
	}
	for p != "/" {
		parent := filepath.Dir(p)
		pd, ok := dev(parent)
		if !ok || pd != d {
			break
		}
		p = parent
	}
	return p
}
