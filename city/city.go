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

// Build makes the city report and the list of probes behind it. It is
// pure, and reads as its stages: which probes exist and what Prometheus
// knows of them, which are stale, which probe speaks for each school, the
// schools with their findings, the shared servers' faults, and the report
// that gathers them.
func Build(d Data, opts Options) (*probe.Report, []*Probe) {
	probes := collectProbes(d)
	for _, p := range probes {
		p.Stale, p.Why = staleness(p, d.At, opts.Stale)
	}
	src := newSources(d)
	owner := pickOwners(probes, src.series(metricSchoolStatus))
	for id, p := range owner {
		p.Schools = append(p.Schools, id)
	}
	schools := assembleSchools(src, owner, opts.Config)
	infra := infrastructure(src, probes)
	return assemble(d, owner, schools, infra, staleInstances(probes)), sortedProbes(probes)
}

// probeKey names the probe of a series: its job and instance labels, as
// Probe.Key does.
func probeKey(l map[string]string) string { return l["job"] + "/" + l["instance"] }

// collectProbes finds the probes and what Prometheus knows of them. A
// probe exists by its kmsprobe series, not by up: up of other jobs (node
// exporters...) is none of our business.
func collectProbes(d Data) map[string]*Probe {
	probes := map[string]*Probe{}
	get := func(l map[string]string) *Probe {
		k := probeKey(l)
		p, ok := probes[k]
		if !ok {
			p = &Probe{Job: l["job"], Instance: l["instance"]}
			probes[k] = p
		}
		return p
	}
	for _, set := range []map[string][]Sample{d.Last, d.Current} {
		for _, ss := range set {
			for _, s := range ss {
				get(s.Labels)
			}
		}
	}
	for _, s := range d.Up {
		if p, ok := probes[probeKey(s.Labels)]; ok {
			up := s.Value == 1
			p.Up = &up
		}
	}
	for _, s := range d.Last[metricLastSuccess] {
		get(s.Labels).LastSuccess = time.Unix(0, int64(s.Value*1e9))
	}
	for _, s := range d.Last[metricInterval] {
		get(s.Labels).Interval = time.Duration(s.Value * float64(time.Second))
	}
	return probes
}

// staleness says whether a probe's results are old news at the time at,
// and why. A positive limit (--stale) overrides the probe's own
// allowance, twice its audit interval.
func staleness(p *Probe, at time.Time, limit time.Duration) (stale bool, why string) {
	if limit <= 0 {
		iv := p.Interval
		if iv <= 0 {
			iv = DefaultInterval
		}
		limit = 2 * iv
	}
	switch {
	case p.Up != nil && !*p.Up:
		return true, "Prometheus cannot scrape it (up == 0)"
	case p.Up == nil:
		return true, "Prometheus no longer scrapes it (no up series: removed from the targets, or its job was renamed)"
	case p.LastSuccess.IsZero():
		return true, "it has not completed an audit within the lookback window"
	case at.Sub(p.LastSuccess) > limit:
		return true, fmt.Sprintf("its last complete audit ended %s ago, more than %s", at.Sub(p.LastSuccess).Round(time.Second), limit)
	}
	return false, ""
}

// sources picks where each series is read from. A probe's series come
// from the last scrape when it has one and from the last known values
// otherwise. A school's findings come from one source, all from the last
// scrape or all from the last known values: if the last scrape's findings
// of a school are missing (the probe went away while the snapshot was
// read), the school keeps its last known findings rather than showing
// none beside a failing status.
type sources struct {
	d               Data
	currentProbe    map[string]bool // probe key
	currentFindings map[string]bool // probe key + school
}

func newSources(d Data) sources {
	src := sources{d: d, currentProbe: map[string]bool{}, currentFindings: map[string]bool{}}
	for _, s := range d.Current[metricSchoolStatus] {
		src.currentProbe[probeKey(s.Labels)] = true
	}
	for _, m := range []string{metricFindingStatus, metricSkipped} {
		for _, s := range d.Current[m] {
			src.currentFindings[schoolKey(s.Labels)] = true
		}
	}
	return src
}

func schoolKey(l map[string]string) string { return probeKey(l) + "\x00" + l["school"] }

// series is a per-probe metric from the right source.
func (src sources) series(metric string) []Sample {
	return src.pick(metric, func(l map[string]string) bool { return src.currentProbe[probeKey(l)] })
}

// findingSeries is a per-finding metric from the right source.
func (src sources) findingSeries(metric string) []Sample {
	return src.pick(metric, func(l map[string]string) bool { return src.currentFindings[schoolKey(l)] })
}

// pick is the last scrape's series, then the last known ones of those
// that have none in the last scrape.
func (src sources) pick(metric string, inCurrent func(map[string]string) bool) []Sample {
	out := slices.Clone(src.d.Current[metric])
	for _, s := range src.d.Last[metric] {
		if !inCurrent(s.Labels) {
			out = append(out, s)
		}
	}
	return out
}

