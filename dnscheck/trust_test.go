package dnscheck_test

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/dnscheck/dnstest"
	"github.com/kh-edu/kmsprobe/finding"
)

// built is a response to q made in process: the judges are pure, so most
// trust rules are tested without a socket.
func built(q dnscheck.Query, rcode int, lines ...string) dnscheck.Answer {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	m.Response, m.Rcode = true, rcode
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			panic(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	return dnscheck.Answer{Query: q, Msg: m, RTT: time.Millisecond, Transport: "udp", Attempts: 1}
}

// checkIDs: every finding names its message (and remedy) id, with the
// arguments the catalog's templates need.
func checkIDs(t *testing.T, f finding.Finding) {
	t.Helper()
	if f.ID == "" || (f.Remedy != "") != (f.RemedyID != "") || len(f.Args) == 0 && strings.Contains(f.Message, " ") && f.ID != "dns.srv.stopped" && f.ID != "dns.target.stopped" && f.ID != "dns.consistency.skip" {
		t.Errorf("ids missing: id=%q remedy_id=%q args=%v (%s)", f.ID, f.RemedyID, f.Args, f.Message)
	}
}

var srvQ = dnscheck.NewQuery("127.0.0.1:53", dnscheck.SRVName(suffix), dns.TypeSRV)

func srvAt(owner, target string, port int) string {
	return fmt.Sprintf("%s 300 IN SRV 0 0 %d %s.", owner, port, target)
}

// TestJudgeSRVTrustRules: one row per rule of DESIGN §4.1 that dns.srv
// applies, each with the verdict a PC's experience calls for.
func TestJudgeSRVTrustRules(t *testing.T) {
	own := dnscheck.SRVName(suffix)
	cases := []struct {
		name    string
		a       dnscheck.Answer
		status  finding.Status
		id      string
		foreign int // records named as foreign
	}{
		{"a record owned by another name does not count",
			built(srvQ, dns.RcodeSuccess, srvAt("_vlmcs._tcp.other.example.", kmsHost, 1688)),
			finding.Fail, "dns.srv.foreign_only", 1},
		{"a stray beside the right record is ignored and named",
			built(srvQ, dns.RcodeSuccess, srvAt(own, kmsHost, 1688), srvAt("_vlmcs._tcp.other.example.", "evil.example", 1688)),
			finding.Pass, "dns.srv.ok", 1},
		{"the end of a CNAME chain from the name asked counts",
			built(srvQ, dns.RcodeSuccess, own+" 300 IN CNAME _vlmcs._tcp.central.example.", srvAt("_vlmcs._tcp.central.example.", kmsHost, 1688)),
			finding.Pass, "dns.srv.ok", 0},
		{"the name asked does not count when it is an alias",
			built(srvQ, dns.RcodeSuccess, own+" 300 IN CNAME _vlmcs._tcp.central.example.", srvAt(own, kmsHost, 1688)),
			finding.Fail, "dns.srv.nodata", 0},
		{"target . means no service",
			built(srvQ, dns.RcodeSuccess, own+" 300 IN SRV 0 0 1688 ."),
			finding.Fail, "dns.srv.no_service", 0},
		{"target . on another port is no service too",
			built(srvQ, dns.RcodeSuccess, own+" 300 IN SRV 0 0 0 ."),
			finding.Fail, "dns.srv.no_service", 0},
		{"target . beside the right record is an extra record",
			built(srvQ, dns.RcodeSuccess, srvAt(own, kmsHost, 1688), own+" 300 IN SRV 0 0 0 ."),
			finding.Warn, "dns.srv.extra", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := dnscheck.JudgeSRV(tc.a, suffix, exp, dnscheck.SchoolDNS, time.Second)
			if f.Status != tc.status || f.ID != tc.id {
				t.Fatalf("got %s %s (%s), want %s %s", f.Status, f.ID, f.Message, tc.status, tc.id)
			}
			ev, ok := dnscheck.SRVEvidenceOf(f)
			if !ok || len(ev.Foreign) != tc.foreign {
				t.Errorf("foreign records %q, want %d", ev.Foreign, tc.foreign)
			}
			if strings.Contains(f.Message, "points at ,") || strings.Contains(f.Message, " :1688") {
				t.Errorf("the root target printed as an empty name: %s", f.Message)
			}
		})
	}
}

