package exporter

import (
	"iter"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/probe"
)

// Metric names. The first eight are the contract of DESIGN.md §9; the
// city view (package city) and the rules in scripts/prometheus read them.
const (
	SchoolStatus       = "kmsprobe_school_status"
	FindingStatus      = "kmsprobe_finding_status"
	KMSActiveClients   = "kmsprobe_kms_active_clients"
	KMSRTT             = "kmsprobe_kms_rtt_seconds"
	DNSRTT             = "kmsprobe_dns_rtt_seconds"
	ClockOffset        = "kmsprobe_clock_offset_seconds"
	AuditDuration      = "kmsprobe_audit_duration_seconds"
	AuditLastSuccess   = "kmsprobe_audit_last_success_timestamp_seconds"
	SchoolInfo         = "kmsprobe_school_info"
	DNSServerInfo      = "kmsprobe_dns_server_info"
	AuditComplete      = "kmsprobe_audit_complete"
	FindingSkipped     = "kmsprobe_finding_skipped"
	ProbeSuccess       = "kmsprobe_probe_success"
	ProbeDuration      = "kmsprobe_probe_duration_seconds"
	BackgroundInterval = "kmsprobe_audit_interval_seconds"
	ProbeRejected      = "kmsprobe_probe_rejected_total"
	InfraStatus        = "kmsprobe_infrastructure_status"
	InfraAffects       = "kmsprobe_infrastructure_affected_schools"
)

var (
	descSchoolStatus = prometheus.NewDesc(SchoolStatus,
		"Status of the school in the audit: 0 pass, 1 warn, 2 fail, 3 unknown (its worst finding).",
		[]string{"school"}, nil)
	descFindingStatus = prometheus.NewDesc(FindingStatus,
		"Status of one check against one server: 0 pass, 1 warn, 2 fail, 3 unknown; a skipped check has no series here (see kmsprobe_finding_skipped), so no alert or dashboard can read it as pass. Findings sharing school, check and server are reduced to the worst that ran.",
		[]string{"school", "check", "server"}, nil)
	descKMSClients = prometheus.NewDesc(KMSActiveClients,
		"Client count the KMS host reported in its activation response (kms.rpc evidence count).",
		[]string{"address"}, nil)
	descKMSRTT = prometheus.NewDesc(KMSRTT,
		"Round trip of the KMS handshake (kms.rpc rtt_ms; kms.tcp rtt_ms when kms.mode is tcp; absent when the handshake failed).",
		[]string{"address"}, nil)
	descDNSRTT = prometheus.NewDesc(DNSRTT,
		"Round trip of the SRV exchange with the server in the last audit (the slowest when several schools asked it).",
		[]string{"server"}, nil)
	descClock = prometheus.NewDesc(ClockOffset,
		"Local clock minus the NTP server's clock.",
		[]string{"server"}, nil)
	descFindingSkipped = prometheus.NewDesc(FindingSkipped,
		"1 for a check that was not run (status skip) against this server, which then has no kmsprobe_finding_status series; absent otherwise.",
		[]string{"school", "check", "server"}, nil)
	descInfraStatus = prometheus.NewDesc(InfraStatus,
		"Status of a shared server's own fault (city resolver, KMS host, NTP), reported once for every school that uses it: 1 warn, 2 fail, 3 unknown. Absent when the shared servers have no fault.",
		[]string{"check", "server"}, nil)
	descInfraAffects = prometheus.NewDesc(InfraAffects,
		"How many audited schools use the shared server of the kmsprobe_infrastructure_status series with the same labels.",
		[]string{"check", "server"}, nil)
	descDuration = prometheus.NewDesc(AuditDuration,
		"Wall time of the last audit.", nil, nil)
	descLastSuccess = prometheus.NewDesc(AuditLastSuccess,
		"Unix time at which the last complete audit ended.", nil, nil)
	descComplete = prometheus.NewDesc(AuditComplete,
		"1 when the last audit got every answer, 0 when it was stopped (deadline, shutdown) and unanswered checks are unknown.", nil, nil)
	descSchoolInfo = prometheus.NewDesc(SchoolInfo,
		"Always 1; carries the school's DNS suffix for dashboards and the city view.",
		[]string{"school", "suffix"}, nil)
	descServerInfo = prometheus.NewDesc(DNSServerInfo,
		"Always 1; the role of a DNS server asked for SRV records: school, resolver or dhcp.",
		[]string{"server", "role"}, nil)
)

