package clockcheck

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// readCatalog reads a go-i18n TOML file of one-line entries: id -> template.
func readCatalog(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\[([a-z0-9_.]+)\]\nother = (".*")$`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		s, err := strconv.Unquote(m[2])
		if err != nil {
			t.Fatalf("%s [%s]: %v", path, m[1], err)
		}
		out[m[1]] = s
	}
	return out
}

// Every id Judge can produce is in both catalogs with the same
// placeholders, and the English entry renders to the Message.
func TestCatalog(t *testing.T) {
	en := readCatalog(t, "../i18n/locales/clock.en.toml")
	zh := readCatalog(t, "../i18n/locales/clock.zh-TW.toml")
	msgs, fixes := MessageIDs()
	for _, id := range append(msgs, fixes...) {
		if en[id] == "" || zh[id] == "" {
			t.Errorf("%s missing: en %v, zh-TW %v", id, en[id] != "", zh[id] != "")
		}
	}
	render := func(id string, args map[string]string) string {
		var b strings.Builder
		template.Must(template.New(id).Parse(en[id])).Execute(&b, args)
		return b.String()
	}
	var fs []finding.Finding
	for _, rs := range [][]Result{nil, {{Server: "a", Offset: time.Second}}, {{Server: "a", Offset: -time.Hour}}, {{Server: "a", Offset: 5 * time.Hour}}, {{Server: "a", Err: errors.New("x")}}} {
		fs = append(fs, Judge(Measurement{Results: rs})...)
	}
	fs = append(fs, Judge(Measurement{Results: []Result{{Server: "a", Err: context.Canceled}}, Stopped: true})...)
	for _, f := range fs {
		if got := render(f.ID, f.Args); got != f.Message {
			t.Errorf("%s renders %q, Message is %q", f.ID, got, f.Message)
		}
		if f.Remedy != "" && render(f.RemedyID, f.Args) != f.Remedy {
			t.Errorf("%s renders another remedy than %q", f.RemedyID, f.Remedy)
		}
	}
}
