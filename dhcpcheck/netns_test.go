//go:build linux

package dhcpcheck

// Integration tests against real DHCP servers (dnsmasq as the campus
// server, kea-dhcp4 as a rogue one) on a LAN made of network namespaces
// that the test creates and deletes.
//
// Network safety (DESIGN.md §7): the probe under test runs in a separate
// process that the test starts with `ip netns exec <the client namespace>`,
// a re-exec of this test binary (TestMain dispatches on helperEnv). That is
// more robust than setns on a locked goroutine: the whole process, every
// thread the Go runtime makes, and every socket the packet library opens
// live in the test's namespace, so nothing can leak onto the host's
// interfaces. The helper then refuses to send anything unless
// guardTestNetns confirms that it really is inside a namespace this test
// made (by inode, not by name), that this is not the host's namespace, and
// that the interface is one the test created. All links and addresses are
// created inside the namespaces (`ip -n NS link add ... peer ... netns
// NS2`), never in the host's.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

const (
	helperEnv    = "KMSPROBE_DHCPCHECK_HELPER" // set: this process is the probe inside a test namespace
	helperNSEnv  = "KMSPROBE_DHCPCHECK_NETNS"  // the namespace the helper must be in
	helperHostNS = "KMSPROBE_DHCPCHECK_HOSTNS" // the inode of the parent's (host's) namespace
	nsPrefix     = "kmsprobe-t-"
	ifPrefix     = "kp-" // the test's interfaces inside the end namespaces
	labKMS       = "kms.school.example."
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

// helperResult is what the helper process reports back on stdout.
type helperResult struct {
	View       View                       `json:"view"`
	Offers     []Offer                    `json:"offers"`
	SRV        map[string]finding.Finding `json:"srv"`
	Questions  []question                 `json:"questions"`
	Error      string                     `json:"error,omitempty"`
	Permission bool                       `json:"permission,omitempty"`
}

// question is one SRV question of View.Targets and its dns.srv finding
// (SRVResults has struct keys, which JSON cannot carry).
type question struct {
	Target  Target          `json:"target"`
	Finding finding.Finding `json:"finding"`
}

func (r helperResult) results() SRVResults {
	out := SRVResults{}
	for _, q := range r.Questions {
		out[q.Target] = q.Finding
	}
	return out
}

// helperMain is the probe side: guard, Discover, then the SRV lookups a PC
// would make, judged by package dnscheck (see srvFinding).
func helperMain() int {
	iface := os.Getenv(helperEnv)
	var res helperResult
	out := json.NewEncoder(os.Stdout)
	if err := guardTestNetns(iface); err != nil {
		fmt.Fprintln(os.Stderr, "REFUSING to send DHCP:", err)
		return 9
	}
	window, _ := time.ParseDuration(os.Getenv("KMSPROBE_DHCPCHECK_WINDOW"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	view, err := Observe(ctx, Options{Iface: iface, Window: window})
	res.View, res.Offers = view, view.Offers
	offers := view.Offers
	if err != nil {
		res.Error = err.Error()
		res.Permission = errors.Is(err, ErrPermission) && errors.Is(err, os.ErrPermission)
		out.Encode(res)
		return 0
	}
	res.SRV = map[string]finding.Finding{}
	for _, tg := range DNSTargets(offers, "school.example") {
		res.SRV[tg.Server] = srvFinding(ctx, tg)
	}
	for _, tg := range view.Targets("school.example") {
		res.Questions = append(res.Questions, question{tg, srvFinding(ctx, tg)})
	}
	out.Encode(res)
	return 0
}

// guardTestNetns refuses unless this process is inside the namespace the
// parent test created and named in helperNSEnv, that namespace is not the
// host's, and iface is one of the test's interfaces.
func guardTestNetns(iface string) error {
	ns := os.Getenv(helperNSEnv)
	if !strings.HasPrefix(ns, nsPrefix) || strings.ContainsAny(ns, "/.") {
		return fmt.Errorf("namespace %q is not a test namespace (%s*)", ns, nsPrefix)
	}
	if !strings.HasPrefix(iface, ifPrefix) {
		return fmt.Errorf("interface %q is not a test interface (%s*)", iface, ifPrefix)
	}
	var self, named unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return err
	}
	if err := unix.Stat("/run/netns/"+ns, &named); err != nil {
		return fmt.Errorf("test namespace %s: %w", ns, err)
	}
	if self.Ino != named.Ino || self.Dev != named.Dev {
		return fmt.Errorf("this process is not inside namespace %s", ns)
	}
	if host := os.Getenv(helperHostNS); host == "" || host == strconv.FormatUint(self.Ino, 10) {
		return fmt.Errorf("this process is in the host's network namespace (inode %d)", self.Ino)
	}
	if _, err := net.InterfaceByName(iface); err != nil {
		return fmt.Errorf("interface %s is not in namespace %s: %w", iface, ns, err)
	}
	return nil
}

func TestGuardRefusesHostNamespace(t *testing.T) {
	t.Setenv(helperNSEnv, "")
	if err := guardTestNetns("eth0"); err == nil {
		t.Fatal("guard accepted the host namespace and eth0")
	}
	t.Setenv(helperNSEnv, nsPrefix+"does-not-exist")
	if err := guardTestNetns(ifPrefix + "cli"); err == nil {
		t.Fatal("guard accepted a namespace this process is not in")
	}
}

// srvFinding is the dns.srv verdict the orchestrator would get for the
// target, from the DNS leg itself (dnscheck), so the test follows the
// same chain a campus audit does.
func srvFinding(ctx context.Context, tg Target) finding.Finding {
	q := dnscheck.NewQuery(tg.Server, dnscheck.SRVName(tg.Suffix), dns.TypeSRV)
	a := dnscheck.Client{Timeout: time.Second, Attempts: 1}.Exchange(ctx, q)
	return dnscheck.JudgeSRV(a, tg.Suffix, dnscheck.Expect{Host: labKMS, Port: 1688}, dnscheck.OfferedDNS, time.Second)
}

// lab is one school LAN: a bridge in its own namespace and, each in its
// own namespace, the probe ("cli"), the campus server ("srv") and a rogue
// ("rog"), each on a veth whose other end is on the bridge.
type lab struct {
	t    *testing.T
	id   string
	dir  string
	ns   map[string]string // role -> namespace
	logs map[string]string // server -> log file
}

func requireLab(t *testing.T) {
	t.Helper()
	testenv.Root(t, "creating network namespaces")
	testenv.LookPath(t, "ip", "iproute2")
	testenv.LookPath(t, "dnsmasq", "dnsmasq-base")
	testenv.LookPath(t, "kea-dhcp4", "kea-dhcp4-server")
}

func newLab(t *testing.T) *lab {
	t.Helper()
	requireLab(t)
	b := make([]byte, 4)
	rand.Read(b)
	l := &lab{t: t, id: hex.EncodeToString(b), dir: t.TempDir(), ns: map[string]string{}, logs: map[string]string{}}
	for _, role := range []string{"lan", "cli", "srv", "rog"} {
		name := nsPrefix + l.id + "-" + role
		if err := exec.Command("ip", "netns", "add", name).Run(); err != nil {
			testenv.Missing(t, fmt.Sprintf("cannot create network namespaces here (ip netns add: %v)", err))
		}
		l.ns[role] = name
		t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
		// Inside the test's own namespace only: no duplicate address
		// detection (link-local addresses usable at once), forwarding on
		// for radvd.
		if out, err := exec.Command("ip", "netns", "exec", name, "sysctl", "-qw",
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.all.forwarding=1").CombinedOutput(); err != nil {
			t.Fatalf("sysctl in %s: %v\n%s", name, err, out)
		}
	}
	l.ip("lan", "link", "add", "br0", "type", "bridge")
	l.ip("lan", "link", "set", "br0", "up")
	for _, role := range []string{"cli", "srv", "rog"} {
		l.ip("lan", "link", "add", "lan-"+role, "type", "veth", "peer", "name", ifPrefix+role, "netns", l.ns[role])
		l.ip("lan", "link", "set", "lan-"+role, "master", "br0", "up")
		l.ip(role, "link", "set", "lo", "up")
		l.ip(role, "link", "set", ifPrefix+role, "up")
	}
	// The campus server also hosts a second DNS server, .3, without the
	// SRV record. The probe box has addresses for its DNS lookups only;
	// DHCP does not need them.
	l.ip("srv", "addr", "add", "10.99.0.1/24", "dev", ifPrefix+"srv")
	l.ip("srv", "addr", "add", "10.99.0.3/24", "dev", ifPrefix+"srv")
	l.ip("rog", "addr", "add", "192.168.1.1/24", "dev", ifPrefix+"rog")
	l.ip("cli", "addr", "add", "10.99.0.9/24", "dev", ifPrefix+"cli")
	l.ip("cli", "addr", "add", "192.168.1.9/24", "dev", ifPrefix+"cli")
	return l
}

func (l *lab) ip(role string, args ...string) {
	l.t.Helper()
	ns, ok := l.ns[role]
	if !ok || !strings.HasPrefix(ns, nsPrefix) {
		l.t.Fatalf("refusing to run ip outside the test's namespaces (role %q)", role)
	}
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip -n %s %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
}

// start runs a server in role's namespace until the test ends, and waits
// for ready to appear in its log.
func (l *lab) start(role, name, ready string, env []string, argv ...string) {
	l.t.Helper()
	logf := filepath.Join(l.dir, name+".log")
	l.logs[name] = logf
	f, err := os.Create(logf)
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns[role]}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	// If the test binary dies, so do its servers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("start %s: %v", name, err)
	}
	l.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(logf); strings.Contains(string(b), ready) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logf)
	l.t.Fatalf("%s did not become ready (no %q in its log):\n%s", name, ready, b)
}