// Snapshot is what a Collector exposes: a report and the end of the last
// complete audit, which may be older than the report when the latest
// audit was cut short.
type Snapshot struct {
	Report      *probe.Report
	LastSuccess time.Time
}

// Collector exposes a report as metrics. Get is called on every scrape, so
// the exporter can swap reports without re-registering anything.
type Collector struct {
	Get func() Snapshot

	// The series of one report are computed once, not on every scrape:
	// a report is never changed once it is published.
	mu       sync.Mutex
	measured *probe.Report
	measures Measures
}

// measuresOf is FromReport(r), remembered for the last report.
func (c *Collector) measuresOf(r *probe.Report) Measures {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.measured != r {
		c.measures, c.measured = FromReport(r), r
	}
	return c.measures
}

// NewCollector returns a Collector over a fixed snapshot.
func NewCollector(s Snapshot) *Collector {
	return &Collector{Get: func() Snapshot { return s }}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSchoolStatus, descFindingStatus, descKMSClients, descKMSRTT,
		descDNSRTT, descClock, descFindingSkipped, descInfraStatus, descInfraAffects, descDuration, descLastSuccess, descComplete, descSchoolInfo, descServerInfo} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.Get()
	if !s.LastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9)
	}
	r := s.Report
	if r == nil {
		// Before the first audit there is nothing to say; an absent
		// series is the honest answer, not a row of zeros that reads
		// as "all pass".
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descDuration, r.DurationSeconds)
	gauge(descComplete, boolValue(!r.Incomplete))
	m := c.measuresOf(r)
	for _, s := range m.Schools {
		gauge(descSchoolStatus, float64(s.Status.Code()), s.ID)
		gauge(descSchoolInfo, 1, s.ID, s.Suffix)
	}
	for _, f := range m.Findings {
		// Skip is its own state (never a 0 that reads as pass): the
		// series moves to kmsprobe_finding_skipped.
		if f.Status == finding.Skip {
			gauge(descFindingSkipped, 1, f.School, f.Check, f.Server)
			continue
		}
		gauge(descFindingStatus, float64(f.Status.Code()), f.School, f.Check, f.Server)
	}
	for _, f := range m.Infra {
		gauge(descInfraStatus, float64(f.Status.Code()), f.Check, f.Server)
		gauge(descInfraAffects, float64(f.Affects), f.Check, f.Server)
	}
	for _, k := range sortedPairs(m.Roles) {
		gauge(descServerInfo, 1, k.Server, k.Role)
	}
	for _, a := range sortedKeys(m.KMSClients) {
		gauge(descKMSClients, m.KMSClients[a], a)
	}
	for _, a := range sortedKeys(m.KMSRTT) {
		gauge(descKMSRTT, m.KMSRTT[a], a)
	}
	for _, a := range sortedKeys(m.DNSRTT) {
		gauge(descDNSRTT, m.DNSRTT[a], a)
	}
	for _, a := range sortedKeys(m.Clock) {
		gauge(descClock, m.Clock[a], a)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Measures are the values a report yields for metrics, deduplicated: the
// city resolvers and the KMS host appear in every school's findings but
// are one series each.
type Measures struct {
	Schools  []probe.School // ID, Suffix and Status only matter here
	Findings []FindingKey
	// Infra are the shared servers' faults, one per check and server.
	Infra []InfraKey
	Roles map[ServerRole]bool
	// Seconds, by address or server.
	KMSRTT, DNSRTT, Clock map[string]float64
	KMSClients            map[string]float64
}

// FindingKey is one kmsprobe_finding_status series.
type FindingKey struct {
	School, Check, Server string
	Status                finding.Status
}

// InfraKey is one kmsprobe_infrastructure_status series.
type InfraKey struct {
	Check, Server string
	Status        finding.Status
	Affects       int
}

type pair struct{ a, b string }

// ServerRole is one kmsprobe_dns_server_info series.
type ServerRole struct{ Server, Role string }

// FromReport reduces a report to its series, one small function per metric
// family. It is pure, so the tests can check every evidence rule without a
// registry. Evidence is read through the legs' typed accessors, so a
// report fresh from an audit and one read back from JSON give the same
// series.
func FromReport(r *probe.Report) Measures {
	return Measures{
		Schools:    append([]probe.School(nil), r.Schools...),
		Findings:   findingKeys(r.Schools),
		Infra:      infraKeys(r.Infrastructure),
		Roles:      dnsRoles(r),
		DNSRTT:     dnsRTTs(r),
		KMSRTT:     kmsRTTs(r),
		KMSClients: kmsClients(r),
		Clock:      clockOffsets(r),
	}
}

// findingsOf yields every school's findings of one check.
func findingsOf(r *probe.Report, check string) iter.Seq[finding.Finding] {
	return func(yield func(finding.Finding) bool) {
		for _, s := range r.Schools {
			for _, f := range s.Findings {
				if f.Check == check && !yield(f) {
					return
				}
			}
		}
	}
}

// findingKeys are the kmsprobe_finding_status (and _skipped) series.
// Several findings can share school, check and server (one dns.target per
// SRV target of a server): a registry refuses duplicate series, and the
// worst is what an alert wants.
func findingKeys(schools []probe.School) []FindingKey {
	var out []FindingKey
	for _, s := range schools {
		idx := map[pair]int{}
		for _, f := range s.Findings {
			k := pair{f.Check, f.Server}
			if i, ok := idx[k]; ok {
				out[i].Status = worstRun(out[i].Status, f.Status)
				continue
			}
			idx[k] = len(out)
			out = append(out, FindingKey{School: s.ID, Check: f.Check, Server: f.Server, Status: f.Status})
		}
	}
	return out
}

// worstRun reduces two statuses of one series. A check that ran outranks
// one that was skipped: skip is not "better than warn", it is "not known".
func worstRun(cur, next finding.Status) finding.Status {
	switch {
	case next == finding.Skip:
		return cur
	case cur == finding.Skip, next.Worse(cur):
		return next
	}
	return cur
}

// infraKeys are the kmsprobe_infrastructure_status series: the shared
// servers' faults, once per check and server, the worst with the most
// schools affected. A passing or skipped entry is no fault.
func infraKeys(infra []probe.Infra) []InfraKey {
	var out []InfraKey
	idx := map[pair]int{}
	for _, in := range infra {
		if in.Status == finding.Pass || in.Status == finding.Skip {
			continue
		}
		k := pair{in.Check, in.Server}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, InfraKey{Check: in.Check, Server: in.Server, Status: in.Status, Affects: in.Affects})
			continue
		}
		if in.Status.Worse(out[i].Status) {
			out[i].Status = in.Status
		}
		out[i].Affects = max(out[i].Affects, in.Affects)
	}
	return out
}

