package probe_test

// An integration test of the DNS leg against a real DNS server: Debian's
// unbound, serving local-zone/local-data on a free loopback port. Nothing
// leaves 127.0.0.0/8: unbound refuses every name outside its local zones
// (local-zone "." refuse), so it never recurses to the root servers, and
// its outgoing interface is 127.0.0.1 besides.
//
// The test skips when unbound is not installed, unless
// KMSPROBE_REQUIRE_UNBOUND=1 (set it in CI so a missing package fails the
// build instead of silently skipping). KMSPROBE_UNBOUND names another
// binary.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

const (
	ubKMSHost = "kms.it.test"
	ubKMSIP   = "127.0.0.77"
	ubKMSPort = 1688
	// ubBigSet is the number of SRV records of the school whose answer
	// does not fit in 1232 bytes of UDP.
	ubBigSet = 80
)

// unboundBinary finds the unbound executable or skips the test. On Debian
// it lives in /usr/sbin, which is often not on a normal user's PATH.
func unboundBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KMSPROBE_UNBOUND"); p != "" {
		return p
	}
	if p, err := exec.LookPath("unbound"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/unbound"); err == nil {
		return "/usr/sbin/unbound"
	}
	msg := "unbound is not installed (Debian/Ubuntu: apt-get install unbound); the integration test against a real DNS server needs it"
	if os.Getenv("KMSPROBE_REQUIRE_UNBOUND") == "1" {
		t.Fatal(msg + " and KMSPROBE_REQUIRE_UNBOUND=1")
	}
	t.Skip(msg)
	return ""
}

// freePort returns a port on ip whose UDP and TCP sides are both free at
// the time of the call.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("no free UDP port on %s: %v", ip, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		port := pc.LocalAddr().(*net.UDPAddr).Port
		pc.Close()
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatalf("no port on %s is free on both UDP and TCP", ip)
	return 0
}

// unboundConf is a configuration that serves only local data, on ip:port,
// in the foreground, without privileges, chroot or remote control.
func unboundConf(dir, ip string, port int, zones []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `server:
	interface: %s
	port: %d
	do-daemonize: no
	chroot: ""
	username: ""
	directory: %q
	pidfile: %q
	use-syslog: no
	logfile: %q
	verbosity: 1
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	num-threads: 1
	so-reuseport: no
	outgoing-interface: 127.0.0.1
	outgoing-range: 16
	edns-buffer-size: 1232
	# Everything outside the zones below is REFUSED, never resolved:
	# unbound must not send a packet beyond loopback (DESIGN.md §7).
	local-zone: "." refuse
`, ip, port, dir, filepath.Join(dir, "unbound.pid"), filepath.Join(dir, "unbound.log"))
	for _, z := range zones {
		fmt.Fprintf(&b, "\t%s\n", z)
	}
	b.WriteString("remote-control:\n\tcontrol-enable: no\n")
	return b.String()
}

// startUnbound runs unbound on a free port of 127.0.0.1 with the given
// local-zone/local-data lines and returns its address once it answers
// probe (a question it must answer NOERROR). It stops unbound in cleanup.
func startUnbound(t *testing.T, zones []string, probeName string, probeType uint16) string {
	t.Helper()
	bin := unboundBinary(t)
	const ip = "127.0.0.1"
	var lastErr error
	for try := range 3 {
		dir := t.TempDir()
		port := freePort(t, ip)
		conf := filepath.Join(dir, "unbound.conf")
		if err := os.WriteFile(conf, []byte(unboundConf(dir, ip, port, zones)), 0o644); err != nil {
			t.Fatal(err)
		}
		if chk, err := exec.LookPath(filepath.Join(filepath.Dir(bin), "unbound-checkconf")); err == nil {
			if out, err := exec.Command(chk, conf).CombinedOutput(); err != nil {
				t.Fatalf("unbound-checkconf rejects the test's configuration: %v\n%s", err, out)
			}
		}
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		err := runUnbound(t, bin, dir, conf, addr, probeName, probeType)
		if err == nil {
			return addr
		}
		lastErr = err
		log, _ := os.ReadFile(filepath.Join(dir, "unbound.log"))
		if bytes.Contains(log, []byte("ermission denied")) && try == 0 {
			// A Mandatory Access Control profile (Ubuntu's AppArmor
			// profile for /usr/sbin/unbound) forbids reading a
			// configuration outside /etc/unbound. A copy of the binary
			// is not confined by a path-based profile.
			t.Logf("unbound could not read its test configuration (AppArmor?); retrying with a copy of the binary: %s", log)
			bin = copyBinary(t, bin)
		}
	}
	t.Fatalf("unbound did not start: %v", lastErr)
	return ""
}

