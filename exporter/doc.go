// Package exporter makes kmsprobe a Prometheus exporter (kmsprobe serve).
//
// Metrics are derived from a finished probe.Report by a Collector: the
// checks never register metrics themselves, so a report read back from
// disk, the latest background audit and an on-demand /probe audit all
// expose exactly the same series (DESIGN.md §9).
//
// Endpoints (Handler):
//
//	/             the live status page: the latest background audit as
//	              the HTML report, its age and the trend, reloading itself
//	/probes       the endpoints and a /probe link per school
//	/metrics      the latest background audit, plus process and Go metrics
//	/probe?school=ID
//	              an on-demand audit of one school within the scrape's
//	              budget, in a fresh registry (blackbox_exporter's
//	              multi-target pattern)
//	/report.json  the latest report (DESIGN.md §6)
//	/healthz      liveness
//
// Label values are bounded: school ids, check ids, server addresses, DNS
// suffixes and the fixed role names come from schools.yaml or the code,
// never from what a server answered.
//
// FromReport is the one place a report becomes series: one small function
// per metric family, each reading the legs' typed evidence accessors
// (dnscheck.RoleOf, kmscheck.RTT and Count, clockcheck.Offset). Two values
// have no accessor yet and are read through small typed structs: a dns.srv
// round trip that can say "not measured", and an offset given as
// offset_ms.
//
// It owns: the metric names and help texts (a contract the city view, the
// rules and the dashboards read), the reduction of findings to series, and
// the HTTP endpoints of kmsprobe serve. It must not know how a check is
// measured or judged, or how the city view reads the series back.
package exporter