// campus starts dnsmasq as the school's DHCP server on 10.99.0.1, also
// serving DNS with the KMS SRV record there; extra adds dhcp-options.
func (l *lab) campus(extra ...string) {
	argv := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
		"--log-facility=-", "--log-dhcp", "--log-queries",
		"--listen-address=10.99.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
		"--dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h",
		// dnsmasq pings an address 3 s before offering it; the probe's
		// production window (4 s) covers that, but a loaded CI box must
		// not depend on a 1 s margin, so the test's server skips it.
		"--no-ping",
		"--dhcp-leasefile=" + filepath.Join(l.dir, "campus.leases"),
		"--srv-host=_vlmcs._tcp.school.example,kms.school.example,1688",
		"--host-record=kms.school.example,10.99.0.5",
	}
	for _, e := range extra {
		argv = append(argv, "--dhcp-option="+e)
	}
	l.start("srv", "campus", "DHCP, IP range", nil, argv...)
	// A DNS server on .3 that lacks the SRV record.
	l.start("srv", "nosrv", "started, version", nil, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
		"--log-facility=-", "--listen-address=10.99.0.3", "--bind-interfaces", "--no-resolv", "--no-hosts")
}

// rogue starts kea-dhcp4 as a home router's DHCP server would answer:
// another subnet, its own suffix and DNS.
func (l *lab) rogue() {
	conf := fmt.Sprintf(`{"Dhcp4": {
  "interfaces-config": {"interfaces": ["%[1]srog"], "dhcp-socket-type": "raw"},
  "lease-database": {"type": "memfile", "persist": true, "name": "%[2]s/kea.leases4", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "192.168.1.0/24", "pools": [{"pool": "192.168.1.100 - 192.168.1.150"}],
    "option-data": [{"name": "domain-name", "data": "home.lan"}, {"name": "domain-name-servers", "data": "192.168.1.1"},
                    {"name": "routers", "data": "192.168.1.1"}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "DEBUG", "debuglevel": 40}]
}}`, ifPrefix, l.dir)
	p := filepath.Join(l.dir, "kea.json")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	l.start("rog", "rogue", "DHCP4_STARTED", []string{"KEA_PIDFILE_DIR=" + l.dir, "KEA_LOCKFILE_DIR=" + l.dir}, "kea-dhcp4", "-c", p)
}

