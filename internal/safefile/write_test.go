package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kh-edu/kmsprobe/internal/testenv"
)

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func mustWrite(t *testing.T, p, s string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestWriteNewFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.json")
	if err := WriteFile(p, 0o640, text("new")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, p); got != "new" {
		t.Errorf("content %q", got)
	}
	st, _ := os.Stat(p)
	// The umask may narrow 0640, never widen it.
	if m := st.Mode().Perm(); m&^0o640 != 0 || m&0o600 != 0o600 {
		t.Errorf("new file mode %04o, want 0640 narrowed by the umask", m)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestReplaceKeepsMode: an existing file is replaced (a new inode, so a
// reader never saw it half-written) and keeps the mode an admin gave it.
func TestReplaceKeepsMode(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []fs.FileMode{0o600, 0o604, 0o644, 0o660} {
		p := filepath.Join(dir, fmt.Sprintf("r%04o", mode))
		mustWrite(t, p, "old", mode)
		before := inode(t, p)
		if err := WriteFile(p, 0o640, text("new")); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Lstat(p)
		if !st.Mode().IsRegular() || st.Mode().Perm() != mode {
			t.Errorf("after replace: mode %v, want regular %04o", st.Mode(), mode)
		}
		if got := readString(t, p); got != "new" {
			t.Errorf("content %q", got)
		}
		if inode(t, p) == before {
			t.Errorf("%s was rewritten in place, not replaced atomically", p)
		}
	}
}

func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "real")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(sub, "target.html")
	mustWrite(t, target, "old", 0o604)
	abs := filepath.Join(dir, "abs")
	rel := filepath.Join(dir, "rel")
	chain := filepath.Join(dir, "chain")
	dangling := filepath.Join(dir, "dangling")
	for _, l := range [][2]string{{target, abs}, {"real/target.html", rel}, {"abs", chain}, {"real/later.html", dangling}} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	for i, link := range []string{abs, rel, chain} {
		want := fmt.Sprint("content ", i)
		if err := WriteFile(link, 0o640, text(want)); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Lstat(link); st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink: %v", link, st.Mode())
		}
		if got := readString(t, target); got != want {
			t.Errorf("target after writing through %s: %q, want %q", link, got, want)
		}
		if st, _ := os.Stat(target); st.Mode().Perm() != 0o604 {
			t.Errorf("target mode %04o, want 0604 kept", st.Mode().Perm())
		}
	}
	// A link to a file not made yet creates the file, like "> link".
	if err := WriteFile(dangling, 0o640, text("later")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(sub, "later.html")); got != "later" {
		t.Errorf("dangling link's target: %q", got)
	}
	if st, _ := os.Lstat(dangling); st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the dangling link was replaced: %v", st.Mode())
	}
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(loop, 0o640, text("x")); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("link loop: %v", err)
	}
}

// TestWriteFIFO: the FIFO is written in place (the reader gets the
// report) and is still a FIFO afterwards.
func TestWriteFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "to-fifo")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	// Larger than a pipe's buffer, so the writer must wait for the reader.
	want := strings.Repeat("report line\n", 20000)
	for _, p := range []string{fifo, link} {
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(fifo)
			if err != nil {
				got <- err.Error()
				return
			}
			defer f.Close()
			b, _ := io.ReadAll(f)
			got <- string(b)
		}()
		if err := WriteFile(p, 0o640, text(want)); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != want {
				t.Errorf("reader of %s got %d bytes, want %d", p, len(g), len(want))
			}
		case <-time.After(30 * time.Second):
			t.Fatal("reader never finished")
		}
		if st, _ := os.Lstat(fifo); st.Mode()&fs.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO was replaced: %v", st.Mode())
		}
	}
}

func TestWriteFIFONoReader(t *testing.T) {
	old := fifoWait
	fifoWait = 200 * time.Millisecond
	defer func() { fifoWait = old }()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(fifo, 0o640, text("x"))
	if err == nil || !strings.Contains(err.Error(), "no program opened it for reading") {
		t.Errorf("FIFO without a reader: %v", err)
	}
	if st, _ := os.Lstat(fifo); st.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v", st.Mode())
	}
}

// TestWriteDevNullThroughLink writes to the system's /dev/null only
// through a link the test made, and only in the way the writer must:
// opened and written, never replaced.
func TestWriteDevNullThroughLink(t *testing.T) {
	link := filepath.Join(t.TempDir(), "null")
	if err := os.Symlink(os.DevNull, link); err != nil {
		t.Fatal(err)
	}
	before := inode(t, os.DevNull)
	if err := WriteFile(link, 0o640, text("discarded")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(os.DevNull)
	if err != nil || st.Mode()&fs.ModeCharDevice == 0 || inode(t, os.DevNull) != before {
		t.Fatalf("%s is no longer the character device it was: %v %v", os.DevNull, st.Mode(), err)
	}
	if st, _ := os.Lstat(link); st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", st.Mode())
	}
}

