//go:build linux

package main

// End-to-end campus audits: `kmsprobe audit --school ID --dhcp-iface IFACE`
// through run(), against dnsmasq as the school's DHCPv4, DHCPv6 and RA
// server and DNS server, on a LAN of two network namespaces the test
// creates and deletes.
//
// Network safety (DESIGN §7): the audit runs in a separate process that
// the test starts with `ip netns exec <the client namespace>`, a re-exec
// of this test binary that runs only TestCampusNetnsHelper. Every thread
// and socket of that process lives in the test's namespace; before it
// sends anything it checks, by inode, that it is inside the namespace this
// test made and not the host's, and that the interface is the test's. The
// links and addresses are created inside the namespaces (`ip -n NS`),
// never in the host's.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/probe"
)

const (
	campusHelperEnv = "KMSPROBE_CMD_CAMPUS_JOB" // set: this process is the audit inside a test namespace
	campusNSPrefix  = "kmsprobe-t-"
	campusIfPrefix  = "kp-"
)

// campusJob is what the test asks of the helper process.
type campusJob struct {
	NS     string   // the namespace the helper must be in
	HostNS uint64   // inode of the test's own (host) namespace
	Iface  string   // the test's interface inside NS
	KMS    []string // ip:port to accept TCP on: the KMS host for --kms-mode tcp
	Args   []string // kmsprobe's arguments
	Out    string   // file for the campusOutcome
}

// campusOutcome is what run() did inside the namespace.
type campusOutcome struct {
	Code           int
	Stdout, Stderr string
	Error          string // the helper could not run the audit
}

// TestCampusNetnsHelper is the audit inside the test's namespace; it runs
// only in the process TestCampusAuditNetns starts.
func TestCampusNetnsHelper(t *testing.T) {
	raw := os.Getenv(campusHelperEnv)
	if raw == "" {
		t.Skip("runs only as the audit inside TestCampusAuditNetns's namespace")
	}
	var job campusJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatalf("bad job: %v", err)
	}
	res := campusOutcome{}
	defer func() {
		b, _ := json.Marshal(res)
		if err := os.WriteFile(job.Out, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}()
	if err := guardCampusNetns(job); err != nil {
		res.Error = "REFUSING to audit: " + err.Error()
		return
	}
	for _, addr := range job.KMS {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			res.Error = fmt.Sprintf("KMS listener on %s: %v", addr, err)
			return
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	res.Code = run(ctx, &env{Stdout: &out, Stderr: &errb}, job.Args)
	res.Stdout, res.Stderr = out.String(), errb.String()
}

// guardCampusNetns refuses unless this process is inside the namespace
// the parent test created, that namespace is not the host's, and the
// interface is the test's.
func guardCampusNetns(job campusJob) error {
	if !strings.HasPrefix(job.NS, campusNSPrefix) || strings.ContainsAny(job.NS, "/.") {
		return fmt.Errorf("namespace %q is not a test namespace (%s*)", job.NS, campusNSPrefix)
	}
	if !strings.HasPrefix(job.Iface, campusIfPrefix) {
		return fmt.Errorf("interface %q is not a test interface (%s*)", job.Iface, campusIfPrefix)
	}
	var self, named unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return err
	}
	if err := unix.Stat("/run/netns/"+job.NS, &named); err != nil {
		return fmt.Errorf("test namespace %s: %w", job.NS, err)
	}
	if self.Ino != named.Ino || self.Dev != named.Dev {
		return fmt.Errorf("this process is not inside namespace %s", job.NS)
	}
	if job.HostNS == 0 || job.HostNS == self.Ino {
		return fmt.Errorf("this process is in the host's network namespace (inode %d)", self.Ino)
	}
	if _, err := net.InterfaceByName(job.Iface); err != nil {
		return fmt.Errorf("interface %s is not in namespace %s: %w", job.Iface, job.NS, err)
	}
	return nil
}

func TestCampusGuardRefusesHostNamespace(t *testing.T) {
	for _, job := range []campusJob{
		{NS: "", Iface: "eth0"},
		{NS: campusNSPrefix + "x", Iface: "eth0"},
		{NS: campusNSPrefix + "does-not-exist", Iface: campusIfPrefix + "cli", HostNS: 1},
		{NS: "../" + campusNSPrefix, Iface: campusIfPrefix + "cli", HostNS: 1},
	} {
		if err := guardCampusNetns(job); err == nil {
			t.Errorf("guard accepted %+v", job)
		}
	}
}

