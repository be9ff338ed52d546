package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/probe"
)

// legFlags select and tune the legs beyond DNS.
type legFlags struct {
	dhcpIface  string
	dhcpMAC    string
	dhcpWindow time.Duration
	kmsMode    string
	product    string
	protocol   int

	// campusErr is set when the DHCP leg could not run (no privilege, no
	// interface): the report still prints, and the exit code is 3.
	mu        sync.Mutex
	campusErr error
}

func (l *legFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.dhcpIface, "dhcp-iface", "", "campus mode: broadcast one DHCPDISCOVER on this interface and follow the offers (needs --school ID; root or cap_net_raw)")
	fs.StringVar(&l.dhcpMAC, "dhcp-mac", "", "client MAC for the DISCOVER (default: the interface's own)")
	fs.DurationVar(&l.dhcpWindow, "dhcp-window", 0, "how long to collect DHCP offers (default dhcp.window, 4s: dnsmasq waits 3s before its first offer)")
	fs.StringVar(&l.kmsMode, "kms-mode", "", "how far the KMS check goes: tcp, bind or activate (default kms.mode, else activate)")
	fs.StringVar(&l.product, "product", "", "product the KMS activation request claims to be (default kms.product, else Windows 10/11 Enterprise)")
	fs.IntVar(&l.protocol, "protocol", 0, "KMS protocol version 4, 5 or 6 (default kms.protocol, else 6)")
}

// auditKMSOptions merges schools.yaml and the flags into the KMS leg's
// request, budget and expectation (the same rules as kmsprobe kms). The
// client identity is resolved here, once, so a machine without a stable
// identity is told before any packet is sent.
func (l *legFlags) auditKMSOptions(cfg *config.Config) (kmsLeg, error) {
	k, _, _, err := kmsOptions(cfg, l.kmsMode, l.product, l.protocol, 0)
	if err != nil {
		return k, err
	}
	// One deadline covers connect, bind and the activation request; it
	// gets the budget a DNS question gets in all its attempts.
	k.budget.Handshake = cfg.Probe.Timeout.Duration * time.Duration(cfg.Probe.Attempts)
	if k.req.Mode == kmscheck.ModeActivate {
		id, err := kmscheck.LoadIdentity(cfgStateDir(cfg))
		if err != nil {
			return k, fmt.Errorf("%w (or use --kms-mode bind, which sends no activation request)", err)
		}
		k.req.ClientID = id
	}
	return k, nil
}

// cfgStateDir is where the probe keeps its KMS client id when the machine has
// no /etc/machine-id: probe.state_dir, else the user's state folder.
func cfgStateDir(cfg *config.Config) string {
	if cfg.Probe.StateDir != "" {
		return cfg.Probe.StateDir
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "kmsprobe")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "kmsprobe")
	}
	return ""
}

// clockLeg checks the local clock against the configured NTP servers.
func clockLeg(cfg *config.Config) func(ctx context.Context) []finding.Finding {
	return func(ctx context.Context) []finding.Finding {
		if len(cfg.NTP) == 0 {
			return []finding.Finding{{
				Check: finding.ClockOffset, Status: finding.Skip, Short: "no ntp",
				Message: "no NTP server configured, so the clock was not checked",
				Remedy:  "add the time servers the PCs use under ntp: in schools.yaml, e.g. ntp: [time.stdtime.gov.tw]",
			}}
		}
		return clockcheck.Judge(clockcheck.Measure(ctx, cfg.NTP, clockcheck.Budget{NTP: cfg.Probe.Timeout.Duration}))
	}
}

// build makes the legs from the configuration and flags.
func (l *legFlags) build(cfg *config.Config, schools []string) (probe.Legs, error) {
	k, err := l.auditKMSOptions(cfg)
	if err != nil {
		return probe.Legs{}, err
	}
	legs := probe.Legs{
		KMS:   k.check,
		Clock: clockLeg(cfg),
	}
	if l.dhcpIface != "" {
		campus, err := l.campusLeg(cfg, schools)
		if err != nil {
			return probe.Legs{}, err
		}
		legs.Campus = campus
	}
	return legs, nil
}