// TestWriteOwnDescriptor: /dev/fd/N (and so /dev/stdout) writes to the
// process's own descriptor, which stays open.
func TestWriteOwnDescriptor(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	p := fmt.Sprintf("/dev/fd/%d", w.Fd())
	if err := WriteFile(p, 0o640, text("one ")); err != nil {
		t.Fatal(err)
	}
	// Through a link of our own to /proc/self/fd/N too.
	link := filepath.Join(t.TempDir(), "out")
	if err := os.Symlink(fmt.Sprintf("/proc/self/fd/%d", w.Fd()), link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, 0o640, text("two")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("!")); err != nil {
		t.Fatalf("the descriptor was closed by WriteFile: %v", err)
	}
	w.Close()
	if g := <-got; g != "one two!" {
		t.Errorf("pipe got %q", g)
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct{ path, want string }{
		{dir, "is a folder"},
		{sock, "a socket"},
		{filepath.Join(dir, "missing", "x.json"), "does the folder exist"},
	} {
		if err := WriteFile(c.path, 0o640, text("x")); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteFile(%s) = %v, want %q", c.path, err, c.want)
		}
	}
}

// TestWriteFailureKeepsOld: a write that fails half-way leaves the old
// file as it was and no temporary file.
func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	mustWrite(t, p, "old", 0o640)
	boom := errors.New("renderer failed")
	err := WriteFile(p, 0o640, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("half", 100000))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not carry the renderer's", err)
	}
	if got := readString(t, p); got != "old" {
		t.Errorf("old file now %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestReplaceIsAtomic reads the file while it is replaced over and over:
// every read sees one whole version, never a mix or a truncated file, as
// a writer that rewrote the file in place would show.
func TestReplaceIsAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	a, b := strings.Repeat("A", 1<<20), strings.Repeat("B", 1<<20)
	mustWrite(t, p, a, 0o640)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad []string
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(p)
			if err != nil || (string(got) != a && string(got) != b) {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%d bytes, err %v", len(got), err))
				mu.Unlock()
			}
		}
	}()
	for i := range 20 {
		s := a
		if i%2 == 0 {
			s = b
		}
		if err := WriteFile(p, 0o640, text(s)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d torn reads, e.g. %s", len(bad), bad[0])
	}
}

// TestReplaceKeepsOwner runs as root: replacing a service user's file
// must leave it that user's.
func TestReplaceKeepsOwner(t *testing.T) {
	testenv.Root(t, "keeping a file's owner")
	p := filepath.Join(t.TempDir(), "r.json")
	mustWrite(t, p, "old", 0o600)
	if err := os.Chown(p, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, 0o640, text("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	s := st.Sys().(*syscall.Stat_t)
	if s.Uid != 4321 || s.Gid != 4322 || st.Mode().Perm() != 0o600 {
		t.Errorf("after replace: uid %d gid %d mode %04o, want 4321 4322 0600", s.Uid, s.Gid, st.Mode().Perm())
	}
}

// mountTmpfs mounts a tmpfs of size on a folder of the test's own and
// unmounts it when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	testenv.Root(t, "a full filesystem (a small tmpfs the test mounts)")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "kmsprobe-test", mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, fmt.Sprintf("cannot mount a tmpfs (no CAP_SYS_ADMIN in this container?): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmounting the test's tmpfs %s: %v", mnt, err)
		}
	})
	return mnt
}

// TestDiskFull fills a 64 KiB tmpfs: the error names the filesystem and
// what to do, the old file is intact and no temporary file is left.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "64k")
	p := filepath.Join(mnt, "report.json")
	mustWrite(t, p, "old complete report", 0o640)
	err := WriteFile(p, 0o640, text(strings.Repeat("x", 1<<20)), Elsewhere("choose another --save dir"))
	var ns *NoSpaceError
	if !errors.As(err, &ns) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteFile on a full disk = %v, want a NoSpaceError", err)
	}
	for _, want := range []string{"no space left on device", "free space on " + mnt + " or choose another --save dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := readString(t, p); got != "old complete report" {
		t.Errorf("old file now %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(mnt, ".*")); len(left) > 0 {
		t.Errorf("temporary files left on the full disk: %v", left)
	}
	// A new file on the full disk fails the same way.
	err = WriteFile(filepath.Join(mnt, "new.json"), 0o640, text(strings.Repeat("x", 1<<20)))
	if !errors.As(err, &ns) {
		t.Errorf("new file on a full disk: %v", err)
	}
	if _, serr := os.Stat(filepath.Join(mnt, "new.json")); serr == nil {
		t.Error("a partial new file is visible on the full disk")
	}
}

func TestMountPoint(t *testing.T) {
	if got := mountPoint("/"); got != "/" {
		t.Errorf("mountPoint(/) = %q", got)
	}
	dir := t.TempDir()
	got := mountPoint(dir)
	if !strings.HasPrefix(dir, got) && !bytes.HasPrefix([]byte(mustEval(t, dir)), []byte(got)) {
		t.Errorf("mountPoint(%s) = %s, not an ancestor", dir, got)
	}
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOwnFD(t *testing.T) {
	pid := fmt.Sprint(os.Getpid())
	for p, want := range map[string]int{
		"/dev/stdout": 1, "/dev/stderr": 2, "/dev/fd/7": 7, "/proc/self/fd/3": 3, "/proc/" + pid + "/fd/9": 9,
		"/dev/null": -1, "/dev/fd/x": -1, "/proc/1/fd/1x": -1, "/tmp/dev/stdout": -1,
	} {
		got, ok := ownFD(p)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("ownFD(%s) = %d, want %d", p, got, want)
		}
	}
}