// campusLab is one school LAN: the probe ("cli") and the campus server
// ("srv"), each in its own namespace, on the two ends of one veth.
type campusLab struct {
	t   *testing.T
	dir string
	ns  map[string]string
	log string // dnsmasq's log
}

// The lab's addresses. The KMS host's A and AAAA are on the probe's own
// interface, where the helper accepts on port 1688.
const (
	labSrv4 = "10.99.0.1"
	labCli4 = "10.99.0.9"
	labKMS4 = "10.99.0.5"
	labOld4 = "10.99.0.66" // another KMS host, that some zone points at
	labSrv6 = "fd99:99::1"
	labNo6  = "fd99:99::3" // a DNS server without the SRV records
	labCli6 = "fd99:99::9"
	labKMS6 = "fd99:99::5"
)

func newCampusLab(t *testing.T) *campusLab {
	t.Helper()
	testenv.Root(t, "creating network namespaces")
	testenv.LookPath(t, "ip", "iproute2")
	testenv.LookPath(t, "dnsmasq", "dnsmasq-base")
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	l := &campusLab{t: t, dir: t.TempDir(), ns: map[string]string{}}
	for _, role := range []string{"cli", "srv"} {
		name := campusNSPrefix + id + "-" + role
		if err := exec.Command("ip", "netns", "add", name).Run(); err != nil {
			testenv.Missing(t, fmt.Sprintf("cannot create network namespaces here (ip netns add: %v)", err))
		}
		l.ns[role] = name
		t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
		// In the test's namespace only: no duplicate address detection,
		// so link-local and the lab's addresses are usable at once.
		if out, err := exec.Command("ip", "netns", "exec", name, "sysctl", "-qw",
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.all.forwarding=1").CombinedOutput(); err != nil { // forwarding: radvd's router
			t.Fatalf("sysctl in %s: %v\n%s", name, err, out)
		}
	}
	l.ip("cli", "link", "add", campusIfPrefix+"cli", "type", "veth", "peer", "name", campusIfPrefix+"srv", "netns", l.ns["srv"])
	for _, role := range []string{"cli", "srv"} {
		l.ip(role, "link", "set", "lo", "up")
		l.ip(role, "link", "set", campusIfPrefix+role, "up")
	}
	l.ip("srv", "addr", "add", labSrv4+"/24", "dev", campusIfPrefix+"srv")
	l.ip("srv", "addr", "add", labSrv6+"/64", "dev", campusIfPrefix+"srv", "nodad")
	l.ip("srv", "addr", "add", labNo6+"/64", "dev", campusIfPrefix+"srv", "nodad")
	// The probe box's own addresses are for its DNS and KMS traffic;
	// DHCP does not need them.
	l.ip("cli", "addr", "add", labCli4+"/24", "dev", campusIfPrefix+"cli")
	l.ip("cli", "addr", "add", labKMS4+"/24", "dev", campusIfPrefix+"cli")
	l.ip("cli", "addr", "add", labCli6+"/64", "dev", campusIfPrefix+"cli", "nodad")
	l.ip("cli", "addr", "add", labKMS6+"/64", "dev", campusIfPrefix+"cli", "nodad")
	return l
}

func (l *campusLab) ip(role string, args ...string) {
	l.t.Helper()
	ns, ok := l.ns[role]
	if !ok || !strings.HasPrefix(ns, campusNSPrefix) {
		l.t.Fatalf("refusing to run ip outside the test's namespaces (role %q)", role)
	}
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip -n %s %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
}

