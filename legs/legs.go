package legs

import (
	"context"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/delegation"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/probe"
)

// Budgets are the named time budgets of one audit: the one table lives
// in config (config.Budgets), next to the defaults it applies.
type Budgets = config.Budgets

// BudgetsOf is cfg's budget table.
func BudgetsOf(cfg *config.Config) Budgets { return cfg.Budgets() }

// DefaultBudgets are the budgets of a schools.yaml that sets none.
func DefaultBudgets() Budgets { return (&config.Config{}).Budgets() }

// KMS is the KMS leg: what to ask, the time it may take and what the host
// is held to.
type KMS struct {
	Request kmscheck.Request
	Budget  kmscheck.Budget
	Expect  kmscheck.Expect
}

// Measure talks to one KMS address.
func (k KMS) Measure(ctx context.Context, addr string) probe.Measurement {
	return kmsMeasurement{m: kmscheck.Measure(ctx, addr, k.Request, k.Budget), exp: k.Expect}
}

// Check measures and judges one address (kmsprobe kms, Discover).
func (k KMS) Check(ctx context.Context, addr string) []finding.Finding {
	return k.Measure(ctx, addr).Judge()
}

type kmsMeasurement struct {
	m   kmscheck.Measurement
	exp kmscheck.Expect
}

func (m kmsMeasurement) Judge() []finding.Finding { return kmscheck.Judge(m.m, m.exp) }

// SharedFault: down, refused, not KMS, an RPC fault, no key for a product
// or a count too low are the KMS host's own (its remedy already speaks to
// its operators); a skip, an unknown or the probe's own trouble never is.
func (m kmsMeasurement) SharedFault(f finding.Finding) (finding.Finding, bool) {
	return f, kmscheck.HostFault(f)
}

// Clock is the clock leg: the local clock against the configured NTP
// servers.
type Clock struct {
	Servers []string
	Budget  clockcheck.Budget
}

// ClockOf builds the clock leg of cfg.
func ClockOf(cfg *config.Config) Clock {
	return Clock{Servers: cfg.NTP, Budget: clockcheck.Budget{NTP: BudgetsOf(cfg).NTP}}
}

// Measure asks the NTP servers; without any, the clock is not checked,
// and says so (never a pass).
func (c Clock) Measure(ctx context.Context, _ string) probe.Measurement {
	if len(c.Servers) == 0 {
		return probe.Judged{{
			Check: finding.ClockOffset, Status: finding.Skip, Short: "no ntp",
			ID: "clock.no_ntp", RemedyID: "clock.no_ntp.fix",
			Message: i18n.T(i18n.English, "clock.no_ntp", nil),
			Remedy:  i18n.T(i18n.English, "clock.no_ntp.fix", nil),
		}}
	}
	return clockMeasurement(clockcheck.Measure(ctx, c.Servers, c.Budget))
}

type clockMeasurement clockcheck.Measurement

func (m clockMeasurement) Judge() []finding.Finding {
	return clockcheck.Judge(clockcheck.Measurement(m))
}

// SharedFault: NTP servers that do not answer are their operators'
// problem; a wrong local clock is this machine's.
func (m clockMeasurement) SharedFault(f finding.Finding) (finding.Finding, bool) {
	return clockcheck.ServerFault(f)
}

// Zone is the dns.delegation leg: one school zone, through the city
// resolvers and the zone's own name servers. An audit measures with the
// leg ForAudit returns: one Prober per audit, shared by every zone (the
// parent's servers are looked up once), asking on one pool of shared
// sockets and capped at probe.per_server questions in flight per server.
type Zone struct {
	// Prober measures when the leg is used outside an audit (one zone,
	// a test); it asks on the process's shared sockets.
	Prober    *delegation.Prober
	client    delegation.Client
	resolvers []string
}

var _ probe.AuditLeg = Zone{}

// ZoneOf builds the delegation leg of cfg with the per-question budget.
func ZoneOf(cfg *config.Config) Zone {
	b := BudgetsOf(cfg)
	c := delegation.Client{Timeout: b.PerAttempt, Attempts: b.Attempts, NSPort: cfg.Probe.NSPort, PerServer: cfg.Probe.PerServer}
	return Zone{Prober: delegation.NewProber(c, cfg.Resolvers), client: c, resolvers: cfg.Resolvers}
}

// ForAudit is the leg for one audit: a fresh Prober, so no name server or
// address outlives the audit that learned it, on a pool of sockets of its
// own that end closes (fresh source ports for every audit).
func (z Zone) ForAudit() (probe.Leg, func()) {
	if len(z.resolvers) == 0 {
		return z, func() {}
	}
	c := z.client
	c.Sockets = dnscheck.NewSockets()
	z.Prober = delegation.NewProber(c, z.resolvers)
	return z, c.Sockets.Close
}

// Measure checks the delegation of one zone (a school's suffix).
func (z Zone) Measure(ctx context.Context, zone string) probe.Measurement {
	if len(z.resolvers) == 0 {
		return probe.Judged{{Check: finding.DNSDelegation, Status: finding.Skip, Short: "no resolvers",
			ID: "dns.delegation.no_resolvers", Message: i18n.T(i18n.English, "dns.delegation.no_resolvers", nil)}}
	}
	ts := delegation.Plan(zone)
	if len(ts) == 0 {
		return probe.Judged(nil)
	}
	return zoneMeasurement(z.Prober.Measure(ctx, ts[0]))
}

type zoneMeasurement delegation.Measurement

func (m zoneMeasurement) Judge() []finding.Finding {
	return delegation.Judge(delegation.Measurement(m))
}
