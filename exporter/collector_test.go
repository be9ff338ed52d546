package exporter

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/probe"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// sampleReport has every kind of evidence the collector reads, in the
// Go types the legs really use (uint32 count from kmscheck, float64 from
// dnscheck) and the ones JSON gives back.
func sampleReport() *probe.Report {
	r := &probe.Report{
		Schema:          probe.Schema,
		GeneratedAt:     time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC),
		DurationSeconds: 1.5,
		Schools: []probe.School{
			{ID: "good-jh", Name: "示範國中", Suffix: "good-jh.kh.edu.tw", Findings: []finding.Finding{
				{Check: finding.DNSSRV, Server: "127.0.1.10:53", Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"role": "school", "rtt_ms": 1.5})},
				{Check: finding.DNSSRV, Server: "127.0.0.21:53", Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"role": "resolver", "rtt_ms": 2.0})},
				{Check: finding.DNSTarget, Server: "127.0.1.10:53", Status: finding.Pass},
				{Check: finding.KMSTCP, Server: "127.0.0.88:1688", Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 0.8})},
				{Check: finding.KMSRPC, Server: "127.0.0.88:1688", Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 12.5, "count": uint32(50)})},
				{Check: finding.ClockOffset, Server: "127.0.0.123:123", Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"offset_ms": -250})},
			}},
			{ID: "nosrv-es", Name: "遺漏國小", Suffix: "nosrv-es.kh.edu.tw", Findings: []finding.Finding{
				{Check: finding.DNSSRV, Server: "127.0.1.12:53", Status: finding.Fail, Evidence: finding.EvidenceMap(map[string]any{"role": "school", "rtt_ms": 0, "error": "timeout"})},
				{Check: finding.DNSSRV, Server: "127.0.0.21:53", Status: finding.Warn, Evidence: finding.EvidenceMap(map[string]any{"role": "resolver", "rtt_ms": 4.0})},
				// Two targets at one server: one series, the worst.
				{Check: finding.DNSTarget, Server: "127.0.0.21:53", Status: finding.Pass},
				{Check: finding.DNSTarget, Server: "127.0.0.21:53", Status: finding.Fail},
				{Check: finding.KMSTCP, Status: finding.Skip},
				{Check: finding.KMSRPC, Status: finding.Skip},
				{Check: finding.ClockOffset, Server: "127.0.0.123:123", Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"offset_ms": -250})},
			}},
		},
	}
	r.Infrastructure = []probe.Infra{
		{Finding: finding.Finding{Check: finding.DNSSRV, Server: "127.0.0.22:53", Status: finding.Fail, Message: "no answer"}, Affects: 2},
	}
	r.Finish()
	return r
}

// reportMetrics are every series a report yields.
var reportMetrics = []string{SchoolStatus, FindingStatus, KMSActiveClients, KMSRTT, DNSRTT, ClockOffset,
	AuditDuration, AuditLastSuccess, AuditComplete, SchoolInfo, DNSServerInfo, FindingSkipped, InfraStatus, InfraAffects}

func TestGoldenExposition(t *testing.T) {
	c := NewCollector(Snapshot{Report: sampleReport(), LastSuccess: time.Unix(1795600000, 500e6)})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	got, err := testutil.CollectAndFormat(c, expfmt.TypeTextPlain, reportMetrics...)
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/metrics.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("exposition differs from %s (-want +got); run go test ./exporter -update if the change is intended:\n%s", golden, diff)
	}
	// The same through the registry, as a scrape sees it, and pedantic
	// checks of names, help and label consistency.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(string(want))); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestContractNames pins DESIGN.md §9: names and label sets are read