func copyBinary(t *testing.T, bin string) string {
	t.Helper()
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(t.TempDir(), "unbound")
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func runUnbound(t *testing.T, bin, dir, conf, addr, probeName string, probeType uint16) error {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-d", "-c", conf)
	cmd.Dir = dir
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	cl := dnscheck.Client{Timeout: 200 * time.Millisecond, Attempts: 1}
	q := dnscheck.NewQuery(addr, probeName, probeType)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(filepath.Join(dir, "unbound.log"))
			return fmt.Errorf("unbound exited (%v): %s%s", err, stderr.String(), log)
		default:
		}
		a := cl.Exchange(context.Background(), q)
		if a.Msg != nil && a.Msg.Rcode == dns.RcodeSuccess {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					log, _ := os.ReadFile(filepath.Join(dir, "unbound.log"))
					t.Logf("unbound %s log:\n%s%s", addr, stderr.String(), log)
				}
			})
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("unbound on %s did not answer %s within 15s (last: %v %v)", addr, q, a.Fail, a.Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ubSRV(suffix string, prio, weight, port int, target string) string {
	return fmt.Sprintf(`local-data: "_vlmcs._tcp.%s.it.test. 300 IN SRV %d %d %d %s."`, suffix, prio, weight, port, target)
}

// ubZones is what both unbound instances serve. stale is the one school
// whose record the city resolver has wrong.
func ubZones(resolver bool) []string {
	z := []string{
		`local-zone: "it.test." static`,
		`local-zone: "refused.it.test." refuse`,
		`local-data: "kms.it.test. 300 IN A ` + ubKMSIP + `"`,
		`local-data: "rogue.it.test. 300 IN A 127.0.0.99"`,
		`local-data: "kms-old.it.test. 300 IN A 127.0.0.98"`,
		`local-data: "kms-alias.it.test. 300 IN A ` + ubKMSIP + `"`,
		// missing: nothing at all, so NXDOMAIN in the static zone.
		ubSRV("good", 0, 0, ubKMSPort, ubKMSHost),
		ubSRV("wrongport", 0, 0, ubKMSPort+1, ubKMSHost),
		ubSRV("wrongtarget", 0, 0, ubKMSPort, "rogue.it.test"),
		// retired.it.test has no data: NXDOMAIN.
		ubSRV("dangling", 0, 0, ubKMSPort, "retired.it.test"),
		ubSRV("extra", 0, 0, ubKMSPort, ubKMSHost),
		ubSRV("extra", 10, 0, ubKMSPort, "kms-old.it.test"),
		`local-data: "_vlmcs._tcp.nodata.it.test. 300 IN TXT \"no SRV here\""`,
		ubSRV("dead", 0, 0, ubKMSPort, ubKMSHost),
		ubSRV("closed", 0, 0, ubKMSPort, ubKMSHost),
	}
	for w := 1; w <= ubBigSet; w++ {
		z = append(z, ubSRV("big", 0, w, ubKMSPort, ubKMSHost))
	}
	if resolver {
		z = append(z, ubSRV("stale", 0, 0, ubKMSPort, "kms-alias.it.test"))
	} else {
		z = append(z, ubSRV("stale", 0, 0, ubKMSPort, ubKMSHost))
	}
	return z
}

// row is the part of a finding this test pins down.
type row struct {
	Check, Server, Status, Short string
	Rcode, Transport             string
}

func rowsOf(s probe.School, names map[string]string) []row {
	var out []row
	for _, f := range s.Findings {
		r := row{Check: f.Check, Server: names[f.Server], Status: f.Status.String(), Short: f.Short}
		if f.Server != "" && r.Server == "" {
			r.Server = f.Server
		}
		str := func(k string) string {
			if v, ok := f.Evidence.Get(k); ok {
				return fmt.Sprint(v)
			}
			return ""
		}
		switch f.Check {
		case "dns.srv":
			r.Rcode = str("rcode")
			if r.Rcode == "" {
				r.Rcode = "error:" + str("error")
			}
			r.Transport = str("transport")
		case "dns.target":
			r.Rcode = str("rcode_a")
		}
		out = append(out, r)
	}
	return out
}

func TestAuditAgainstUnbound(t *testing.T) {
	schoolDNS := startUnbound(t, ubZones(false), ubKMSHost, dns.TypeA)
	resolver := startUnbound(t, ubZones(true), ubKMSHost, dns.TypeA)
	if schoolDNS == resolver {
		t.Fatalf("both unbound instances on %s", schoolDNS)
	}

	// A dead server (reads and never answers) and a port nothing listens
	// on: a timeout and a closed port must read differently.
	var dead sim.Cluster
	t.Cleanup(dead.Close)
	deadSrv, err := dead.Start("127.0.0.1", sim.Records{}, sim.Dead)
	if err != nil {
		t.Fatal(err)
	}
	closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, "127.0.0.1")))

	names := map[string]string{schoolDNS: "school", resolver: "resolver", deadSrv.Addr: "dead", closed: "closed"}

	schools := []string{"good", "missing", "wrongport", "wrongtarget", "dangling", "extra", "nodata", "refused", "big", "stale"}
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\nkms: {host: %s, port: %d, addresses: [%s]}\nresolvers: [%s]\n", ubKMSHost, ubKMSPort, ubKMSIP, resolver)
	y.WriteString("probe: {timeout: 500ms, attempts: 2, concurrency: 16}\nschools:\n")
	for _, s := range schools {
		fmt.Fprintf(&y, "  - {id: %s, suffix: %s.it.test, dns: [%s]}\n", s, s, schoolDNS)
	}
	fmt.Fprintf(&y, "  - {id: dead, suffix: dead.it.test, dns: [%s]}\n", deadSrv.Addr)
	fmt.Fprintf(&y, "  - {id: closed, suffix: closed.it.test, dns: [%s]}\n", closed)
	cfg, err := config.Parse("unbound-test.yaml", []byte(y.String()))
	if err != nil {
		t.Fatalf("config.Parse:\n%s\n%v", y.String(), err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := probe.Run(ctx, cfg, probe.Options{DNSOnly: true, Hostname: "test", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Incomplete {
		t.Fatalf("report incomplete: %s", rep.Reason)
	}

	type R = row
	pass := func(server, transport string) R {
		return R{"dns.srv", server, "pass", "ok", "NOERROR", transport}
	}
	tgt := func(server, status, short string) R { return R{"dns.target", server, status, short, "NOERROR", ""} }
	agree := R{Check: "dns.consistency", Status: "pass", Short: "agree"}
	both := func(r R) []R {
		s, res := r, r
		s.Server, res.Server = "school", "resolver"
		return []R{s, res}
	}
	cat := func(parts ...[]R) []R {
		var out []R
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	want := map[string][]R{
		"good": cat(
			both(pass("", "udp")),
			both(tgt("", "pass", "ok")),
			[]R{agree}),
		"missing": cat(
			both(R{"dns.srv", "", "fail", "NXDOMAIN", "NXDOMAIN", "udp"}),
			[]R{agree}),
		"wrongport": cat(
			both(R{"dns.srv", "", "fail", "wrong port", "NOERROR", "udp"}),
			[]R{agree}),
		"wrongtarget": cat(
			both(R{"dns.srv", "", "warn", "other target", "NOERROR", "udp"}),
			both(tgt("", "fail", "elsewhere")),
			[]R{agree}),
		"dangling": cat(
			both(R{"dns.srv", "", "warn", "other target", "NOERROR", "udp"}),
			both(R{"dns.target", "", "fail", "dangling", "NXDOMAIN", ""}),
			[]R{agree}),
		"extra": cat(
			both(R{"dns.srv", "", "warn", "extra records", "NOERROR", "udp"}),
			[]R{
				tgt("school", "pass", "ok"), tgt("school", "fail", "elsewhere"),
				tgt("resolver", "pass", "ok"), tgt("resolver", "fail", "elsewhere"),
			},
			[]R{agree}),
		"nodata": cat(
			both(R{"dns.srv", "", "fail", "NODATA", "NOERROR", "udp"}),
			[]R{agree}),
		"refused": cat(
			both(R{"dns.srv", "", "fail", "REFUSED", "REFUSED", "udp"}),
			// Two refusals are no record sets that agree: nothing is
			// compared.
			[]R{{"dns.consistency", "", "skip", "-", "", ""}}),
		"big": cat(
			both(pass("", "tcp")),
			both(tgt("", "pass", "ok")),
			[]R{agree}),
		"stale": {
			pass("school", "udp"),
			{"dns.srv", "resolver", "warn", "other target", "NOERROR", "udp"},
			tgt("school", "pass", "ok"),
			tgt("resolver", "warn", "alias"),
			// The reference is the expected record: the school's server
			// has it, so the resolver is the odd one (a stale cache).
			{Check: "dns.consistency", Server: "resolver", Status: "warn", Short: "differ"},
		},
		"dead": {
			{"dns.srv", "dead", "fail", "timeout", "error:timeout", "udp"},
			pass("resolver", "udp"),
			tgt("resolver", "pass", "ok"),
			{Check: "dns.consistency", Status: "skip", Short: "-"},
		},
		"closed": {
			{"dns.srv", "closed", "fail", "port-closed", "error:port-closed", "udp"},
			pass("resolver", "udp"),
			tgt("resolver", "pass", "ok"),
			{Check: "dns.consistency", Status: "skip", Short: "-"},
		},
	}
	wantStatus := map[string]string{
		"good": "pass", "missing": "fail", "wrongport": "fail", "wrongtarget": "fail",
		"dangling": "fail", "extra": "fail", "nodata": "fail", "refused": "fail",
		"big": "pass", "stale": "warn", "dead": "fail", "closed": "fail",
	}

	got := map[string]probe.School{}
	for _, s := range rep.Schools {
		got[s.ID] = s
	}
	if len(got) != len(want) {
		t.Errorf("report has %d schools, want %d", len(got), len(want))
	}
	for id, w := range want {
		t.Run(id, func(t *testing.T) {
			s, ok := got[id]
			if !ok {
				t.Fatalf("school %s missing from the report", id)
			}
			if diff := cmp.Diff(w, rowsOf(s, names)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if s.Status.String() != wantStatus[id] {
				t.Errorf("status %s, want %s", s.Status, wantStatus[id])
			}
		})
	}

	find := func(id, check, server string) finding.Finding {
		t.Helper()
		for _, f := range got[id].Findings {
			if f.Check == check && f.Server == server {
				return f
			}
		}
		t.Fatalf("%s: no %s finding for %s", id, check, server)
		return finding.Finding{}
	}

	// The large record set: truncated over UDP, read whole over TCP.
	for _, f := range got["big"].Findings {
		if f.Check != "dns.srv" {
			continue
		}
		if f.Evidence.Value("truncated_udp") != true {
			t.Errorf("big @%s: truncated_udp = %v, want true (the UDP answer must have had TC set)", f.Server, f.Evidence.Value("truncated_udp"))
		}
		ev, _ := dnscheck.SRVEvidenceOf(f)
		if len(ev.Records) != ubBigSet {
			t.Errorf("big @%s: %d records over TCP, want %d", f.Server, len(ev.Records), ubBigSet)
		}
		if ev.Attempts != 2 {
			t.Errorf("big @%s: attempts = %v, want 2 (one UDP, one TCP)", f.Server, ev.Attempts)
		}
	}

	// A timeout and a closed port must read differently.
	for _, tc := range []struct {
		id, server, want, notWant string
	}{
		{"dead", deadSrv.Addr, "timeout", "port closed"},
		{"closed", closed, "port closed", "timeout"},
	} {
		m := find(tc.id, "dns.srv", tc.server).Message
		if !strings.Contains(m, tc.want) || strings.Contains(m, tc.notWant) {
			t.Errorf("%s: message %q should say %q and not %q", tc.id, m, tc.want, tc.notWant)
		}
	}
	for _, f := range got["dead"].Findings {
		if ev, _ := dnscheck.SRVEvidenceOf(f); f.Check == "dns.srv" && f.Server == deadSrv.Addr && ev.Attempts != 2 {
			t.Errorf("dead: attempts = %v, want 2", ev.Attempts)
		}
	}
	if n := deadSrv.Queries(); n != 2 {
		t.Errorf("the dead server received %d questions, want 2 (one SRV question, 2 attempts)", n)
	}

	// Spot checks of the words an admin reads.
	for _, tc := range []struct{ id, check, server, want string }{
		{"missing", "dns.srv", schoolDNS, "NXDOMAIN for _vlmcs._tcp.missing.it.test"},
		{"nodata", "dns.srv", schoolDNS, "NODATA"},
		{"refused", "dns.srv", schoolDNS, "REFUSED"},
		{"wrongport", "dns.srv", schoolDNS, "no record with port 1688"},
		{"wrongtarget", "dns.srv", schoolDNS, "rogue.it.test"},
		{"stale", "dns.consistency", resolver, "disagree"},
	} {
		m := find(tc.id, tc.check, tc.server).Message
		if !strings.Contains(m, tc.want) {
			t.Errorf("%s %s @%s: message %q does not contain %q", tc.id, tc.check, tc.server, m, tc.want)
		}
	}
	if rep.Probe.Exchanges == 0 {
		t.Error("report counts no exchanges")
	}
}

// TestUnboundTruncatesForSmallBuffer checks the TCP fallback of
// dnscheck.Client directly: a small advertised EDNS buffer makes even a
// two-record answer truncate.
func TestUnboundTruncatesForSmallBuffer(t *testing.T) {
	addr := startUnbound(t, ubZones(false), ubKMSHost, dns.TypeA)
	for _, tc := range []struct {
		name      string
		udpSize   uint16
		suffix    string
		transport string
		truncated bool
		records   int
	}{
		{"fits in 1232", 1232, "extra", "udp", false, 2},
		{"big set over 1232", 1232, "big", "tcp", true, ubBigSet},
		{"big set fits in 4096", 4096, "big", "udp", false, ubBigSet},
		{"512 bytes", 512, "big", "tcp", true, ubBigSet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dnscheck.Client{Timeout: time.Second, Attempts: 1, UDPSize: tc.udpSize}
			a := cl.Exchange(context.Background(), dnscheck.NewQuery(addr, dnscheck.SRVName(tc.suffix+".it.test"), dns.TypeSRV))
			if a.Msg == nil {
				t.Fatalf("no answer: %v %v", a.Fail, a.Err)
			}
			got := struct {
				Transport string
				Truncated bool
				Records   int
			}{a.Transport, a.Truncated, len(dnscheck.SRVRecords(a))}
			want := got
			want.Transport, want.Truncated, want.Records = tc.transport, tc.truncated, tc.records
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