// probe runs the helper inside the client namespace.
func (l *lab) probe(window time.Duration, wrap ...string) helperResult {
	l.t.Helper()
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		l.t.Fatal(err)
	}
	argv := append([]string{"netns", "exec", l.ns["cli"]}, wrap...)
	argv = append(argv, os.Args[0], "-test.run=^$")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.Env = append(os.Environ(),
		helperEnv+"="+ifPrefix+"cli",
		helperNSEnv+"="+l.ns["cli"],
		helperHostNS+"="+strconv.FormatUint(self.Ino, 10),
		"KMSPROBE_DHCPCHECK_WINDOW="+window.String())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		l.t.Fatalf("probe helper: %v\n%s", err, stderr.String())
	}
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		l.t.Fatalf("probe helper output %q: %v", out, err)
	}
	return res
}

// noLeases asserts no server committed a lease to the probe, and that the
// probe sent no DHCPREQUEST.
func (l *lab) noLeases() {
	l.t.Helper()
	for _, f := range []string{"campus.leases", "kea.leases4"} {
		b, err := os.ReadFile(filepath.Join(l.dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			l.t.Fatal(err)
		}
		var leases []string
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			// dnsmasq with DHCPv6 writes its own DUID first: not a lease.
			if line != "" && !strings.HasPrefix(line, "address,hwaddr") && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "duid ") {
				leases = append(leases, line)
			}
		}
		if len(leases) > 0 {
			l.t.Errorf("%s holds leases after the probe: %q", f, leases)
		}
		l.t.Logf("%s after the probe: %d bytes, no lease", f, len(b))
	}
	for name, logf := range l.logs {
		b, _ := os.ReadFile(logf)
		if strings.Contains(string(b), "DHCPREQUEST") {
			l.t.Errorf("%s saw a DHCPREQUEST from the probe:\n%s", name, b)
		}
	}
}

