package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

func init() {
	register(&command{
		Name:    "dhcp",
		Usage:   "--iface IFACE [--expect-suffix S | -c schools.yaml --school ID] [--window 4s] [--dhcp-mac MAC] [--format table|json]",
		Summary: "broadcast one Windows-shaped DHCPDISCOVER, list every offer and judge option 15, option 6 and rogue servers (never takes a lease)",
		Run:     runDHCP,
	})
}

func runDHCP(ctx context.Context, e *env, args []string) int {
	c := commands["dhcp"]
	fs := newFlagSet(e, c)
	var o outputFlags
	o.register(fs)
	var l legFlags
	var school, expect string
	fs.StringVar(&l.dhcpIface, "iface", "", "the interface on the school LAN (required; root or cap_net_raw)")
	fs.StringVar(&expect, "expect-suffix", "", "the DNS suffix option 15 must carry (default: the school's suffix with --school)")
	fs.StringVar(&school, "school", "", "judge against this school of schools.yaml (suffix, dns, dhcp.allowed_servers)")
	fs.StringVar(&l.dhcpMAC, "dhcp-mac", "", "client MAC for the DISCOVER (default: the interface's own)")
	fs.DurationVar(&l.dhcpWindow, "window", 0, "how long to collect offers (default dhcp.window, 4s: dnsmasq waits 3s before its first offer)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fail(e, fmt.Errorf("dhcp takes no arguments (got %q)", pos))
	}
	if l.dhcpIface == "" {
		return fail(e, errors.New("dhcp needs --iface IFACE: the interface on the school LAN (see `ip link`)"))
	}
	if err := o.checkFormat(); err != nil {
		return fail(e, err)
	}
	cfg, err := dhcpConfig(o.config, school, expect)
	if err != nil {
		return fail(e, err)
	}
	leg, err := l.campusLeg(cfg, []string{cfg.Schools[0].ID})
	if err != nil {
		return fail(e, err)
	}
	// The offers are followed the way a PC follows them: each option 6
	// server asked for the SRV record of the suffix the same offer gave,
	// through the same planner (bounded, deduplicated) as an audit.
	rep, err := probe.Run(ctx, cfg, probe.Options{Version: version, Vantage: "campus", DNSOnly: true, Legs: probe.Legs{Campus: leg}})
	if err != nil {
		return fail(e, err)
	}
	findings := rep.Schools[0].Findings
	if o.format == "table" && (o.out == "" || o.out == "-") {
		printOffers(e, findings)
	}
	if err := o.emit(e, rep); err != nil {
		return fail(e, err)
	}
	if err := l.campusError(); err != nil {
		fmt.Fprintln(e.Stderr, "kmsprobe:", err)
		return exitUnknown
	}
	return rep.ExitCode()
}

// dhcpConfig is the school the offers are judged against: one of
// schools.yaml with --school, else a school made of --expect-suffix alone
// (no suffix: dhcp.suffix is skipped).
func dhcpConfig(path, school, expect string) (*config.Config, error) {
	if school != "" {
		cfg, err := loadConfig(path)
		if err != nil {
			return nil, err
		}
		s, ok := cfg.School(school)
		if !ok {
			_, err := probe.Select(cfg, []string{school})
			return nil, err
		}
		if expect != "" {
			s.Suffix = strings.ToLower(strings.TrimSuffix(expect, "."))
		}
		cfg.Schools = []config.School{s}
		return cfg, nil
	}
	cfg := &config.Config{Schools: []config.School{{ID: "dhcp", Name: "DHCP on the campus LAN", Suffix: strings.ToLower(strings.TrimSuffix(expect, "."))}}}
	cfg.DHCP.Window.Duration = config.DefaultDHCPWindow
	cfg.Probe.Timeout.Duration, cfg.Probe.Attempts = config.DefaultTimeout, config.DefaultAttempts
	cfg.KMS.Host, cfg.KMS.Port = config.DefaultKMSHost, config.DefaultKMSPort
	if base, err := loadConfig(path); err == nil {
		cfg.DHCP, cfg.Probe, cfg.KMS, cfg.Resolvers = base.DHCP, base.Probe, base.KMS, base.Resolvers
	} else if !errors.Is(err, config.ErrNoConfig) {
		return nil, err
	}
	return cfg, nil
}

// printOffers lists every offer before the table: what a PC on this LAN
// would be told, server by server.
func printOffers(e *env, fs []finding.Finding) {
	for _, f := range fs {
		if f.Check != finding.DHCPOffer {
			continue
		}
		offers, _ := f.Evidence["offers"].([]map[string]any)
		if len(offers) == 0 {
			return
		}
		fmt.Fprintf(e.Stdout, "%d offer(s) on %v:\n", len(offers), f.Evidence["iface"])
		for _, o := range offers {
			fmt.Fprintf(e.Stdout, "  from %v (%v): offers %v", o["server_id"], o["server_mac"], o["offered_ip"])
			if r, ok := o["relay"]; ok {
				fmt.Fprintf(e.Stdout, " via relay %v", r)
			}
			fmt.Fprintln(e.Stdout)
			for _, k := range []string{"domain_name", "dns", "search_list", "routers", "lease_s"} {
				if v, ok := o[k]; ok {
					fmt.Fprintf(e.Stdout, "    %-12s %v\n", k, v)
				}
			}
			if m, ok := o["malformed"]; ok {
				fmt.Fprintf(e.Stdout, "    %-12s %v\n", "malformed", m)
			}
		}
		fmt.Fprintln(e.Stdout)
	}
}