// TestJudgeSRVAgainstHostileServers: the cases end to end, with
// the words the admin reads.
func TestJudgeSRVAgainstHostileServers(t *testing.T) {
	good := srvLine(kmsHost, 1688)
	cases := []struct {
		name   string
		b      dnstest.Behaviour
		zone   []string
		status finding.Status
		short  string
		msg    string
		notMsg string
		remedy string
	}{
		{"records of another owner", dnstest.Behaviour{Owner: "_vlmcs._tcp.other.example."}, []string{good},
			finding.Fail, "other owner", "records of another name", "", "add to the zone"},
		{"junk with the right id before the answer", dnstest.Behaviour{Before: []dnstest.Kind{dnstest.Garbage, dnstest.WrongType}}, []string{good},
			finding.Pass, "ok", "", "", ""},
		{"only a wrong id", dnstest.Behaviour{Kind: dnstest.WrongID}, []string{good},
			finding.Fail, "mismatched-id", "answered with a mismatched id", "did not answer", "rewrites or forges"},
		{"TC over TCP too", dnstest.Behaviour{Kind: dnstest.TruncateAll}, []string{good},
			finding.Fail, "TC over TCP", "truncated even over TCP", "NODATA", "sets TC"},
		{"target .", dnstest.Behaviour{}, []string{"_vlmcs._tcp.school.example. 300 IN SRV 0 0 1688 ."},
			finding.Fail, "no service", "the service is not available", "points at", "add to the zone"},
		{"silence", dnstest.Behaviour{Kind: dnstest.Silent}, []string{good},
			finding.Fail, "timeout", "did not answer in 2 attempt(s) of 300ms", "", "runs a DNS service"},
		{"REFUSED", dnstest.Behaviour{Kind: dnstest.Refused}, nil,
			finding.Fail, "REFUSED", "REFUSED", "", "allow the school's networks"},
		{"SERVFAIL", dnstest.Behaviour{Kind: dnstest.ServFail}, nil,
			finding.Fail, "SERVFAIL", "SERVFAIL", "", "add to the zone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dnstest.Start(t, tc.b, tc.zone...)
			a := askAt(s.Addr, dnscheck.SRVName(suffix), dns.TypeSRV)
			f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, client.Timeout)
			checkIDs(t, f)
			if f.Status != tc.status || f.Short != tc.short || !strings.Contains(f.Message, tc.msg) {
				t.Fatalf("got %s %q %q, want %s %q ~%q", f.Status, f.Short, f.Message, tc.status, tc.short, tc.msg)
			}
			if tc.notMsg != "" && strings.Contains(f.Message, tc.notMsg) {
				t.Errorf("message %q says %q", f.Message, tc.notMsg)
			}
			if !strings.Contains(f.Remedy, tc.remedy) {
				t.Errorf("remedy %q lacks %q", f.Remedy, tc.remedy)
			}
		})
	}
}