func (l *lab) log(name string) string {
	b, _ := os.ReadFile(l.logs[name])
	return string(b)
}

type verdict struct{ Check, Server, Status string }

func verdicts(fs []finding.Finding) []verdict {
	var v []verdict
	for _, f := range fs {
		v = append(v, verdict{f.Check, f.Server, f.Status.String()})
	}
	return v
}

func TestDiscoverRealServers(t *testing.T) {
	requireLab(t)
	good := []string{"option:domain-name,school.example", "option:dns-server,10.99.0.1",
		"option:domain-search,school.example,kh.edu.tw", "option:router,10.99.0.1"}
	tests := []struct {
		name   string
		campus []string // nil: no campus server
		rogue  bool
		exp    Expect
		want   []verdict
		check  func(t *testing.T, l *lab, res helperResult)
	}{
		{
			name: "correct suffix", campus: good,
			want: []verdict{{"dhcp.offer", "10.99.0.1", "pass"}, {"dhcp.suffix", "10.99.0.1", "pass"}, {"dhcp.rogue", "10.99.0.1", "pass"}, {"dhcp.dns", "10.99.0.1", "pass"}},
			check: func(t *testing.T, l *lab, res helperResult) {
				o := res.Offers[0]
				got := map[string]any{"search": o.SearchList, "routers": ipStrings(o.Routers), "lease": o.LeaseTime, "dns": ipStrings(o.DNS)}
				want := map[string]any{"search": []string{"school.example", "kh.edu.tw"}, "routers": []string{"10.99.0.1"}, "lease": time.Hour, "dns": []string{"10.99.0.1"}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("decoded options (-want +got):\n%s", diff)
				}
				if !strings.Contains(l.log("campus"), "vendor class: MSFT 5.0") {
					t.Errorf("dnsmasq did not see the Windows vendor class:\n%s", l.log("campus"))
				}
				if !strings.Contains(l.log("campus"), "query[SRV] _vlmcs._tcp.school.example") {
					t.Errorf("the SRV lookup did not reach the option-6 server:\n%s", l.log("campus"))
				}
			},
		},
		{
			name: "wrong suffix", campus: []string{"option:domain-name,other.example", "option:dns-server,10.99.0.1"},
			want: []verdict{{"dhcp.offer", "10.99.0.1", "pass"}, {"dhcp.suffix", "10.99.0.1", "fail"}, {"dhcp.rogue", "10.99.0.1", "pass"}, {"dhcp.dns", "10.99.0.1", "fail"}},
		},
		{
			name: "no option 15", campus: []string{"option:dns-server,10.99.0.1"},
			want: []verdict{{"dhcp.offer", "10.99.0.1", "pass"}, {"dhcp.suffix", "10.99.0.1", "fail"}, {"dhcp.rogue", "10.99.0.1", "pass"}, {"dhcp.dns", "10.99.0.1", "pass"}},
			check: func(t *testing.T, l *lab, res helperResult) {
				if st := res.Offers[0].State(OptDomainName); st != Absent {
					t.Errorf("option 15 state = %v, want absent", st)
				}
			},
		},
		{
			name: "option 6 without the SRV record", campus: []string{"option:domain-name,school.example", "option:dns-server,10.99.0.3"},
			want: []verdict{{"dhcp.offer", "10.99.0.1", "pass"}, {"dhcp.suffix", "10.99.0.1", "pass"}, {"dhcp.rogue", "10.99.0.1", "pass"}, {"dhcp.dns", "10.99.0.1", "fail"}},
			check: func(t *testing.T, l *lab, res helperResult) {
				if f := res.SRV["10.99.0.3:53"]; f.Status != finding.Fail {
					t.Errorf("SRV at 10.99.0.3 = %v %q, want fail", f.Status, f.Message)
				}
			},
		},
		{
			name: "two servers answering", campus: good, rogue: true,
			exp: Expect{AllowedServers: []net.IP{net.ParseIP("10.99.0.1")}},
			want: []verdict{{"dhcp.offer", "10.99.0.1", "pass"}, {"dhcp.suffix", "10.99.0.1", "pass"}, {"dhcp.suffix", "192.168.1.1", "fail"},
				{"dhcp.rogue", "192.168.1.1", "fail"}, {"dhcp.dns", "kp-cli", "fail"}},
			check: func(t *testing.T, l *lab, res helperResult) {
				if !strings.Contains(l.log("rogue"), "DHCP4_LEASE_ADVERT") {
					t.Errorf("kea did not log its offer:\n%s", l.log("rogue"))
				}
			},
		},
		{
			name: "two servers, no allow-list: the one with the school's suffix is presumed legitimate", campus: good, rogue: true,
			want: []verdict{{"dhcp.offer", "", "pass"}, {"dhcp.suffix", "10.99.0.1", "pass"}, {"dhcp.suffix", "192.168.1.1", "fail"},
				{"dhcp.rogue", "192.168.1.1", "fail"}, {"dhcp.dns", "kp-cli", "fail"}},
		},
		{
			name: "no server",
			want: []verdict{{"dhcp.offer", "kp-cli", "fail"}, {"dhcp.suffix", "kp-cli", "skip"}, {"dhcp.rogue", "kp-cli", "skip"}, {"dhcp.dns", "kp-cli", "skip"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			if tc.campus != nil {
				l.campus(tc.campus...)
			}
			if tc.rogue {
				l.rogue()
			}
			res := l.probe(DefaultWindow)
			if res.Error != "" {
				t.Fatalf("Discover: %s", res.Error)
			}
			exp := tc.exp
			exp.Iface, exp.Window, exp.Suffix = ifPrefix+"cli", DefaultWindow, "school.example"
			exp.SchoolDNS = []string{"10.99.0.1"}
			v := View{Offers: res.Offers}
			fs := append(Judge(v, exp), JudgeDNS(v, exp, byTarget(v, exp, res.SRV)))
			got := verdicts(fs)
			for i := range tc.want {
				if tc.want[i].Server == "" && i < len(got) {
					got[i].Server = "" // names whichever server answered first
				}
			}
			// Servers race: order by check, then server.
			byCheck := cmpopts.SortSlices(func(a, b verdict) bool { return a.Check+a.Server < b.Check+b.Server })
			if diff := cmp.Diff(tc.want, got, byCheck); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
				for name := range l.logs {
					t.Logf("%s log:\n%s", name, l.log(name))
				}
			}
			for _, f := range fs {
				t.Logf("%-11s %-12s %-4s %s", f.Check, f.Server, f.Status, f.Message)
			}
			if tc.check != nil && len(res.Offers) > 0 {
				tc.check(t, l, res)
			}
			l.noLeases()
		})
	}
}