// pickOwners chooses the probe each school is shown from. A school audited
// by several probes (a campus box and the central one) is shown from the
// freshest; mixing their findings would count the same DNS server twice.
func pickOwners(probes map[string]*Probe, schoolStatus []Sample) map[string]*Probe {
	owner := map[string]*Probe{}
	for _, s := range schoolStatus {
		p := probes[probeKey(s.Labels)]
		id := s.Labels["school"]
		if o, ok := owner[id]; !ok || fresher(p, o) {
			owner[id] = p
		}
	}
	return owner
}

// fresher says whether p's view of a school beats o's: a fresh probe over
// a stale one, then the later complete audit, then a stable order.
func fresher(p, o *Probe) bool {
	if p.Stale != o.Stale {
		return !p.Stale
	}
	if !p.LastSuccess.Equal(o.LastSuccess) {
		return p.LastSuccess.After(o.LastSuccess)
	}
	return p.Key() < o.Key()
}

// ownerOf returns the school's owner when the series is the owner's own.
func ownerOf(owner map[string]*Probe, l map[string]string) (*Probe, bool) {
	p, ok := owner[l["school"]]
	return p, ok && p.Job == l["job"] && p.Instance == l["instance"]
}

// assembleSchools makes every owned school with its owner's findings, in
// the order of the series.
func assembleSchools(src sources, owner map[string]*Probe, cfg *config.Config) map[string]*probe.School {
	schools := map[string]*probe.School{}
	for id := range owner {
		schools[id] = newSchool(id, cfg)
	}
	for _, s := range src.series(metricSchoolInfo) {
		if _, ok := ownerOf(owner, s.Labels); ok {
			schools[s.Labels["school"]].Suffix = s.Labels["suffix"]
		}
	}
	roles := dnsRoles(src.series(metricServerInfo))
	for _, v := range verdicts(src.findingSeries(metricFindingStatus), src.findingSeries(metricSkipped)) {
		p, ok := ownerOf(owner, v.labels)
		if !ok {
			continue
		}
		sc := schools[v.labels["school"]]
		sc.Findings = append(sc.Findings, schoolFinding(p, v.labels, v.status, roles[p.Key()][v.labels["server"]]))
	}
	return schools
}

// newSchool names a school from the config when it has one: names are
// free text and so never travel as labels.
func newSchool(id string, cfg *config.Config) *probe.School {
	s := &probe.School{ID: id, Name: id}
	if cfg != nil {
		if cs, ok := cfg.School(id); ok {
			s.Name = cs.Name
			s.Suffix = cs.Suffix
		}
	}
	return s
}

// dnsRoles maps probe key -> DNS server -> its role.
func dnsRoles(serverInfo []Sample) map[string]map[string]string {
	roles := map[string]map[string]string{}
	for _, s := range serverInfo {
		k := probeKey(s.Labels)
		if roles[k] == nil {
			roles[k] = map[string]string{}
		}
		roles[k][s.Labels["server"]] = s.Labels["role"]
	}
	return roles
}

// verdict is one finding's status as its series say.
type verdict struct {
	labels map[string]string
	status finding.Status
}

// verdicts reconciles the status series with the skip markers. Skipped
// checks have their own series (never a status 0 that reads as pass);
// exporters before that change also sent status 0 for them, so a 0 beside
// a skip marker is a skip. A check both run and skipped shouldn't happen:
// the status that ran wins and the marker is dropped. Each skip counts
// once, even if the last scrape and the last known values both hold it.
func verdicts(status, skips []Sample) []verdict {
	skipped := map[string]bool{}
	for _, s := range skips {
		if s.Value == 1 {
			skipped[findingKey(s.Labels)] = true
		}
	}
	var out []verdict
	ran := map[string]bool{}
	for _, s := range status {
		st, k := statusOf(s.Value), findingKey(s.Labels)
		if skipped[k] && st == finding.Pass {
			continue // an older exporter's 0 for a skip
		}
		delete(skipped, k)
		ran[k] = true
		out = append(out, verdict{s.Labels, st})
	}
	for _, s := range skips {
		if k := findingKey(s.Labels); skipped[k] && !ran[k] {
			delete(skipped, k)
			out = append(out, verdict{s.Labels, finding.Skip})
		}
	}
	return out
}