// dnsRoles are the kmsprobe_dns_server_info series: each DNS server asked
// for SRV records with its role.
func dnsRoles(r *probe.Report) map[ServerRole]bool {
	out := map[ServerRole]bool{}
	for f := range findingsOf(r, finding.DNSSRV) {
		if role, ok := dnscheck.RoleOf(f); ok {
			out[ServerRole{f.Server, role.String()}] = true
		}
	}
	return out
}

// dnsRTTs are the kmsprobe_dns_rtt_seconds series: the slowest SRV
// exchange with each server (several schools ask the city resolvers).
func dnsRTTs(r *probe.Report) map[string]float64 {
	out := map[string]float64{}
	for f := range findingsOf(r, finding.DNSSRV) {
		if ms, ok := srvRTTms(f); ok {
			out[f.Server] = math.Max(out[f.Server], ms/1e3)
		}
	}
	delete(out, "")
	return out
}

// srvTiming is the part of a dns.srv finding's evidence the latency
// series needs. dnscheck.SRVEvidence cannot say "not measured": its
// rtt_ms is a plain number, and a finding without evidence (a skipped
// one) would read as 0 ms. The pointers here can.
type srvTiming struct {
	RTTms *float64 `json:"rtt_ms"`
	Error *string  `json:"error"` // set when no answer came: its rtt_ms is a timeout, not a round trip
}