func TestDiscoverWithoutPrivilege(t *testing.T) {
	requireLab(t)
	testenv.LookPath(t, "setpriv", "util-linux")
	l := newLab(t)
	l.campus("option:domain-name,school.example")
	// Root without any capability, as an unprivileged admin would be.
	res := l.probe(time.Second, "setpriv", "--bounding-set=-all", "--inh-caps=-all", "--")
	if !res.Permission {
		t.Fatalf("Discover without CAP_NET_RAW: error %q, want one matching ErrPermission and os.ErrPermission", res.Error)
	}
	if !strings.Contains(res.Error, "setcap cap_net_raw,cap_net_bind_service=+ep /") {
		t.Errorf("error does not carry the setcap command: %s", res.Error)
	}
	t.Logf("error: %s", res.Error)
	l.noLeases()
}

// campus6 starts dnsmasq as a campus server of both families: DHCPv4 as
// campus() does, and on 2001:db8:99::1 stateless DHCPv6 (Information-
// Request answers with options 23 and 24) with router advertisements
// (ra-stateless: O flag, RDNSS, DNSSL). v4 and v6 are dhcp-options.
func (l *lab) campus6(v4, v6 []string) {
	l.ip("srv", "addr", "add", "2001:db8:99::1/64", "dev", ifPrefix+"srv", "nodad")
	argv := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
		"--log-facility=-", "--log-dhcp", "--log-queries",
		"--interface=" + ifPrefix + "srv", "--bind-interfaces", "--except-interface=lo", "--no-resolv", "--no-hosts", "--no-ping",
		"--dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h",
		"--dhcp-range=2001:db8:99::,ra-stateless,64,1h",
		"--enable-ra",
		"--dhcp-leasefile=" + filepath.Join(l.dir, "campus.leases"),
		"--srv-host=_vlmcs._tcp.school.example,kms.school.example,1688",
		"--host-record=kms.school.example,10.99.0.5",
	}
	for _, e := range v4 {
		argv = append(argv, "--dhcp-option="+e)
	}
	for _, e := range v6 {
		argv = append(argv, "--dhcp-option="+e)
	}
	l.start("srv", "campus", "DHCPv6 stateless on", nil, argv...)
}