// schoolFinding rebuilds one finding from its series. What Prometheus
// cannot carry (message, remedy) is not invented: a finding that needs
// action says where the full report lives.
func schoolFinding(p *Probe, l map[string]string, st finding.Status, role string) finding.Finding {
	f := finding.Finding{
		Check:    l["check"],
		Server:   l["server"],
		Status:   st,
		ID:       "city.finding." + st.String(),
		Args:     map[string]string{"Probe": p.Instance, "Status": st.String()},
		Message:  fmt.Sprintf("%s at the last audit by %s", st, p.Instance),
		Evidence: finding.EvidenceMap(map[string]any{"probe": p.Instance, "source": "prometheus"}),
	}
	if f.Check == finding.DNSSRV {
		if r, ok := dnscheck.ParseRole(role); ok {
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
	return f
}

// infrastructure reports each shared server's fault once per check and
// server: the worst any fresh probe saw (a stale probe's view is old news
// while a fresh one exists), with the most schools it affects.
func infrastructure(src sources, probes map[string]*Probe) []probe.Infra {
	affects := map[string]float64{}
	for _, s := range src.series(metricInfraAffects) {
		affects[findingKey(s.Labels)] = s.Value
	}
	fresh := anyFresh(probes)
	byServer := map[string]*probe.Infra{}
	for _, s := range src.series(metricInfraStatus) {
		p := probes[probeKey(s.Labels)]
		if p == nil || p.Stale && fresh {
			continue
		}
		st, k := statusOf(s.Value), s.Labels["check"]+"@"+s.Labels["server"]
		n := int(affects[findingKey(s.Labels)])
		in, ok := byServer[k]
		if !ok {
			byServer[k] = &probe.Infra{Affects: n, Finding: infraFinding(s.Labels, st, p)}
			continue
		}
		if st.Worse(in.Status) {
			in.Finding = infraFinding(s.Labels, st, p)
		}
		in.Affects = max(in.Affects, n)
	}
	var out []probe.Infra
	for _, in := range byServer {
		out = append(out, *in)
	}
	slices.SortFunc(out, func(a, b probe.Infra) int { return compareChecks(a.Finding, b.Finding) })
	return out
}

// infraFinding rebuilds a shared server's fault from its series.
func infraFinding(l map[string]string, st finding.Status, p *Probe) finding.Finding {
	return finding.Finding{
		Check:    l["check"],
		Server:   l["server"],
		Status:   st,
		ID:       "city.infra." + st.String(),
		Args:     map[string]string{"Probe": p.Instance, "Status": st.String(), "Instance": p.Instance, "Job": p.Job},
		Message:  fmt.Sprintf("%s at the last audit by %s; every school using this server is affected", st, p.Instance),
		Evidence: finding.EvidenceMap(map[string]any{"probe": p.Instance, "source": "prometheus"}),
		Remedy:   infraHint(p),
		RemedyID: strings.Replace(remedyHintID(p), "city.remedy.", "city.infra.fix_", 1),
	}
}

// assemble gathers the schools and the shared servers' faults into the
// city report. A school whose owner is stale says so in a finding of its
// own, and stale owners make the report incomplete.
func assemble(d Data, owner map[string]*Probe, schools map[string]*probe.School, infra []probe.Infra, stale []string) *probe.Report {
	rep := &probe.Report{
		Schema:         probe.Schema,
		GeneratedAt:    d.At,
		Probe:          probe.Info{Hostname: d.Prometheus, Version: "", Vantage: "city"},
		Infrastructure: infra,
	}
	for _, s := range schools {
		if p := owner[s.ID]; p.Stale {
			s.Findings = append(s.Findings, staleFinding(p))
		}
		slices.SortStableFunc(s.Findings, compareChecks)
		rep.Schools = append(rep.Schools, *s)
	}
	slices.SortFunc(rep.Schools, func(a, b probe.School) int { return cmp.Compare(a.ID, b.ID) })
	if len(stale) > 0 {
		rep.Incomplete = true
		rep.Reason = fmt.Sprintf("%d probe(s) stale (%s): their schools show the last results Prometheus holds", len(stale), strings.Join(stale, ", "))
	}
	rep.Finish()
	return rep
}

// staleFinding marks a school whose probe stopped reporting: its other
// findings are the last ones Prometheus holds.
func staleFinding(p *Probe) finding.Finding {
	return finding.Finding{
		Check:    CheckStale,
		Status:   finding.Unknown,
		Short:    "stale",
		ID:       "city.stale.message",
		RemedyID: "city.stale.fix",
		Args:     map[string]string{"Probe": p.Instance, "Why": p.Why, "Host": hostOf(p.Instance), "Job": p.Job},
		Message:  fmt.Sprintf("the probe %s is stale: %s; the other findings are the last it reported", p.Instance, p.Why),
		Evidence: finding.EvidenceMap(map[string]any{"probe": p.Instance, "job": p.Job, "last_success": timeOrEmpty(p.LastSuccess)}),
		Remedy:   fmt.Sprintf("On %s check that kmsprobe serve runs (systemctl status kmsprobe; its log is on stderr) and that Prometheus reaches it (Status > Targets, job %q).", hostOf(p.Instance), p.Job),
	}
}

// compareChecks orders findings the way an audit lists them.
func compareChecks(a, b finding.Finding) int {
	return cmp.Or(cmp.Compare(slices.Index(checkOrder, a.Check), slices.Index(checkOrder, b.Check)),
		cmp.Compare(a.Check, b.Check), cmp.Compare(a.Server, b.Server))
}

// staleInstances are the stale probes that own a school, sorted.
func staleInstances(probes map[string]*Probe) []string {
	var stale []string
	for _, p := range probes {
		if p.Stale && len(p.Schools) > 0 {
			stale = append(stale, p.Instance)
		}
	}
	slices.Sort(stale)
	return stale
}

func sortedProbes(probes map[string]*Probe) []*Probe {
	out := make([]*Probe, 0, len(probes))
	for _, p := range probes {
		slices.Sort(p.Schools)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Probe) int { return cmp.Compare(a.Key(), b.Key()) })
	return out
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