// start runs argv in role's namespace until the test ends and waits for
// ready in its output.
func (l *campusLab) start(role, name, ready string, argv ...string) string {
	l.t.Helper()
	logf := filepath.Join(l.dir, name+".log")
	f, err := os.Create(logf)
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns[role]}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// If the test binary dies, so do its servers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("start %s: %v", name, err)
	}
	l.t.Cleanup(func() {
		cmd.Process.Kill() // this process only, by its PID
		cmd.Wait()
		f.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(logf); strings.Contains(string(b), ready) {
			return logf
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf)
	l.t.Fatalf("%s did not become ready (no %q in its log):\n%s", name, ready, b)
	return ""
}

// campus starts dnsmasq as the school's DHCP and DNS server. Its DNS
// serves _vlmcs._tcp.school.example (-> the KMS host, A and AAAA) and
// _vlmcs._tcp.old.example (-> another KMS host), and NXDOMAIN for any
// other name under example. With v6 it also answers DHCPv6
// Information-Requests and router solicitations (ra-stateless). A second
// dnsmasq on labNo6 answers DNS without any SRV record.
func (l *campusLab) campus(v6 bool, options ...string) {
	argv := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
		"--log-facility=-", "--log-dhcp", "--log-queries",
		"--bind-interfaces",
		"--listen-address=" + labSrv4, "--listen-address=" + labSrv6,
		"--no-resolv", "--no-hosts", "--no-ping", "--local=/example/",
		"--dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h",
		"--dhcp-leasefile=" + filepath.Join(l.dir, "campus.leases"),
		"--srv-host=_vlmcs._tcp.school.example,kms.school.example,1688",
		"--srv-host=_vlmcs._tcp.old.example,kms.old.example,1688",
		"--host-record=kms.school.example," + labKMS4 + "," + labKMS6,
		"--host-record=kms.old.example," + labOld4,
	}
	ready := "DHCP, IP range"
	if v6 {
		argv = append(argv, "--enable-ra", "--dhcp-range=fd99:99::,ra-stateless,64,1h")
		ready = "DHCPv6 stateless on"
	}
	for _, o := range options {
		argv = append(argv, "--dhcp-option="+o)
	}
	l.log = l.start("srv", "campus", ready, argv...)
	l.start("srv", "nosrv", "started, version", "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
		"--log-facility=-", "--log-queries", "--listen-address="+labNo6, "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/example/")
}

// radvd starts radvd on the campus server advertising the lab's prefix
// with an RDNSS server and DNSSL domains (RFC 8106), as a school router
// does.
func (l *campusLab) radvd(rdnss, dnssl string) {
	testenv.LookPath(l.t, "radvd", "radvd")
	conf := fmt.Sprintf(`interface %ssrv {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvOtherConfigFlag on;
  prefix fd99:99::/64 { };
  RDNSS %s { };
  DNSSL %s { };
};
`, campusIfPrefix, rdnss, dnssl)
	p := filepath.Join(l.dir, "radvd.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	l.start("srv", "radvd", "version", "radvd", "--nodaemon", "--config="+p, "--pidfile="+filepath.Join(l.dir, "radvd.pid"), "--logmethod=stderr", "--debug=1")
}

// audit runs `kmsprobe audit --school lab-jh --dhcp-iface kp-cli
// --kms-mode tcp --format json` inside the probe's namespace.
func (l *campusLab) audit() campusOutcome {
	l.t.Helper()
	cfg := fmt.Sprintf(`version: 1
kms: {host: kms.school.example, port: 1688, addresses: [%s, %s]}
resolvers: []
probe: {timeout: 1s, attempts: 2, delegation: false}
dhcp: {window: 4s}
schools:
  - id: lab-jh
    name: 實驗國中
    suffix: school.example
    dns: ["%s:53", "[%s]:53"]
`, labKMS4, labKMS6, labSrv4, labSrv6)
	path := filepath.Join(l.dir, "schools.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		l.t.Fatal(err)
	}
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		l.t.Fatal(err)
	}
	job := campusJob{
		NS: l.ns["cli"], HostNS: self.Ino, Iface: campusIfPrefix + "cli",
		KMS:  []string{net.JoinHostPort(labKMS4, "1688"), net.JoinHostPort(labKMS6, "1688")},
		Args: []string{"audit", "-c", path, "--school", "lab-jh", "--dhcp-iface", campusIfPrefix + "cli", "--kms-mode", "tcp", "--format", "json"},
		Out:  filepath.Join(l.dir, "outcome.json"),
	}
	raw, _ := json.Marshal(job)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.ns["cli"], os.Args[0], "-test.run=^TestCampusNetnsHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), campusHelperEnv+"="+string(raw))
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("audit helper: %v\n%s", err, out)
	}
	b, err := os.ReadFile(job.Out)
	if err != nil {
		l.t.Fatalf("audit helper wrote no outcome: %v", err)
	}
	var res campusOutcome
	if err := json.Unmarshal(b, &res); err != nil {
		l.t.Fatal(err)
	}
	if res.Error != "" {
		l.t.Fatal(res.Error)
	}
	return res
}

// searchQuestion is one row of dhcp.search's evidence.
type searchQuestion struct {
	Domain, Server, Status, Message string
}

