package dhcpcheck

import (
	"errors"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/kh-edu/kmsprobe/finding"
)

// catalog reads the ids and English templates of a locale file.
func catalog(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../i18n/locales/dhcp." + lang + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile(`(?m)^\["([^"]+)"\]\nother = "((?:[^"\\]|\\.)*)"`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = strings.NewReplacer(`\n`, "\n", `\"`, `"`).Replace(m[2])
	}
	return out
}

// Every finding of the DHCP leg has a message id present in both locale
// files, and the English template filled with its Args is its Message.
func TestMessageIDs(t *testing.T) {
	en, zh := catalog(t, "en"), catalog(t, "zh-TW")
	exp := baseExpect
	exp.KMSHost = kmsHost
	var fs []finding.Finding
	views := []View{
		{},
		{Offers: []Offer{campusOffer(school)}},
		{Offers: []Offer{campusOffer("kh.edu.tw"), rogueOffer()}},
		{Offers: []Offer{offer119(school, "kh.edu.tw")}},
		{Offers: []Offer{campusOffer("")}},
		{Adverts: []RouterAdvert{{Source: net.ParseIP(router), RDNSS: []net.IP{net.ParseIP(v6DNS)}}}},
	}
	srv := results(good(DNSAddr(net.ParseIP(schoolDNS)), school), nx(DNSAddr(net.ParseIP(schoolDNS)), "kh.edu.tw"))
	for _, v := range views {
		fs = append(fs, Judge(v, exp)...)
		fs = append(fs, JudgeDNS(v, exp, srv), JudgeSearch(v, exp, srv))
	}
	fs = append(fs, ErrorFindings("eth1", ErrPermission)...)
	fs = append(fs, ErrorFindings("eth1", errors.New("no such interface"))...)
	for _, f := range fs {
		for _, id := range []string{f.ID, f.RemedyID} {
			if id == "" {
				continue
			}
			if _, ok := en[id]; !ok {
				t.Errorf("%s: id %q missing from dhcp.en.toml", f.Check, id)
			}
			if _, ok := zh[id]; !ok {
				t.Errorf("%s: id %q missing from dhcp.zh-TW.toml", f.Check, id)
			}
		}
		if f.ID == "" {
			t.Errorf("%s %v %q has no message id", f.Check, f.Status, f.Message)
			continue
		}
		if (f.Remedy == "") != (f.RemedyID == "") {
			t.Errorf("%s: remedy %q but remedy id %q", f.ID, f.Remedy, f.RemedyID)
		}
		tpl, err := template.New(f.ID).Option("missingkey=error").Parse(en[f.ID])
		if err != nil {
			t.Fatalf("%s: %v", f.ID, err)
		}
		var sb strings.Builder
		if err := tpl.Execute(&sb, f.Args); err != nil {
			t.Errorf("%s: template needs an argument the finding lacks: %v", f.ID, err)
			continue
		}
		if sb.String() != f.Message {
			t.Errorf("%s: English template gives\n  %q\nbut the message is\n  %q", f.ID, sb.String(), f.Message)
		}
	}
}
