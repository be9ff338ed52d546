package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBudgets(t *testing.T) {
	cases := []struct {
		name string
		yaml string // after version: 1 and one school; "" for a zero Config
		want Budgets
	}{
		{"zero Config gets the defaults", "", Budgets{2 * time.Second, 2, 4 * time.Second, 2 * time.Second, 4 * time.Second}},
		{"file without a probe section", "x", Budgets{2 * time.Second, 2, 4 * time.Second, 2 * time.Second, 4 * time.Second}},
		{"timeout and attempts", "probe: {timeout: 300ms, attempts: 3}", Budgets{300 * time.Millisecond, 3, 900 * time.Millisecond, 300 * time.Millisecond, 4 * time.Second}},
		{"one attempt", "probe: {timeout: 5s, attempts: 1}", Budgets{5 * time.Second, 1, 5 * time.Second, 5 * time.Second, 4 * time.Second}},
		{"dhcp window", "dhcp: {window: 7s}", Budgets{2 * time.Second, 2, 4 * time.Second, 2 * time.Second, 7 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{}
			if tc.yaml != "" {
				y := "version: 1\nschools: [{id: a, suffix: a.kh.edu.tw}]\n"
				if tc.yaml != "x" {
					y += tc.yaml + "\n"
				}
				var err error
				if c, err = Parse("b.yaml", []byte(y)); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tc.want, c.Budgets()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// Built in Go, the same values give the same budgets.
	d := Default()
	d.Schools = []School{{ID: "a", Suffix: "a.kh.edu.tw"}}
	d.Probe.Timeout.Duration, d.Probe.Attempts = 300*time.Millisecond, 3
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := d.Budgets(); got.KMSHandshake != 900*time.Millisecond || got.NTP != 300*time.Millisecond {
		t.Errorf("Default()+Validate budgets = %+v", got)
	}
}
