package onboard_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/onboard"
)

// FuzzReadCSV feeds arbitrary bytes as a Ministry list. Invariants: no
// panic; every school that would be written has a name and a valid suffix
// under the zone, every other one a reason; and what Render writes from
// them loads with the real config loader whenever it holds a school.
func FuzzReadCSV(f *testing.F) {
	for _, l := range lists {
		b, err := os.ReadFile(filepath.Join("testdata", l))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("代碼,學校名稱,縣市名稱,網址\n1,\"a\nb\",高雄市,http://x.kh.edu.tw\n2,#c: d,高雄市,http://www.-x.kh.edu.tw\n"))
	f.Add([]byte("代碼,學校名稱,縣市名稱,網址\n\xa4\xa4,\xb0\xaa,高雄市,http://[::1]:80/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := onboard.ReadCSV("fuzz.csv", data, "")
		if err != nil {
			return
		}
		es, _ := onboard.Build(recs, "kh.edu.tw", nil)
		onboard.AssignIDs(es, map[string]bool{})
		written := 0
		for _, e := range es {
			if !e.Written() {
				if e.Reason == "" {
					t.Fatalf("row %d: neither written nor a reason", e.Line)
				}
				continue
			}
			written++
			if strings.TrimSpace(e.Name) == "" || !strings.HasSuffix(e.Suffix, ".kh.edu.tw") || strings.Count(e.Suffix, ".") != 3 {
				t.Fatalf("row %d written with name %q suffix %q", e.Line, e.Name, e.Suffix)
			}
		}
		out, err := onboard.Render(es, onboard.Meta{Sources: []string{"fuzz.csv"}, Zone: "kh.edu.tw"})
		if err != nil {
			t.Fatal(err)
		}
		if written > 0 {
			if _, err := config.Parse("fuzz.yaml", out); err != nil {
				t.Fatalf("written file does not load: %v\n%s", err, out)
			}
		}
	})
}
