package probe_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/internal/testenv"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/kmscheck/kmsreplay"
	"github.com/kh-edu/kmsprobe/legs"
	"github.com/kh-edu/kmsprobe/probe"
)

// dualVector is the capture both replays answer with.
const dualVector = kmsreplay.Vector("v6-win10-ent")

// dualStackKMS starts the replay of a captured activation on 127.0.0.88
// and on ::1 with the same port (a KMS host's SRV record names one port
// for all its addresses) and returns the port.
func dualStackKMS(t *testing.T) int {
	t.Helper()
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		testenv.Missing(t, "this host cannot listen on ::1 ("+err.Error()+"); enable IPv6 on lo")
	} else {
		ln.Close()
	}
	var lastErr error
	for range 20 {
		addr4, stop4, err := kmsreplay.Listen(context.Background(), "127.0.0.88:0", dualVector)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(addr4)
		_, stop6, err := kmsreplay.Listen(context.Background(), net.JoinHostPort("::1", port), dualVector)
		if err != nil { // the port is taken on ::1: try another
			stop4()
			lastErr = err
			continue
		}
		t.Cleanup(func() { stop4(); stop6() })
		p, _ := strconv.Atoi(port)
		return p
	}
	t.Fatalf("no port free on both 127.0.0.88 and ::1: %v", lastErr)
	return 0
}

