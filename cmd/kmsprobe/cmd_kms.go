package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/legs"
	"github.com/kh-edu/kmsprobe/probe"
	"github.com/kh-edu/kmsprobe/render"
)

func init() {
	register(&command{
		Name:    "kms",
		Summary: "check one KMS host the way a client would (TCP 1688, RPC bind, activation request) and show its ePID, build, count and intervals",
		Spec: spec{Args: "HOST[:PORT] | --discover SUFFIX", Config: "`schools.yaml` for the KMS settings, the NTP servers and, with --discover, the resolvers (optional: default ./schools.yaml, then /etc/kmsprobe/schools.yaml)",
			Formats: reportFormats(), Out: true, OnlyProblems: true, Lang: true},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			var f kmsFlags
			fs.StringVar(&f.mode, "kms-mode", "", "how far to go: `tcp|bind|activate` (default kms.mode of schools.yaml, else activate)")
			fs.StringVar(&f.product, "product", "", "`PRODUCTS` the activation requests claim to be, comma-separated, one request each: "+strings.Join(kmscheck.ProductNames(), ", ")+" (default win10-ent)")
			fs.IntVar(&f.protocol, "protocol", 0, "KMS protocol version `4|5|6` (default: the product's, 6 for current products)")
			fs.StringVar(&f.discover, "discover", "", "find the KMS host through _vlmcs._tcp.`SUFFIX` SRV first, as a Windows client does")
			fs.Var(&f.servers, "server", "with --discover: DNS server to ask, host or host:port (repeatable; default the resolvers of schools.yaml)")
			fs.IntVar(&f.minCount, "min-count", 0, "client count `N` the host must report (default kms.min_count of schools.yaml for Windows client products, else the product's threshold)")
			return func(ctx context.Context, e *env, in *input) int { return runKMS(ctx, e, in, &f) }
		},
	})
}

// kmsFlags are kms's own flags.
type kmsFlags struct {
	mode, product, discover string
	protocol, minCount      int
	servers                 listFlag
}

func runKMS(ctx context.Context, e *env, in *input, f *kmsFlags) int {
	o, pos := &in.outputFlags, in.Args
	mode, product, protocol, discover, minCount := &f.mode, &f.product, &f.protocol, &f.discover, &f.minCount
	servers := f.servers
	if *discover != "" && len(pos) != 0 {
		return fail(e, errors.New("give either HOST[:PORT] or --discover SUFFIX, not both"))
	}
	if *discover == "" && len(pos) != 1 {
		return fail(e, errors.New("kms needs exactly one HOST[:PORT] (e.g. kmsprobe kms ap24.kh.edu.tw) or --discover SUFFIX --server ADDR"))
	}
	// schools.yaml is optional here: a bare `kmsprobe kms HOST` must work
	// on a laptop without one (and then asks no NTP server), but an
	// explicit -c must exist.
	cfg, err := optionalConfig(e, in.config)
	if err != nil {
		return fail(e, err)
	}
	k, err := kmsOptions(cfg, kmsSettings{mode: *mode, product: *product, protocol: *protocol, minCount: *minCount})
	if err != nil {
		return fail(e, err)
	}
	var ntp []string
	stateDir := ""
	if cfg != nil {
		ntp, stateDir = cfg.NTP, cfgStateDir(cfg)
	}
	if k.Request.Mode == kmscheck.ModeActivate {
		if k.Request.ClientID, err = kmscheck.LoadIdentity(stateDir); err != nil {
			return fail(e, err)
		}
	}
	clock := clockcheck.Budget{NTP: budgetsOf(cfg).NTP}
	if *discover != "" {
		return runDiscover(ctx, e, in, cfg, k, ntp, clock, *discover, servers)
	}
	host, port := pos[0], kmscheck.DefaultPort
	if h, p, err := net.SplitHostPort(pos[0]); err == nil {
		host, port = h, p
	} else if cfg != nil && cfg.KMS.Port != 0 {
		port = strconv.Itoa(cfg.KMS.Port)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fail(e, fmt.Errorf("%q: port %q is not a number from 1 to 65535", pos[0], port))
	}
	rctx, cancel := context.WithTimeout(ctx, k.Budget.Handshake)
	ips, err := net.DefaultResolver.LookupIPAddr(rctx, host)
	cancel()
	if err != nil {
		return fail(e, fmt.Errorf("cannot resolve %s: %w", host, err))
	}
	start := time.Now()
	var findings []finding.Finding
	for _, ip := range ips {
		addr := net.JoinHostPort(ip.IP.String(), port)
		findings = append(findings, k.Check(ctx, addr)...)
	}
	if len(ntp) > 0 {
		findings = append(findings, clockcheck.Judge(clockcheck.Measure(ctx, ntp, clock))...)
	}
	rep := probe.Single(probe.School{ID: "kms", Name: pos[0], Findings: findings}, version, "central", start)
	rep.GeneratedAt = e.now() // the one clock (probe.Single reads time.Now)
	if o.format == "table" && (o.out == "" || o.out == "-") {
		_ = render.KMSDetails(e.Stdout, findings)
		return rep.ExitCode()
	}
	if err := in.emitReport(e, cfg, rep); err != nil {
		return fail(e, err)
	}
	return in.exitCode(rep)
}