// srvRTTms is the measured round trip of a dns.srv exchange, in ms.
func srvRTTms(f finding.Finding) (float64, bool) {
	var t srvTiming
	if f.Evidence.Decode(&t) != nil || t.RTTms == nil || t.Error != nil {
		return 0, false
	}
	return *t.RTTms, true
}

// kmsRTTs are the kmsprobe_kms_rtt_seconds series: the handshake's round
// trip per KMS address. kms.tcp's connect time stands in when the KMS leg
// stopped at TCP (kms.mode tcp): better a connect time than no latency at
// all on the dashboard. A handshake that was tried and failed has no
// round trip, and the connect time would make a stalled host look fast.
func kmsRTTs(r *probe.Report) map[string]float64 {
	out := map[string]float64{}
	tried := map[string]bool{}
	for f := range findingsOf(r, finding.KMSRPC) {
		if f.Status != finding.Skip {
			tried[f.Server] = true
		}
		if d, ok := kmscheck.RTT(f); ok {
			out[f.Server] = kmsSeconds(d)
		}
	}
	connect := map[string]float64{}
	for f := range findingsOf(r, finding.KMSTCP) {
		if d, ok := kmscheck.RTT(f); ok {
			connect[f.Server] = kmsSeconds(d)
		}
	}
	for a, v := range connect {
		if _, ok := out[a]; !ok && !tried[a] {
			out[a] = v
		}
	}
	delete(out, "")
	return out
}

// kmsSeconds turns a KMS round trip into seconds by way of milliseconds,
// the unit the report's rtt_ms holds, so the series is that number / 1000
// to the bit (straight from nanoseconds, a quarter of the values would
// differ from it in the last digit).
func kmsSeconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond) / 1e3
}

// kmsClients are the kmsprobe_kms_active_clients series: the count each
// KMS host reported.
func kmsClients(r *probe.Report) map[string]float64 {
	out := map[string]float64{}
	for f := range findingsOf(r, finding.KMSRPC) {
		if n, ok := kmscheck.Count(f); ok {
			out[f.Server] = float64(n)
		}
	}
	delete(out, "")
	return out
}

// clockOffsets are the kmsprobe_clock_offset_seconds series: local clock
// minus each NTP server's.
func clockOffsets(r *probe.Report) map[string]float64 {
	out := map[string]float64{}
	for f := range findingsOf(r, finding.ClockOffset) {
		if d, ok := clockcheck.Offset(f); ok {
			out[f.Server] = float64(d) / float64(time.Second)
		} else if ms, ok := offsetMS(f); ok {
			out[f.Server] = ms / 1e3
		}
	}
	return out
}

// offsetMS reads the offset in milliseconds (offset_ms), the form a
// report may give when it has no offset_s.
func offsetMS(f finding.Finding) (float64, bool) {
	var e struct {
		OffsetMS *float64 `json:"offset_ms"`
	}
	if f.Evidence.Decode(&e) != nil || e.OffsetMS == nil {
		return 0, false
	}
	return *e.OffsetMS, true
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedPairs(m map[ServerRole]bool) []ServerRole {
	out := make([]ServerRole, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Server < out[j].Server || out[i].Server == out[j].Server && out[i].Role < out[j].Role
	})
	return out
}
