package delegation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/delegation/delegationtest"
	"github.com/kh-edu/kmsprobe/finding"
)

func soa(zone string, serial uint32, ttl, minimum int) string {
	return fmt.Sprintf("%s. %d IN SOA ns1.%s. hostmaster.%s. %d 3600 600 86400 %d", zone, ttl, zone, zone, serial, minimum)
}

// zone builds a school zone's own data: SOA, the NS set and in-zone
// addresses of its name servers.
func zone(name string, serial uint32, ns map[string]string) []string {
	lines := []string{soa(name, serial, 3600, 300), "www." + name + ". 300 IN A 192.0.2.80"}
	for host, ip := range ns {
		lines = append(lines, name+". 3600 IN NS "+host+".")
		if strings.HasSuffix(host, name) {
			lines = append(lines, host+". 3600 IN A "+ip)
		}
	}
	return lines
}

// city is a small kh.edu.tw: its two servers host the parent zone and one
// school zone; other schools are delegated to their own servers, one
// correctly, one lamely, one with a stale secondary, one with differing
// NS sets, one half lame, and one school has no zone of its own.
type city struct {
	net       *delegationtest.Net
	resolvers []string
}

func startCity(t *testing.T) city {
	t.Helper()
	ns := map[string]map[string]string{
		"good.kh.edu.tw":  {"ns1.good.kh.edu.tw": "127.0.0.20", "ns2.good.kh.edu.tw": "127.0.0.21"},
		"lame.kh.edu.tw":  {"ns1.lame.kh.edu.tw": "127.0.0.30", "ns2.lame.kh.edu.tw": "127.0.0.31"},
		"stale.kh.edu.tw": {"ns1.stale.kh.edu.tw": "127.0.0.40", "ns2.stale.kh.edu.tw": "127.0.0.41"},
		"mis.kh.edu.tw":   {"ns1.mis.kh.edu.tw": "127.0.0.50"},
		"half.kh.edu.tw":  {"ns1.half.kh.edu.tw": "127.0.0.60", "ns2.half.kh.edu.tw": "127.0.0.61"},
	}
	parent := []string{
		soa("kh.edu.tw", 1, 3600, 900),
		"kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "kh.edu.tw. 3600 IN NS dns2.kh.edu.tw.",
		"dns1.kh.edu.tw. 3600 IN A 127.0.0.10", "dns2.kh.edu.tw. 3600 IN A 127.0.0.11",
		"hosted.kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "hosted.kh.edu.tw. 3600 IN NS dns2.kh.edu.tw.",
		"www.flat.kh.edu.tw. 3600 IN A 192.0.2.7",
	}
	resolver := []string{
		"kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "kh.edu.tw. 3600 IN NS dns2.kh.edu.tw.",
		"dns1.kh.edu.tw. 3600 IN A 127.0.0.10", "dns2.kh.edu.tw. 3600 IN A 127.0.0.11",
		"hosted.kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "hosted.kh.edu.tw. 3600 IN NS dns2.kh.edu.tw.",
		"ns3.mis.kh.edu.tw. 3600 IN A 127.0.0.51",
	}
	for z, hosts := range ns {
		for h, ip := range hosts {
			parent = append(parent, z+". 3600 IN NS "+h+".", h+". 3600 IN A "+ip)
			resolver = append(resolver, z+". 3600 IN NS "+h+".", h+". 3600 IN A "+ip)
		}
	}
	misZone := append(zone("mis.kh.edu.tw", 7, ns["mis.kh.edu.tw"]),
		"mis.kh.edu.tw. 3600 IN NS ns3.mis.kh.edu.tw.", "ns3.mis.kh.edu.tw. 3600 IN A 127.0.0.51")
	hosted := zone("hosted.kh.edu.tw", 5, nil)
	hosted = append(hosted, "hosted.kh.edu.tw. 3600 IN NS dns1.kh.edu.tw.", "hosted.kh.edu.tw. 3600 IN NS dns2.kh.edu.tw.")
	cityZones := map[string][]string{"kh.edu.tw": parent, "hosted.kh.edu.tw": hosted}
	one := func(z string, serial uint32) map[string][]string {
		return map[string][]string{z: zone(z, serial, ns[z])}
	}
	n := delegationtest.Start(t,
		&delegationtest.Host{IP: "127.0.0.2", Cache: resolver},
		&delegationtest.Host{IP: "127.0.0.10", Zones: cityZones},
		&delegationtest.Host{IP: "127.0.0.11", Zones: cityZones},
		&delegationtest.Host{IP: "127.0.0.20", Zones: one("good.kh.edu.tw", 2026010101)},
		&delegationtest.Host{IP: "127.0.0.21", Zones: one("good.kh.edu.tw", 2026010101)},
		&delegationtest.Host{IP: "127.0.0.30", Zones: one("lame.kh.edu.tw", 3), Mode: delegationtest.Refuse},
		&delegationtest.Host{IP: "127.0.0.31", Zones: one("lame.kh.edu.tw", 3), Mode: delegationtest.NoAA},
		&delegationtest.Host{IP: "127.0.0.40", Zones: one("stale.kh.edu.tw", 2026010102)},
		&delegationtest.Host{IP: "127.0.0.41", Zones: one("stale.kh.edu.tw", 2026010101)},
		&delegationtest.Host{IP: "127.0.0.50", Zones: map[string][]string{"mis.kh.edu.tw": misZone}},
		&delegationtest.Host{IP: "127.0.0.51", Zones: map[string][]string{"mis.kh.edu.tw": misZone}},
		&delegationtest.Host{IP: "127.0.0.60", Zones: one("half.kh.edu.tw", 9)},
		&delegationtest.Host{IP: "127.0.0.61", Zones: one("half.kh.edu.tw", 9), Mode: delegationtest.Silent},
	)
	return city{net: n, resolvers: []string{n.Addr("127.0.0.2")}}
}

