// Package city builds the city-wide compliance report from Prometheus.
//
// Every campus or central probe runs kmsprobe serve; Prometheus scrapes
// them all. Fetch asks Prometheus's HTTP API for the kmsprobe series at
// one instant and Build turns them into an ordinary probe.Report, so the
// same renderers print the city table. Build is pure and table-tested;
// Fetch is tested against a real Prometheus. Build reads as its stages:
//
//	collectProbes     the probes behind the series, their up, last success, interval
//	staleness (pure)  is a probe's view old news, and why
//	pickOwners (pure) the freshest probe speaks for each school
//	assembleSchools   each school with its owner's findings (verdicts reconciles skips)
//	infrastructure    each shared server's fault once, the worst a fresh probe saw
//	assemble          the report: stale markers, order, incompleteness
//
// What Prometheus cannot carry is not invented: messages and remedies are
// free text and never labels, so a city finding says where the full
// report lives (the probe's /report.json) instead of repeating it.
//
// It owns: the reading of the exporter's series back into findings, the
// staleness rule for probes and the choice of one probe per school. It
// must not know how a check is measured or judged (the series carry only
// statuses), how a report is rendered or saved, or anything about flags:
// the metric names come from package exporter, which owns them.
package city
