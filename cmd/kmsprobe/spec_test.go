package main

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helpOf runs `kmsprobe NAME -h` and returns its Usage line (after
// "kmsprobe NAME") and the flags its list names.
func helpOf(t *testing.T, name string) (usage string, listed []string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), &env{Stdout: &out, Stderr: &errb}, []string{name, "-h"}); code != exitPass {
		t.Fatalf("kmsprobe %s -h: exit %d\n%s", name, code, errb.String())
	}
	lines := strings.Split(errb.String(), "\n")
	first, ok := strings.CutPrefix(lines[0], "Usage: kmsprobe "+name)
	if !ok {
		t.Fatalf("kmsprobe %s -h starts %q, want a Usage line", name, lines[0])
	}
	flagLine := regexp.MustCompile(`^  -([a-z][a-z0-9.-]*)`)
	for _, l := range lines[1:] {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			listed = append(listed, m[1])
		}
	}
	return strings.TrimSpace(first), listed
}

// TestUsageAgreesWithFlags: for every command the Usage line of -h (and
// of the overview) names every flag the command takes, and no other
// (issue 14: audit -h left out --mail, --lang and the text format).
func TestUsageAgreesWithFlags(t *testing.T) {
	var overview bytes.Buffer
	usage(&overview)
	// serve and city were the last commands with hand-written help.
	for _, name := range []string{"serve", "city"} {
		if commands[name] == nil {
			t.Errorf("no command %s to check", name)
		}
	}
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			line, listed := helpOf(t, name)
			named := usageFlags(line)
			sort.Strings(named)
			sort.Strings(listed)
			if diff := cmp.Diff(listed, named); diff != "" {
				t.Errorf("kmsprobe %s: Usage line %q disagrees with the flags -h lists (-listed +usage):\n%s", name, line, diff)
			}
			if !strings.Contains(overview.String(), "kmsprobe "+pad(name)+" "+line+"\n") {
				t.Errorf("the overview's line for %s is not the -h one %q:\n%s", name, line, overview.String())
			}
		})
	}
}

func pad(name string) string { return name + strings.Repeat(" ", max(0, 9-len(name))) }

// TestAuditHelp pins the flags issue 14 found missing.
func TestAuditHelp(t *testing.T) {
	line, _ := helpOf(t, "audit")
	for _, want := range []string{"[--mail]", "[--lang en|zh-TW]", "[--save[=DIR]]", "[--only-problems]", "|text|", "|nagios", "[--school ID]..."} {
		if !strings.Contains(line, want) {
			t.Errorf("audit -h Usage lacks %q: %s", want, line)
		}
	}
}

// TestServeCityHelp: serve takes the leg flags audit takes, and city
// shows --prometheus as the argument it requires.
func TestServeCityHelp(t *testing.T) {
	serve, _ := helpOf(t, "serve")
	for _, want := range []string{"[-c schools.yaml]", "[--school ID]...", "[--kms-mode tcp|bind|activate]", "[--dhcp-iface IFACE]", "[--listen ADDR]", "[--demo]", "[--web.config.file FILE]"} {
		if !strings.Contains(serve, want) {
			t.Errorf("serve -h Usage lacks %q: %s", want, serve)
		}
	}
	city, _ := helpOf(t, "city")
	if !strings.HasPrefix(city, "--prometheus URL [") || !strings.Contains(city, "[--format table|") || !strings.Contains(city, "[-o FILE]") {
		t.Errorf("city -h Usage: %s", city)
	}
}

// TestFormatRefusedPerCommand: each command refuses a format it cannot
// write, before doing anything, and names the ones it can.
func TestFormatRefusedPerCommand(t *testing.T) {
	for name, c := range commands {
		if len(c.Spec.Formats) == 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCmd(t, name, "--format", "xml")
			if code != exitUnknown || !strings.Contains(stderr, `--format "xml" is not known for `+name) || !strings.Contains(stderr, c.Spec.Formats[0].Name) {
				t.Errorf("kmsprobe %s --format xml: exit %d, stderr %q", name, code, stderr)
			}
		})
	}
}
