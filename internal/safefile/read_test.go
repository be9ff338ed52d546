package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want error
	}{
		{small, nil},
		{link, nil},
		{big, ErrTooLarge},
		{fifo, ErrNotRegular},
		{dir, ErrNotRegular},
		{"/dev/zero", ErrNotRegular},
	} {
		start := time.Now()
		b, err := ReadFile(c.path, 10)
		if !errors.Is(err, c.want) {
			t.Errorf("ReadFile(%s) error = %v, want %v", c.path, err, c.want)
		}
		if c.want == nil && string(b) != "hello" {
			t.Errorf("ReadFile(%s) = %q", c.path, b)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("ReadFile(%s) took %v: refusals must be immediate", c.path, d)
		}
	}
}
