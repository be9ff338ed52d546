// Package city builds the city-wide compliance report from Prometheus.
//
// Every campus or central probe runs kmsprobe serve; Prometheus scrapes
// them all. Fetch asks Prometheus's HTTP API for the kmsprobe series and
// Build turns them into an ordinary probe.Report, so the same renderers
// print the city table. Build is pure and table-tested; Fetch is tested
// against a real Prometheus.
//
// What Prometheus cannot carry is not invented: messages and remedies are
// free text and never labels, so a city finding says where the full
// report lives (the probe's /report.json) instead of repeating it.
package city

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// CheckStale is the pseudo-check of a school whose probe stopped
// reporting: its other findings are the last ones Prometheus holds.
const CheckStale = "probe.stale"

// DefaultInterval is assumed for a probe that does not export its own
// interval (an older version, or the /probe pattern).
const DefaultInterval = config.DefaultServeEvery

// Sample is one series of an instant query: its labels and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Data is what Fetch read. Current holds the series of the last scrape
// (absent for a probe that is down); Last holds the last value within the
// lookback window, used for probes that are down, so a dead campus keeps
// showing what was last known instead of vanishing.
type Data struct {
	At          time.Time
	Current     map[string][]Sample // by metric name
	Last        map[string][]Sample
	Up          []Sample
	Prometheus  string // base URL, for messages
	LookbackTxt string
}

// Options tune Build.
type Options struct {
	// Stale is the age of the last complete audit beyond which a probe is
	// stale; 0 means twice the probe's own interval.
	Stale time.Duration
	// Config, when given, supplies school names, which are free text and
	// so never travel as labels.
	Config *config.Config
}

// Probe is one scraped exporter as the city sees it.
type Probe struct {
	Job, Instance string
	Up            *bool
	LastSuccess   time.Time
	Interval      time.Duration
	Schools       []string
	Stale         bool
	Why           string // why it is stale
}

// Key identifies a probe in Prometheus: its job and instance labels.
func (p *Probe) Key() string { return p.Job + "/" + p.Instance }

// checkOrder sorts findings the way an audit lists them.
var checkOrder = []string{
	finding.DHCPOffer, finding.DHCPSuffix, finding.DHCPRogue, finding.DHCPDNS,
	finding.DNSSRV, finding.DNSTarget, finding.DNSConsistency,
	finding.KMSTCP, finding.KMSRPC, finding.ClockOffset, CheckStale,
}