// literally by acceptance checks and the rules.
func TestContractNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(Snapshot{Report: sampleReport(), LastSuccess: time.Unix(1, 0)}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, mf := range mfs {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		got[mf.GetName()] = labels
	}
	want := map[string][]string{
		"kmsprobe_school_status":                        {"school"},
		"kmsprobe_finding_status":                       {"check", "school", "server"},
		"kmsprobe_kms_active_clients":                   {"address"},
		"kmsprobe_kms_rtt_seconds":                      {"address"},
		"kmsprobe_dns_rtt_seconds":                      {"server"},
		"kmsprobe_clock_offset_seconds":                 {"server"},
		"kmsprobe_audit_duration_seconds":               nil,
		"kmsprobe_audit_last_success_timestamp_seconds": nil,
		"kmsprobe_audit_complete":                       nil,
		"kmsprobe_finding_skipped":                      {"check", "school", "server"},
		"kmsprobe_school_info":                          {"school", "suffix"},
		"kmsprobe_dns_server_info":                      {"role", "server"},
		"kmsprobe_infrastructure_status":                {"check", "server"},
		"kmsprobe_infrastructure_affected_schools":      {"check", "server"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric names or labels (-want +got):\n%s", diff)
	}
}

func TestFromReportEvidence(t *testing.T) {
	tests := []struct {
		name     string
		findings []finding.Finding
		want     Measures
	}{
		{
			name: "json numbers and ints",
			findings: []finding.Finding{
				{Check: finding.KMSRPC, Server: "a:1688", Evidence: finding.EvidenceMap(map[string]any{"count": json.Number("30"), "rtt_ms": 20})},
				{Check: finding.ClockOffset, Server: "ntp:123", Evidence: finding.EvidenceMap(map[string]any{"offset_s": float64(-3.5)})},
			},
			want: Measures{KMSClients: map[string]float64{"a:1688": 30}, KMSRTT: map[string]float64{"a:1688": 0.02}, Clock: map[string]float64{"ntp:123": -3.5}},
		},
		{
			name: "offset_s wins over offset_ms",
			findings: []finding.Finding{
				{Check: finding.ClockOffset, Server: "ntp:123", Evidence: finding.EvidenceMap(map[string]any{"offset_s": 2, "offset_ms": 9000})},
			},
			want: Measures{Clock: map[string]float64{"ntp:123": 2}},
		},
		{
			name: "tcp rtt stands in without a handshake; nothing measured on error",
			findings: []finding.Finding{
				{Check: finding.KMSTCP, Server: "a:1688", Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 5.0})},
				{Check: finding.KMSTCP, Server: "b:1688", Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 2000.0, "error": "i/o timeout"})},
				{Check: finding.DNSSRV, Server: "d:53", Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 800.0, "error": "timeout"})},
			},
			want: Measures{KMSRTT: map[string]float64{"a:1688": 0.005}},
		},
		{
			name: "slowest dns exchange per server; garbage ignored",
			findings: []finding.Finding{
				{Check: finding.DNSSRV, Server: "d:53", Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 3.0, "role": "resolver"})},
				{Check: finding.DNSSRV, Server: "d:53", Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": 7.0, "role": "resolver"})},
				{Check: finding.DNSSRV, Server: "e:53", Evidence: finding.EvidenceMap(map[string]any{"rtt_ms": "fast"})},
				{Check: finding.KMSRPC, Server: "a:1688", Evidence: finding.EvidenceMap(map[string]any{"count": "many"})},
			},
			want: Measures{DNSRTT: map[string]float64{"d:53": 0.007}, Roles: map[ServerRole]bool{{"d:53", "resolver"}: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromReport(&probe.Report{Schools: []probe.School{{ID: "s", Findings: tt.findings}}})
			opts := []cmp.Option{
				cmp.Comparer(func(a, b float64) bool { return a == b || (a-b)*(a-b) < 1e-18 }),
			}
			for _, c := range []struct {
				name      string
				want, got any
			}{
				{"kms clients", nz(tt.want.KMSClients), nz(got.KMSClients)},
				{"kms rtt", nz(tt.want.KMSRTT), nz(got.KMSRTT)},
				{"dns rtt", nz(tt.want.DNSRTT), nz(got.DNSRTT)},
				{"clock", nz(tt.want.Clock), nz(got.Clock)},
			} {
				if diff := cmp.Diff(c.want, c.got, opts...); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.name, diff)
				}
			}
			if tt.want.Roles == nil {
				tt.want.Roles = map[ServerRole]bool{}
			}
			if diff := cmp.Diff(tt.want.Roles, got.Roles); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
		})
	}
}

func nz(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

func TestNoReportNoSeries(t *testing.T) {
	n, err := testutil.GatherAndCount(registryWith(NewCollector(Snapshot{})))
	if err != nil || n != 0 {
		t.Errorf("before the first audit: %d series (err %v), want none: zeros would read as all pass", n, err)
	}
}

func registryWith(c prometheus.Collector) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(c)
	return r
}