// radvd starts radvd in role's namespace advertising prefix with the given
// RDNSS server and DNSSL domains.
func (l *lab) radvd(role, prefix, rdnss, dnssl string) {
	testenv.LookPath(l.t, "radvd", "radvd")
	conf := fmt.Sprintf(`interface %s%s {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvOtherConfigFlag on;
  prefix %s { };
  RDNSS %s { };
  DNSSL %s { };
};
`, ifPrefix, role, prefix, rdnss, dnssl)
	p := filepath.Join(l.dir, "radvd-"+role+".conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	l.start(role, "radvd-"+role, "version", nil, "radvd", "--nodaemon", "--config="+p, "--pidfile="+filepath.Join(l.dir, "radvd-"+role+".pid"), "--logmethod=stderr", "--debug=1")
}

// unbound starts unbound on addr in role's namespace, authoritative for
// school.example, with the KMS SRV record when withSRV.
func (l *lab) unbound(role, addr string, withSRV bool) {
	testenv.LookPath(l.t, "unbound", "unbound")
	l.ip(role, "addr", "add", addr+"/64", "dev", ifPrefix+role, "nodad")
	data := `  local-data: "kms.school.example. 3600 IN A 10.99.0.5"` + "\n"
	if withSRV {
		data += `  local-data: "_vlmcs._tcp.school.example. 3600 IN SRV 0 0 1688 kms.school.example."` + "\n"
	}
	conf := fmt.Sprintf(`server:
  interface: %s
  port: 53
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%[2]s"
  pidfile: "%[2]s/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  access-control: ::/0 allow
  access-control: 0.0.0.0/0 allow
  do-not-query-localhost: yes
  local-zone: "school.example." static
%s`, addr, l.dir, data)
	p := filepath.Join(l.dir, "unbound-"+role+".conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	l.start(role, "unbound-"+role, "start of service", nil, "unbound", "-d", "-c", p)
}

// TestObserveIPv6RealServers runs the whole PC view against real servers:
// dnsmasq handing out option 119 with and without the school's suffix and
// answering DHCPv6 Information-Requests with RAs (ra-stateless), radvd
// advertising an unbound server on an IPv6 address, and a rogue radvd.
// Each scenario logs its verdicts (the closing note quotes them).
func TestObserveIPv6RealServers(t *testing.T) {
	requireLab(t)
	v4 := func(search string) []string {
		o := []string{"option:domain-name,school.example", "option:dns-server,10.99.0.1", "option:router,10.99.0.1"}
		if search != "" {
			o = append(o, "option:domain-search,"+search)
		}
		return o
	}
	v6 := []string{"option6:dns-server,[2001:db8:99::1]", "option6:domain-search,school.example"}
	type want struct{ search, dns, rogue string }
	tests := []struct {
		name  string
		setup func(l *lab)
		want  want
		check func(t *testing.T, res helperResult)
	}{
		{
			name:  "dnsmasq both families, option 119 with the school's suffix",
			setup: func(l *lab) { l.campus6(v4("school.example,kh.edu.tw"), v6) },
			want:  want{"pass", "pass", "pass"},
			check: func(t *testing.T, res helperResult) {
				if len(res.View.Replies) == 0 || len(res.View.Adverts) == 0 {
					t.Fatalf("no DHCPv6 reply (%d) or RA (%d) from dnsmasq; IPv6 error %q", len(res.View.Replies), len(res.View.Adverts), res.View.IPv6Error)
				}
				r := res.View.Replies[0]
				if r.ServerDUID == "" || len(r.DNS) == 0 || !r.DNS[0].Equal(net.ParseIP("2001:db8:99::1")) || len(r.Domains) == 0 || r.Domains[0] != "school.example" {
					t.Errorf("DHCPv6 reply = %+v, want DUID, option 23 2001:db8:99::1, option 24 school.example", r)
				}
			},
		},
		{
			name:  "option 119 without the school's suffix",
			setup: func(l *lab) { l.campus6(v4("kh.edu.tw"), v6) },
			want:  want{"warn", "pass", "pass"},
		},
		{
			name: "radvd advertises unbound on an IPv6 address (RDNSS, DNSSL)",
			setup: func(l *lab) {
				l.campus(v4("")...)
				l.unbound("srv", "2001:db8:99::53", true)
				l.radvd("srv", "2001:db8:99::/64", "2001:db8:99::53", "school.example")
			},
			want: want{"pass", "pass", "pass"},
			check: func(t *testing.T, res helperResult) {
				var rdnss []string
				for _, ra := range res.View.Adverts {
					rdnss = append(rdnss, ipStrings(ra.RDNSS)...)
				}
				if !strings.Contains(strings.Join(rdnss, ","), "2001:db8:99::53") {
					t.Errorf("RDNSS seen: %v, want 2001:db8:99::53", rdnss)
				}
			},
		},
		{
			name: "RDNSS server without the SRV record",
			setup: func(l *lab) {
				l.campus(v4("")...)
				l.unbound("srv", "2001:db8:99::53", false)
				l.radvd("srv", "2001:db8:99::/64", "2001:db8:99::53", "school.example")
			},
			want: want{"warn", "fail", "pass"},
		},
		{
			name: "rogue router advertisements beside the campus",
			setup: func(l *lab) {
				l.campus6(v4("school.example"), v6)
				l.radvd("rog", "2001:db8:66::/64", "2001:db8:66::1", "home.lan")
			},
			// The rogue's RDNSS server does not answer: a PC that takes
			// it fails, so dhcp.dns fails too.
			want: want{"warn", "fail", "fail"},
			check: func(t *testing.T, res helperResult) {
				if !strings.Contains(l6rogue(res), "router fe80::") {
					t.Errorf("dhcp.rogue does not name the rogue router: %s", l6rogue(res))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			l.ip("cli", "addr", "add", "2001:db8:99::9/64", "dev", ifPrefix+"cli", "nodad")
			tc.setup(l)
			res := l.probe(DefaultWindow)
			if res.Error != "" {
				t.Fatalf("Observe: %s", res.Error)
			}
			exp := Expect{Iface: ifPrefix + "cli", Window: DefaultWindow, Suffix: "school.example", KMSHost: labKMS, KMSPort: 1688,
				SchoolDNS: []string{"10.99.0.1", "2001:db8:99::1", "2001:db8:99::53"}}
			srv := res.results()
			fs := append(Judge(res.View, exp), JudgeDNS(res.View, exp, srv), JudgeSearch(res.View, exp, srv))
			got := want{}
			for _, f := range fs {
				switch f.Check {
				case finding.DHCPSearch:
					got.search = f.Status.String()
				case finding.DHCPDNS:
					got.dns = f.Status.String()
				case finding.DHCPRogue:
					got.rogue = f.Status.String()
				}
				t.Logf("%-11s %-12s %-4s %s", f.Check, f.Server, f.Status, f.Message)
			}
			t.Logf("domains: %v; servers: %v", res.View.Domains(), res.View.Servers())
			if got != tc.want {
				t.Errorf("dhcp.search/dhcp.dns/dhcp.rogue = %v, want %v", got, tc.want)
				for name := range l.logs {
					t.Logf("%s log:\n%s", name, l.log(name))
				}
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			l.noLeases()
		})
	}
}

func l6rogue(res helperResult) string {
	for _, f := range Judge(res.View, Expect{Suffix: "school.example"}) {
		if f.Check == finding.DHCPRogue {
			return f.Message
		}
	}
	return ""
}