func (c city) client() delegation.Client {
	return delegation.Client{Timeout: 300 * time.Millisecond, Attempts: 1, NSPort: c.net.Port}
}

type got struct {
	Status finding.Status
	ID     string
	Server string
	Short  string
}

func TestJudgeCity(t *testing.T) {
	c := startCity(t)
	addr := c.net.Addr
	cases := []struct {
		zone string
		want []got
	}{
		{"good.kh.edu.tw", []got{{finding.Pass, "dns.delegation.ok", "", "ok"}}},
		{"hosted.kh.edu.tw", []got{{finding.Pass, "dns.delegation.ok", "", "ok"}}},
		{"lame.kh.edu.tw", []got{{finding.Fail, "dns.delegation.all_lame", "", "all lame"}}},
		{"stale.kh.edu.tw", []got{{finding.Warn, "dns.delegation.stale_serial", addr("127.0.0.41"), "serial 2026010101<2026010102"}}},
		{"mis.kh.edu.tw", []got{{finding.Warn, "dns.delegation.ns_mismatch", addr("127.0.0.10"), "NS sets differ"}}},
		{"half.kh.edu.tw", []got{{finding.Warn, "dns.delegation.lame", addr("127.0.0.61"), "lame: timeout"}}},
		{"flat.kh.edu.tw", []got{{finding.Skip, "dns.delegation.not_delegated", addr("127.0.0.10"), "not delegated"}}},
	}
	p := delegation.NewProber(c.client(), c.resolvers)
	for _, tc := range cases {
		t.Run(tc.zone, func(t *testing.T) {
			m := p.Measure(context.Background(), delegation.Plan(tc.zone)[0])
			fs := delegation.Judge(m)
			var g []got
			for _, f := range fs {
				g = append(g, got{f.Status, f.ID, f.Server, f.Short})
				if f.Message == "" || strings.Contains(f.Message, "<no value>") {
					t.Errorf("message not filled in: %q", f.Message)
				}
				if f.Status != finding.Pass && f.Status != finding.Skip && f.Remedy == "" {
					t.Errorf("%s has no remedy", f.ID)
				}
			}
			if d := cmp.Diff(tc.want, g); d != "" {
				t.Errorf("findings (-want +got):\n%s\nmeasurement: %+v", d, m)
			}
		})
	}
}

func TestMeasureDetails(t *testing.T) {
	c := startCity(t)
	p := delegation.NewProber(c.client(), c.resolvers)
	ctx := context.Background()

	m := p.Measure(ctx, delegation.Plan("GOOD.kh.edu.tw.")[0])
	if want := []string{"ns1.good.kh.edu.tw", "ns2.good.kh.edu.tw"}; !slices.Equal(m.ParentNS, want) {
		t.Errorf("parent NS = %v, want %v", m.ParentNS, want)
	}
	if m.ParentHosts {
		t.Error("a referral was taken for the parent hosting the zone")
	}
	if len(m.Servers) != 2 || !m.Servers[0].AA || m.Servers[0].Serial != 2026010101 {
		t.Errorf("servers = %+v", m.Servers)
	}
	if d, ok := m.NegativeTTL(); !ok || d != 300*time.Second {
		t.Errorf("negative TTL = %v %v, want 5m0s (SOA MINIMUM 300 < TTL 3600)", d, ok)
	}
	f := delegation.Judge(m)[0]
	// The lead's dns.srv remedy reads the negative TTL from a finding that
	// went through a saved report.
	b, _ := json.Marshal(f)
	var back finding.Finding
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d, ok := delegation.NegativeTTLOf(back); !ok || d != 300*time.Second {
		t.Errorf("NegativeTTLOf(decoded) = %v %v", d, ok)
	}

	h := p.Measure(ctx, delegation.Plan("hosted.kh.edu.tw")[0])
	if !h.ParentHosts || len(h.Servers) != 2 {
		t.Errorf("hosted zone: %+v", h)
	}

	l := p.Measure(ctx, delegation.Plan("lame.kh.edu.tw")[0])
	lame := map[string]string{}
	for _, s := range l.Servers {
		lame[s.NS] = s.Lame
	}
	if d := cmp.Diff(map[string]string{"ns1.lame.kh.edu.tw": "refused", "ns2.lame.kh.edu.tw": "not authoritative"}, lame); d != "" {
		t.Errorf("lame reasons (-want +got):\n%s", d)
	}

	// The zone's own NS set names a third server the delegation does
	// not: it is asked too.
	mis := p.Measure(ctx, delegation.Plan("mis.kh.edu.tw")[0])
	var asked []string
	for _, s := range mis.Servers {
		asked = append(asked, s.NS)
	}
	if want := []string{"ns1.mis.kh.edu.tw", "ns3.mis.kh.edu.tw"}; !slices.Equal(asked, want) {
		t.Errorf("asked %v, want %v", asked, want)
	}
}