// TestSkipNeverReadsAsPass (DESIGN §4.1, §9): a skipped check has no
// kmsprobe_finding_status series, only kmsprobe_finding_skipped; a
// check that ran beside a skipped one at the same server keeps its own
// status. The expected exposition is written out, not derived.
func TestSkipNeverReadsAsPass(t *testing.T) {
	r := &probe.Report{Schools: []probe.School{{ID: "s1", Findings: []finding.Finding{
		{Check: finding.KMSTCP, Server: "", Status: finding.Skip},
		{Check: finding.DNSTarget, Server: "10.0.0.1:53", Status: finding.Skip},
		{Check: finding.DNSTarget, Server: "10.0.0.1:53", Status: finding.Warn},
		{Check: finding.DNSSRV, Server: "10.0.0.1:53", Status: finding.Pass},
		{Check: finding.DNSSRV, Server: "10.0.0.1:53", Status: finding.Skip},
	}}}}
	r.Finish()
	want := `# HELP kmsprobe_finding_skipped 1 for a check that was not run (status skip) against this server, which then has no kmsprobe_finding_status series; absent otherwise.
# TYPE kmsprobe_finding_skipped gauge
kmsprobe_finding_skipped{check="kms.tcp",school="s1",server=""} 1
# HELP kmsprobe_finding_status Status of one check against one server: 0 pass, 1 warn, 2 fail, 3 unknown; a skipped check has no series here (see kmsprobe_finding_skipped), so no alert or dashboard can read it as pass. Findings sharing school, check and server are reduced to the worst that ran.
# TYPE kmsprobe_finding_status gauge
kmsprobe_finding_status{check="dns.srv",school="s1",server="10.0.0.1:53"} 0
kmsprobe_finding_status{check="dns.target",school="s1",server="10.0.0.1:53"} 1
`
	if err := testutil.CollectAndCompare(NewCollector(Snapshot{Report: r}), strings.NewReader(want), FindingStatus, FindingSkipped); err != nil {
		t.Error(err)
	}
}

// TestInfrastructureSeries: each shared server's fault is one series with
// the number of schools it affects; a passing entry has none.
func TestInfrastructureSeries(t *testing.T) {
	r := &probe.Report{Infrastructure: []probe.Infra{
		{Finding: finding.Finding{Check: finding.KMSTCP, Server: "10.0.0.88:1688", Status: finding.Fail}, Affects: 180},
		{Finding: finding.Finding{Check: finding.ClockOffset, Server: "10.0.0.123:123", Status: finding.Unknown}, Affects: 180},
		{Finding: finding.Finding{Check: finding.DNSSRV, Server: "10.0.0.21:53", Status: finding.Pass}, Affects: 180},
	}}
	want := `# HELP kmsprobe_infrastructure_status Status of a shared server's own fault (city resolver, KMS host, NTP), reported once for every school that uses it: 1 warn, 2 fail, 3 unknown. Absent when the shared servers have no fault.
# TYPE kmsprobe_infrastructure_status gauge
kmsprobe_infrastructure_status{check="clock.offset",server="10.0.0.123:123"} 3
kmsprobe_infrastructure_status{check="kms.tcp",server="10.0.0.88:1688"} 2
# HELP kmsprobe_infrastructure_affected_schools How many audited schools use the shared server of the kmsprobe_infrastructure_status series with the same labels.
# TYPE kmsprobe_infrastructure_affected_schools gauge
kmsprobe_infrastructure_affected_schools{check="clock.offset",server="10.0.0.123:123"} 180
kmsprobe_infrastructure_affected_schools{check="kms.tcp",server="10.0.0.88:1688"} 180
`
	if err := testutil.CollectAndCompare(NewCollector(Snapshot{Report: r}), strings.NewReader(want), InfraStatus, InfraAffects); err != nil {
		t.Error(err)
	}
}

