package legs

import (
	"context"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/config"
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
