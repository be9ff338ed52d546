package probe_test

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

func TestOrderSRVHonoursPriorityAndWeight(t *testing.T) {
	mk := func(prio, weight uint16, target string) *dns.SRV {
		return &dns.SRV{Priority: prio, Weight: weight, Port: 1688, Target: target}
	}
	recs := []*dns.SRV{mk(10, 0, "backup."), mk(0, 90, "heavy."), mk(0, 10, "light.")}
	first := map[string]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		got := probe.OrderSRV(recs, rng)
		if got[2].Target != "backup." {
			t.Fatalf("priority 10 tried before priority 0: %v", got)
		}
		first[got[0].Target]++
	}
	// Weight 90 against 10: the heavy target comes first about 9 times
	// in 10.
	if first["heavy."] < 820 || first["heavy."] > 960 {
		t.Errorf("heavy first %d/1000 times, want about 900", first["heavy."])
	}
}

func TestDiscoverFollowsTheChainLikeAClient(t *testing.T) {
	dead, err := sim.Listen("127.0.0.1", sim.Records{}, sim.Dead)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	good, err := sim.Listen("127.0.0.1", sim.Records{}.Add(
		"_vlmcs._tcp.a.example. 300 IN SRV 0 0 1688 kms1.example.",
		"_vlmcs._tcp.a.example. 300 IN SRV 10 0 1688 kms.example.",
		"kms1.example. 300 IN A 127.0.0.91",
		"kms.example. 300 IN A 127.0.0.92",
	), sim.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(good.Close)
	var tried []string
	fs := probe.Discover(context.Background(), "a.example", probe.DiscoverOptions{
		Client:  dnscheck.Client{Timeout: 200 * time.Millisecond, Attempts: 1},
		Expect:  dnscheck.Expect{Host: "kms.example", Port: 1688},
		Servers: []string{dead.Addr, good.Addr}, // the primary is down: a PC asks the secondary
		// The city's witness says where the KMS host is: the school's
		// server cannot send the probe anywhere else.
		Reference: []net.IP{net.ParseIP("127.0.0.92")},
		KMS: probe.LegFunc(func(ctx context.Context, addr string) []finding.Finding {
			tried = append(tried, addr)
			st := finding.Fail
			if addr == "127.0.0.92:1688" {
				st = finding.Pass
			}
			return []finding.Finding{{Check: finding.KMSRPC, Server: addr, Status: st}}
		}),
	})
	if diff := cmp.Diff([]string{"127.0.0.92:1688"}, tried); diff != "" {
		t.Errorf("addresses tried (-want +got):\n%s", diff)
	}
	var checks []string
	for _, f := range fs {
		checks = append(checks, f.Check+"@"+f.Server+"="+f.Status.String())
	}
	want := []string{
		"dns.srv@" + dead.Addr + "=fail",
		"dns.srv@" + good.Addr + "=warn",    // two targets: an extra record
		"dns.target@" + good.Addr + "=fail", // kms1 resolves elsewhere: never dialed
		"dns.target@" + good.Addr + "=pass",
		"kms.rpc@127.0.0.92:1688=pass",
	}
	if diff := cmp.Diff(want, checks); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if got := fs[1].Evidence.Value("client_order"); !cmp.Equal(got, []any{"kms1.example:1688", "kms.example:1688"}) {
		t.Errorf("client_order = %v", got)
	}
}

// TestDiscoverNoService: an SRV target of "." means "no service here"
// (RFC 2782): nothing is dialed, and the answer is not a pass.
func TestDiscoverNoService(t *testing.T) {
	srv, err := sim.Listen("127.0.0.1", sim.Records{}.Add(
		"_vlmcs._tcp.a.example. 300 IN SRV 0 0 1688 .",
	), sim.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	called := false
	fs := probe.Discover(context.Background(), "a.example", probe.DiscoverOptions{
		Client:    dnscheck.Client{Timeout: 200 * time.Millisecond, Attempts: 1},
		Expect:    dnscheck.Expect{Host: "kms.example", Port: 1688},
		Servers:   []string{srv.Addr},
		Reference: []net.IP{net.ParseIP("127.0.0.92")},
		KMS: probe.LegFunc(func(context.Context, string) []finding.Finding {
			called = true
			return nil
		}),
	})
	if called {
		t.Error("a target of \".\" was dialed")
	}
	if fs[0].Check != finding.DNSSRV || fs[0].Status == finding.Pass {
		t.Errorf("dns.srv = %+v, want not pass", fs[0])
	}
	for _, f := range fs[1:] {
		if f.Status == finding.Pass {
			t.Errorf("%s passed after a \".\" target", f.Check)
		}
	}
}
