package delegation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// Evidence is what every dns.delegation finding carries: the whole view,
// so one finding read from a saved report explains itself.
type Evidence struct {
	Zone          string   `json:"zone"`
	Parent        string   `json:"parent,omitempty"`
	ParentServer  string   `json:"parent_server,omitempty"`
	ParentNS      []string `json:"parent_ns,omitempty"`
	ParentHosts   bool     `json:"parent_hosts,omitempty"`
	ParentProblem string   `json:"parent_problem,omitempty"`
	ResolverNS    []string `json:"resolver_ns,omitempty"`
	Servers       []Server `json:"servers,omitempty"`
	// NegativeTTL is how many seconds a resolver may keep "no such
	// name" from this zone: after a missing record is added, the city
	// resolvers may still deny it this long.
	NegativeTTL *uint32 `json:"negative_ttl_s,omitempty"`
}

// EvidenceOf reads a dns.delegation finding's evidence, fresh from Judge
// or decoded from a saved report.
func EvidenceOf(f finding.Finding) (Evidence, bool) {
	var ev Evidence
	if f.Check != finding.DNSDelegation || f.Evidence.IsZero() || f.Evidence.Decode(&ev) != nil {
		return Evidence{}, false
	}
	return ev, true
}

// NegativeTTLOf is the zone's negative-caching time from a dns.delegation
// finding, for dns.srv's NXDOMAIN remedy ("the city resolvers may keep
// the negative answer up to N minutes after the record is added").
func NegativeTTLOf(f finding.Finding) (time.Duration, bool) {
	ev, ok := EvidenceOf(f)
	if !ok || ev.NegativeTTL == nil {
		return 0, false
	}
	return time.Duration(*ev.NegativeTTL) * time.Second, true
}

// Messages are the English templates of every message id (the JSON
// contract's Message is this text with the finding's Args filled in);
// i18n/locales/delegation.en.toml holds the same text.
var Messages = finding.Catalog{
	"dns.delegation.ok":                  "{{.Zone}}: the delegation in {{.Parent}} and the zone's {{.Servers}} name server address(es) agree (serial {{.Serial}})",
	"dns.delegation.not_delegated":       "{{.Zone}} is not delegated: the servers of {{.Parent}} answer for it themselves, so there is no delegation to check",
	"dns.delegation.unknown":             "could not learn the name servers of {{.Zone}}: {{.Reason}}",
	"dns.delegation.stopped":             "the audit was stopped before the delegation of {{.Zone}} was checked",
	"dns.delegation.all_lame":            "no name server of {{.Zone}} answers for it ({{.Lame}}): the zone cannot be resolved",
	"dns.delegation.all_lame.remedy":     "Load the zone {{.Zone}} on its name servers ({{.NS}}) and let them answer queries from anywhere; if the zone moved, ask the administrators of {{.Parent}} to delegate it to the servers that hold it now.",
	"dns.delegation.lame":                "{{.NS}} ({{.Server}}) is listed as a name server of {{.Zone}} but does not serve it: {{.Reason}}",
	"dns.delegation.lame.remedy":         "Load {{.Zone}} on {{.NS}} as primary or secondary, or remove {{.NS}} from the NS records of {{.Zone}} and from its delegation in {{.Parent}}.",
	"dns.delegation.stale_serial":        "{{.NS}} ({{.Server}}) serves {{.Zone}} with serial {{.Serial}} while {{.NewestNS}} has {{.Newest}}: a stale secondary, so PCs get different answers depending on the server asked",
	"dns.delegation.stale_serial.remedy": "Make {{.NS}} transfer {{.Zone}} again from the primary (BIND: {{.Command}}) and check that the primary sends it NOTIFY and allows it the zone transfer.",
	"dns.delegation.ns_mismatch":         "the delegation of {{.Zone}} in {{.Parent}} lists {{.ParentNS}} but the zone itself lists {{.ChildNS}}",
	"dns.delegation.ns_mismatch.remedy":  "Make the NS records in {{.Zone}} and its delegation in {{.Parent}} list the same servers: change the zone, or ask the administrators of {{.Parent}} to change the delegation.",
}

// text fills in a message id; a missing arg is a programming error that
// every test catches.
func text(id string, args map[string]string) string { return Messages.MustText(id, args) }

func newFinding(st finding.Status, server, id, short string, ev finding.Evidence, args map[string]string, remedy bool) finding.Finding {
	f := finding.Finding{
		Check: finding.DNSDelegation, Server: server, Status: st,
		ID: id, Message: text(id, args), Short: short, Evidence: ev, Args: args,
	}
	if remedy {
		f.RemedyID = id + ".remedy"
		f.Remedy = text(f.RemedyID, args)
	}
	return f
}