type searchEvidence struct {
	Domains []struct {
		Domain, Source, Origin string
	} `json:"domains"`
	Servers []struct {
		Address, Source, Origin string
	} `json:"servers"`
	Questions []searchQuestion `json:"questions"`
}

// TestCampusAuditNetns: the whole campus chain through the command line,
// against real dnsmasq. Each scenario's verdicts are logged for the
// closing note.
func TestCampusAuditNetns(t *testing.T) {
	testenv.Root(t, "creating network namespaces")
	testenv.LookPath(t, "dnsmasq", "dnsmasq-base")
	v4 := func(search string) []string {
		o := []string{"option:domain-name,school.example", "option:dns-server," + labSrv4, "option:router," + labSrv4}
		if search != "" {
			o = append(o, "option:domain-search,"+search)
		}
		return o
	}
	type want struct {
		code        int
		search, dns finding.Status
		domains     []string // every domain a PC searches
		servers     []string // every DNS server a PC gets
	}
	v4srv := []string{labSrv4 + ":53"}
	both := []string{labSrv4 + ":53", "[" + labSrv6 + "]:53"}
	tests := []struct {
		name    string
		v6      bool
		ra      [2]string // radvd's RDNSS and DNSSL; empty: no radvd
		options []string
		want    want
		sources []string // where the IPv6 view must come from
	}{
		{
			name:    "option 119 with the school's suffix",
			options: v4("school.example,other.example"),
			want:    want{exitPass, finding.Pass, finding.Pass, []string{"school.example", "other.example"}, v4srv},
		},
		{
			name:    "option 119 without the school's suffix",
			options: v4("other.example"),
			want:    want{exitWarn, finding.Warn, finding.Pass, []string{"school.example", "other.example"}, v4srv},
		},
		{
			name:    "a searched domain points at another KMS host",
			options: v4("school.example,old.example"),
			want:    want{exitWarn, finding.Warn, finding.Pass, []string{"school.example", "old.example"}, v4srv},
		},
		{
			name:    "no searched domain leads to the KMS host",
			options: []string{"option:domain-name,wrong.example", "option:dns-server," + labSrv4, "option:domain-search,wrong.example,other.example"},
			want:    want{exitFail, finding.Fail, finding.Fail, []string{"wrong.example", "other.example"}, v4srv},
		},
		{
			name: "IPv6: RA and DHCPv6 options 23 and 24 beside DHCPv4",
			v6:   true,
			options: append(v4("school.example"),
				"option6:dns-server,["+labSrv6+"]", "option6:domain-search,school.example,v6.example"),
			want:    want{exitPass, finding.Pass, finding.Pass, []string{"school.example", "v6.example"}, both},
			sources: []string{"dhcpv6 option 23", "dhcpv6 option 24"},
		},
		{
			name:    "IPv6: router advertisements with RDNSS and DNSSL (radvd) beside DHCPv4",
			ra:      [2]string{labSrv6, "school.example ra.example"},
			options: v4(""),
			want:    want{exitPass, finding.Pass, finding.Pass, []string{"school.example", "ra.example"}, both},
			sources: []string{"ra rdnss", "ra dnssl"},
		},
		{
			name: "IPv6: the DHCPv6 server hands out a DNS server without the record",
			v6:   true,
			options: append(v4("school.example"),
				"option6:dns-server,["+labNo6+"]", "option6:domain-search,school.example"),
			want: want{exitFail, finding.Warn, finding.Fail, []string{"school.example"}, []string{labSrv4 + ":53", "[" + labNo6 + "]:53"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newCampusLab(t)
			l.campus(tc.v6, tc.options...)
			if tc.ra[0] != "" {
				l.radvd(tc.ra[0], tc.ra[1])
			}
			res := l.audit()
			var rep probe.Report
			if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
				t.Fatalf("audit exited %d without a JSON report: %v\nstdout:\n%s\nstderr:\n%s", res.Code, err, res.Stdout, res.Stderr)
			}
			if len(rep.Schools) != 1 {
				t.Fatalf("%d schools in the report, want 1", len(rep.Schools))
			}
			got := map[string]finding.Finding{}
			for _, f := range rep.Schools[0].Findings {
				t.Logf("%-12s %-24s %-7s %s", f.Check, f.Server, f.Status, f.Message)
				if f.Check == finding.DHCPSearch || f.Check == finding.DHCPDNS {
					got[f.Check] = f
				}
			}
			t.Logf("scenario %q: exit %d, dhcp.search %s, dhcp.dns %s", tc.name, res.Code, got[finding.DHCPSearch].Status, got[finding.DHCPDNS].Status)
			if res.Code != tc.want.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", res.Code, tc.want.code, res.Stderr)
			}
			if s := got[finding.DHCPSearch].Status; s != tc.want.search {
				t.Errorf("dhcp.search = %s, want %s: %s", s, tc.want.search, got[finding.DHCPSearch].Message)
			}
			if s := got[finding.DHCPDNS].Status; s != tc.want.dns {
				t.Errorf("dhcp.dns = %s, want %s: %s", s, tc.want.dns, got[finding.DHCPDNS].Message)
			}

			// Every domain a PC searches was asked at every server it
			// gets: in the finding's evidence, and in the log of the
			// campus DNS server itself.
			var ev searchEvidence
			if err := got[finding.DHCPSearch].Evidence.Decode(&ev); err != nil {
				t.Fatalf("dhcp.search evidence: %v", err)
			}
			var domains, servers []string
			for _, d := range ev.Domains {
				if !slices.Contains(domains, d.Domain) {
					domains = append(domains, d.Domain)
				}
			}
			for _, s := range ev.Servers {
				if !slices.Contains(servers, s.Address) {
					servers = append(servers, s.Address)
				}
			}
			var sources []string
			for _, d := range ev.Domains {
				sources = append(sources, d.Domain+" <- "+d.Source)
			}
			for _, s := range ev.Servers {
				sources = append(sources, s.Address+" <- "+s.Source)
			}
			t.Logf("a PC gets: %s", strings.Join(sources, "; "))
			if tc.sources != nil {
				for _, src := range tc.sources {
					if !strings.Contains(strings.Join(sources, ";"), src) {
						t.Errorf("nothing came from %s: %v", src, sources)
					}
				}
			}
			if !sameSet(domains, tc.want.domains) {
				t.Errorf("searched domains %v, want %v", domains, tc.want.domains)
			}
			if !sameSet(servers, tc.want.servers) {
				t.Errorf("DNS servers %v, want %v", servers, tc.want.servers)
			}
			asked := map[[2]string]searchQuestion{}
			for _, q := range ev.Questions {
				asked[[2]string{q.Domain, q.Server}] = q
			}
			logb, _ := os.ReadFile(l.log)
			for _, d := range tc.want.domains {
				for _, s := range tc.want.servers {
					q, ok := asked[[2]string{d, s}]
					if !ok || q.Status == "" || q.Status == finding.Unknown.String() {
						t.Errorf("_vlmcs._tcp.%s was not asked at %s (row %+v)", d, s, q)
					}
					if s == labSrv4+":53" && !strings.Contains(string(logb), "query[SRV] _vlmcs._tcp."+d+" from "+labCli4) {
						t.Errorf("dnsmasq at %s never got _vlmcs._tcp.%s from the probe", s, d)
					}
					if s == "["+labSrv6+"]:53" && !strings.Contains(string(logb), "query[SRV] _vlmcs._tcp."+d+" from fd99:99::") {
						t.Errorf("dnsmasq at %s never got _vlmcs._tcp.%s over IPv6", s, d)
					}
				}
			}
			if t.Failed() {
				t.Logf("dnsmasq log:\n%s\naudit stderr:\n%s", logb, res.Stderr)
			}

			// The KMS host has A and AAAA: kms.tcp ran over both.
			if tc.want.search != finding.Fail {
				tcp := map[string]finding.Status{}
				for _, f := range rep.Schools[0].Findings {
					if f.Check == finding.KMSTCP {
						tcp[f.Server] = f.Status
					}
				}
				for _, addr := range []string{net.JoinHostPort(labKMS4, "1688"), net.JoinHostPort(labKMS6, "1688")} {
					if tcp[addr] != finding.Pass {
						t.Errorf("kms.tcp at %s = %q, want pass (all: %v)", addr, tcp[addr], tcp)
					}
				}
			}
			// One Information-Request and no lease: the probe never
			// took an address.
			if b, err := os.ReadFile(filepath.Join(l.dir, "campus.leases")); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if line != "" && !strings.HasPrefix(line, "duid ") {
						t.Errorf("dnsmasq holds a lease after the audit: %q", line)
					}
				}
			}
			if strings.Contains(string(logb), "DHCPREQUEST") || strings.Contains(string(logb), "DHCPSOLICIT") {
				t.Errorf("the probe asked for an address:\n%s", logb)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
