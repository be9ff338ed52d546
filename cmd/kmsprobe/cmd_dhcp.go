package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/internal/dnsname"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

func init() {
	register(&command{
		Name:    "dhcp",
		Summary: "broadcast one Windows-shaped DHCPDISCOVER, list every offer and judge option 15, option 6 and rogue servers (never takes a lease)",
		Spec: spec{Required: []string{"iface"}, Config: "`schools.yaml` with the school of --school, the KMS host and the city resolvers (optional: default ./schools.yaml, then /etc/kmsprobe/schools.yaml)",
			Formats: reportFormats(), Out: true, OnlyProblems: true, Lang: true},
		Flags: func(fs *flag.FlagSet, in *input) runFunc {
			var school, expect string
			l := &in.legs
			fs.StringVar(&l.dhcpIface, "iface", "", "the interface `IFACE` on the school LAN (required; root or cap_net_raw)")
			fs.StringVar(&expect, "expect-suffix", "", "the DNS `SUFFIX` option 15 must carry (default: the school's suffix with --school)")
			fs.StringVar(&school, "school", "", "judge against this school `ID` of schools.yaml (suffix, dns, dhcp.allowed_servers)")
			fs.StringVar(&l.dhcpMAC, "dhcp-mac", "", "client `MAC` for the DISCOVER (default: the interface's own)")
			fs.DurationVar(&l.dhcpWindow, "window", 0, "how long to collect offers (default dhcp.window, 4s: dnsmasq waits 3s before its first offer)")
			return func(ctx context.Context, e *env, in *input) int { return runDHCP(ctx, e, in, school, expect) }
		},
	})
}

func runDHCP(ctx context.Context, e *env, in *input, school, expect string) int {
	o, l := &in.outputFlags, &in.legs
	if err := noArgs(in, "dhcp", "name the interface with --iface IFACE"); err != nil {
		return fail(e, err)
	}
	if l.dhcpIface == "" {
		return fail(e, errors.New("dhcp needs --iface IFACE: the interface on the school LAN (see `ip link`)"))
	}
	cfg, err := dhcpConfig(e, o.config, school, expect)
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
	// With no suffix to judge against (no offer's, no --school, no
	// --expect-suffix), nobody is asked for "_vlmcs._tcp.": the city
	// resolvers are left out of the questions (the campus leg above still
	// recognises them in option 6), and offered servers are asked only
	// for suffixes their offers carry.
	if cfg.Schools[0].Suffix == "" {
		runCfg := *cfg
		runCfg.Resolvers = nil
		cfg = &runCfg
	}
	rep, err := probe.Run(ctx, cfg, probe.Options{Version: version, Now: e.clock(), Vantage: "campus", DNSOnly: true, Legs: probe.Legs{Campus: leg}})
	if err != nil {
		return fail(e, err)
	}
	findings := rep.Schools[0].Findings
	if o.format == "table" && (o.out == "" || o.out == "-") {
		_ = render.DHCPOffers(e.Stdout, findings)
	}
	if err := in.emitReport(e, cfg, rep); err != nil {
		return fail(e, err)
	}
	if err := l.campusError(); err != nil {
		fmt.Fprintln(e.Stderr, "kmsprobe:", err)
		return exitUnknown
	}
	return in.exitCode(rep)
}

// dhcpConfig is the school the offers are judged against: one of
// schools.yaml with --school, else a school made of --expect-suffix alone
// (no suffix: dhcp.suffix is skipped), in the settings of schools.yaml
// when there is one. It is validated as schools.yaml is. Without a file
// no city resolver is asked: the defaults are production servers.
func dhcpConfig(e *env, path, school, expect string) (*config.Config, error) {
	load := optionalConfig
	if school != "" {
		load = readConfig
	}
	base, err := load(e, path)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Resolvers = []string{}
	if base != nil {
		cfg = base.Clone()
	}
	s := config.School{ID: "dhcp", Name: "DHCP on the campus LAN", Suffix: expect}
	switch {
	case school != "":
		var ok bool
		if s, ok = base.School(school); !ok {
			_, err := probe.Select(base, []string{school})
			return nil, err
		}
		if expect != "" {
			s.Suffix = expect
		}
	case base != nil:
		// --expect-suffix names a school as surely as --school does: its
		// own DNS servers are then recognised in option 6, exactly as in
		// `audit --school ID --dhcp-iface`.
		if bs, ok := schoolBySuffix(base, expect); ok {
			s = bs
		}
	}
	// A campus school's DNS servers come from the offers, and with no
	// suffix dhcp.suffix is skipped: the validator sees a stand-in.
	noSuffix := dnsname.Canonical(s.Suffix) == ""
	if noSuffix {
		s.Suffix = "dhcp.example.edu.tw"
	}
	cfg.Path, cfg.Schools = "command line", []config.School{s}
	err = flagProblems(cfg.Validate(), func(p config.Problem) (string, bool) {
		switch p.Field {
		case "suffix":
			return "--expect-suffix: " + p.Msg, true
		case "dns":
			return "", strings.HasPrefix(p.Msg, "no DNS server")
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	if noSuffix {
		cfg.Schools[0].Suffix = ""
	}
	return cfg, nil
}

// schoolBySuffix finds the one school of cfg whose suffix is suffix.
// Two schools with the same suffix name none (validate warns about it).
func schoolBySuffix(cfg *config.Config, suffix string) (config.School, bool) {
	if dnsname.Canonical(suffix) == "" {
		return config.School{}, false
	}
	var found []config.School
	for _, s := range cfg.Schools {
		if dnsname.Equal(s.Suffix, suffix) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return config.School{}, false
	}
	return found[0], true
}
