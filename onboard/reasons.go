package onboard

import (
	"fmt"
	"strings"
	"text/template"
)

// Reasons are the English templates of why a school is not written, by
// message id; i18n/locales/init.*.toml translate them. Entry.Reason is
// the English text, Entry.ReasonID and ReasonArgs let a renderer choose
// the language.
var Reasons = map[string]string{
	"init.reason.no_url":       "no web address (網址) in the list",
	"init.reason.bad_url":      `網址 "{{.URL}}" is not a web address`,
	"init.reason.ip":           `網址 "{{.URL}}" is an IP address, not a name under {{.Zone}}`,
	"init.reason.city_zone":    `網址 "{{.URL}}" is the city zone itself, not a school's`,
	"init.reason.other_domain": `網址 "{{.URL}}" is not under {{.Zone}}`,
	"init.reason.bad_label":    `網址 "{{.URL}}" gives "{{.Label}}", not a DNS label`,
	"init.reason.no_name":      "no school name (學校名稱) in the list",
	"init.reason.no_code":      "no school code (代碼) in the list",
	"init.reason.skipped":      "skip: true in the overrides file (key {{.Key}})",
	"init.reason.no_id":        "the suffix {{.Suffix}} gives no usable id; set id in the overrides file (key {{.Code}})",
	"init.reason.same_suffix":  "the suffix {{.Suffix}} is already that of {{.Other}}, written as a school; if this school's PCs get a suffix of their own, set it in the overrides file (key {{.Code}})",
}

var reasonTemplates = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for id, t := range Reasons {
		m[id] = template.Must(template.New(id).Option("missingkey=error").Parse(t))
	}
	return m
}()

// Reason is one reason with its arguments.
type Reason struct {
	ID   string
	Args map[string]string
}

func newReason(id string, kv ...string) Reason {
	r := Reason{ID: id}
	if len(kv) > 0 {
		r.Args = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Args[kv[i]] = oneLine(kv[i+1])
		}
	}
	return r
}

// String is the English text.
func (r Reason) String() string {
	if r.ID == "" {
		return ""
	}
	var b strings.Builder
	if err := reasonTemplates[r.ID].Execute(&b, r.Args); err != nil {
		panic(fmt.Sprintf("onboard: reason %s: %v", r.ID, err)) // a programming error every test catches
	}
	return b.String()
}

func (e *Entry) setReason(r Reason) {
	e.Reason, e.ReasonID, e.ReasonArgs = r.String(), r.ID, r.Args
}
