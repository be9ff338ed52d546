package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/probe"
)

func init() {
	register(&command{
		Name:    "kms",
		Usage:   "HOST[:PORT] | --discover SUFFIX [--server ADDR]... [--kms-mode tcp|bind|activate] [--product P] [--protocol 4|5|6] [-c schools.yaml] [--format table|json]",
		Summary: "check one KMS host the way a client would (TCP 1688, RPC bind, activation request) and show its ePID, build, count and intervals",
		Run:     runKMS,
	})
}

func runKMS(ctx context.Context, e *env, args []string) int {
	c := commands["kms"]
	fs := newFlagSet(e, c)
	var o outputFlags
	o.register(fs)
	mode := fs.String("kms-mode", "", "how far to go: tcp, bind or activate (default from schools.yaml, else activate)")
	product := fs.String("product", "", "product the activation request claims to be: "+strings.Join(kmscheck.ProductKeys(), ", ")+" (default win10-ent)")
	protocol := fs.Int("protocol", 0, "KMS protocol version 4, 5 or 6 (default: the product's, 6 for current products)")
	discover := fs.String("discover", "", "find the KMS host through _vlmcs._tcp.SUFFIX SRV first, as a Windows client does")
	var servers listFlag
	fs.Var(&servers, "server", "with --discover: DNS server to ask, host or host:port (repeatable; default the resolvers of schools.yaml)")
	minCount := fs.Int("min-count", 0, "client count the host must report (default kms.min_count of schools.yaml for Windows client products, else the product's threshold)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if *discover != "" && len(pos) != 0 {
		return fail(e, errors.New("give either HOST[:PORT] or --discover SUFFIX, not both"))
	}
	if *discover == "" && len(pos) != 1 {
		return fail(e, errors.New("kms needs exactly one HOST[:PORT] (e.g. kmsprobe kms ap24.kh.edu.tw) or --discover SUFFIX --server ADDR"))
	}
	if err := o.checkFormat(); err != nil {
		return fail(e, err)
	}
	// schools.yaml is optional here: a bare `kmsprobe kms HOST` must work
	// on a laptop without one, but an explicit -c must exist.
	var cfg *config.Config
	if o.config != "" {
		var err error
		if cfg, err = config.Load(o.config); err != nil {
			return fail(e, err)
		}
	} else if p, err := config.Find(); err == nil {
		if cfg, err = config.Load(p); err != nil {
			return fail(e, err)
		}
	}
	opts, ntp, stateDir, err := kmsOptions(cfg, *mode, *product, *protocol, *minCount)
	if err != nil {
		return fail(e, err)
	}
	if opts.Mode == kmscheck.ModeActivate {
		if stateDir == "" && cfg != nil {
			stateDir = cfgStateDir(cfg)
		}
		if opts.ClientID, err = kmscheck.LoadIdentity(stateDir); err != nil {
			return fail(e, err)
		}
	}
	if *discover != "" {
		return runDiscover(ctx, e, &o, cfg, opts, ntp, *discover, servers)
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
	rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	ips, err := net.DefaultResolver.LookupIPAddr(rctx, host)
	cancel()
	if err != nil {
		return fail(e, fmt.Errorf("cannot resolve %s: %w", host, err))
	}
	start := time.Now()
	var findings []finding.Finding
	for _, ip := range ips {
		addr := net.JoinHostPort(ip.IP.String(), port)
		findings = append(findings, kmscheck.Probe(ctx, addr, opts)...)
	}
	if len(ntp) > 0 {
		findings = append(findings, kmscheck.CheckClock(ctx, ntp, kmscheck.ClockOptions{}))
	}
	rep := probe.Single(probe.School{ID: "kms", Name: pos[0], Findings: findings}, version, "central", start)
	if o.format == "table" && (o.out == "" || o.out == "-") {
		printKMS(e, findings)
		return rep.ExitCode()
	}
	if err := o.emit(e, rep); err != nil {
		return fail(e, err)
	}
	return rep.ExitCode()
}

// kmsOptions merges schools.yaml (when there is one) and the flags; flags win.
func kmsOptions(cfg *config.Config, mode, product string, protocol, minCount int) (kmscheck.Options, []string, string, error) {
	var o kmscheck.Options
	var ntp []string
	var stateDir string
	cfgMin := 0
	if cfg != nil {
		o.Timeout = cfg.Probe.Timeout.Duration
		o.Product, o.Protocol = cfg.KMS.Product, cfg.KMS.Protocol
		cfgMin = cfg.KMS.MinCount
		if mode == "" {
			mode = cfg.KMS.Mode
		}
		ntp, stateDir = cfg.NTP, cfg.Probe.StateDir
	}
	if product != "" {
		o.Product = product
	}
	if protocol != 0 {
		o.Protocol = protocol
	}
	if o.Protocol != 0 && (o.Protocol < 4 || o.Protocol > 6) {
		return o, nil, "", fmt.Errorf("protocol %d: KMS clients speak protocol 4, 5 or 6", o.Protocol)
	}
	m, err := kmscheck.ParseMode(mode)
	if err != nil {
		return o, nil, "", err
	}
	o.Mode = m
	p, err := kmscheck.LookupProduct(o.Product)
	if err != nil {
		return o, nil, "", err
	}
	// kms.min_count (default 25) is about the Windows client pool; applying
	// it to an Office or server product would fail hosts that activate them.
	switch {
	case minCount > 0:
		o.MinCount = minCount
	case cfg != nil && cfg.KMS.MinCountSet, p.N == 25:
		o.MinCount = cfgMin
	}
	if o.Timeout <= 0 {
		o.Timeout = kmscheck.DefaultTimeout
	}
	return o, ntp, stateDir, nil
}

// printKMS shows what a vlmcs user expects, then the verdicts.
func printKMS(e *env, fs []finding.Finding) {
	w := e.Stdout
	for _, f := range fs {
		ev := f.Evidence
		if f.Check == finding.KMSRPC && ev["epid"] != nil {
			fmt.Fprintf(w, "%s\n", f.Server)
			fmt.Fprintf(w, "  KMS protocol            : %v (%v)\n", ev["protocol"], ev["rpc_syntax"])
			fmt.Fprintf(w, "  ePID                    : %v\n", ev["epid"])
			if ev["host_os"] != nil {
				fmt.Fprintf(w, "  Host OS                 : %v (build %v)\n", ev["host_os"], ev["host_build"])
			} else {
				fmt.Fprintf(w, "  Host build              : %v\n", ev["host_build"])
			}
			if ev["host_language"] != nil {
				fmt.Fprintf(w, "  Host language           : %v (LCID %v)\n", ev["host_language"], ev["host_lcid"])
			} else if ev["host_lcid"] != nil {
				fmt.Fprintf(w, "  Host LCID               : %v\n", ev["host_lcid"])
			}
			if ev["hwid"] != nil {
				fmt.Fprintf(w, "  HwId                    : %v\n", ev["hwid"])
			}
			fmt.Fprintf(w, "  Current client count    : %v (needed: %v)\n", ev["count"], ev["min_count"])
			fmt.Fprintf(w, "  Activation interval     : %v min\n", ev["activation_interval_min"])
			fmt.Fprintf(w, "  Renewal interval        : %v min\n", ev["renewal_interval_min"])
			fmt.Fprintf(w, "  Round trip              : %v ms\n", ev["rtt_ms"])
		}
	}
	for _, f := range fs {
		fmt.Fprintf(w, "%-5s %-12s %-22s %s\n", strings.ToUpper(f.Status.String()), f.Check, f.Server, f.Message)
		if f.Remedy != "" && (f.Status == finding.Fail || f.Status == finding.Warn || f.Status == finding.Unknown) {
			fmt.Fprintf(w, "      fix: %s\n", f.Remedy)
		}
	}
}

// runDiscover is kms --discover: SRV first, then the hosts in the order a
// client tries them.
func runDiscover(ctx context.Context, e *env, o *outputFlags, cfg *config.Config, opts kmscheck.Options, ntp []string, suffix string, servers []string) int {
	pc, err := pseudoConfig(o.config, "discover", suffix, servers)
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
		KMS:        probe.LegFunc(func(ctx context.Context, addr string) []finding.Finding { return kmscheck.Probe(ctx, addr, opts) }),
	})
	if len(ntp) > 0 {
		findings = append(findings, kmscheck.CheckClock(ctx, ntp, kmscheck.ClockOptions{}))
	}
	rep := probe.Single(probe.School{ID: "kms", Name: "discover " + suffix, Suffix: pc.Schools[0].Suffix, Findings: findings}, version, "central", start)
	if o.format == "table" && (o.out == "" || o.out == "-") {
		for _, f := range findings {
			if f.Check == finding.DNSSRV {
				if order, ok := f.Evidence["client_order"].([]string); ok {
					fmt.Fprintf(e.Stdout, "SRV _vlmcs._tcp.%s at %s: a client tries %s\n", pc.Schools[0].Suffix, f.Server, strings.Join(order, ", then "))
				}
			}
		}
		printKMS(e, findings)
		return rep.ExitCode()
	}
	if err := o.emit(e, rep); err != nil {
		return fail(e, err)
	}
	return rep.ExitCode()
}