func TestCancelledIsUnknown(t *testing.T) {
	c := startCity(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs := delegation.Judge(delegation.Measure(ctx, delegation.Plan("good.kh.edu.tw")[0], c.client(), c.resolvers))
	if len(fs) != 1 || fs[0].Status != finding.Unknown {
		t.Fatalf("cancelled: %+v", fs)
	}
}

// TestDeadResolversAreSkipNotPass: with no name server to learn, the
// check is skipped with the reason, never passed, and never "unknown"
// (that is the probe's own trouble, exit 3).
func TestDeadResolversAreSkipNotPass(t *testing.T) {
	n := delegationtest.Start(t, &delegationtest.Host{IP: "127.0.0.3", Mode: delegationtest.Silent})
	cl := delegation.Client{Timeout: 100 * time.Millisecond, Attempts: 1, NSPort: n.Port}
	fs := delegation.Judge(delegation.Measure(context.Background(), delegation.Plan("x.kh.edu.tw")[0], cl, []string{n.Addr("127.0.0.3")}))
	if len(fs) != 1 || fs[0].Status != finding.Skip || fs[0].ID != "dns.delegation.unknown" || !strings.Contains(fs[0].Message, "timeout") {
		t.Fatalf("dead resolvers: %+v", fs)
	}
}

func TestJudgeIsPure(t *testing.T) {
	// A measurement written by hand: serial wrap-around (RFC 1982) makes
	// 5 newer than 4294967290.
	m := delegation.Measurement{
		Target: delegation.Plan("w.kh.edu.tw")[0],
		Servers: []delegation.Server{
			{NS: "a.w.kh.edu.tw", Addr: "192.0.2.1:53", AA: true, SOA: true, Serial: 4294967290, NegTTL: 60},
			{NS: "b.w.kh.edu.tw", Addr: "192.0.2.2:53", AA: true, SOA: true, Serial: 5, NegTTL: 120},
		},
	}
	fs := delegation.Judge(m)
	if len(fs) != 1 || fs[0].ID != "dns.delegation.stale_serial" || fs[0].Server != "192.0.2.1:53" {
		t.Fatalf("%+v", fs)
	}
	if d, _ := delegation.NegativeTTLOf(fs[0]); d != 2*time.Minute {
		t.Errorf("negative TTL from the newest server: %v", d)
	}
}

// TestSlotWaitEndsWithTheAudit: questions queued behind a silent
// resolver's per-server cap return as soon as the audit stops, not after
// the questions ahead of them time out, and are unknown, never blamed.
func TestSlotWaitEndsWithTheAudit(t *testing.T) {
	n := delegationtest.Start(t, &delegationtest.Host{IP: "127.0.0.3", Mode: delegationtest.Silent})
	cl := delegation.Client{Timeout: 5 * time.Second, Attempts: 1, NSPort: n.Port, PerServer: 1}
	p := delegation.NewProber(cl, []string{n.Addr("127.0.0.3")})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	// Four parents: four questions to the one resolver, three waiting.
	res := make([][]finding.Finding, 4)
	stopped := make([]bool, 4)
	done := make(chan int)
	for i := range res {
		go func() {
			m := p.Measure(ctx, delegation.Plan(fmt.Sprintf("school.p%d.example", i))[0])
			res[i], stopped[i] = delegation.Judge(m), m.Stopped
			done <- i
		}()
	}
	for range res {
		<-done
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopping took %v; the queued questions waited out the timeout", d)
	}
	for i, fs := range res {
		if !stopped[i] || len(fs) != 1 || fs[0].Status != finding.Unknown {
			t.Errorf("zone %d: stopped=%v %+v, want stopped and one unknown", i, stopped[i], fs)
		}
	}
	if sent, peak := p.Load(); peak != 1 || sent < 1 {
		t.Errorf("sent %d, peak %d in flight; want the cap of 1 held", sent, peak)
	}
}
