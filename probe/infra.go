package probe

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
)

// shareInfrastructure moves the faults of shared servers — a city
// resolver that answers nothing, the KMS host, NTP — into one list
// (DESIGN §4.2). Each school finding that follows from one keeps its cell
// but points there (DependsOn) and loses its remedy, which is addressed
// once to the people who run that server. A school with another working
// path is warn from such a fault; without one it stays fail.
func shareInfrastructure(p Plan, m Measurements, resolvers map[string]resolverAnswers, schools []School) []Infra {
	var infra []Infra
	for _, r := range p.Resolvers {
		f, ok := resolverFault(resolvers[r], p)
		if !ok {
			continue
		}
		infra = append(infra, Infra{Finding: f, Affects: dependOn(schools, f, func(g finding.Finding) bool {
			return g.Server == r && (g.Check == finding.DNSSRV || g.Check == finding.DNSTarget)
		}, workingDNS)})
	}
	kmsAddrs := make([]string, 0, len(m.KMS))
	for a := range m.KMS {
		kmsAddrs = append(kmsAddrs, a)
	}
	sort.Strings(kmsAddrs)
	for _, a := range kmsAddrs {
		for _, f := range judged(m.KMS[a]) {
			f, ok := sharedFault(m.KMS[a], f)
			if !ok {
				continue
			}
			check := f.Check
			infra = append(infra, Infra{Finding: f, Affects: dependOn(schools, f, func(g finding.Finding) bool {
				return g.Server == a && g.Check == check
			}, workingKMS)})
		}
	}
	if m.Clock != nil {
		for _, f := range judged(*m.Clock) {
			f, ok := sharedFault(*m.Clock, f)
			if !ok {
				continue
			}
			// The clock finding is the probe's view of NTP: the same for
			// every school, so a school keeps its status and only points
			// to the one place the remedy lives.
			server := f.Server
			infra = append(infra, Infra{Finding: f, Affects: dependOn(schools, f, func(g finding.Finding) bool {
				return g.Check == finding.ClockOffset && g.Server == server
			}, nil)})
		}
	}
	return infra
}

// dependOn marks every school finding that match selects as following
// from f and returns how many schools it touched. working, when set,
// decides each such finding's status: warn when the school has another
// working path, else fail.
func dependOn(schools []School, f finding.Finding, match func(finding.Finding) bool, working func(School, finding.Finding) bool) int {
	ref := f.Ref()
	n := 0
	for i := range schools {
		s := &schools[i]
		touched := false
		for j := range s.Findings {
			g := &s.Findings[j]
			if !match(*g) || (g.Status != finding.Fail && g.Status != finding.Warn) {
				continue
			}
			touched = true
			g.DependsOn, g.Remedy, g.RemedyID = ref, "", ""
			// Never escalate: a warn stays warn; a fail is softened only
			// when the school's PCs have another way that works.
			if working != nil && g.Status == finding.Fail && working(*s, *g) {
				g.Status = finding.Warn
			}
		}
		if touched || slices.ContainsFunc(s.Findings, match) {
			n++
		}
	}
	return n
}

// workingDNS reports whether the school has a server other than the
// failing one whose SRV answer leads a PC on (pass or warn).
func workingDNS(s School, failing finding.Finding) bool {
	return slices.ContainsFunc(s.Findings, func(f finding.Finding) bool {
		return f.Check == finding.DNSSRV && f.Server != failing.Server && f.DependsOn == "" &&
			(f.Status == finding.Pass || f.Status == finding.Warn)
	})
}

// workingKMS reports whether the school's PCs still activate another way:
// for a refused product, another address that activates that product;
// for an address that does not connect, another address that activates.
func workingKMS(s School, failing finding.Finding) bool {
	x, _ := failing.Evidence.Get("product")
	product, perProduct := x.(string)
	perProduct = perProduct && failing.Check == finding.KMSRPC && product != ""
	return slices.ContainsFunc(s.Findings, func(f finding.Finding) bool {
		if f.Check != finding.KMSRPC || f.Status != finding.Pass || f.Server == failing.Server {
			return false
		}
		if perProduct && f.Evidence.String("product") != product {
			return false
		}
		return true
	})
}

// resolverAnswers is what resolverFault needs of one city resolver's
// answers, gathered while the answers are still held: how many questions
// it was asked, whether every one failed on the server's side, and a
// stable sample (the SRV question first, then by name).
type resolverAnswers struct {
	asked  int
	fault  bool
	sample dnscheck.Answer
}

// summarizeResolvers goes over the answers once for every city resolver.
func summarizeResolvers(p Plan, m Measurements) map[string]resolverAnswers {
	out := make(map[string]resolverAnswers, len(p.Resolvers))
	for _, r := range p.Resolvers {
		out[r] = resolverAnswers{fault: true}
	}
	for q, a := range m.DNS {
		ra, ok := out[q.Server]
		if !ok {
			continue
		}
		ra.asked++
		if fault, _ := dnscheck.ServerFault(a); !fault {
			ra.fault = false
		}
		if s := ra.sample.Query; s.Name == "" || (q.Type == dns.TypeSRV && (s.Type != dns.TypeSRV || q.Name < s.Name)) {
			ra.sample = a
		}
		out[q.Server] = ra
	}
	return out
}

// resolverFault decides whether a city resolver failed on its own: every
// question it was asked went unanswered, refused or failed, including the
// KMS host's own name. One school's missing record is that school's
// problem; a resolver that answers nothing is everyone's.
func resolverFault(ra resolverAnswers, p Plan) (finding.Finding, bool) {
	asked, sample := ra.asked, ra.sample
	if asked == 0 || !ra.fault {
		return finding.Finding{}, false
	}
	f, ok := dnscheck.JudgeSharedServer(sample, dnscheck.CityResolver, p.PerAttempt)
	if !ok {
		return finding.Finding{}, false
	}
	// The resolver's sentence with how many questions it failed, under an
	// id of its own so the whole sentence translates.
	id := "dns.infra.all." + strings.TrimPrefix(f.ID, "dns.infra.")
	if !i18n.Has(i18n.English, id) {
		f.Message += fmt.Sprintf(" (every one of the %d questions it was asked failed the same way)", asked)
		return f, true
	}
	f.Args = withArgs(f.Args, "Asked", strconv.Itoa(asked))
	f.ID, f.Message = id, english(id, f.Args)
	return f, true
}

// sharedFault asks the measurement whether f is its shared server's own
// fault; a stopped measurement never is.
func sharedFault(ms Measured, f finding.Finding) (finding.Finding, bool) {
	if ms.Stopped || (f.Status != finding.Fail && f.Status != finding.Warn) {
		return f, false
	}
	if c, ok := ms.Measurement.(SharedFaults); ok {
		return c.SharedFault(f)
	}
	return f, true
}