// Build makes the city report and the list of probes behind it.
func Build(d Data, opts Options) (*probe.Report, []*Probe) {
	probes := map[string]*Probe{}
	get := func(l map[string]string) *Probe {
		k := l["job"] + "/" + l["instance"]
		p, ok := probes[k]
		if !ok {
			p = &Probe{Job: l["job"], Instance: l["instance"]}
			probes[k] = p
		}
		return p
	}
	// Probes exist by their kmsprobe series, not by up: up of other
	// jobs (node exporters...) is none of our business.
	for _, set := range []map[string][]Sample{d.Last, d.Current} {
		for _, ss := range set {
			for _, s := range ss {
				get(s.Labels)
			}
		}
	}
	for _, s := range d.Up {
		if p, ok := probes[s.Labels["job"]+"/"+s.Labels["instance"]]; ok {
			up := s.Value == 1
			p.Up = &up
		}
	}
	for _, s := range d.Last[metricLastSuccess] {
		p := get(s.Labels)
		p.LastSuccess = time.Unix(0, int64(s.Value*1e9))
	}
	for _, s := range d.Last[metricInterval] {
		get(s.Labels).Interval = time.Duration(s.Value * float64(time.Second))
	}
	pkey := func(l map[string]string) string { return l["job"] + "/" + l["instance"] }
	skey := func(l map[string]string) string { return pkey(l) + "\x00" + l["school"] }
	hasCurrent := map[string]bool{}
	for _, s := range d.Current[metricSchoolStatus] {
		hasCurrent[pkey(s.Labels)] = true
	}
	// A school's findings come from one source, all from the last scrape
	// or all from the last known values: if the last scrape's findings
	// of a school are missing (the probe went away while the snapshot
	// was read), the school keeps its last known findings rather than
	// showing none beside a failing status.
	currentFindings := map[string]bool{}
	for _, m := range []string{metricFindingStatus, metricSkipped} {
		for _, s := range d.Current[m] {
			currentFindings[skey(s.Labels)] = true
		}
	}
	// series picks, per probe, the last scrape's series when there is one
	// and the last known otherwise.
	series := func(metric string) []Sample {
		var out []Sample
		for _, s := range d.Current[metric] {
			out = append(out, s)
		}
		for _, s := range d.Last[metric] {
			if !hasCurrent[pkey(s.Labels)] {
				out = append(out, s)
			}
		}
		return out
	}
	findingSeries := func(metric string) []Sample {
		var out []Sample
		for _, s := range d.Current[metric] {
			out = append(out, s)
		}
		for _, s := range d.Last[metric] {
			if !currentFindings[skey(s.Labels)] {
				out = append(out, s)
			}
		}
		return out
	}

	for _, p := range probes {
		limit := opts.Stale
		if limit <= 0 {
			iv := p.Interval
			if iv <= 0 {
				iv = DefaultInterval
			}
			limit = 2 * iv
		}
		switch {
		case p.Up != nil && !*p.Up:
			p.Stale, p.Why = true, "Prometheus cannot scrape it (up == 0)"
		case p.Up == nil:
			p.Stale, p.Why = true, "Prometheus no longer scrapes it (no up series: removed from the targets, or its job was renamed)"
		case p.LastSuccess.IsZero():
			p.Stale, p.Why = true, "it has not completed an audit within the lookback window"
		case d.At.Sub(p.LastSuccess) > limit:
			p.Stale, p.Why = true, fmt.Sprintf("its last complete audit ended %s ago, more than %s", d.At.Sub(p.LastSuccess).Round(time.Second), limit)
		}
	}

	// A school audited by several probes (a campus box and the central
	// one) is shown from the freshest; mixing their findings would count
	// the same DNS server twice.
	owner := map[string]*Probe{}
	for _, s := range series(metricSchoolStatus) {
		p := probes[s.Labels["job"]+"/"+s.Labels["instance"]]
		id := s.Labels["school"]
		if o, ok := owner[id]; !ok || fresher(p, o) {
			owner[id] = p
		}
	}
	for id, p := range owner {
		p.Schools = append(p.Schools, id)
	}
	mine := func(l map[string]string) (*Probe, bool) {
		p, ok := owner[l["school"]]
		return p, ok && p.Job == l["job"] && p.Instance == l["instance"]
	}

	schools := map[string]*probe.School{}
	for id := range owner {
		s := &probe.School{ID: id, Name: id}
		if opts.Config != nil {
			if cs, ok := opts.Config.School(id); ok {
				s.Name = cs.Name
				s.Suffix = cs.Suffix
			}
		}
		schools[id] = s
	}
	for _, s := range series(metricSchoolInfo) {
		if _, ok := mine(s.Labels); ok {
			schools[s.Labels["school"]].Suffix = s.Labels["suffix"]
		}
	}
	roles := map[string]map[string]string{} // probe key -> server -> role
	for _, s := range series(metricServerInfo) {
		k := s.Labels["job"] + "/" + s.Labels["instance"]
		if roles[k] == nil {
			roles[k] = map[string]string{}
		}
		roles[k][s.Labels["server"]] = s.Labels["role"]
	}
	// Skipped checks have their own series (never a status 0 that reads
	// as pass); exporters before that change also sent status 0 for them.
	skipped := map[string]bool{}
	for _, s := range findingSeries(metricSkipped) {
		if s.Value == 1 {
			skipped[findingKey(s.Labels)] = true
		}
	}
	add := func(l map[string]string, st finding.Status) {
		p, ok := mine(l)
		if !ok {
			return
		}
		f := finding.Finding{
			Check:    l["check"],
			Server:   l["server"],
			Status:   st,
			ID:       "city.finding." + st.String(),
			Args:     map[string]string{"Probe": p.Instance, "Status": st.String()},
			Message:  fmt.Sprintf("%s at the last audit by %s", st, p.Instance),
			Evidence: finding.Evidence{"probe": p.Instance, "source": "prometheus"},
		}
		if f.Check == finding.DNSSRV {
			if r, ok := dnscheck.ParseRole(roles[p.Key()][f.Server]); ok {
				dnscheck.SetRole(&f, r)
			}
		}
		switch st {
		case finding.Skip:
			f.Short, f.Message, f.ID = "-", "not run at the last audit by "+p.Instance, "city.finding.skip"
		case finding.Pass:
		default:
			f.Remedy, f.RemedyID = reportHint(p, l["school"]), remedyHintID(p)
			f.Args["School"], f.Args["Instance"], f.Args["Job"] = l["school"], p.Instance, p.Job
		}
		sc := schools[l["school"]]
		sc.Findings = append(sc.Findings, f)
	}
	ran := map[string]bool{}
	for _, s := range findingSeries(metricFindingStatus) {
		st := statusOf(s.Value)
		k := findingKey(s.Labels)
		if skipped[k] {
			if st != finding.Pass {
				// Shouldn't happen: a check that ran and was skipped. The
				// status that ran wins, the skip marker is dropped.
				delete(skipped, k)
			} else {
				continue // an older exporter's 0 for a skip
			}
		}
		ran[k] = true
		add(s.Labels, st)
	}
	for _, s := range findingSeries(metricSkipped) {
		if k := findingKey(s.Labels); skipped[k] && !ran[k] {
			delete(skipped, k) // once, even if Current and Last both hold it
			add(s.Labels, finding.Skip)
		}
	}

	// Shared servers' faults: once per check and server, the worst any
	// fresh probe saw (a stale probe's view is old news), with the most
	// schools it affects.
	infra := map[string]*probe.Infra{}
	affects := map[string]float64{}
	for _, s := range series(metricInfraAffects) {
		affects[findingKey(s.Labels)] = s.Value
	}
	for _, s := range series(metricInfraStatus) {
		p := probes[pkey(s.Labels)]
		if p == nil || p.Stale && anyFresh(probes) {
			continue
		}
		st := statusOf(s.Value)
		k := s.Labels["check"] + "@" + s.Labels["server"]
		n := int(affects[findingKey(s.Labels)])
		if in, ok := infra[k]; ok {
			if st.Worse(in.Status) {
				in.Status = st
				in.Message = fmt.Sprintf("%s at the last audit by %s; every school using this server is affected", st, p.Instance)
				in.ID, in.Args["Status"], in.Args["Probe"] = "city.infra."+st.String(), st.String(), p.Instance
				in.Args["Instance"], in.Args["Job"] = p.Instance, p.Job
				in.Remedy, in.RemedyID = infraHint(p), strings.Replace(remedyHintID(p), "city.remedy.", "city.infra.fix_", 1)
				in.Evidence = finding.Evidence{"probe": p.Instance, "source": "prometheus"}
			}
			in.Affects = max(in.Affects, n)
			continue
		}
		infra[k] = &probe.Infra{Affects: n, Finding: finding.Finding{
			Check:    s.Labels["check"],
			Server:   s.Labels["server"],
			Status:   st,
			ID:       "city.infra." + st.String(),
			Args:     map[string]string{"Probe": p.Instance, "Status": st.String(), "Instance": p.Instance, "Job": p.Job},
			Message:  fmt.Sprintf("%s at the last audit by %s; every school using this server is affected", st, p.Instance),
			Evidence: finding.Evidence{"probe": p.Instance, "source": "prometheus"},
			Remedy:   infraHint(p),
			RemedyID: strings.Replace(remedyHintID(p), "city.remedy.", "city.infra.fix_", 1),
		}}
	}

	rep := &probe.Report{
		Schema:      probe.Schema,
		GeneratedAt: d.At,
		Probe:       probe.Info{Hostname: d.Prometheus, Version: "", Vantage: "city"},
	}
	var stale []string
	for _, p := range probes {
		if p.Stale && len(p.Schools) > 0 {
			stale = append(stale, p.Instance)
		}
	}
	slices.Sort(stale)
	for _, s := range schools {
		p := owner[s.ID]
		if p.Stale {
			s.Findings = append(s.Findings, finding.Finding{
				Check:    CheckStale,
				Status:   finding.Unknown,
				Short:    "stale",
				ID:       "city.stale.message",
				RemedyID: "city.stale.fix",
				Args:     map[string]string{"Probe": p.Instance, "Why": p.Why, "Host": hostOf(p.Instance), "Job": p.Job},
				Message:  fmt.Sprintf("the probe %s is stale: %s; the other findings are the last it reported", p.Instance, p.Why),
				Evidence: finding.Evidence{"probe": p.Instance, "job": p.Job, "last_success": timeOrEmpty(p.LastSuccess)},
				Remedy:   fmt.Sprintf("On %s check that kmsprobe serve runs (systemctl status kmsprobe; its log is on stderr) and that Prometheus reaches it (Status > Targets, job %q).", hostOf(p.Instance), p.Job),
			})
		}
		slices.SortStableFunc(s.Findings, func(a, b finding.Finding) int {
			return cmp.Or(cmp.Compare(slices.Index(checkOrder, a.Check), slices.Index(checkOrder, b.Check)),
				cmp.Compare(a.Check, b.Check), cmp.Compare(a.Server, b.Server))
		})
		rep.Schools = append(rep.Schools, *s)
	}
	slices.SortFunc(rep.Schools, func(a, b probe.School) int { return cmp.Compare(a.ID, b.ID) })
	for _, in := range infra {
		rep.Infrastructure = append(rep.Infrastructure, *in)
	}
	slices.SortFunc(rep.Infrastructure, func(a, b probe.Infra) int {
		return cmp.Or(cmp.Compare(slices.Index(checkOrder, a.Check), slices.Index(checkOrder, b.Check)),
			cmp.Compare(a.Check, b.Check), cmp.Compare(a.Server, b.Server))
	})
	if len(stale) > 0 {
		rep.Incomplete = true
		rep.Reason = fmt.Sprintf("%d probe(s) stale (%s): their schools show the last results Prometheus holds", len(stale), strings.Join(stale, ", "))
	}
	rep.Finish()

	out := make([]*Probe, 0, len(probes))
	for _, p := range probes {
		slices.Sort(p.Schools)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Probe) int { return cmp.Compare(a.Key(), b.Key()) })
	return rep, out
}

