package kmscheck

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

// Every id the judge can produce is in both catalogs, with the same
// placeholders, and the English entry renders, with a finding's Args,
// to exactly its Message and Remedy.
func TestCatalog(t *testing.T) {
	en := readCatalog(t, "../i18n/locales/kms.en.toml")
	zh := readCatalog(t, "../i18n/locales/kms.zh-TW.toml")
	msgs, fixes := MessageIDs()
	ph := regexp.MustCompile(`\{\{\.[A-Za-z]+\}\}`)
	for _, id := range append(msgs, fixes...) {
		if en[id] == "" || zh[id] == "" {
			t.Errorf("%s missing: en %v, zh-TW %v", id, en[id] != "", zh[id] != "")
			continue
		}
		a, b := ph.FindAllString(en[id], -1), ph.FindAllString(zh[id], -1)
		if strings.Join(sortedCopy(a), ",") != strings.Join(sortedCopy(b), ",") {
			t.Errorf("%s: placeholders en %v, zh-TW %v", id, a, b)
		}
	}
	if len(en) != len(msgs)+len(fixes) || len(zh) != len(en) {
		t.Errorf("catalog sizes en %d zh %d, judge has %d ids", len(en), len(zh), len(msgs)+len(fixes))
	}
	render := func(id string, args map[string]string) string {
		var b strings.Builder
		template.Must(template.New(id).Parse(en[id])).Execute(&b, args)
		return b.String()
	}
	win, _ := LookupProduct("win10-ent")
	ok := &Response{Version: Version{Major: 6}, EPID: "03612-00206-566-392475-03-1028-20348.0000-1002023", Count: 50}
	low := &Response{Version: Version{Major: 6}, Count: 3}
	x := Exchange{Addr: "[2001:db8::1]:18688", Mode: ModeActivate, Product: win, Stage: StageActivate}
	with := func(err error, r *Response) Exchange { y := x; y.Err, y.Response = err, r; return y }
	var fs []finding.Finding
	for _, o := range []TCPOutcome{TCPConnected, TCPRefused, TCPTimeout, TCPUnreachable, TCPError, TCPNoIPv6} {
		fs = append(fs, JudgeTCP(TCPResult{Addr: x.Addr, Outcome: o, Err: errors.New("boom"), RTT: 1500 * time.Millisecond}, 2*time.Second))
	}
	for _, e := range []error{nil, &RefusalError{HRUnknownProduct}, &RefusalError{0xC0040000}, &FaultError{0x1c010003},
		&VerifyError{"hmac", "no"}, &ProtocolError{Detail: "x", Service: "tls"}, &ProtocolError{Detail: "x"}, &BindNakError{2},
		context.DeadlineExceeded, errors.New("odd")} {
		fs = append(fs, JudgeRPC(with(e, ok), Expect{}, time.Second))
	}
	fs = append(fs, JudgeRPC(with(nil, low), Expect{}, time.Second), JudgeRPC(with(nil, low), Expect{MinCount: 10}, time.Second))
	fs = append(fs, Judge(Measurement{Addr: x.Addr, Stopped: true, TCP: TCPResult{Addr: x.Addr, Outcome: TCPTimeout}}, Expect{})...)
	for _, f := range fs {
		if f.ID == "" || en[f.ID] == "" {
			t.Errorf("%s %q: id %q not in the catalog", f.Check, f.Message, f.ID)
			continue
		}
		if got := render(f.ID, f.Args); got != f.Message {
			t.Errorf("%s renders %q, Message is %q", f.ID, got, f.Message)
		}
		if f.Remedy != "" && render(f.RemedyID, f.Args) != f.Remedy {
			t.Errorf("%s renders another remedy than %q", f.RemedyID, f.Remedy)
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}
