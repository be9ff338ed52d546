package onboard_test

import (
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/onboard"
)

func rec(line int, code, name, url string) onboard.Record {
	return onboard.Record{File: "國民小學名錄.csv", List: "國小", Line: line, Code: code, Name: name, Kind: "公立", City: "高雄市", URL: url}
}

// TestOneSuffixOneSchool: two rows whose 網址 give one host (a port
// does not make another school) used to be written as two schools, and
// validate then exited 1 on the duplicate suffix. The second (by 代碼,
// whatever the order of the rows) is a comment with the reason, and the
// file validates without a warning.
func TestOneSuffixOneSchool(t *testing.T) {
	recs := []onboard.Record{
		rec(3, "583622", "市立三星國小分校", "sxps.kh.edu.tw:8080"),
		rec(2, "583621", "市立三星國小", "http://sxps.kh.edu.tw"),
		rec(4, "583623", "市立其他國小", "http://other.kh.edu.tw"),
	}
	es, _ := onboard.Build(recs, "kh.edu.tw", nil)
	out, err := onboard.Render(es, onboard.Meta{Sources: []string{"國民小學名錄.csv"}, City: "高雄市", Zone: "kh.edu.tw"})
	if err != nil {
		t.Fatal(err)
	}
	c := loads(t, out) // fails on any warning
	if len(c.Schools) != 2 || c.Schools[0].ID != "sxps" || c.Schools[0].Name != "市立三星國小" {
		t.Errorf("schools written: %+v\n%s", c.Schools, out)
	}
	for _, e := range es {
		if e.Code == "583622" {
			if e.Written() || e.ReasonID != "init.reason.same_suffix" || e.ReasonArgs["Other"] != "代碼 583621 市立三星國小" {
				t.Errorf("the second school: written %v, reason %s %v", e.Written(), e.ReasonID, e.ReasonArgs)
			}
		}
	}
	want := "# 代碼 583622 市立三星國小分校 (國民小學名錄.csv): the suffix sxps.kh.edu.tw is already that of 代碼 583621 市立三星國小, written as a school"
	if !strings.Contains(string(out), want) {
		t.Errorf("the comment for the second school is missing:\n%s", out)
	}
}

// TestCutSuffixIsSaid: a 網址 host deeper than the school's zone gives
// the one label under the city zone; the school's comment says so, with
// the host it was cut from and how to override it. A www. in front is not
// a cut, and an override's suffix leaves nothing to say.
func TestCutSuffixIsSaid(t *testing.T) {
	recs := []onboard.Record{
		rec(2, "583631", "市立甲國小", "http://www.a.b.kh.edu.tw"),
		rec(3, "583632", "市立乙國小", "http://www.c.kh.edu.tw"),
		rec(4, "583633", "市立丙國小", "http://x.d.kh.edu.tw"),
	}
	ov := onboard.Overrides{"583633": {Suffix: "x.d.kh.edu.tw"}}
	es, _ := onboard.Build(recs, "kh.edu.tw", ov)
	out, err := onboard.Render(es, onboard.Meta{Sources: []string{"國民小學名錄.csv"}, City: "高雄市", Zone: "kh.edu.tw"})
	if err != nil {
		t.Fatal(err)
	}
	loads(t, out)
	s := string(out)
	want := "#  · suffix b.kh.edu.tw: cut from the 網址 host www.a.b.kh.edu.tw to the school's zone, the one label under the city zone kh.edu.tw; if its PCs get a.b.kh.edu.tw as their suffix, set suffix in the overrides file (key 583631)\n  - id: b\n"
	if !strings.Contains(s, want) {
		t.Errorf("no note on the cut suffix:\n%s", s)
	}
	if n := strings.Count(s, "cut from"); n != 1 {
		t.Errorf("%d cut notes, want only b's:\n%s", n, s)
	}
}

// TestMergeTakesOutASharedSuffix: a file written by an earlier init with
// two schools on one suffix is repaired by the next merge (the larger
// 代碼 becomes a comment with the reason), and a new school of the lists
// whose suffix a school of the file already has (here one from a list not
// read this time) is not added. Both results validate without a warning.
func TestMergeTakesOutASharedSuffix(t *testing.T) {
	old := `version: 1
schools:
  # 代碼 593641 · 國中 · 公立 · 網址 http://www.edu.kh.edu.tw · 國民中學名錄.csv
  - id: edu
    name: 市立教育國中
    suffix: edu.kh.edu.tw
  # 代碼 583641 · 國小 · 公立 · 網址 http://sxps.kh.edu.tw · 國民小學名錄.csv
  - id: sxps
    name: 市立三星國小
    suffix: sxps.kh.edu.tw
  # 代碼 583642 · 國小 · 公立 · 網址 http://sxps.kh.edu.tw:8080 · 國民小學名錄.csv
  - id: sxps-583642
    name: 市立三星國小分校
    suffix: sxps.kh.edu.tw
`
	recs := []onboard.Record{
		rec(2, "583641", "市立三星國小", "http://sxps.kh.edu.tw"),
		rec(3, "583642", "市立三星國小分校", "http://sxps.kh.edu.tw:8080"),
		rec(4, "583643", "市立教育國小", "http://www.edu.kh.edu.tw"),
	}
	es, _ := onboard.Build(recs, "kh.edu.tw", nil)
	out, ch, err := onboard.Merge([]byte(old), es, onboard.Meta{Sources: []string{"國民小學名錄.csv"}, City: "高雄市", Zone: "kh.edu.tw"})
	if err != nil {
		t.Fatal(err)
	}
	c := loads(t, out)
	var ids []string
	for _, s := range c.Schools {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, " ") != "edu sxps" || len(ch.Added) != 0 {
		t.Errorf("schools %v, added %v\n%s", ids, ch.Added, out)
	}
	s := string(out)
	for _, want := range []string{
		"# taken out by kmsprobe init: the suffix sxps.kh.edu.tw is already that of 代碼 583641 市立三星國小",
		"#   - id: sxps-583642",
		"# 代碼 583643 市立教育國小 (國民小學名錄.csv): the suffix edu.kh.edu.tw is already that of 代碼 593641 市立教育國中",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
	for _, e := range es {
		if (e.Code == "583642" || e.Code == "583643") && e.Written() {
			t.Errorf("代碼 %s is still counted as written", e.Code)
		}
	}
	// The repaired file merges again to itself.
	es2, _ := onboard.Build(recs, "kh.edu.tw", nil)
	again, _, err := onboard.Merge(out, es2, onboard.Meta{Sources: []string{"國民小學名錄.csv"}, City: "高雄市", Zone: "kh.edu.tw"})
	if err != nil {
		t.Fatal(err)
	}
	loads(t, again)
}