// TestRemediesUseConfiguredPorts: a DNS server on a port other than 53
// and a KMS port other than 1688 are named as they are.
func TestRemediesUseConfiguredPorts(t *testing.T) {
	e := dnscheck.Expect{Host: kmsHost, Port: 18688}
	timeout := dnscheck.Answer{Query: dnscheck.NewQuery("127.0.0.1:15353", dnscheck.SRVName(suffix), dns.TypeSRV), Fail: dnscheck.Timeout, Attempts: 2, Transport: "udp"}
	f := dnscheck.JudgeSRV(timeout, suffix, e, dnscheck.SchoolDNS, 2*time.Second)
	if !strings.Contains(f.Remedy, "UDP and TCP 15353") || strings.Contains(f.Remedy, " 53 ") || !strings.Contains(f.Message, "port 15353 filtered") {
		t.Errorf("server port not used: %q / %q", f.Message, f.Remedy)
	}
	if !strings.Contains(f.Message, "2 attempt(s) of 2s") {
		t.Errorf("per-attempt timeout not worded: %q", f.Message)
	}
	nx := built(dnscheck.NewQuery("127.0.0.1:15353", dnscheck.SRVName(suffix), dns.TypeSRV), dns.RcodeNameError)
	f = dnscheck.JudgeSRV(nx, suffix, e, dnscheck.SchoolDNS, time.Second)
	if !strings.Contains(f.Remedy, "IN SRV 0 0 18688 kms.example.") || !strings.Contains(f.Remedy, "-Port 18688") {
		t.Errorf("KMS port not used: %q", f.Remedy)
	}
}

// TestJudgeTargetTrustRules: ownership and usable addresses for the
// target's A/AAAA, end to end through a hostile server.
func TestJudgeTargetTrustRules(t *testing.T) {
	witness := []net.IP{net.ParseIP(kmsIP)}
	cases := []struct {
		name   string
		b      dnstest.Behaviour
		zone   []string
		ref    []net.IP
		status finding.Status
		id     string
	}{
		{"the KMS host's A owned by another name", dnstest.Behaviour{Owner: "other.example."}, []string{kmsHost + ". 300 IN A " + kmsIP}, witness, finding.Fail, "dns.target.foreign_only"},
		{"CNAME to a name with no address, plus a stray A", dnstest.Behaviour{Append: []string{"unrelated.example. 300 IN A " + kmsIP}},
			[]string{kmsHost + ". 300 IN CNAME noaddr.example.", "noaddr.example. 300 IN TXT \"x\""}, witness, finding.Fail, "dns.target.cname_no_address"},
		{"CNAME to the address", dnstest.Behaviour{}, []string{kmsHost + ". 300 IN CNAME real.example.", "real.example. 300 IN A " + kmsIP}, witness, finding.Pass, "dns.target.ok"},
		{"loopback when the witnesses put the KMS host there", dnstest.Behaviour{}, []string{kmsHost + ". 300 IN A " + kmsIP}, witness, finding.Pass, "dns.target.ok"},
		{"loopback with no witness", dnstest.Behaviour{}, []string{kmsHost + ". 300 IN A " + kmsIP}, nil, finding.Fail, "dns.target.unusable"},
		{"loopback when the KMS host is elsewhere", dnstest.Behaviour{}, []string{kmsHost + ". 300 IN A " + kmsIP}, []net.IP{net.ParseIP("192.0.2.1")}, finding.Fail, "dns.target.unusable"},
	}
	for _, bad := range []string{"0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "169.254.1.1", "fe80::1"} {
		typ := "A"
		if strings.Contains(bad, ":") {
			typ = "AAAA"
		}
		// Every server, witnesses included, says so: still no address a
		// PC can use.
		cases = append(cases, struct {
			name   string
			b      dnstest.Behaviour
			zone   []string
			ref    []net.IP
			status finding.Status
			id     string
		}{"KMS host at " + bad, dnstest.Behaviour{}, []string{kmsHost + ". 300 IN " + typ + " " + bad}, []net.IP{net.ParseIP(bad)}, finding.Fail, "dns.target.unusable"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dnstest.Start(t, tc.b, tc.zone...)
			a4 := askAt(s.Addr, kmsHost, dns.TypeA)
			a6 := askAt(s.Addr, kmsHost, dns.TypeAAAA)
			f := dnscheck.JudgeTarget(s.Addr, kmsHost, a4, a6, exp, tc.ref)
			checkIDs(t, f)
			if f.Status != tc.status || f.ID != tc.id {
				t.Fatalf("got %s %s %q, want %s %s", f.Status, f.ID, f.Message, tc.status, tc.id)
			}
			dial := dnscheck.DialableAddresses(a4, a6, exp, tc.ref)
			if tc.status == finding.Fail && len(dial) > 0 {
				t.Errorf("a failed target offers %v to dial", dial)
			}
			if f.Remedy == "" && f.Status != finding.Pass {
				t.Error("no remedy")
			}
		})
	}
}

