// Package testenv decides what an integration test does when the real
// server it needs (unbound, dnsmasq, kea, chrony, an SMTP server,
// Prometheus, Chromium, root for namespaces) is missing.
//
// On a developer's machine a missing server is a skip with the install
// line. Under CI (.ci/run exports KMSPROBE_REQUIRE_REAL=1) it is a
// failure: a green CI must mean the real servers were exercised, never
// that every integration test quietly skipped.
package testenv
