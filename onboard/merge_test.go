package onboard_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/onboard"
)

func TestMergeKeepsTheAdminsEdits(t *testing.T) {
	meta := onboard.Meta{Sources: lists, City: "高雄市", Zone: "kh.edu.tw"}
	es, _ := onboard.Build(readLists(t, "高雄市"), "kh.edu.tw", nil)
	first, err := onboard.Render(es, meta)
	if err != nil {
		t.Fatal(err)
	}
	// The admin's year of edits: an id renamed, a name shortened, a
	// comment, dns for one school, a unit written by hand, and a fixed
	// school that init had left commented out.
	edited := strings.NewReplacer(
		"  - id: ttps\n", "  # the admin's note on 大同\n  - id: datong-es\n",
		"    name: 市立新興國小\n", "    name: 新興國小\n",
		"    suffix: aihe.kh.edu.tw\n", "    suffix: aihe.kh.edu.tw\n    dns: [10.6.0.1]\n",
	).Replace(string(first))
	edited = strings.Replace(edited, "schools:\n", "schools:\n  - id: edu-bureau   # written by hand\n    name: 教育局\n    suffix: kh.edu.tw\n", 1)
	loads(t, []byte(edited))

	// Next year: 新興國小 (583602) closed, a new school opened, 山頂國小
	// got a suffix through the overrides, discovery found servers.
	recs := readLists(t, "高雄市")
	recs = slices.DeleteFunc(recs, func(r onboard.Record) bool { return r.Code == "583602" })
	recs = append(recs, onboard.Record{File: "國民小學名錄.csv", List: "國小", Line: 99, Code: "583609", Name: "市立新開國小", Kind: "公立", City: "高雄市", URL: "http://www.xinkai.kh.edu.tw"})
	ov := onboard.Overrides{"583603": {Suffix: "shanding.kh.edu.tw"}}
	es2, _ := onboard.Build(recs, "kh.edu.tw", ov)
	for i := range es2 {
		switch es2[i].Code {
		case "583607":
			es2[i].DNS = []string{"10.7.0.1"}
		case "583606":
			es2[i].DNS = []string{"10.6.0.2"}
		}
	}
	out, ch, err := onboard.Merge([]byte(edited), es2, meta)
	if err != nil {
		t.Fatal(err)
	}
	c := loads(t, out)
	s := string(out)

	want := onboard.Changes{
		Added: []string{"shanding (代碼 583603, shanding.kh.edu.tw)", "xinkai (代碼 583609, xinkai.kh.edu.tw)"},
		Changed: []string{
			"aihe (代碼 583606): discovery found dns 10.6.0.2, the file has 10.6.0.1 (kept)",
			"deep (代碼 583607): dns filled from discovery: 10.7.0.1",
		},
		Dropped: []string{"xsps (代碼 583602)"},
		Kept:    1,
	}
	if d := cmp.Diff(want, ch); d != "" {
		t.Errorf("changes (-want +got):\n%s\n%s", d, s)
	}
	for _, keep := range []string{"# the admin's note on 大同\n  # 代碼 583601", "- id: datong-es", "- id: edu-bureau # written by hand", "dns: [10.6.0.1]", "dns: [10.7.0.1]",
		"# dropped by kmsprobe init: 代碼 583602", "#     name: 新興國小"} {
		if !strings.Contains(s, keep) {
			t.Errorf("merged file lacks %q:\n%s", keep, s)
		}
	}
	if strings.Count(s, "---- kmsprobe init: schools not written") != 1 || strings.Contains(s, "代碼 583603 市立山頂國小") {
		t.Errorf("the block of unwritten schools was not renewed:\n%s", s)
	}
	if _, ok := c.School("ttps"); ok {
		t.Error("the admin's renamed id was replaced")
	}

	// Merging the same lists again changes nothing.
	again, ch2, err := onboard.Merge(out, es2, meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch2.Added)+len(ch2.Dropped) != 0 || string(again) != s {
		t.Errorf("a second merge is not a no-op: %+v\n%s", ch2, cmp.Diff(s, string(again)))
	}
}

func TestMergeOfOneListKeepsTheOthers(t *testing.T) {
	meta := onboard.Meta{Sources: lists, City: "高雄市", Zone: "kh.edu.tw"}
	es, _ := onboard.Build(readLists(t, "高雄市"), "kh.edu.tw", nil)
	first, err := onboard.Render(es, meta)
	if err != nil {
		t.Fatal(err)
	}
	elementary := slices.DeleteFunc(readLists(t, "高雄市"), func(r onboard.Record) bool { return r.List != "國小" })
	es2, _ := onboard.Build(elementary, "kh.edu.tw", nil)
	out, ch, err := onboard.Merge(first, es2, meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Dropped) != 0 || ch.OtherLists != 4 || len(loads(t, out).Schools) != 9 {
		t.Errorf("merging the elementary list alone: %+v", ch)
	}
}

func TestMergeRefusesWhatIsNotASchoolsFile(t *testing.T) {
	for _, src := range []string{"version: 1\nschools: [\n", "- a\n- b\n", "schools: 5\n"} {
		if _, _, err := onboard.Merge([]byte(src), nil, onboard.Meta{Zone: "kh.edu.tw"}); err == nil {
			t.Errorf("%q merged", src)
		}
	}
}