func TestUsableKMSAddress(t *testing.T) {
	for _, tc := range []struct {
		ip       string
		loopback bool
		want     bool
	}{
		{"192.0.2.10", false, true},
		{"2001:db8::10", false, true},
		{"0.0.0.0", true, false},
		{"::", true, false},
		{"0.1.2.3", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"240.0.0.1", false, false},
		{"169.254.1.1", false, false},
		{"fe80::1", false, false},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", true, true},
	} {
		if got := dnscheck.UsableKMSAddress(net.ParseIP(tc.ip), tc.loopback); got != tc.want {
			t.Errorf("UsableKMSAddress(%s, loopback=%v) = %v, want %v", tc.ip, tc.loopback, got, tc.want)
		}
	}
	if dnscheck.UsableKMSAddress(nil, true) {
		t.Error("nil is usable")
	}
	for _, tc := range []struct {
		host string
		ref  []string
		want bool
	}{
		{"127.0.0.1", nil, true},
		{"localhost.", nil, true},
		{"kms.example", nil, false},
		{"kms.example", []string{"127.0.0.88", "::1"}, true},
		{"kms.example", []string{"127.0.0.88", "192.0.2.1"}, false},
	} {
		var ref []net.IP
		for _, r := range tc.ref {
			ref = append(ref, net.ParseIP(r))
		}
		if got := dnscheck.HostIsLoopback(dnscheck.Expect{Host: tc.host, Port: 1688}, ref); got != tc.want {
			t.Errorf("HostIsLoopback(%s, %v) = %v", tc.host, tc.ref, got)
		}
	}
}

// TestFollowUpsAreBounded: 1,700 distinct targets make MaxTargets
// follow-ups; the rest are named in the evidence, the expected host is
// followed first wherever it sorts.
func TestFollowUpsAreBounded(t *testing.T) {
	own := dnscheck.SRVName(suffix)
	lines := []string{fmt.Sprintf("%s 300 IN SRV 50 0 1688 %s.", own, kmsHost)}
	for i := range 1700 {
		lines = append(lines, srvAt(own, fmt.Sprintf("t%04d.example", i), 1688))
	}
	lines = append(lines, own+" 300 IN SRV 0 0 1688 .")
	a := built(srvQ, dns.RcodeSuccess, lines...)
	ts := dnscheck.Targets(a, exp)
	if len(ts) != dnscheck.MaxTargets || ts[0] != kmsHost+"." || slices.Contains(ts, ".") {
		t.Fatalf("targets = %v", ts)
	}
	nf := dnscheck.NotFollowed(a, exp)
	if len(nf)+len(ts) != 1701 {
		t.Errorf("%d followed + %d not followed, want 1701 distinct targets", len(ts), len(nf))
	}
	f := dnscheck.JudgeSRV(a, suffix, exp, dnscheck.SchoolDNS, time.Second)
	ev, _ := dnscheck.SRVEvidenceOf(f)
	if len(ev.NotFollowed) != len(nf) || f.Status != finding.Warn {
		t.Errorf("evidence names %d not followed, status %s", len(ev.NotFollowed), f.Status)
	}
	if few := dnscheck.NotFollowed(built(srvQ, dns.RcodeSuccess, srvAt(own, kmsHost, 1688)), exp); few != nil {
		t.Errorf("one target, not followed = %v", few)
	}
	if n := len(dnscheck.Followable(dnscheck.SRVRecords(a))); n != 1701 {
		t.Errorf("Followable kept %d, want 1701 (all but the \".\")", n)
	}
}

