package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// allocated runs f and returns the bytes it allocated. TotalAlloc counts
// every allocation, so unlike wall time it does not flake on a loaded CI
// machine.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// within fails the test if f has not returned after d: a refusal that
// blocks (a FIFO opened for reading) would otherwise hang the test binary.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
}

// TestLoadRefusesWhatIsNotAFile: /dev/zero once ate memory until killed
// and a FIFO hung forever; each is now an error naming the file and the fix.
func TestLoadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(16<<20 + 1); err != nil { // sparse: nothing is written
		t.Fatal(err)
	}
	f.Close()
	cases := []struct{ path, want string }{
		{"/dev/zero", "is a character device, not a file"},
		{"/dev/urandom", "is a character device, not a file"},
		{fifo, "is a FIFO, not a file"},
		{dir, "is a directory, not a file"},
		{big, "larger than 16 MiB"},
		{filepath.Join(dir, "missing.yaml"), "does not exist"},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			var err error
			within(t, 10*time.Second, func() { _, err = Load(tc.path) })
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, want := range []string{tc.path, tc.want, "-c"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "config:") || strings.Contains(msg, "safefile") {
				t.Errorf("error %q shows a package name", msg)
			}
		})
	}
}

// aliasBomb is the file of issue 11: one school with n dns entries,
// repeated by alias times.
func aliasBomb(n, times int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nschools:\n  - &school\n    id: a\n    suffix: a.kh.edu.tw\n    dns: [")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "10.%d.%d.100", i/250, i%250)
	}
	b.WriteString("]\n")
	for range times {
		b.WriteString("  - *school\n")
	}
	return []byte(b.String())
}

func TestAliasesCannotBlowUpASmallFile(t *testing.T) {
	laughs := "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 12; i++ {
		laughs += fmt.Sprintf("a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	laughs += "schools: *a11\n"
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"one school with 3000 dns repeated 10000 times", aliasBomb(3000, 10000), "aliases (*name) repeat parts of this file into more than"},
		{"billion laughs", []byte(laughs), "aliases (*name) repeat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() {
				within(t, 30*time.Second, func() { _, err = Parse("bomb.yaml", tc.data) })
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want ~%q", err, tc.want)
			}
			if alloc > 100<<20 {
				t.Errorf("a %d KB file allocated %d MB; the limit is 100 MB", len(tc.data)>>10, alloc>>20)
			}
			t.Logf("%d KB file: %d MB allocated", len(tc.data)>>10, alloc>>20)
		})
	}
}

// TestAliasesStillWork: the bound must not refuse the ordinary use of
// anchors, aliases and merge keys.
func TestAliasesStillWork(t *testing.T) {
	y := `version: 1
resolvers: []
schools:
  - &first
    id: a-jh
    suffix: a-jh.kh.edu.tw
    dns: &shared [127.0.0.2, 127.0.0.3]
  - id: b-jh
    suffix: b-jh.kh.edu.tw
    dns: *shared
  - <<: *first
    id: c-jh
    suffix: c-jh.kh.edu.tw
`
	c, err := Parse("aliases.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Schools) != 3 {
		t.Fatalf("schools = %+v", c.Schools)
	}
	for _, s := range c.Schools {
		if len(s.DNS) != 2 || s.DNS[1] != "127.0.0.3:53" {
			t.Errorf("school %s dns = %v", s.ID, s.DNS)
		}
	}
	// A mistake inside an anchored school is reported once, not once per
	// alias.
	bad := strings.Replace(y, "suffix: a-jh.kh.edu.tw", "suffix: a-jh.kh.edu.tw\n    sufix: x", 1)
	_, err = Parse("aliases.yaml", []byte(bad))
	if err == nil || strings.Count(err.Error(), `unknown field "sufix"`) != 1 {
		t.Errorf("Parse = %v, want one unknown-field problem", err)
	}
}

