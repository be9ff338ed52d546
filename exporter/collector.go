package exporter

import (
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
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

// Evidence keys the metrics read (written by dnscheck and kmscheck).
// Numbers are read whatever their Go type: in process they are float64,
// int or uint32; from a report read back from JSON they are float64.
const (
	evRTTms    = "rtt_ms"    // dns.srv, kms.tcp, kms.rpc: milliseconds
	evCount    = "count"     // kms.rpc: the host's current client count
	evOffsetS  = "offset_s"  // clock.offset: seconds, local minus NTP
	evOffsetMS = "offset_ms" // clock.offset: the same in milliseconds
	evError    = "error"     // present when nothing was measured (timeout...)
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
	m := FromReport(r)
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

// FromReport reduces a report to its series. It is pure, so the tests can
// check every evidence rule without a registry.
func FromReport(r *probe.Report) Measures {
	m := Measures{
		Roles:      map[ServerRole]bool{},
		KMSRTT:     map[string]float64{},
		DNSRTT:     map[string]float64{},
		Clock:      map[string]float64{},
		KMSClients: map[string]float64{},
	}
	tcpRTT := map[string]float64{}
	rpcTried := map[string]bool{}
	for _, s := range r.Schools {
		m.Schools = append(m.Schools, s)
		// Several findings can share school, check and server (one
		// dns.target per SRV target of a server): a registry refuses
		// duplicate series, and the worst is what an alert wants.
		idx := map[pair]int{}
		for _, f := range s.Findings {
			k := pair{f.Check, f.Server}
			if i, ok := idx[k]; ok {
				// A check that ran outranks one that was skipped:
				// skip is not "better than warn", it is "not known".
				if cur := m.Findings[i].Status; cur == finding.Skip && f.Status != finding.Skip || f.Status != finding.Skip && f.Status.Worse(cur) {
					m.Findings[i].Status = f.Status
				}
			} else {
				idx[k] = len(m.Findings)
				m.Findings = append(m.Findings, FindingKey{School: s.ID, Check: f.Check, Server: f.Server, Status: f.Status})
			}
			measured := f.Evidence[evError] == nil
			switch f.Check {
			case finding.DNSSRV:
				if r, ok := dnscheck.RoleOf(f); ok {
					m.Roles[ServerRole{f.Server, r.String()}] = true
				}
				if v, ok := Number(f.Evidence[evRTTms]); ok && measured {
					m.DNSRTT[f.Server] = math.Max(m.DNSRTT[f.Server], v/1e3)
				}
			case finding.KMSRPC:
				if f.Status != finding.Skip {
					rpcTried[f.Server] = true
				}
				if v, ok := Number(f.Evidence[evCount]); ok {
					m.KMSClients[f.Server] = v
				}
				if v, ok := Number(f.Evidence[evRTTms]); ok && measured {
					m.KMSRTT[f.Server] = v / 1e3
				}
			case finding.KMSTCP:
				if v, ok := Number(f.Evidence[evRTTms]); ok && measured {
					tcpRTT[f.Server] = v / 1e3
				}
			case finding.ClockOffset:
				if v, ok := Number(f.Evidence[evOffsetS]); ok {
					m.Clock[f.Server] = v
				} else if v, ok := Number(f.Evidence[evOffsetMS]); ok {
					m.Clock[f.Server] = v / 1e3
				}
			}
		}
	}
	infra := map[pair]int{}
	for _, in := range r.Infrastructure {
		if in.Status == finding.Pass || in.Status == finding.Skip {
			continue
		}
		k := pair{in.Check, in.Server}
		if i, ok := infra[k]; ok {
			if in.Status.Worse(m.Infra[i].Status) {
				m.Infra[i].Status = in.Status
			}
			m.Infra[i].Affects = max(m.Infra[i].Affects, in.Affects)
			continue
		}
		infra[k] = len(m.Infra)
		m.Infra = append(m.Infra, InfraKey{Check: in.Check, Server: in.Server, Status: in.Status, Affects: in.Affects})
	}
	// kms.tcp's connect time stands in for the handshake when the KMS
	// leg stopped at TCP (kms.mode tcp): better a connect time than no
	// latency at all on the dashboard.
	// A handshake that was tried and failed has no round trip: the
	// connect time would make a stalled host look fast.
	for a, v := range tcpRTT {
		if _, ok := m.KMSRTT[a]; !ok && a != "" && !rpcTried[a] {
			m.KMSRTT[a] = v
		}
	}
	delete(m.KMSRTT, "")
	delete(m.KMSClients, "")
	delete(m.DNSRTT, "")
	return m
}

// Number reads a numeric evidence value of any Go numeric type (JSON gives
// float64 or json.Number, the legs int, uint32 or float64). NaN and
// infinities are refused: they would poison every aggregation.
func Number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int8:
		f = float64(x)
	case int16:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint8:
		f = float64(x)
	case uint16:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
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
