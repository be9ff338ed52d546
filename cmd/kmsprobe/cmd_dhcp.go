package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
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
	start := time.Now()
	campus, _ := leg(ctx)
	findings := append([]finding.Finding(nil), campus.Findings...)
	if l.campusErr == nil {
		// Follow the chain a PC follows: each option 6 server asked for
		// the SRV record of the suffix the same offer handed out.
		srv := askOffered(ctx, cfg, campus.Servers)
		findings = append(findings, campus.JudgeDNS(srv))
		for _, s := range campus.Servers {
			findings = append(findings, srv[s.Addr])
		}
	}
	s := cfg.Schools[0]
	rep := probe.Single(probe.School{ID: s.ID, Name: s.Name, Suffix: s.Suffix, Findings: findings}, version, "campus", start)
	if o.format == "table" && (o.out == "" || o.out == "-") {
		printOffers(e, findings)
	}
	if err := o.emit(e, rep); err != nil {
		return fail(e, err)
	}
	if err := l.campusErr; err != nil {
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
	} else if path != "" {
		return nil, err
	}
	return cfg, nil
}

// askOffered runs dns.srv at every DHCP-offered server, in parallel (a
// LAN hands out two or three).
func askOffered(ctx context.Context, cfg *config.Config, servers []probe.CampusServer) map[string]finding.Finding {
	client := dnscheck.Client{Timeout: cfg.Probe.Timeout.Duration, Attempts: cfg.Probe.Attempts}
	exp := dnscheck.Expect{Host: cfg.KMS.Host, Port: uint16(cfg.KMS.Port)}
	out := map[string]finding.Finding{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func(s probe.CampusServer) {
			defer wg.Done()
			a := client.Exchange(ctx, dnscheck.NewQuery(s.Addr, dnscheck.SRVName(s.Suffix), dns.TypeSRV))
			f := dnscheck.JudgeSRV(a, s.Suffix, exp, dnscheck.OfferedDNS, client.Timeout.String())
			mu.Lock()
			out[s.Addr] = f
			mu.Unlock()
		}(s)
	}
	wg.Wait()
	return out
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
