package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size limits for the files kmsprobe reads.
const (
	ConfigLimit   = 16 << 20  // schools.yaml
	SecretLimit   = 4 << 10   // a password file
	ReportLimit   = 256 << 20 // a saved JSON report (a city of 50,000 schools stays well under)
	OverrideLimit = 16 << 20  // init's overrides and CSV inputs
)

// ErrNotRegular is wrapped by ReadFile for FIFOs, devices, sockets and
// directories.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by ReadFile for files over the limit.
var ErrTooLarge = errors.New("file too large")

// NotRegularError says what a refused path is instead (a FIFO, a
// directory, ...), so a caller can word its own advice; errors.Is matches
// it with ErrNotRegular.
type NotRegularError struct{ Kind string }

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%v (%s): give the path of an ordinary file", ErrNotRegular, e.Kind)
}

func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// TooLargeError carries the size and the limit of a refused file;
// errors.Is matches it with ErrTooLarge. Size is -1 when the file grew past
// the limit while it was read.
type TooLargeError struct{ Size, Limit int64 }

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%v: it grew past the limit of %d bytes while being read", ErrTooLarge, e.Limit)
	}
	return fmt.Sprintf("%v: %d bytes, the limit is %d", ErrTooLarge, e.Size, e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ReadFile reads path when it is a regular file (a symlink to one is
// fine) of at most limit bytes. It opens without blocking, so a FIFO with
// no writer is refused at once instead of hanging, and it never reads more
// than limit+1 bytes even if the file grows while it reads.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &NotRegularError{Kind: Kind(st.Mode())}}
	}
	if st.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Size: st.Size(), Limit: limit}}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Size: -1, Limit: limit}}
	}
	return b, nil
}

// Kind names what a path is when it is not an ordinary file, for an
// error an admin reads: "a FIFO", "a directory"...
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	default:
		return "not an ordinary file"
	}
}
