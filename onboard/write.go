package onboard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// fifoWait is how long a FIFO given as -o may take to get a reader.
const fifoWait = 5 * time.Second

// WriteFile writes schools.yaml so that a crash or a full disk never
// leaves half a file: a temporary file in the same folder, synced and
// renamed over the target, keeping an existing file's mode. A symlink is
// followed (its target is replaced); a FIFO or device is written through.
//
// It is the one place init writes; internal/safefile's atomic writer can
// replace its body when it lands.
func WriteFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return writeThrough(path, data)
		}
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (does the folder exist and is it writable?)", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func writeThrough(path string, data []byte) error {
	// Non-blocking open: a FIFO nobody reads fails with ENXIO instead of
	// hanging; a reader gets a few seconds to come, then it is an error.
	var f *os.File
	var err error
	for deadline := time.Now().Add(fifoWait); ; time.Sleep(50 * time.Millisecond) {
		f, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if !errors.Is(err, syscall.ENXIO) || time.Now().After(deadline) {
			break
		}
	}
	if errors.Is(err, syscall.ENXIO) {
		return fmt.Errorf("cannot write %s: nothing reads from it (a FIFO without a reader for %s)", path, fifoWait)
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
