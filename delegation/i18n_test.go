package delegation_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/delegation"
)

// readCatalog reads the simple subset of go-i18n TOML the locale files use:
// a quoted [id] table header, then other = "text".
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

func TestCatalogsMatchMessages(t *testing.T) {
	en := readCatalog(t, "../i18n/locales/delegation.en.toml")
	zh := readCatalog(t, "../i18n/locales/delegation.zh-TW.toml")
	for id, text := range delegation.Messages {
		if en[id] != text {
			t.Errorf("en %s = %q, Go has %q", id, en[id], text)
		}
		if zh[id] == "" {
			t.Errorf("zh-TW lacks %s", id)
		} else if !slices.Equal(args(zh[id]), args(text)) {
			t.Errorf("zh-TW %s uses %v, English %v", id, args(zh[id]), args(text))
		}
	}
	for id := range en {
		if _, ok := delegation.Messages[id]; !ok {
			t.Errorf("en has %s, which no finding uses", id)
		}
	}
	for id := range zh {
		if _, ok := delegation.Messages[id]; !ok {
			t.Errorf("zh-TW has %s, which no finding uses", id)
		}
	}
}
