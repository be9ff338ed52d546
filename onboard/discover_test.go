package onboard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/delegation/delegationtest"
	"github.com/kh-edu/kmsprobe/onboard"
)

func TestDiscoverOwnServersOnly(t *testing.T) {
	cache := []string{
		"kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "dns1.kh.edu.tw. 3600 IN A 127.0.0.10",
		// a school with its own pair, one of them IPv6 too
		"own.kh.edu.tw. 3600 IN NS ns1.own.kh.edu.tw.", "own.kh.edu.tw. 3600 IN NS ns2.own.kh.edu.tw.",
		"ns1.own.kh.edu.tw. 3600 IN A 127.0.0.21", "ns2.own.kh.edu.tw. 3600 IN A 127.0.0.22", "ns2.own.kh.edu.tw. 3600 IN AAAA ::1",
		// a school whose zone the city's server hosts, under another name of it
		"hosted.kh.edu.tw. 3600 IN NS dns-alias.kh.edu.tw.", "dns-alias.kh.edu.tw. 3600 IN A 127.0.0.10",
		// a school on a provider's server that only it uses
		"prov.kh.edu.tw. 3600 IN NS ns.school-isp.example.", "ns.school-isp.example. 3600 IN A 127.0.0.30",
		// a name that exists but is no zone
		"flat.kh.edu.tw. 3600 IN A 192.0.2.1",
		"ns.bighost.example. 3600 IN A 127.0.0.40",
		// an own name server without an address
		"noaddr.kh.edu.tw. 3600 IN NS ns.noaddr.kh.edu.tw.",
	}
	var es []onboard.Entry
	add := func(id string) {
		es = append(es, onboard.Entry{Record: onboard.Record{Code: id, Name: id}, Suffix: id + ".kh.edu.tw"})
	}
	for _, id := range []string{"own", "hosted", "prov", "flat", "gone", "noaddr"} {
		add(id)
	}
	for i := range onboard.SharedLimit + 1 {
		id := fmt.Sprintf("big%d", i)
		cache = append(cache, id+".kh.edu.tw. 3600 IN NS ns.bighost.example.")
		add(id)
	}
	es = append(es, onboard.Entry{Record: onboard.Record{Code: "fixed", Name: "fixed"}, Suffix: "own.kh.edu.tw", DNS: []string{"10.9.9.9"}, DNSFixed: true})
	n := delegationtest.Start(t, &delegationtest.Host{IP: "127.0.0.2", Cache: cache})

	var last int
	err := onboard.Discover(context.Background(), es, onboard.DiscoverOptions{
		Zone: "kh.edu.tw", Resolvers: []string{n.Addr("127.0.0.2")},
		Client:   delegation.Client{Timeout: 500 * time.Millisecond, Attempts: 2},
		Progress: func(done, total int) { last = total },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range es {
		got[e.Code] = strings.Join(e.DNS, ",") + " | " + strings.Join(e.Notes, "; ")
	}
	want := map[string]string{
		"own":    "127.0.0.21,127.0.0.22,::1 | discover: own name servers ns1.own.kh.edu.tw (127.0.0.21), ns2.own.kh.edu.tw (127.0.0.22, ::1)",
		"hosted": " | discover: shared name servers dns-alias.kh.edu.tw (the city's) not listed; dns: left empty, the city resolvers are asked",
		"prov":   "127.0.0.30 | discover: own name servers ns.school-isp.example (127.0.0.30)",
		"flat":   " | discover: flat.kh.edu.tw is not a zone of its own (no NS records): its names live in kh.edu.tw; dns: left empty",
		"gone":   " | discover: gone.kh.edu.tw does not exist (NXDOMAIN); check the suffix; dns: left empty",
		"noaddr": " | discover: no address for ns.noaddr.kh.edu.tw; dns: left empty, the city resolvers are asked",
		"fixed":  "10.9.9.9 | ",
	}
	for i := range onboard.SharedLimit + 1 {
		want[fmt.Sprintf("big%d", i)] = fmt.Sprintf(" | discover: shared name servers ns.bighost.example (listed by %d schools) not listed; dns: left empty, the city resolvers are asked", onboard.SharedLimit+1)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("discovery (-want +got):\n%s", d)
	}
	if last != len(es)-1 {
		t.Errorf("progress total %d, want %d", last, len(es)-1)
	}
}

func TestDiscoverWithoutCityNameServersIsAnError(t *testing.T) {
	n := delegationtest.Start(t, &delegationtest.Host{IP: "127.0.0.2", Cache: []string{"x.example. 1 IN A 192.0.2.1"}})
	err := onboard.Discover(context.Background(), nil, onboard.DiscoverOptions{Zone: "kh.edu.tw", Resolvers: []string{n.Addr("127.0.0.2")}})
	if err == nil || !strings.Contains(err.Error(), "--resolver") {
		t.Fatalf("err = %v", err)
	}
}