// kmsOptions is the KMS leg of cfg (nil: the defaults) with the KMS
// flags written over its settings and validated as schools.yaml is.
func kmsOptions(cfg *config.Config, s kmsSettings) (legs.KMS, error) {
	c, err := kmsConfig(cfg, s)
	if err != nil {
		return legs.KMS{}, err
	}
	return kmsLeg(c)
}

// kmsLeg is the KMS leg a validated configuration describes; its mode
// and products are known, so the lookups below cannot fail on a loaded
// file.
func kmsLeg(cfg *config.Config) (legs.KMS, error) {
	var k legs.KMS
	k.Budget.Handshake = legs.BudgetsOf(cfg).KMSHandshake
	k.Request.Protocol = cfg.KMS.Protocol
	if cfg.KMS.MinCountSet {
		// A written min_count applies to every product; unwritten, each
		// count pool is held to its own product's N.
		k.Expect.MinCount = cfg.KMS.MinCount
	}
	m, err := kmscheck.ParseMode(cfg.KMS.Mode)
	if err != nil {
		return k, err
	}
	k.Request.Mode = m
	ps, err := kmscheck.LookupProducts(cfg.KMS.Products)
	if err != nil {
		return k, err
	}
	k.Request.Products = ps
	return k, nil
}

// runDiscover is kms --discover: SRV first, then the hosts in the order a
// client tries them.
func runDiscover(ctx context.Context, e *env, in *input, cfg *config.Config, k legs.KMS, ntp []string, clock clockcheck.Budget, suffix string, servers []string) int {
	pc, err := singleSchool(cfg, "discover", suffix, servers)
	if err != nil {
		return fail(e, err)
	}
	ask := append(append([]string(nil), pc.Schools[0].DNS...), pc.Resolvers...)
	if len(ask) == 0 {
		return fail(e, errors.New("--discover needs a DNS server to ask: --server ADDR, or resolvers: in schools.yaml"))
	}
	start := time.Now()
	findings := probe.Discover(ctx, pc.Schools[0].Suffix, probe.DiscoverOptions{
		Client:     dnscheck.Client{Timeout: pc.Probe.Timeout.Duration, Attempts: pc.Probe.Attempts},
		Expect:     dnscheck.Expect{Host: pc.KMS.Host, Port: uint16(pc.KMS.Port)},
		Servers:    ask,
		Reference:  addressesOf(pc.KMS.Addresses),
		Witnesses:  pc.Resolvers,
		LookupHost: hostLookup,
		KMS:        k,
	})
	if len(ntp) > 0 {
		findings = append(findings, clockcheck.Judge(clockcheck.Measure(ctx, ntp, clock))...)
	}
	rep := probe.Single(probe.School{ID: "kms", Name: "discover " + suffix, Suffix: pc.Schools[0].Suffix, Findings: findings}, version, "central", start)
	rep.GeneratedAt = e.now()
	if in.format == "table" && (in.out == "" || in.out == "-") {
		for _, f := range findings {
			if f.Check == finding.DNSSRV {
				if order, ok := f.Evidence["client_order"].([]string); ok {
					fmt.Fprintf(e.Stdout, "SRV _vlmcs._tcp.%s at %s: a client tries %s\n", pc.Schools[0].Suffix, f.Server, strings.Join(order, ", then "))
				}
			}
		}
		_ = render.KMSDetails(e.Stdout, findings)
		return rep.ExitCode()
	}
	if err := in.emitReport(e, cfg, rep); err != nil {
		return fail(e, err)
	}
	return in.exitCode(rep)
}

// budgetsOf is the one budget table (legs.BudgetsOf) for cfg, or for the
// defaults when `kmsprobe kms HOST` runs without a schools.yaml.
func budgetsOf(cfg *config.Config) legs.Budgets {
	if cfg == nil {
		return legs.DefaultBudgets()
	}
	return legs.BudgetsOf(cfg)
}
