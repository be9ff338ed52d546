package onboard_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/onboard"
)

var lists = []string{"國民小學名錄.csv", "國民中學名錄.csv", "高級中等學校名錄.csv"}

func readLists(t *testing.T, city string) []onboard.Record {
	t.Helper()
	var all []onboard.Record
	for _, l := range lists {
		b, err := os.ReadFile(filepath.Join("testdata", l))
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := onboard.ReadCSV(l, b, city)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	return all
}

func TestReadCSVEncodingsAndColumns(t *testing.T) {
	for _, tc := range []struct {
		file, enc string
		rows      int
		first     onboard.Record
	}{
		{"國民小學名錄.csv", "UTF-8 (BOM)", 8, onboard.Record{File: "國民小學名錄.csv", List: "國小", Line: 2, Code: "583601", Name: "市立大同國小", Kind: "公立", City: "高雄市", URL: "http://www.ttps.kh.edu.tw", Year: "114"}},
		{"國民中學名錄.csv", "Big5", 4, onboard.Record{File: "國民中學名錄.csv", List: "國中", Line: 2, Code: "593601", Name: "市立大同國中", Kind: "公立", City: "高雄市", URL: "http://www.ttjh.kh.edu.tw"}},
		{"高級中等學校名錄.csv", "UTF-8", 4, onboard.Record{File: "高級中等學校名錄.csv", List: "高中", Line: 2, Code: "580301", Name: "市立高雄高中", Kind: "公立", City: "高雄市", URL: "http://www.kshs.kh.edu.tw"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, _ := os.ReadFile(filepath.Join("testdata", tc.file))
			recs, enc, err := onboard.ReadCSV(tc.file, b, "[64]高雄市")
			if err != nil {
				t.Fatal(err)
			}
			if enc != tc.enc || len(recs) != tc.rows {
				t.Errorf("encoding %s, %d rows; want %s, %d", enc, len(recs), tc.enc, tc.rows)
			}
			if d := cmp.Diff(tc.first, recs[0]); d != "" {
				t.Errorf("first row (-want +got):\n%s", d)
			}
		})
	}
	// The city filter matches with and without the [code] prefix; no
	// filter keeps the other city's school.
	for city, n := range map[string]int{"高雄市": 16, "[64]高雄市": 16, "": 17, "臺北市": 1, "台北市": 1} {
		if got := len(readLists(t, city)); got != n {
			t.Errorf("--city %q: %d rows, want %d", city, got, n)
		}
	}
}

func TestReadCSVRejectsWhatIsNotAList(t *testing.T) {
	for name, data := range map[string]string{
		"no header":   "a,b,c\n1,2,3\n",
		"binary":      "\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
		"missing url": "代碼,學校名稱,縣市名稱\n1,x,高雄市\n",
		"empty":       "",
	} {
		if _, _, err := onboard.ReadCSV(name+".csv", []byte(data), ""); err == nil || !strings.Contains(err.Error(), name+".csv") {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
}

func TestSuffix(t *testing.T) {
	for _, tc := range []struct{ url, suffix, reason string }{
		{"http://www.ttps.kh.edu.tw", "ttps.kh.edu.tw", ""},
		{"HTTPS://WWW.TTPS.KH.EDU.TW./x?y", "ttps.kh.edu.tw", ""},
		{"www.aihe.kh.edu.tw:8080/index.php", "aihe.kh.edu.tw", ""},
		{"http://web.deep.kh.edu.tw/home", "deep.kh.edu.tw", ""},
		{"http://163.16.1.2/", "", "IP address"},
		{"http://[2001:db8::1]/", "", "IP address"},
		{"http://www.haibian.org.tw", "", "not under kh.edu.tw"},
		{"http://www.kh.edu.tw", "", "city zone itself"},
		{"http://evilkh.edu.tw", "", "not under kh.edu.tw"},
		{"", "", "no web address"},
		{"http://a_b.kh.edu.tw", "", "not a DNS label"},
	} {
		s, r := onboard.Suffix(tc.url, "kh.edu.tw.")
		if s != tc.suffix || !strings.Contains(r, tc.reason) || (tc.reason == "") != (r == "") {
			t.Errorf("Suffix(%q) = %q, %q; want %q, reason with %q", tc.url, s, r, tc.suffix, tc.reason)
		}
	}
}

func TestBuildIDsAndOverrides(t *testing.T) {
	ov, err := onboard.ParseOverrides("overrides.yaml", []byte(`
"583603": {suffix: shanding.kh.edu.tw, dns: [163.16.1.2]}
"583604": {skip: true}
ttjh: {id: datong-jh}
"999999": {suffix: nowhere.kh.edu.tw}
`))
	if err != nil {
		t.Fatal(err)
	}
	es, notes := onboard.Build(readLists(t, "高雄市"), "kh.edu.tw", ov)
	onboard.AssignIDs(es, map[string]bool{})
	got := map[string]string{}
	for _, e := range es {
		if e.Written() {
			got[e.Code] = e.ID + " " + e.Suffix
		} else {
			got[e.Code] = "# " + e.Reason
		}
	}
	want := map[string]string{
		"583601": "ttps ttps.kh.edu.tw",
		"583602": "xsps xsps.kh.edu.tw",
		"583603": "shanding shanding.kh.edu.tw",
		"583604": "# skip: true in the overrides file (key 583604)",
		"583605": "# no web address (網址) in the list",
		"583606": "aihe aihe.kh.edu.tw",
		"583607": "deep deep.kh.edu.tw",
		"583608": "comma comma.kh.edu.tw",
		"593601": "datong-jh ttjh.kh.edu.tw",
		"593602": "# the suffix ttps.kh.edu.tw is already that of 代碼 583601 市立大同國小, written as a school; if this school's PCs get a suffix of their own, set it in the overrides file (key 593602)",
		"593603": `# 網址 "http://www.catholic.edu.tw" is not under kh.edu.tw`,
		"593604": "twjh twjh.kh.edu.tw",
		"580301": "kshs kshs.kh.edu.tw",
		"581301": "csh csh.kh.edu.tw",
		"581302": "# the suffix kshs.kh.edu.tw is already that of 代碼 580301 市立高雄高中, written as a school; if this school's PCs get a suffix of their own, set it in the overrides file (key 581302)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "583601 is listed again") || !strings.Contains(notes[1], `"999999" matches no school`) {
		t.Errorf("notes: %q", notes)
	}
}

func TestParseOverridesErrors(t *testing.T) {
	for src, want := range map[string]string{
		`abc: {suffx: a.kh.edu.tw}`: "field suffx not found",
		`abc: {suffix: "a b"}`:      `suffix "a b"`,
		`abc: {id: "Bad_ID"}`:       `id "Bad_ID"`,
		`abc: {dns: [ns1.example]}`: `dns "ns1.example"`,
		"abc: [1, 2]":               "cannot unmarshal",
	} {
		_, err := onboard.ParseOverrides("ov.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "ov.yaml") {
			t.Errorf("%s: err = %v, want it to name the file and %q", src, err, want)
		}
	}
}

// loads runs the real config loader on a written file: init must never
// write what validate refuses, nor what it warns about (validate exits 1
// on a warning), such as two schools with one suffix.
func loads(t *testing.T, b []byte) *config.Config {
	t.Helper()
	c, err := config.Parse("schools.yaml", b)
	if err != nil {
		t.Fatalf("the written file does not load:\n%v\n%s", err, b)
	}
	for _, w := range c.Warnings {
		t.Errorf("validate warns about the written file: %v", w)
	}
	return c
}

func TestRenderGolden(t *testing.T) {
	es, _ := onboard.Build(readLists(t, "高雄市"), "kh.edu.tw", nil)
	out, err := onboard.Render(es, onboard.Meta{Sources: lists, City: "高雄市", Zone: "kh.edu.tw"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "schools.golden.yaml", out)
	c := loads(t, out)
	var ids []string
	for _, s := range c.Schools {
		ids = append(ids, s.ID)
	}
	// 新興國中 and 前鎮高中 share 網址 hosts with 大同國小 and 高雄高中:
	// one school per suffix is written, the other is a comment.
	if slices.Contains(ids, "ttps-593602") || !slices.Contains(ids, "ttps") || len(c.Schools) != 9 {
		t.Errorf("schools %v", ids)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}
