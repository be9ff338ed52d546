package main

import (
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/legs"
)

// TestCommandsShareBudgets: audit (and serve, which builds its legs the
// same way), kms and demo give the KMS handshake and NTP the same budgets
// for the same schools.yaml: the one table in package legs.
func TestCommandsShareBudgets(t *testing.T) {
	cfg, err := config.Parse("budgets.yaml", []byte("version: 1\nkms: {mode: bind}\nprobe: {timeout: 700ms, attempts: 3}\nntp: [127.0.0.123]\nschools: [{id: a, suffix: a.example, dns: [127.0.0.1]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := legs.BudgetsOf(cfg)
	if want.KMSHandshake != 2100*time.Millisecond || want.NTP != 700*time.Millisecond {
		t.Fatalf("budget table = %+v, want handshake 3×700ms, NTP 700ms", want)
	}

	type got struct{ handshake, ntp time.Duration }
	fromLegs := func(t *testing.T, name string, k, c any) got {
		t.Helper()
		kl, ok := k.(legs.KMS)
		if !ok {
			t.Fatalf("%s: KMS leg is %T", name, k)
		}
		cl, ok := c.(legs.Clock)
		if !ok {
			t.Fatalf("%s: clock leg is %T", name, c)
		}
		return got{kl.Budget.Handshake, cl.Budget.NTP}
	}

	var lf legFlags
	audit, err := lf.build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	demo := (&demoKMS{ntp: "127.0.0.123:123"}).legs(cfg)
	k, err := kmsOptions(cfg, kmsSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]got{
		"audit/serve": fromLegs(t, "audit", audit.KMS, audit.Clock),
		"demo":        fromLegs(t, "demo", demo.KMS, demo.Clock),
		"kms":         {k.Budget.Handshake, budgetsOf(cfg).NTP},
	} {
		if g.handshake != want.KMSHandshake || g.ntp != want.NTP {
			t.Errorf("%s: handshake %v, NTP %v; want %v, %v", name, g.handshake, g.ntp, want.KMSHandshake, want.NTP)
		}
	}
}