// TestJudgeConsistencyReference: the expected record is the reference,
// never the majority.
func TestJudgeConsistencyReference(t *testing.T) {
	own := dnscheck.SRVName(suffix)
	right := []string{srvAt(own, kmsHost, 1688)}
	old := []string{srvAt(own, "old.example", 1688)}
	older := []string{srvAt(own, "older.example", 1688)}
	type srv struct {
		addr  string
		role  dnscheck.Role
		lines []string // nil: no response
		rcode int
	}
	school := func(addr string, l []string) srv { return srv{addr, dnscheck.SchoolDNS, l, dns.RcodeSuccess} }
	cache := func(addr string, l []string) srv { return srv{addr, dnscheck.CityResolver, l, dns.RcodeSuccess} }
	cases := []struct {
		name   string
		srvs   []srv
		status finding.Status
		id     string
		server string   // blamed; "" = nobody
		odd    []string // named odd
		remedy string
	}{
		{"all agree", []srv{school("10.0.0.1:53", right), cache("10.9.0.1:53", right)}, finding.Pass, "dns.consistency.agree", "", nil, ""},
		{"school right, two caches stale: the caches are stale",
			[]srv{school("10.0.0.1:53", right), cache("10.9.0.1:53", old), cache("10.9.0.2:53", old)},
			finding.Warn, "dns.consistency.stale", "10.9.0.1:53", []string{"10.9.0.1:53", "10.9.0.2:53"}, "expires within 300 s"},
		{"school right, a cache still has the NXDOMAIN",
			[]srv{school("10.0.0.1:53", right), {"10.9.0.1:53", dnscheck.CityResolver, nil, dns.RcodeNameError}},
			finding.Warn, "dns.consistency.stale_one", "10.9.0.1:53", []string{"10.9.0.1:53"}, "until it expires"},
		{"a school secondary is stale: fix it, not the caches",
			[]srv{school("10.0.0.1:53", right), school("10.0.0.2:53", old), cache("10.9.0.1:53", right)},
			finding.Warn, "dns.consistency.stale_one", "10.0.0.2:53", []string{"10.0.0.2:53"}, "make 10.0.0.2:53 serve the expected record"},
		{"a tie of two wrong records blames nobody",
			[]srv{school("10.0.0.1:53", old), cache("10.9.0.1:53", older)},
			finding.Warn, "dns.consistency.differ", "", nil, "on every server"},
		{"two against one, all wrong: no majority wins",
			[]srv{school("10.0.0.1:53", older), cache("10.9.0.1:53", old), cache("10.9.0.2:53", old)},
			finding.Warn, "dns.consistency.differ", "", nil, "on every server"},
		{"one right against two wrong: the right one is never odd",
			[]srv{school("10.0.0.1:53", old), school("10.0.0.2:53", old), cache("10.9.0.1:53", right)},
			finding.Warn, "dns.consistency.stale", "10.0.0.1:53", []string{"10.0.0.1:53", "10.0.0.2:53"}, "like 10.9.0.1:53"},
		{"a dead server is not a record set", []srv{school("10.0.0.1:53", right), {addr: "10.9.0.1:53", role: dnscheck.CityResolver, rcode: -1}},
			finding.Skip, "dns.consistency.skip", "", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var as []dnscheck.Answer
			var roles []dnscheck.Role
			for _, s := range tc.srvs {
				q := dnscheck.NewQuery(s.addr, own, dns.TypeSRV)
				if s.rcode < 0 {
					as = append(as, dnscheck.Answer{Query: q, Fail: dnscheck.Timeout})
				} else {
					as = append(as, built(q, s.rcode, s.lines...))
				}
				roles = append(roles, s.role)
			}
			f := dnscheck.JudgeConsistency("school", exp, as, roles)
			checkIDs(t, f)
			if f.Status != tc.status || f.ID != tc.id || f.Server != tc.server {
				t.Fatalf("got %s %s server %q: %s\nwant %s %s server %q", f.Status, f.ID, f.Server, f.Message, tc.status, tc.id, tc.server)
			}
			ev, ok := dnscheck.ConsistencyEvidenceOf(f)
			if !ok || !slices.Equal(ev.Odd, tc.odd) {
				t.Errorf("odd = %v, want %v", ev.Odd, tc.odd)
			}
			if !strings.Contains(f.Remedy, tc.remedy) {
				t.Errorf("remedy %q lacks %q", f.Remedy, tc.remedy)
			}
			for _, o := range tc.odd {
				if !strings.Contains(f.Message, o) {
					t.Errorf("message does not name odd server %s: %s", o, f.Message)
				}
			}
			if tc.id == "dns.consistency.differ" {
				for _, s := range tc.srvs {
					if !strings.Contains(f.Message, s.addr) {
						t.Errorf("a disagreement without reference must name every server; %s missing: %s", s.addr, f.Message)
					}
				}
			}
		})
	}
}

