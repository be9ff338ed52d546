package probe

import (
	"context"
	"slices"

	"github.com/kh-edu/kmsprobe/finding"
)

// Every leg beyond DNS has the same contract: Measure talks to the network
// under the context's deadline and returns what it saw; the measurement's
// Judge turns that into findings without touching the network. The
// executor only measures; the judge only judges. Building legs from a
// schools.yaml is the job of package legs, not of commands.

// Measurement is what one leg saw at one target. Judge must be pure: it
// reads the measurement and the expectations captured when the leg was
// built, nothing else.
type Measurement interface {
	Judge() []finding.Finding
}

// SharedFaults is implemented by measurements of shared servers (the KMS
// host, NTP) that can tell the server's own fault from anything else. For
// a finding that is the server's own fault, SharedFault returns it
// addressed to the server's operators, for the report's infrastructure
// list (DESIGN §4.2). Measurements without it count every fail or warn
// as the shared server's.
type SharedFaults interface {
	SharedFault(f finding.Finding) (finding.Finding, bool)
}

// Leg measures one target: "ip:port" for the KMS leg, "" for the clock.
type Leg interface {
	Measure(ctx context.Context, target string) Measurement
}

// AuditLeg is a leg that keeps state for one audit: what its targets
// share (a parent zone's servers, looked up once) and the sockets it asks
// on. Run calls ForAudit once per audit, measures with the leg it returns
// and calls end when every measurement is taken, so nothing is carried
// from one audit into the next (an exporter audits every few minutes).
type AuditLeg interface {
	Leg
	ForAudit() (leg Leg, end func())
}

// forAudit is leg scoped to one audit, and what ends the scope.
func forAudit(leg Leg) (Leg, func()) {
	if a, ok := leg.(AuditLeg); ok {
		return a.ForAudit()
	}
	return leg, func() {}
}

// LegFunc adapts a function that returns findings directly (a test fake,
// or a leg whose judging cannot be separated from its exchange) to a Leg.
type LegFunc func(ctx context.Context, target string) []finding.Finding

// Measure runs the function; its findings are the measurement.
func (f LegFunc) Measure(ctx context.Context, target string) Measurement {
	return Judged(f(ctx, target))
}

// Judged is a measurement that already is its findings.
type Judged []finding.Finding

// Judge returns a copy, so later marking (stopped, depends_on) never
// reaches back into a measurement shared between schools.
func (j Judged) Judge() []finding.Finding { return slices.Clone(j) }

// CampusLeg listens on a school's LAN the way a PC joining it would.
type CampusLeg interface {
	Measure(ctx context.Context) (CampusView, error)
}

// CampusQuestion is one (DNS server, search domain) pair a PC on the LAN
// would ask `_vlmcs._tcp.<domain>`.
type CampusQuestion struct{ Server, Domain string }

// CampusView is what a PC on one school's LAN would be given.
type CampusView interface {
	// School is the id of the school the LAN belongs to.
	School() string
	// Findings are the verdicts on the offers themselves (dhcp.offer,
	// dhcp.suffix, dhcp.rogue).
	Findings() []finding.Finding
	// Questions are the SRV questions a PC would ask, each through the
	// DNS judging every other server gets.
	Questions() []CampusQuestion
	// Judge makes the verdicts that need those answers (dhcp.dns,
	// dhcp.search) from the dns.srv finding of each question.
	Judge(srv map[CampusQuestion]finding.Finding) []finding.Finding
}

// Legs are the legs an audit runs beyond DNS. A nil leg is reported as
// "skip" with the reason, never as a pass.
type Legs struct {
	KMS   Leg
	Clock Leg
	// Zone checks one school zone's delegation (target: the suffix),
	// dns.delegation. nil: not checked, and nothing is reported.
	Zone   Leg
	Campus CampusLeg
}