func TestHugeFilesEndInAClearError(t *testing.T) {
	unknown := func(size int) []byte {
		b := make([]byte, 0, size+32)
		b = append(b, "version: 1\n"...)
		for i := 0; len(b) < size; i++ {
			b = append(b, "key"...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, ": value\n"...)
		}
		return b
	}
	flat := []byte("version: 1\nschools: [" + strings.Repeat("1,", 8<<20-20) + "1]\n")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"15 MB of unknown keys", unknown(15 << 20), "more than 700000 lines, keys and list items"},
		{"16 MB flat list", flat, "more than 700000 lines, keys and list items"},
		{"100 MB of unknown keys", unknown(100 << 20), "larger than 16 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = Parse("huge.yaml", tc.data) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %.300v, want ~%q", err, tc.want)
			}
			if alloc > 100<<20 {
				t.Errorf("allocated %d MB; the limit is 100 MB", alloc>>20)
			}
		})
	}
	// Through Load the 100 MB file is refused before it is read.
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, unknown(100<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	alloc := allocated(func() { _, err = Load(path) })
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") || alloc > 10<<20 {
		t.Errorf("Load(100 MB) = %v after %d MB", err, alloc>>20)
	}
}

// TestManyProblemsAreCapped: a mistake repeated in every school of a big
// file names the first thousand, then says how many more there are.
func TestManyProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nschools:\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "  - {id: s%d, suffix: s%d.kh.edu.tw, dsn: [10.0.0.1]}\n", i, i)
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != maxProblems+1 {
		t.Fatalf("Parse = %d problems, want %d", len(ce.Problems), maxProblems+1)
	}
	if last := ce.Problems[maxProblems].Error(); !strings.Contains(last, "and 2000 more problems") {
		t.Errorf("last line %q", last)
	}
}

// TestPasswordFileIsCheckedByValidate: mail.password_file naming
// /dev/zero, a FIFO, a directory or a runaway file is refused when the
// configuration is validated, with its line; a file not created yet, or
// empty, loads with a warning on that line. Validate only stats the path,
// so even a FIFO without a writer returns at once.
func TestPasswordFileIsCheckedByValidate(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "smtp.pass")
	big := filepath.Join(dir, "big")
	empty := filepath.Join(dir, "empty")
	for path, size := range map[string]int{good: 9, big: 4<<10 + 1, empty: 0} {
		if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		path          string
		problem, warn string // "" for none
	}{
		{good, "", ""},
		{"/dev/zero", "/dev/zero is a character device, not a file", ""},
		{fifo, fifo + " is a FIFO, not a file", ""},
		{dir, dir + " is a directory, not a file", ""},
		{big, big + " is 4097 bytes, more than the 4096 a password file may hold", ""},
		{filepath.Join(dir, "later"), "", filepath.Join(dir, "later") + " does not exist (yet)"},
		{empty, "", empty + " is empty"},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			y := fmt.Sprintf("version: 1\nmail:\n  smtp: smtp.example.edu.tw\n  from: a@example.edu.tw\n  to: [b@example.edu.tw]\n  password_file: %q\nschools: [{id: a, suffix: a.kh.edu.tw}]\n", tc.path)
			var c *Config
			var err error
			within(t, 5*time.Second, func() { c, err = Parse("p.yaml", []byte(y)) })
			if tc.problem != "" {
				want := "p.yaml:6: mail.password_file: " + tc.problem
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("Parse = %v, want a problem %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var warns []string
			for _, w := range c.Warnings {
				warns = append(warns, w.Error())
			}
			got := strings.Join(warns, "\n")
			if tc.warn == "" && got != "" {
				t.Errorf("unexpected warnings: %s", got)
			}
			if want := "p.yaml:6: mail.password_file: " + tc.warn; tc.warn != "" && !strings.HasPrefix(got, want) {
				t.Errorf("warnings = %q, want %q", got, want)
			}
			// Validating the loaded configuration again says the same.
			again := c.Clone()
			if err := again.Validate(); err != nil || len(again.Warnings) != len(c.Warnings) {
				t.Errorf("Validate again: %v, %d warnings, want %d", err, len(again.Warnings), len(c.Warnings))
			}
		})
	}
}