func TestServerFault(t *testing.T) {
	q := dnscheck.NewQuery("163.28.136.21:53", dnscheck.SRVName(suffix), dns.TypeSRV) // text only: nothing is sent
	failed := func(k dnscheck.FailKind) dnscheck.Answer {
		return dnscheck.Answer{Query: q, Fail: k, Attempts: 2, Transport: "udp"}
	}
	cases := []struct {
		name   string
		a      dnscheck.Answer
		fault  bool
		remedy string
	}{
		{"no answer", failed(dnscheck.Timeout), true, "does not answer: the city's DNS operators must"},
		{"port closed", failed(dnscheck.PortClosed), true, "UDP and TCP 53"},
		{"unreachable", failed(dnscheck.Unreachable), true, "does not answer"},
		{"network error", failed(dnscheck.NetError), true, "does not answer"},
		{"mismatched id only", failed(dnscheck.MismatchedID), true, "rewritten or forged"},
		{"truncated over TCP", failed(dnscheck.TruncatedTCP), true, "does not answer"},
		{"REFUSED", built(q, dns.RcodeRefused), true, "allow recursion"},
		{"SERVFAIL", built(q, dns.RcodeServerFailure), true, "upstream"},
		{"stopped", failed(dnscheck.Cancelled), false, ""},
		{"NXDOMAIN", built(q, dns.RcodeNameError), false, ""},
		{"NODATA", built(q, dns.RcodeSuccess), false, ""},
		{"wrong target", built(q, dns.RcodeSuccess, srvAt(q.Name, "old.example", 1688)), false, ""},
		{"wrong port", built(q, dns.RcodeSuccess, srvAt(q.Name, kmsHost, 1689)), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fault, why := dnscheck.ServerFault(tc.a)
			if fault != tc.fault || why == "" {
				t.Fatalf("ServerFault = %v %q, want %v", fault, why, tc.fault)
			}
			f, ok := dnscheck.JudgeSharedServer(tc.a, dnscheck.CityResolver, 2*time.Second)
			if ok != tc.fault {
				t.Fatalf("JudgeSharedServer ok = %v", ok)
			}
			if !ok {
				return
			}
			checkIDs(t, f)
			if f.Status != finding.Fail || f.Server != q.Server || !strings.Contains(f.Remedy, tc.remedy) || f.RemedyID == "" {
				t.Errorf("got %s %s %q remedy %q", f.Status, f.Server, f.Message, f.Remedy)
			}
			school := dnscheck.JudgeSRV(tc.a, suffix, exp, dnscheck.SchoolDNS, 2*time.Second)
			if school.Remedy == f.Remedy {
				t.Errorf("the city remedy is the school's: %q", f.Remedy)
			}
			// The school cell of a city resolver never tells the school
			// to retire the city's server.
			cell := dnscheck.JudgeSRV(tc.a, suffix, exp, dnscheck.CityResolver, 2*time.Second)
			if strings.Contains(cell.Remedy, "remove it from the school's DHCP") {
				t.Errorf("a city resolver's cell says %q", cell.Remedy)
			}
		})
	}
}

