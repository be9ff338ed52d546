package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidateRefusesWhatIsNotAFile: validate -c /dev/zero once ate memory
// until killed and a FIFO hung forever. Each is now exit 3 with the file
// and the fix named.
func TestValidateRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "schools.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", "/dev/urandom", fifo, dir} {
		t.Run(path, func(t *testing.T) {
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{"validate", "-c", path})
			}()
			select {
			case code := <-done:
				if code != 3 {
					t.Errorf("exit %d, want 3", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("validate did not return")
			}
			if msg := errb.String(); !strings.Contains(msg, path) || !strings.Contains(msg, "not a file") || !strings.Contains(msg, "-c FILE") {
				t.Errorf("stderr %q does not name the file and the fix", msg)
			}
		})
	}
}
