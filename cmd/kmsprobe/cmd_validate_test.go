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

// TestValidateWarnings: the shipped schools.yaml with its example schools
// still in it, or two schools with one suffix, is exit 1 with each
// warning's line — not "ok" and 0, and not 3 (the file works).
func TestValidateWarnings(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{filepath.Join("..", "..", "schools.yaml"), []string{
			"schools.yaml:55: school example-jh: id: this is one of the example schools",
			"schools.yaml:58: school example-jh: dns: 192.0.2.53 is a documentation address",
			"schools.yaml:59: school example-es: id:",
			"loads, with 3 warning(s) above",
		}},
		{filepath.Join("..", "..", "config", "testdata", "warn-examples.yaml"), []string{
			"warn-examples.yaml:15: school b-jh: suffix: a-jh.kh.edu.tw is also the suffix of school a-jh on line 12",
		}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{"validate", "-c", tc.file})
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			out.Reset()
			code = run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{"validate", "-c", tc.file, "--format", "json"})
			if code != 1 || !strings.Contains(out.String(), `"warnings": [`) || !strings.Contains(out.String(), `"valid": true`) {
				t.Errorf("json: exit %d\n%s", code, out.String())
			}
		})
	}
}

// TestValidateKMSProblemsHaveLines: a KMS setting the probe cannot use is
// reported by the loader with its line, once.
func TestValidateKMSProblemsHaveLines(t *testing.T) {
	var out, errb bytes.Buffer
	file := filepath.Join("..", "..", "config", "testdata", "kms-product-unknown.yaml")
	code := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{"validate", "-c", file})
	want := `kms-product-unknown.yaml:3: kms.product: "win12-ent" is not a product kmsprobe knows`
	if code != 3 || !strings.Contains(errb.String(), want) || strings.Count(errb.String(), "win12-ent") != 1 {
		t.Errorf("exit %d, stderr:\n%s\nwant one line ~%q", code, errb.String(), want)
	}
}
