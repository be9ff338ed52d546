package dnscheck

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var updateLocales = flag.Bool("update-locales", false, "rewrite i18n/locales/dns.en.toml from the English texts in messages.go")

const localeDir = "../i18n/locales"

// readLocale reads the subset of go-i18n's TOML the catalogs use:
// "[id]" headers, each followed by `other = "..."`.
func readLocale(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localeDir, name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	id := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			id = strings.Trim(line, "[]\"")
			if _, dup := out[id]; dup {
				t.Errorf("%s:%d: %s twice", name, n, id)
			}
			out[id] = ""
		case strings.HasPrefix(line, "other = "):
			v, err := strconv.Unquote(strings.TrimPrefix(line, "other = "))
			if err != nil || id == "" {
				t.Fatalf("%s:%d: cannot read %q: %v", name, n, line, err)
			}
			out[id] = v
		default:
			t.Fatalf("%s:%d: unexpected line %q", name, n, line)
		}
	}
	return out
}

var placeholder = regexp.MustCompile(`\{\{\.[A-Za-z]+\}\}`)

func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

// TestLocales: the English catalog says exactly what the Go messages say,
// and the zh-TW one has every id with the same placeholders, so a
// translated report shows the same facts.
func TestLocales(t *testing.T) {
	if *updateLocales {
		var b strings.Builder
		b.WriteString("# English texts of the DNS leg's messages and remedies.\n# Generated from dnscheck/messages.go: go test ./dnscheck -run TestLocales -update-locales\n")
		for _, id := range slices.Sorted(func(yield func(string) bool) {
			for k := range english {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&b, "\n[%s]\nother = %s\n", id, strconv.Quote(english[id]))
		}
		if err := os.WriteFile(filepath.Join(localeDir, "dns.en.toml"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	en := readLocale(t, "dns.en.toml")
	for id, text := range english {
		if en[id] != text {
			t.Errorf("dns.en.toml [%s] = %q, messages.go says %q (run with -update-locales)", id, en[id], text)
		}
	}
	for id := range en {
		if _, ok := english[id]; !ok {
			t.Errorf("dns.en.toml has %s, which no finding uses", id)
		}
	}
	zh := readLocale(t, "dns.zh-TW.toml")
	for id, text := range english {
		tr, ok := zh[id]
		if !ok || tr == "" {
			t.Errorf("dns.zh-TW.toml lacks %s", id)
			continue
		}
		if got, want := placeholders(tr), placeholders(text); !slices.Equal(got, want) {
			t.Errorf("dns.zh-TW.toml [%s] uses %v, the English %v", id, got, want)
		}
	}
	for id := range zh {
		if _, ok := english[id]; !ok {
			t.Errorf("dns.zh-TW.toml has %s, which no finding uses", id)
		}
	}
}
