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
package exporter
