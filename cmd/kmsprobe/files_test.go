package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDiffAndMailRefuseSpecialFiles: diff and mail given a FIFO (which
// used to hang) or /dev/zero (which used to eat memory) stop at once with
// a clear error and exit 3.
func TestDiffAndMailRefuseSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "report.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"diff", fifo, fifo},
		{"diff", "/dev/zero", fifo},
		{"mail", fifo},
		{"mail", "/dev/zero"},
	} {
		var out, errb bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run(context.Background(), &env{Stdout: &out, Stderr: &errb}, args) }()
		select {
		case code := <-done:
			if code != exitUnknown || !strings.Contains(errb.String(), "not a regular file") {
				t.Errorf("%v: exit %d, stderr %q; want 3 and a clear refusal", args, code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v hangs", args)
		}
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO changed: %v %v", st, err)
	}
}
