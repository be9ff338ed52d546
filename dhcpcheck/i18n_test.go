package dhcpcheck

import (
	"errors"
	"net"
	"testing"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n/i18ntest"
)

// Every finding of the DHCP leg has a message id present in both locale
// files, and the English template filled with its Args is its Message
// (and the remedy's its Remedy).
func TestMessageIDs(t *testing.T) {
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
	i18ntest.CheckFindings(t, "dhcp", fs)
}
