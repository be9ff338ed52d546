package onboard_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/onboard"
)

func readCatalog(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	id := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			id = strings.Trim(l, `[]"`)
		case strings.HasPrefix(l, "other = "):
			s, err := strconv.Unquote(strings.TrimPrefix(l, "other = "))
			if err != nil {
				t.Fatalf("%s: %s: %v", path, id, err)
			}
			out[id] = s
		default:
			t.Fatalf("%s: unexpected line %q", path, l)
		}
	}
	return out
}

var argRe = regexp.MustCompile(`{{\.(\w+)}}`)

func args(s string) []string {
	var out []string
	for _, m := range argRe.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCatalogsMatchReasons(t *testing.T) {
	en := readCatalog(t, "../i18n/locales/init.en.toml")
	zh := readCatalog(t, "../i18n/locales/init.zh-TW.toml")
	if len(en) != len(onboard.Reasons) || len(zh) != len(onboard.Reasons) {
		t.Errorf("%d en and %d zh-TW entries for %d reasons", len(en), len(zh), len(onboard.Reasons))
	}
	for id, text := range onboard.Reasons {
		if en[id] != text {
			t.Errorf("en %s = %q, Go has %q", id, en[id], text)
		}
		if !slices.Equal(args(zh[id]), args(text)) {
			t.Errorf("zh-TW %s uses %v, English %v", id, args(zh[id]), args(text))
		}
	}
}