// dualStackConfig is one school whose SRV record leads to kms.example,
// which has an A (127.0.0.88) and an AAAA (::1) record; both are
// witnessed by kms.addresses and by the city resolver. The school's own
// DNS server listens on ::1.
func dualStackConfig(t *testing.T, port int) string {
	t.Helper()
	var cl sim.Cluster
	t.Cleanup(cl.Close)
	recs := sim.Records{}.Add(
		"kms.example. 300 IN A 127.0.0.88",
		"kms.example. 300 IN AAAA ::1",
		fmt.Sprintf("_vlmcs._tcp.s0.example. 300 IN SRV 0 0 %d kms.example.", port),
	)
	r, err := cl.Start("127.0.0.21", recs, sim.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	own, err := cl.Start("::1", recs, sim.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`version: 1
kms: {host: kms.example, port: %d, addresses: [127.0.0.88, "::1"]}
resolvers: [%q]
probe: {timeout: 1s, attempts: 2}
schools:
  - {id: s0, suffix: s0.example, dns: [%q]}
`, port, r.Addr, own.Addr)
}

// recordingLeg is the real KMS leg that remembers where it was sent.
type recordingLeg struct {
	legs.KMS
	mu      sync.Mutex
	targets []string
}

func (l *recordingLeg) Measure(ctx context.Context, addr string) probe.Measurement {
	l.mu.Lock()
	l.targets = append(l.targets, addr)
	l.mu.Unlock()
	return l.KMS.Measure(ctx, addr)
}

func kmsLeg(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *recordingLeg {
	req := kmsreplay.ClientRequest(dualVector)
	req.Dial = dial
	return &recordingLeg{KMS: legs.KMS{Request: req, Budget: kmscheck.Budget{Handshake: 5 * time.Second}, Expect: kmscheck.Expect{MinCount: 25}}}
}

// kmsStatus maps "check@server" to the status of the KMS findings.
func kmsStatus(s probe.School) map[string]finding.Finding {
	out := map[string]finding.Finding{}
	for _, f := range s.Findings {
		if strings.HasPrefix(f.Check, "kms.") {
			out[f.Check+"@"+f.Server] = f
		}
	}
	return out
}

// TestKMSOverBothFamilies (issue 12 item 4): the KMS host's A and AAAA
// records are both witnessed, so the KMS leg is sent to both addresses,
// and a host that answers KMS on both passes on both.
func TestKMSOverBothFamilies(t *testing.T) {
	port := dualStackKMS(t)
	cfg := mustParse(t, dualStackConfig(t, port))
	leg := kmsLeg(nil)
	rep, err := probe.Run(context.Background(), cfg, probe.Options{Legs: probe.Legs{KMS: leg}})
	if err != nil {
		t.Fatal(err)
	}
	v4, v6 := net.JoinHostPort("127.0.0.88", strconv.Itoa(port)), net.JoinHostPort("::1", strconv.Itoa(port))
	slices.Sort(leg.targets)
	if want := []string{v4, v6}; !slices.Equal(leg.targets, want) {
		t.Fatalf("KMS leg sent to %v, want %v (once each)", leg.targets, want)
	}
	s := rep.Schools[0]
	got := kmsStatus(s)
	for _, addr := range []string{v4, v6} {
		for _, check := range []string{finding.KMSTCP, finding.KMSRPC} {
			if f := got[check+"@"+addr]; f.Status != finding.Pass {
				t.Errorf("%s at %s = %s %q, want pass", check, addr, f.Status, f.Message)
			}
		}
	}
	for _, f := range s.Findings {
		if f.Check == finding.DNSTarget && (f.Status != finding.Pass || !strings.Contains(f.Message, "::1")) {
			t.Errorf("dns.target at %s = %s %q, want pass naming the AAAA ::1", f.Server, f.Status, f.Message)
		}
	}
	if s.Status != finding.Pass {
		t.Errorf("school status %s, want pass; findings:\n%s", s.Status, dump(s.Findings))
	}
}

// TestNoIPv6OnProbeHostIsSkip: on a probe host without IPv6 (the kernel
// refuses the connect before a packet leaves: ENETUNREACH, EADDRNOTAVAIL,
// EAFNOSUPPORT) the IPv6 half is skip with the reason, the IPv4 half is
// judged as usual, the school is not failed or warned by it, and the KMS
// host is not reported as broken in the infrastructure list.
func TestNoIPv6OnProbeHostIsSkip(t *testing.T) {
	port := dualStackKMS(t)
	v4, v6 := net.JoinHostPort("127.0.0.88", strconv.Itoa(port)), net.JoinHostPort("::1", strconv.Itoa(port))
	for _, errno := range []syscall.Errno{syscall.ENETUNREACH, syscall.EADDRNOTAVAIL, syscall.EAFNOSUPPORT} {
		t.Run(errno.Error(), func(t *testing.T) {
			cfg := mustParse(t, dualStackConfig(t, port))
			var d net.Dialer
			leg := kmsLeg(func(ctx context.Context, network, addr string) (net.Conn, error) {
				if strings.HasPrefix(addr, "[") {
					return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", errno)}
				}
				return d.DialContext(ctx, network, addr)
			})
			rep, err := probe.Run(context.Background(), cfg, probe.Options{Legs: probe.Legs{KMS: leg}})
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Schools[0]
			got := kmsStatus(s)
			for _, check := range []string{finding.KMSTCP, finding.KMSRPC} {
				if f := got[check+"@"+v6]; f.Status != finding.Skip || !strings.Contains(f.Message, "IPv6") {
					t.Errorf("%s at %s = %s %q, want skip saying this host has no IPv6", check, v6, f.Status, f.Message)
				}
				if f := got[check+"@"+v4]; f.Status != finding.Pass {
					t.Errorf("%s at %s = %s %q, want pass", check, v4, f.Status, f.Message)
				}
			}
			if s.Status != finding.Pass {
				t.Errorf("school status %s, want pass (a skip is not the school's fault); findings:\n%s", s.Status, dump(s.Findings))
			}
			for _, inf := range rep.Infrastructure {
				if strings.HasPrefix(inf.Finding.Check, "kms.") {
					t.Errorf("infrastructure blames the KMS host for the probe's missing IPv6: %+v", inf.Finding)
				}
			}
			if rep.Summary.Fail+rep.Summary.Warn+rep.Summary.Unknown != 0 {
				t.Errorf("summary %+v, want every school pass", rep.Summary)
			}
		})
	}
}

// TestCampusOtherDomainsAreNotSchoolFindings: a domain a PC searches
// besides the school's suffix (other.example in option 119, with no SRV
// record, as kh.edu.tw has none) is asked and handed to the campus judge,
// but its NXDOMAIN is dhcp.search's to weigh, not a failing dns.srv of the
// school: a correct LAN must not fail the audit.
func TestCampusOtherDomainsAreNotSchoolFindings(t *testing.T) {
	c, resolvers, _ := city(t, 1, nil)
	lan := &fakeCampus{server: resolvers[0].Addr}
	kms := probe.LegFunc(func(_ context.Context, addr string) []finding.Finding {
		return []finding.Finding{{Check: finding.KMSTCP, Server: addr, Status: finding.Pass, Message: "connected"}}
	})
	rep, err := probe.Run(context.Background(), c, probe.Options{Schools: []string{"s0"}, Legs: probe.Legs{Campus: lan, KMS: kms}})
	if err != nil {
		t.Fatal(err)
	}
	if f := lan.got[probe.CampusQuestion{Server: resolvers[0].Addr, Domain: "other.example"}]; f.Check != finding.DNSSRV || f.Status != finding.Fail {
		t.Fatalf("campus judge got %+v for other.example, want the failing dns.srv", f)
	}
	s := rep.Schools[0]
	for _, f := range s.Findings {
		if strings.Contains(f.Message, "other.example") {
			t.Errorf("school finding about the other searched domain: %s %s %s %q", f.Check, f.Server, f.Status, f.Message)
		}
	}
	if s.Status != finding.Pass {
		t.Errorf("school status %s, want pass; findings:\n%s", s.Status, dump(s.Findings))
	}
}

func dump(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %-14s %-22s %-7s %s\n", f.Check, f.Server, f.Status, f.Message)
	}
	return b.String()
}