func findingKey(l map[string]string) string {
	return strings.Join([]string{l["job"], l["instance"], l["school"], l["check"], l["server"]}, "\x00")
}

func anyFresh(probes map[string]*Probe) bool {
	for _, p := range probes {
		if !p.Stale && len(p.Schools) > 0 {
			return true
		}
	}
	return false
}

func remedyHintID(p *Probe) string {
	if _, _, err := net.SplitHostPort(p.Instance); err == nil {
		return "city.remedy.report_json"
	}
	return "city.remedy.audit"
}

// infraHint says where a shared server's fault is described in full.
func infraHint(p *Probe) string {
	if _, _, err := net.SplitHostPort(p.Instance); err == nil {
		return fmt.Sprintf("The message and the fix for the server's operators are in the probe's report, section infrastructure: curl http://%s/report.json.", p.Instance)
	}
	return fmt.Sprintf("The message and the fix for the server's operators are in the report of kmsprobe audit on the probe that scrapes job %q.", p.Job)
}

func fresher(p, o *Probe) bool {
	if p.Stale != o.Stale {
		return !p.Stale
	}
	if !p.LastSuccess.Equal(o.LastSuccess) {
		return p.LastSuccess.After(o.LastSuccess)
	}
	return p.Key() < o.Key()
}

func statusOf(v float64) finding.Status {
	switch v {
	case 0:
		return finding.Pass
	case 1:
		return finding.Warn
	case 2:
		return finding.Fail
	}
	return finding.Unknown
}

// reportHint says where the finding's message and remedy are: the probe's
// own report. With the /probe pattern the instance is the school, not an
// address, so the hint names the command instead.
func reportHint(p *Probe, school string) string {
	if _, _, err := net.SplitHostPort(p.Instance); err == nil {
		return fmt.Sprintf("The message and the fix are in the probe's report: curl http://%s/report.json (or kmsprobe audit --school %s on that probe).", p.Instance, school)
	}
	return fmt.Sprintf("The message and the fix are in the probe's report: run kmsprobe audit --school %s on the probe that scrapes it (job %q).", school, p.Job)
}

func hostOf(instance string) string {
	if h, _, err := net.SplitHostPort(instance); err == nil {
		return h
	}
	return instance
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
