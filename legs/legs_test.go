package legs

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/delegation/delegationtest"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
)

func TestBudgetsOf(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want Budgets
	}{
		{"version: 1\nschools: [{id: a, suffix: a.example, dns: [127.0.0.1]}]\n",
			Budgets{PerAttempt: 2 * time.Second, Attempts: 2, KMSHandshake: 4 * time.Second, NTP: 2 * time.Second, DHCPWindow: 4 * time.Second}},
		{"version: 1\nprobe: {timeout: 500ms, attempts: 3}\ndhcp: {window: 6s}\nschools: [{id: a, suffix: a.example, dns: [127.0.0.1]}]\n",
			Budgets{PerAttempt: 500 * time.Millisecond, Attempts: 3, KMSHandshake: 1500 * time.Millisecond, NTP: 500 * time.Millisecond, DHCPWindow: 6 * time.Second}},
	} {
		cfg, err := config.Parse("b.yaml", []byte(c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if got := BudgetsOf(cfg); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.yaml, got, c.want)
		}
	}
	if d, want := DefaultBudgets(), (Budgets{PerAttempt: 2 * time.Second, Attempts: 2, KMSHandshake: 4 * time.Second, NTP: 2 * time.Second, DHCPWindow: 4 * time.Second}); d != want {
		t.Errorf("DefaultBudgets = %+v, want %+v", d, want)
	}
}

// TestClockWithoutNTPIsSkip: no ntp: configured is a skip with the fix,
// never a pass, and asks nothing.
func TestClockWithoutNTPIsSkip(t *testing.T) {
	fs := Clock{}.Measure(context.Background(), "").Judge()
	if len(fs) != 1 || fs[0].Status != finding.Skip || fs[0].Remedy == "" {
		t.Errorf("findings = %+v, want one skip with a remedy", fs)
	}
}

// TestSkipsTranslate: the legs' own "not checked" findings carry ids
// whose English is their message, so --lang zh-TW translates them.
func TestSkipsTranslate(t *testing.T) {
	fs := Clock{}.Measure(context.Background(), "").Judge()
	fs = append(fs, Zone{}.Measure(context.Background(), "a.example").Judge()...)
	if len(fs) != 2 || fs[1].ID != "dns.delegation.no_resolvers" {
		t.Fatalf("findings = %+v, want the clock's and the delegation's skip", fs)
	}
	for _, f := range fs {
		if err := i18n.CheckFinding(f); err != nil {
			t.Error(err)
		}
	}
}

// TestZoneForAudit: each audit gets a Prober of its own (nothing learned
// in one audit answers for the next) on sockets that end closes, and its
// zones are judged as before.
func TestZoneForAudit(t *testing.T) {
	c, err := delegationtest.StartCity(8, 1688)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg, err := config.Parse("z.yaml", []byte(fmt.Sprintf(
		"version: 1\nresolvers: [%q]\nprobe: {timeout: 2s, attempts: 2, ns_port: %d}\nschools: [{id: a, suffix: s001.kh.edu.tw}]\n", c.Resolver, c.Port)))
	if err != nil {
		t.Fatal(err)
	}
	z := ZoneOf(cfg)
	var probers []*delegation.Prober
	for range 2 {
		leg, end := z.ForAudit()
		zl, ok := leg.(Zone)
		if !ok || zl.Prober == nil || zl.Prober == z.Prober || slices.Contains(probers, zl.Prober) {
			t.Fatalf("ForAudit gave %#v: want a Zone with a Prober of its own", leg)
		}
		probers = append(probers, zl.Prober)
		for _, zone := range []string{"s001.kh.edu.tw", "s004.kh.edu.tw"} { // own server, hosted by the city
			fs := leg.Measure(context.Background(), zone).Judge()
			if len(fs) != 1 || fs[0].Status != finding.Pass {
				t.Errorf("%s: %+v, want one pass", zone, fs)
			}
		}
		if sent, peak := zl.Prober.Load(); sent == 0 || peak < 1 {
			t.Errorf("the audit's prober sent %d questions, peak %d", sent, peak)
		}
		end()
		if sent, _ := z.Prober.Load(); sent != 0 {
			t.Errorf("the leg's own prober sent %d questions during an audit", sent)
		}
	}
}
