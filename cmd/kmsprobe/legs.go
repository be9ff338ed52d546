package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/legs"
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
	fs.StringVar(&l.dhcpIface, "dhcp-iface", "", "campus mode: broadcast one DHCPDISCOVER on `IFACE` and follow the offers (needs --school ID; root or cap_net_raw)")
	fs.StringVar(&l.dhcpMAC, "dhcp-mac", "", "client `MAC` for the DISCOVER (default: the interface's own)")
	fs.DurationVar(&l.dhcpWindow, "dhcp-window", 0, "how long to collect DHCP offers (default dhcp.window, 4s: dnsmasq waits 3s before its first offer)")
	fs.StringVar(&l.kmsMode, "kms-mode", "", "how far the KMS check goes: `tcp|bind|activate` (default kms.mode, else activate)")
	fs.StringVar(&l.product, "product", "", "`PRODUCT` the KMS activation request claims to be (default kms.product, else Windows 10/11 Enterprise)")
	fs.IntVar(&l.protocol, "protocol", 0, "KMS protocol version `4|5|6` (default kms.protocol, else 6)")
}

// auditKMSOptions merges schools.yaml and the flags into the KMS leg's
// request, budget and expectation (the same rules as kmsprobe kms). The
// client identity is resolved here, once, so a machine without a stable
// identity is told before any packet is sent.
func (l *legFlags) auditKMSOptions(cfg *config.Config) (legs.KMS, error) {
	// One deadline covers connect, bind and the activation request; it
	// gets the budget a DNS question gets in all its attempts
	// (legs.BudgetsOf, the same table as every command).
	k, err := kmsOptions(cfg, kmsSettings{mode: l.kmsMode, product: l.product, protocol: l.protocol})
	if err != nil {
		return k, err
	}
	if k.Request.Mode == kmscheck.ModeActivate {
		id, err := kmscheck.LoadIdentity(cfgStateDir(cfg))
		if err != nil {
			return k, fmt.Errorf("%w (or use --kms-mode bind, which sends no activation request)", err)
		}
		k.Request.ClientID = id
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

// build makes the legs from the configuration and flags.
func (l *legFlags) build(cfg *config.Config, schools []string) (probe.Legs, error) {
	k, err := l.auditKMSOptions(cfg)
	if err != nil {
		return probe.Legs{}, err
	}
	built := probe.Legs{KMS: k, Clock: legs.ClockOf(cfg)}
	if cfg.Probe.DelegationOn() {
		built.Zone = legs.ZoneOf(cfg)
	}
	if l.dhcpIface != "" {
		campus, err := l.campusLeg(cfg, schools)
		if err != nil {
			return probe.Legs{}, err
		}
		built.Campus = campus
	}
	return built, nil
}

// hostLookup asks this machine's own resolver for the KMS host's
// addresses: the witness of last resort (no city resolver answered and
// kms.addresses is not written). It has the per-question budget.
func hostLookup(ctx context.Context, host string) []net.IP {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil
	}
	out := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.IP)
	}
	return out
}

// addressesOf parses kms.addresses (validated when the config was loaded).
func addressesOf(list []string) []net.IP {
	var out []net.IP
	for _, a := range list {
		if ip := net.ParseIP(a); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}