// TestFromReportLegEvidence: the series read the legs' own typed evidence,
// and a report read back from JSON gives exactly the same values as the
// one fresh from the audit.
func TestFromReportLegEvidence(t *testing.T) {
	count := uint32(30)
	offset := -0.25
	// Variables, not constants: the series is the report's rtt_ms / 1000
	// computed in float64 (4.2/1e3 folded as a constant is exact, the
	// float64 division is one unit in the last place off).
	dnsMS, kmsMS := 2.2, 4.2
	r := &probe.Report{Schools: []probe.School{{ID: "s", Findings: []finding.Finding{
		{Check: finding.DNSSRV, Server: "10.0.0.1:53", Status: finding.Pass, Evidence: finding.NewEvidence(dnscheck.SRVEvidence{RTTms: dnsMS, Role: "school"})},
		{Check: finding.DNSSRV, Server: "10.0.0.2:53", Status: finding.Fail, Evidence: finding.NewEvidence(dnscheck.SRVEvidence{RTTms: 4000, Error: "timeout", Role: "resolver"})},
		{Check: finding.DNSSRV, Server: "10.0.0.3:53", Status: finding.Skip},
		{Check: finding.KMSTCP, Server: "10.0.0.88:1688", Status: finding.Pass, Evidence: finding.NewEvidence(kmscheck.TCPEvidence{RTTms: 0.7, Outcome: "connected"})},
		{Check: finding.KMSRPC, Server: "10.0.0.88:1688", Status: finding.Pass, Evidence: finding.NewEvidence(kmscheck.RPCEvidence{RTTms: kmsMS, Count: &count})},
		{Check: finding.KMSTCP, Server: "10.0.0.89:1688", Status: finding.Pass, Evidence: finding.NewEvidence(kmscheck.TCPEvidence{RTTms: 0.3, Outcome: "connected"})},
		{Check: finding.KMSRPC, Server: "10.0.0.89:1688", Status: finding.Fail, Evidence: finding.NewEvidence(kmscheck.RPCEvidence{RTTms: 3000, Error: "i/o timeout"})},
		{Check: finding.ClockOffset, Server: "10.0.0.123:123", Status: finding.Pass, Evidence: finding.NewEvidence(clockcheck.Evidence{OffsetS: &offset})},
		{Check: finding.ClockOffset, Server: "10.0.0.124:123", Status: finding.Unknown, Evidence: finding.NewEvidence(clockcheck.Evidence{Unanswered: []string{"10.0.0.124:123: timeout"}})},
	}}}}
	want := Measures{
		Roles:      map[ServerRole]bool{{"10.0.0.1:53", "school"}: true, {"10.0.0.2:53", "resolver"}: true},
		DNSRTT:     map[string]float64{"10.0.0.1:53": dnsMS / 1e3},
		KMSRTT:     map[string]float64{"10.0.0.88:1688": kmsMS / 1e3}, // .89's handshake failed: no stand-in
		KMSClients: map[string]float64{"10.0.0.88:1688": 30},
		Clock:      map[string]float64{"10.0.0.123:123": -0.25},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back probe.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for name, rep := range map[string]*probe.Report{"fresh": r, "from JSON": &back} {
		got := FromReport(rep)
		for _, c := range []struct {
			name      string
			want, got any
		}{
			{"roles", want.Roles, got.Roles},
			{"dns rtt", want.DNSRTT, got.DNSRTT},
			{"kms rtt", want.KMSRTT, got.KMSRTT},
			{"kms clients", want.KMSClients, got.KMSClients},
			{"clock", want.Clock, got.Clock},
		} {
			// Exact: the series must equal the report's numbers to the bit.
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", name, c.name, diff)
			}
		}
	}
}

func TestWorstRun(t *testing.T) {
	const (
		pass, warn, fail, unknown, skip = finding.Pass, finding.Warn, finding.Fail, finding.Unknown, finding.Skip
	)
	tests := []struct {
		cur, next, want finding.Status
	}{
		{pass, warn, warn},
		{warn, pass, warn},
		{warn, fail, fail},
		{fail, unknown, fail},
		{pass, unknown, unknown},
		{skip, pass, pass}, // a check that ran outranks a skip
		{pass, skip, pass},
		{fail, skip, fail},
		{skip, skip, skip},
		{skip, unknown, unknown},
	}
	for _, tt := range tests {
		if got := worstRun(tt.cur, tt.next); got != tt.want {
			t.Errorf("worstRun(%s, %s) = %s, want %s", tt.cur, tt.next, got, tt.want)
		}
	}
}
