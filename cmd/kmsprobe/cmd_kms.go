package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	if err := f.checkTarget(in.Args); err != nil {
		return fail(e, err)
	}
	// schools.yaml is optional here: a bare `kmsprobe kms HOST` must work
	// on a laptop without one (and then asks no NTP server), but an
	// explicit -c must exist.
	cfg, err := optionalConfig(e, in.config)
	if err != nil {
		return fail(e, err)
	}
	k, err := f.leg(cfg)
	if err != nil {
		return fail(e, err)
	}
	clock := clockOf(cfg)
	if f.discover != "" {
		return runDiscover(ctx, e, in, cfg, k, clock, f.discover, f.servers)
	}
	host, port, err := kmsHostPort(in.Args[0], cfg)
	if err != nil {
		return fail(e, err)
	}
	ips, err := resolveKMSHost(ctx, host, k.Budget.Handshake)
	if err != nil {
		return fail(e, err)
	}
	start := time.Now()
	var findings []finding.Finding
	for _, ip := range ips {
		findings = append(findings, k.Check(ctx, net.JoinHostPort(ip.IP.String(), port))...)
	}
	findings = append(findings, clock.check(ctx)...)
	rep := kmsReport(e, probe.School{ID: "kms", Name: in.Args[0], Findings: findings}, start)
	return showKMS(e, in, cfg, rep, findings)
}

// checkTarget refuses a command line that names no KMS host, or two
// ways to find one.
func (f *kmsFlags) checkTarget(pos []string) error {
	if f.discover != "" && len(pos) != 0 {
		return errors.New("give either HOST[:PORT] or --discover SUFFIX, not both")
	}
	if f.discover == "" && len(pos) != 1 {
		return errors.New("kms needs exactly one HOST[:PORT] (e.g. kmsprobe kms ap24.kh.edu.tw) or --discover SUFFIX --server ADDR")
	}
	return nil
}

// leg is the KMS leg of cfg (nil: the defaults) with the flags written
// over it and, when it activates, this machine's client identity.
func (f *kmsFlags) leg(cfg *config.Config) (legs.KMS, error) {
	k, err := kmsOptions(cfg, kmsSettings{mode: f.mode, product: f.product, protocol: f.protocol, minCount: f.minCount})
	if err != nil || k.Request.Mode != kmscheck.ModeActivate {
		return k, err
	}
	stateDir := ""
	if cfg != nil {
		stateDir = cfgStateDir(cfg)
	}
	k.Request.ClientID, err = kmscheck.LoadIdentity(stateDir)
	return k, err
}

// kmsHostPort splits the command's HOST[:PORT]; a bare host gets
// kms.port of cfg (nil: none), else the KMS port.
func kmsHostPort(arg string, cfg *config.Config) (host, port string, err error) {
	host, port = arg, kmscheck.DefaultPort
	if h, p, err := net.SplitHostPort(arg); err == nil {
		host, port = h, p
	} else if cfg != nil && cfg.KMS.Port != 0 {
		port = strconv.Itoa(cfg.KMS.Port)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("%q: port %q is not a number from 1 to 65535", arg, port)
	}
	return host, port, nil
}

// resolveKMSHost looks host up with this machine's resolver, within the
// handshake budget.
func resolveKMSHost(ctx context.Context, host string, budget time.Duration) ([]net.IPAddr, error) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	return ips, nil
}

// kmsClock is the clock check kms adds when schools.yaml names NTP
// servers.
type kmsClock struct {
	ntp    []string
	budget clockcheck.Budget
}

func clockOf(cfg *config.Config) kmsClock {
	c := kmsClock{budget: clockcheck.Budget{NTP: budgetsOf(cfg).NTP}}
	if cfg != nil {
		c.ntp = cfg.NTP
	}
	return c
}

// check is the clock.offset finding, or none without an NTP server.
func (c kmsClock) check(ctx context.Context) []finding.Finding {
	if len(c.ntp) == 0 {
		return nil
	}
	return clockcheck.Judge(clockcheck.Measure(ctx, c.ntp, c.budget))
}

// kmsReport is the report of one kms run, dated by the one clock
// (probe.Single reads time.Now).
func kmsReport(e *env, s probe.School, start time.Time) *probe.Report {
	rep := probe.Single(s, version, "central", start)
	rep.GeneratedAt = e.now()
	return rep
}

// showKMS prints rep: the details of findings (its findings) for a
// person reading the table, else the report in the format asked for.
func showKMS(e *env, in *input, cfg *config.Config, rep *probe.Report, findings []finding.Finding) int {
	if in.tableOnStdout() {
		_ = render.KMSDetails(e.Stdout, findings)
		return rep.ExitCode()
	}
	if err := in.emitReport(e, cfg, rep); err != nil {
		return fail(e, err)
	}
	return in.exitCode(rep)
}

// tableOnStdout reports whether the output is the table, for a person
// (or a pipe) on standard output rather than a file.
func (in *input) tableOnStdout() bool {
	return in.format == "table" && (in.out == "" || in.out == "-")
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
func runDiscover(ctx context.Context, e *env, in *input, cfg *config.Config, k legs.KMS, clock kmsClock, suffix string, servers []string) int {
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
		Client:     dnscheck.Client{Timeout: pc.Budgets().PerAttempt, Attempts: pc.Budgets().Attempts},
		Expect:     dnscheck.Expect{Host: pc.KMS.Host, Port: uint16(pc.KMS.Port)},
		Servers:    ask,
		Reference:  addressesOf(pc.KMS.Addresses),
		Witnesses:  pc.Resolvers,
		LookupHost: hostLookup,
		KMS:        k,
	})
	findings = append(findings, clock.check(ctx)...)
	rep := kmsReport(e, probe.School{ID: "kms", Name: "discover " + suffix, Suffix: pc.Schools[0].Suffix, Findings: findings}, start)
	if in.tableOnStdout() {
		writeClientOrder(e.Stdout, pc.Schools[0].Suffix, findings)
	}
	return showKMS(e, in, cfg, rep, findings)
}

// writeClientOrder says, per DNS server, the order in which its SRV
// answer makes a client try the KMS hosts.
func writeClientOrder(w io.Writer, suffix string, findings []finding.Finding) {
	for _, f := range findings {
		if f.Check != finding.DNSSRV {
			continue
		}
		x, _ := f.Evidence.Get("client_order")
		if xs, ok := x.([]any); ok {
			order := make([]string, 0, len(xs))
			for _, o := range xs {
				order = append(order, fmt.Sprint(o))
			}
			fmt.Fprintf(w, "SRV _vlmcs._tcp.%s at %s: a client tries %s\n", suffix, f.Server, strings.Join(order, ", then "))
		}
	}
}

// budgetsOf is the one budget table (legs.BudgetsOf) for cfg, or for the
// defaults when `kmsprobe kms HOST` runs without a schools.yaml.
func budgetsOf(cfg *config.Config) legs.Budgets {
	if cfg == nil {
		return legs.DefaultBudgets()
	}
	return legs.BudgetsOf(cfg)
}
