package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireRealEnv is the switch .ci/run sets.
const RequireRealEnv = "KMSPROBE_REQUIRE_REAL"

// Required reports whether missing real servers must fail the tests.
func Required() bool { return os.Getenv(RequireRealEnv) == "1" }

// Missing skips the test with why, or fails it when real servers are
// required. why should say what is missing and how to install it.
func Missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (%s=1: a missing real server is a failure here)", why, RequireRealEnv)
	}
	t.Skip(why)
}

// LookPath returns the path of a program the test needs, or calls Missing
// with the Debian package that provides it.
func LookPath(t testing.TB, prog, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		Missing(t, prog+" is not installed (Debian: apt-get install -y "+debianPackage+")")
	}
	return p
}

// Root calls Missing unless the test runs as root (namespaces, raw sockets).
func Root(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, what+" needs root (CI runs as root)")
	}
}