// Judge turns a measurement into findings: one pass, or one finding per
// problem (each lame server, each stale server, a differing NS set), each
// with its own Server so metrics keep one series per finding.
//
//   - pass: every name server answers with authority, serials and NS sets agree;
//   - warn: some name servers are lame, serials differ, or the parent's
//     NS set differs from the zone's;
//   - fail: every listed name server is lame;
//   - skip: the zone is not delegated (its names live in the parent zone);
//   - unknown: the name servers could not be learned, or the audit stopped.
func Judge(m Measurement) []finding.Finding {
	ev := evidence(m)
	base := map[string]string{"Zone": m.Zone, "Parent": m.Parent}
	with := func(kv ...string) map[string]string {
		a := make(map[string]string, len(base)+len(kv)/2)
		for k, v := range base {
			a[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			a[kv[i]] = kv[i+1]
		}
		return a
	}
	if m.Stopped {
		return []finding.Finding{newFinding(finding.Unknown, "", "dns.delegation.stopped", "stopped", ev, with(), false)}
	}
	if m.NotDelegated {
		return []finding.Finding{newFinding(finding.Skip, m.ParentServer, "dns.delegation.not_delegated", "not delegated", ev, with(), false)}
	}
	if len(m.Servers) == 0 {
		reason := m.ParentProblem
		if reason == "" {
			reason = "neither the delegation nor the city resolvers name any"
		}
		// Nothing to judge, and not the probe's own trouble (unknown
		// would make the run exit 3): a skip with the reason. When the
		// resolvers themselves fail, dns.srv at them already says so.
		return []finding.Finding{newFinding(finding.Skip, "", "dns.delegation.unknown", "no name servers", ev, with("Reason", reason), false)}
	}

	var lame, good []Server
	for _, s := range m.Servers {
		if s.Lame != "" {
			lame = append(lame, s)
		} else {
			good = append(good, s)
		}
	}
	if len(good) == 0 {
		var parts, names []string
		for _, s := range lame {
			parts = append(parts, serverLabel(s)+": "+s.Lame)
			names = append(names, s.NS)
		}
		names = slices.Compact(names)
		return []finding.Finding{newFinding(finding.Fail, "", "dns.delegation.all_lame", "all lame", ev,
			with("Lame", strings.Join(parts, "; "), "NS", strings.Join(names, ", ")), true)}
	}

	var out []finding.Finding
	for _, s := range lame {
		out = append(out, newFinding(finding.Warn, serverKey(s), "dns.delegation.lame", "lame: "+s.Lame, ev,
			with("NS", s.NS, "Server", orNone(s.Addr), "Reason", s.Lame), true))
	}
	best, _ := newest(good)
	for _, s := range good {
		if s.Serial != best.Serial {
			out = append(out, newFinding(finding.Warn, s.Addr, "dns.delegation.stale_serial",
				fmt.Sprintf("serial %d<%d", s.Serial, best.Serial), ev,
				with("NS", s.NS, "Server", s.Addr, "Serial", u32(s.Serial), "NewestNS", best.NS, "Newest", u32(best.Serial),
					"Command", "rndc retransfer "+m.Zone), true))
		}
	}
	if len(m.ParentNS) > 0 && len(best.NSSet) > 0 && !slices.Equal(m.ParentNS, best.NSSet) {
		out = append(out, newFinding(finding.Warn, m.ParentServer, "dns.delegation.ns_mismatch", "NS sets differ", ev,
			with("ParentNS", strings.Join(m.ParentNS, ", "), "ChildNS", strings.Join(best.NSSet, ", ")), true))
	}
	if len(out) > 0 {
		return out
	}
	return []finding.Finding{newFinding(finding.Pass, "", "dns.delegation.ok", "ok", ev,
		with("Servers", strconv.Itoa(len(good)), "Serial", u32(best.Serial)), false)}
}

func evidence(m Measurement) finding.Evidence {
	ev := Evidence{
		Zone: m.Zone, Parent: m.Parent, ParentServer: m.ParentServer, ParentNS: m.ParentNS,
		ParentHosts: m.ParentHosts, ParentProblem: m.ParentProblem, ResolverNS: m.ResolverNS, Servers: m.Servers,
	}
	if d, ok := m.NegativeTTL(); ok {
		s := uint32(d / time.Second)
		ev.NegativeTTL = &s
	}
	return finding.NewEvidence(ev)
}

func serverLabel(s Server) string {
	if s.Addr == "" {
		return s.NS
	}
	return s.NS + " (" + s.Addr + ")"
}

// serverKey is the finding's Server: the address asked, or the name when
// it has no address (so two address-less names still get two series).
func serverKey(s Server) string {
	if s.Addr == "" {
		return s.NS
	}
	return s.Addr
}

func orNone(s string) string {
	if s == "" {
		return "no address"
	}
	return s
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