// TestEvidenceKeysAndRoundTrip: the JSON keys are today's (a contract),
// and the typed accessors read a finding back from JSON.
func TestEvidenceKeysAndRoundTrip(t *testing.T) {
	keys := func(f finding.Finding) []string { return f.Evidence.Keys() }
	pass := dnscheck.JudgeSRV(built(srvQ, dns.RcodeSuccess, srvLine(kmsHost, 1688)), suffix, exp, dnscheck.CityResolver, time.Second)
	if got, want := keys(pass), []string{"attempts", "qtype", "query", "rcode", "records", "role", "rtt_ms", "transport", "ttl"}; !slices.Equal(got, want) {
		t.Errorf("dns.srv pass keys %v, want %v", got, want)
	}
	timeout := dnscheck.JudgeSRV(dnscheck.Answer{Query: srvQ, Fail: dnscheck.Timeout, Err: fmt.Errorf("i/o timeout"), Attempts: 2, Transport: "udp"}, suffix, exp, dnscheck.SchoolDNS, time.Second)
	if got, want := keys(timeout), []string{"attempts", "error", "error_detail", "qtype", "query", "role", "rtt_ms", "transport"}; !slices.Equal(got, want) {
		t.Errorf("dns.srv timeout keys %v, want %v", got, want)
	}
	tq := dnscheck.NewQuery("127.0.0.1:53", kmsHost, dns.TypeA)
	tgt := dnscheck.JudgeTarget("127.0.0.1:53", kmsHost, built(tq, dns.RcodeSuccess, kmsHost+". 300 IN A 192.0.2.1"),
		built(dnscheck.NewQuery("127.0.0.1:53", kmsHost, dns.TypeAAAA), dns.RcodeSuccess), exp, []net.IP{net.ParseIP("192.0.2.1")})
	if got, want := keys(tgt), []string{"addresses", "kms_addresses", "rcode_a", "rcode_aaaa", "rtt_ms", "target"}; !slices.Equal(got, want) {
		t.Errorf("dns.target keys %v, want %v", got, want)
	}
	noaddr := dnscheck.JudgeTarget("127.0.0.1:53", kmsHost, built(tq, dns.RcodeNameError), dnscheck.Answer{Fail: dnscheck.Timeout, Query: dnscheck.NewQuery("127.0.0.1:53", kmsHost, dns.TypeAAAA)}, exp, nil)
	b, _ := json.Marshal(noaddr.Evidence)
	if !strings.Contains(string(b), `"addresses":[]`) {
		t.Errorf("no addresses must stay an empty list: %s", b)
	}

	for _, f := range []finding.Finding{pass, timeout, tgt} {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back finding.Finding
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		switch f.Check {
		case finding.DNSSRV:
			a, _ := dnscheck.SRVEvidenceOf(f)
			z, ok := dnscheck.SRVEvidenceOf(back)
			if d := cmp.Diff(a, z); !ok || d != "" {
				t.Errorf("dns.srv evidence changed over JSON (-before +after):\n%s", d)
			}
			r1, _ := dnscheck.RoleOf(f)
			r2, ok := dnscheck.RoleOf(back)
			if !ok || r1 != r2 {
				t.Errorf("role %v -> %v", r1, r2)
			}
		case finding.DNSTarget:
			a, _ := dnscheck.TargetEvidenceOf(f)
			z, ok := dnscheck.TargetEvidenceOf(back)
			if d := cmp.Diff(a, z); !ok || d != "" {
				t.Errorf("dns.target evidence changed over JSON (-before +after):\n%s", d)
			}
		}
	}
	if r, ok := dnscheck.RoleOf(pass); !ok || r != dnscheck.CityResolver {
		t.Errorf("RoleOf = %v %v", r, ok)
	}
	var f finding.Finding
	dnscheck.SetRole(&f, dnscheck.OfferedDNS)
	if r, ok := dnscheck.RoleOf(f); !ok || r != dnscheck.OfferedDNS {
		t.Errorf("SetRole/RoleOf = %v %v", r, ok)
	}
}
