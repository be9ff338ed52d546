package onboard

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
)

// Record is one row of a Ministry school list.
type Record struct {
	File string // base name, for messages and comments
	// List is the kind of list the row came from, told by its header:
	// 國小 (it has 學年度), 高中 (it has 備註), else 國中. A merge only
	// drops a school when its kind of list was read again.
	List string
	Line int    // 1-based line of the row
	Code string // 代碼: the Ministry's school code, stable across years
	Name string // 學校名稱
	Kind string // 公/私立
	City string // 縣市名稱 without its [code] prefix
	URL  string // 網址 as written
	Year string // 學年度 (elementary list only)
	Note string // 備註 (senior-high list only)
}

// Column names of the Ministry's lists. Only these matter; any other
// column (地址, 電話, ...) is ignored, and their order is read from the
// header.
const (
	colCode = "代碼"
	colName = "學校名稱"
	colKind = "公/私立"
	colCity = "縣市名稱"
	colURL  = "網址"
	colYear = "學年度"
	colNote = "備註"
)

var required = []string{colCode, colName, colCity, colURL}

// maxRows bounds what one file may make us hold: the whole country has
// about 4,000 schools.
const maxRows = 100000

// Decode turns a file's bytes into UTF-8 text: UTF-8 with or without a
// byte-order mark as it is, anything else as Big5 (the Ministry's older
// downloads and Excel on a zh-TW Windows). The encoding is named for the
// summary.
func Decode(data []byte) (string, string, error) {
	if b, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		if !utf8.Valid(b) {
			return "", "", errors.New("the file starts with a UTF-8 byte-order mark but is not UTF-8; save it again as UTF-8")
		}
		return string(b), "UTF-8 (BOM)", nil
	}
	if utf8.Valid(data) {
		return string(data), "UTF-8", nil
	}
	out, err := traditionalchinese.Big5.NewDecoder().Bytes(data)
	if err != nil {
		return "", "", fmt.Errorf("neither UTF-8 nor Big5 (%v); save it again as UTF-8 CSV", err)
	}
	return string(out), "Big5", nil
}

// ReadCSV reads one Ministry list. name is used in messages. Rows of
// other cities are left out when city is not empty.
func ReadCSV(name string, data []byte, city string) ([]Record, string, error) {
	text, enc, err := Decode(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = false
	var cols map[string]int
	var out []Record
	want := cityKey(city)
	for rows := 0; ; rows++ {
		if rows > maxRows {
			return nil, enc, fmt.Errorf("%s: more than %d rows; is this a school list?", name, maxRows)
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, enc, fmt.Errorf("%s:%d: not CSV: %v; export the list again as CSV", name, line, err)
		}
		if cols == nil {
			// The header is the first row naming the columns we need;
			// a title line above it is tolerated.
			if c := headerCols(rec); c != nil {
				cols = c
			} else if rows >= 5 {
				return nil, enc, fmt.Errorf("%s: no header row with the columns %s in the first rows; is this the Ministry's school list?", name, strings.Join(required, ", "))
			}
			continue
		}
		get := func(col string) string {
			i, ok := cols[col]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		rc := Record{File: name, Line: line, List: listKind(cols), Code: get(colCode), Name: get(colName), Kind: get(colKind),
			City: stripCityCode(get(colCity)), URL: get(colURL), Year: get(colYear), Note: get(colNote)}
		if want != "" && cityKey(rc.City) != want {
			continue
		}
		out = append(out, rc)
	}
	if cols == nil {
		return nil, enc, fmt.Errorf("%s: no header row with the columns %s; is this the Ministry's school list?", name, strings.Join(required, ", "))
	}
	return out, enc, nil
}

func headerCols(rec []string) map[string]int {
	cols := map[string]int{}
	for i, h := range rec {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			return nil
		}
	}
	return cols
}

// Kinds of Ministry list.
const (
	ListElementary = "國小"
	ListJunior     = "國中"
	ListSenior     = "高中"
)

func listKind(cols map[string]int) string {
	if _, ok := cols[colYear]; ok {
		return ListElementary
	}
	if _, ok := cols[colNote]; ok {
		return ListSenior
	}
	return ListJunior
}

var cityCode = regexp.MustCompile(`^\s*\[[^\]]*\]\s*`)

func stripCityCode(s string) string { return cityCode.ReplaceAllString(s, "") }

// cityKey makes 高雄市, [64]高雄市 and 台/臺 spellings compare equal.
func cityKey(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(stripCityCode(s)), "台", "臺")
}

// Suffix derives a school's DNS suffix from its web address: the host
// (scheme, port, path, a leading www. and case removed) when it is under
// zone, cut to the one label below zone — the school's own zone, as the
// city delegates it (web.abc.kh.edu.tw -> abc.kh.edu.tw). Otherwise it
// returns the reason the suffix cannot be derived, for the admin.
func Suffix(raw, zone string) (suffix, reason string) {
	s, r, _ := suffixReason(raw, zone)
	return s, r.String()
}

// suffixReason is Suffix with the reason as a message id, and the host
// when the suffix was cut from a longer one (web.abc.kh.edu.tw), which the
// admin must be told: the cut is a rule, but the rule can be wrong for a
// school whose PCs get the longer name.
func suffixReason(raw, zone string) (suffix string, why Reason, cutFrom string) {
	zone = dnsname.Canonical(zone)
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "-" || raw == "無" {
		return "", newReason("init.reason.no_url"), ""
	}
	u := raw
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	p, err := url.Parse(u)
	if err != nil || p.Hostname() == "" {
		return "", newReason("init.reason.bad_url", "URL", raw), ""
	}
	host := dnsname.Canonical(p.Hostname())
	full := host
	if _, err := netip.ParseAddr(host); err == nil {
		return "", newReason("init.reason.ip", "URL", raw, "Zone", zone), ""
	}
	host = strings.TrimPrefix(host, "www.")
	if host == zone {
		return "", newReason("init.reason.city_zone", "URL", raw), ""
	}
	if !strings.HasSuffix(host, "."+zone) {
		return "", newReason("init.reason.other_domain", "URL", raw, "Zone", zone), ""
	}
	labels := strings.Split(strings.TrimSuffix(host, "."+zone), ".")
	school := labels[len(labels)-1]
	if !validLabel(school) {
		return "", newReason("init.reason.bad_label", "URL", raw, "Label", school), ""
	}
	if len(labels) > 1 {
		cutFrom = full
	}
	return school + "." + zone, Reason{}, cutFrom
}

var labelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validLabel(s string) bool { return labelRe.MatchString(s) }

// idRe is what schools.yaml accepts as an id.
var idRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// IDFrom is the id a suffix gives: its first label.
func IDFrom(suffix string) string {
	id, _, _ := strings.Cut(dnsname.Canonical(suffix), ".")
	return id
}
