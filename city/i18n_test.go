package city

import (
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
)

var tomlEntry = regexp.MustCompile(`(?m)^\[([a-z0-9_.]+)\]\s*\nother\s*=\s*("(?:[^"\\]|\\.)*")\s*$`)

// readCatalog reads one locale file: message id -> template.
func readCatalog(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range tomlEntry.FindAllStringSubmatch(string(b), -1) {
		s, err := strconv.Unquote(m[2])
		if err != nil {
			t.Fatalf("%s [%s]: %v", path, m[1], err)
		}
		out[m[1]] = s
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no entries", path)
	}
	return out
}

// TestMessageIDs: every finding the city view makes has an id whose
// English template, filled with its args, is exactly its message (and
// the same for the remedy), and the Chinese catalog has every id.
func TestMessageIDs(t *testing.T) {
	en := readCatalog(t, "../i18n/locales/city.en.toml")
	zh := readCatalog(t, "../i18n/locales/city.zh-TW.toml")
	if diff := cmp.Diff(keys(en), keys(zh)); diff != "" {
		t.Errorf("the two catalogs have different ids (-en +zh-TW):\n%s", diff)
	}
	used := map[string]bool{}
	check := func(id, text string, args map[string]string) {
		t.Helper()
		if id == "" {
			t.Errorf("no message id for %q", text)
			return
		}
		used[id] = true
		tmpl, ok := en[id]
		if !ok {
			t.Errorf("id %s is not in the English catalog", id)
			return
		}
		var b strings.Builder
		if err := template.Must(template.New(id).Option("missingkey=error").Parse(tmpl)).Execute(&b, args); err != nil {
			t.Errorf("%s: %v", id, err)
			return
		}
		if b.String() != text {
			t.Errorf("%s renders\n  %q\nbut the message is\n  %q", id, b.String(), text)
		}
	}
	for _, probeStale := range []bool{false, true} {
		for _, inst := range []string{"campus-a:9688", "good-jh"} { // host:port, and the /probe pattern's school id
			d := Data{At: now, Current: map[string][]Sample{}, Last: map[string][]Sample{}}
			add := func(m string, v float64, kv ...string) {
				s := Sample{lbl("kmsprobe", inst, kv...), v}
				d.Last[m] = append(d.Last[m], s)
				if !probeStale {
					d.Current[m] = append(d.Current[m], s)
				}
			}
			add(metricSchoolStatus, 2, "school", "s1")
			for code, check := range map[float64]string{0: "dns.srv", 1: "dns.target", 2: "kms.tcp", 3: "kms.rpc"} {
				add(metricFindingStatus, code, "school", "s1", "check", check, "server", "10.0.0.1:53")
			}
			add(metricSkipped, 1, "school", "s1", "check", "clock.offset", "server", "")
			for code, check := range map[float64]string{1: "clock.offset", 2: "kms.tcp", 3: "dns.srv"} {
				add(metricInfraStatus, code, "check", check, "server", "10.0.0.88:1688")
				add(metricInfraAffects, 3, "check", check, "server", "10.0.0.88:1688")
			}
			d.Last[metricLastSuccess] = []Sample{{lbl("kmsprobe", inst), float64(now.Unix())}}
			up := 1.0
			if probeStale {
				up = 0
			}
			d.Up = []Sample{{lbl("kmsprobe", inst), up}}
			rep, _ := Build(d, Options{})
			for _, s := range rep.Schools {
				for _, f := range s.Findings {
					check(f.ID, f.Message, f.Args)
					if f.Remedy != "" {
						check(f.RemedyID, f.Remedy, f.Args)
					}
				}
			}
			for _, in := range rep.Infrastructure {
				check(in.ID, in.Message, in.Args)
				check(in.RemedyID, in.Remedy, in.Args)
			}
		}
	}
	for _, id := range keys(en) {
		if !used[id] {
			t.Errorf("catalog id %s is never used", id)
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
