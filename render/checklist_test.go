package render

import (
	"bytes"
	"strings"
	"testing"
)

func TestChecklistGolden(t *testing.T) {
	r, _ := fixture()
	s := ChecklistSchool{ID: "demo-jh", Name: "示範國中", Suffix: "demo-jh.kh.edu.tw", DNS: []string{"10.1.2.3:53"}, KMSHost: "ap24.kh.edu.tw", KMSPort: 1688}
	for _, lang := range Langs {
		for _, format := range []string{"markdown", "html"} {
			var b bytes.Buffer
			if err := WriteChecklists(&b, []ChecklistSchool{s}, r, Options{Format: format, Lang: lang}); err != nil {
				t.Fatal(err)
			}
			ext := map[string]string{"markdown": "md", "html": "html"}[format]
			golden(t, "checklist."+lang+"."+ext, b.Bytes())
			out := b.String()
			for _, want := range []string{"nslookup -type=srv _vlmcs._tcp.demo-jh.kh.edu.tw 10.1.2.3", "slmgr /dlv", "slmgr /xpr", "w32tm /query /status",
				"cscript ospp.vbs /dstatus", "slmgr /ckms", "cscript ospp.vbs /remhst", "0xC004F074", "0xC004F038", "0xC004F06C", "0x8007232B", "0xC004F042",
				"NXDOMAIN for _vlmcs._tcp.demo-jh.kh.edu.tw"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s %s checklist lacks %q", lang, format, want)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := WriteChecklists(&b, []ChecklistSchool{s}, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "kmsprobe audit --school demo-jh") {
		t.Error("without a report the checklist does not say how to get one")
	}
	if err := WriteChecklists(&b, []ChecklistSchool{s}, nil, Options{Format: "csv"}); err == nil {
		t.Error("csv accepted for a checklist")
	}
}

func TestFailingChecklists(t *testing.T) {
	r, _ := fixture()
	att, err := FailingChecklists(r, nil, Options{Lang: Chinese})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range att {
		names = append(names, a.Name)
		if !strings.Contains(string(a.Body), "KMS 認證檢查清單") {
			t.Errorf("%s is not the zh-TW checklist", a.Name)
		}
	}
	if got := strings.Join(names, ","); got != "checklist-demo-jh.html,checklist-new-hs.html" {
		t.Errorf("attachments %s, want the two failing schools", got)
	}
}

// TestChecklistNslookupPort: a DNS server that listens elsewhere than 53
// is asked on its port, or the teacher's nslookup asks nobody.
func TestChecklistNslookupPort(t *testing.T) {
	for _, tc := range []struct {
		dns, resolvers []string
		want           string
	}{
		{[]string{"127.0.9.1:5353"}, nil, "nslookup -port=5353 -type=srv _vlmcs._tcp.good.test 127.0.9.1\n"},
		{[]string{"10.1.2.3:53"}, nil, "nslookup -type=srv _vlmcs._tcp.good.test 10.1.2.3\n"},
		{[]string{"10.1.2.3"}, nil, "nslookup -type=srv _vlmcs._tcp.good.test 10.1.2.3\n"},
		{nil, []string{"[::1]:15353"}, "nslookup -port=15353 -type=srv _vlmcs._tcp.good.test ::1\n"},
		{nil, []string{"::1"}, "nslookup -type=srv _vlmcs._tcp.good.test ::1\n"},
	} {
		s := ChecklistSchool{ID: "good", Suffix: "good.test", DNS: tc.dns, Resolvers: tc.resolvers, KMSHost: "kms.test", KMSPort: 1688}
		for _, format := range []string{"markdown", "html"} {
			var b bytes.Buffer
			if err := WriteChecklists(&b, []ChecklistSchool{s}, nil, Options{Format: format}); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if format == "html" {
				want = strings.TrimSuffix(want, "\n") + "</pre>"
			}
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s %v %v: checklist lacks %q", format, tc.dns, tc.resolvers, want)
			}
		}
	}
}
