package dnscheck_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/dnscheck/dnstest"
	"github.com/kh-edu/kmsprobe/finding"
)

// maxWords is what one finding may put in a table cell or a Nagios line:
// a hostile answer must not make a report unreadable.
const maxWords = 1024

func checkBounded(t *testing.T, f finding.Finding) {
	t.Helper()
	for what, s := range map[string]string{"message": f.Message, "remedy": f.Remedy, "short": f.Short} {
		if len(s) >= maxWords {
			t.Errorf("%s %s is %d bytes (want < %d): %.200s…", f.ID, what, len(s), maxWords, s)
		}
	}
	for k, v := range f.Args {
		if len(v) >= maxWords {
			t.Errorf("%s argument %s is %d bytes", f.ID, k, len(v))
		}
	}
}

// manyTargets are n SRV records of the school's name, each to its own
// target with the KMS port.
func manyTargets(n, port int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = srvLine(fmt.Sprintf("t%04d.example", i), port)
	}
	return lines
}

// TestMessagesAreBounded: 1,700 SRV targets (they come over TCP) give
// messages and remedies that fit a table cell, naming a few and counting
// the rest; the evidence still names every target that was not followed,
// and the consistency evidence bounds each record set, saying how many
// records it left out.
func TestMessagesAreBounded(t *testing.T) {
	many := manyTargets(1700, 1688)
	hostile := dnstest.Start(t, dnstest.Behaviour{}, many...)
	a := askAt(hostile.Addr, dnscheck.SRVName(suffix), dns.TypeSRV)
	if a.Transport != "tcp" || len(dnscheck.SRVRecords(a)) != 1700 {
		t.Fatalf("want 1,700 records over TCP, got %d over %s (%s)", len(dnscheck.SRVRecords(a)), a.Transport, a.Fail)
	}

	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, client.Timeout)
	checkIDs(t, f)
	checkBounded(t, f)
	if f.ID != "dns.srv.other_target" || !strings.Contains(f.Message, "t0000.example") || !strings.Contains(f.Message, "and 1695 more") {
		t.Errorf("want a few targets named and the rest counted: %s %s", f.ID, f.Message)
	}
	ev, _ := dnscheck.SRVEvidenceOf(f)
	if len(ev.Records) != 1700 || len(ev.NotFollowed) != 1700-dnscheck.MaxTargets {
		t.Errorf("evidence has %d records, %d not followed: the evidence keeps the full lists", len(ev.Records), len(ev.NotFollowed))
	}
	for _, name := range []string{"t1699.example", fmt.Sprintf("t%04d.example", dnscheck.MaxTargets)} {
		found := false
		for _, nf := range ev.NotFollowed {
			found = found || nf == name
		}
		if !found {
			t.Errorf("evidence does not name %s as not followed", name)
		}
	}

	own := dnscheck.SRVName(suffix)
	for _, tc := range []struct {
		name string
		a    dnscheck.Answer
		id   string
		more string
	}{
		{"extra", built(srvQ, dns.RcodeSuccess, append(manyTargets(1700, 1688), srvAt(own, kmsHost, 1688))...), "dns.srv.extra", "and 1695 more"},
		{"wrong port", built(srvQ, dns.RcodeSuccess, manyTargets(1700, 1689)...), "dns.srv.wrong_port", "and 1695 more"},
		{"other owner", built(srvQ, dns.RcodeSuccess, func() []string {
			l := manyTargets(1700, 1688)
			for i := range l {
				l[i] = strings.Replace(l[i], "school.example", "other.example", 1)
			}
			return l
		}()...), "dns.srv.foreign_only", "and 1695 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := dnscheck.JudgeSRV(tc.a, suffix, exp, dnscheck.SchoolDNS, time.Second)
			checkIDs(t, f)
			checkBounded(t, f)
			if f.ID != tc.id || !strings.Contains(f.Message, tc.more) {
				t.Errorf("%s: %s", f.ID, f.Message)
			}
		})
	}

	// A target with 1,700 addresses, none the KMS host's.
	var addrs []string
	for i := range 1700 {
		addrs = append(addrs, fmt.Sprintf("t0000.example. 300 IN A 192.0.%d.%d", 2+i/250, 1+i%250))
	}
	tq := dnscheck.NewQuery("127.0.0.1:53", "t0000.example", dns.TypeA)
	tgt := dnscheck.JudgeTarget("127.0.0.1:53", "t0000.example", built(tq, dns.RcodeSuccess, addrs...),
		built(dnscheck.NewQuery("127.0.0.1:53", "t0000.example", dns.TypeAAAA), dns.RcodeSuccess), exp, []net.IP{net.ParseIP("198.51.100.1")})
	checkIDs(t, tgt)
	checkBounded(t, tgt)
	if tev, _ := dnscheck.TargetEvidenceOf(tgt); len(tev.Addresses) != 1700 || !strings.Contains(tgt.Message, "and 1695 more") {
		t.Errorf("target: evidence %d addresses, message %s", len(tev.Addresses), tgt.Message)
	}

	// Consistency: the hostile server against one with the right record,
	// and a cache that kept the hostile set.
	right := dnstest.Start(t, dnstest.Behaviour{}, srvLine(kmsHost, 1688))
	as := []dnscheck.Answer{a, askAt(right.Addr, own, dns.TypeSRV), a}
	as[2].Query.Server = "127.0.0.2:53" // same answer, another server: no packet is sent
	roles := []dnscheck.Role{dnscheck.SchoolDNS, dnscheck.SchoolDNS, dnscheck.CityResolver}
	c := dnscheck.JudgeConsistency("school", exp, as, roles)
	checkIDs(t, c)
	checkBounded(t, c)
	if c.ID != "dns.consistency.stale" || !strings.Contains(c.Message, hostile.Addr) {
		t.Errorf("consistency: %s %s", c.ID, c.Message)
	}
	cev, _ := dnscheck.ConsistencyEvidenceOf(c)
	if set := cev.Sets[hostile.Addr]; len(set) > 4096 || !strings.Contains(set, "more") || !strings.Contains(set, "t0000.example") {
		t.Errorf("consistency evidence set is %d bytes: %.300s", len(set), set)
	}
	// No reference: every group is named, each bounded.
	as[1] = built(dnscheck.NewQuery(right.Addr, own, dns.TypeSRV), dns.RcodeSuccess, manyTargets(1699, 1688)...)
	d := dnscheck.JudgeConsistency("school", exp, as, roles)
	checkIDs(t, d)
	checkBounded(t, d)
	if d.ID != "dns.consistency.differ" {
		t.Errorf("consistency without reference: %s %s", d.ID, d.Message)
	}
}

// TestManyServersAreBounded: a school with many servers that disagree
// names a few of them in its message and remedy.
func TestManyServersAreBounded(t *testing.T) {
	own := dnscheck.SRVName(suffix)
	var as []dnscheck.Answer
	var roles []dnscheck.Role
	as = append(as, built(dnscheck.NewQuery("10.0.0.1:53", own, dns.TypeSRV), dns.RcodeSuccess, srvAt(own, kmsHost, 1688)))
	roles = append(roles, dnscheck.SchoolDNS)
	for i := range 200 {
		as = append(as, built(dnscheck.NewQuery(fmt.Sprintf("10.9.%d.%d:53", i/250, 1+i%250), own, dns.TypeSRV), dns.RcodeSuccess, srvAt(own, fmt.Sprintf("old%d.example", i), 1688)))
		roles = append(roles, dnscheck.CityResolver)
	}
	f := dnscheck.JudgeConsistency("school", exp, as, roles)
	checkIDs(t, f)
	checkBounded(t, f)
	if ev, _ := dnscheck.ConsistencyEvidenceOf(f); len(ev.Odd) != 200 {
		t.Errorf("evidence names %d odd servers, want all 200", len(ev.Odd))
	}
}
