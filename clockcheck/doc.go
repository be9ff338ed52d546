// Package clockcheck is kmsprobe's clock leg (clock.offset): this machine's
// clock against NTP, because a KMS host refuses clients more than 4 hours
// off (0xC004F06C) and the probe's own activation request carries its time.
//
// Measure asks the configured NTP servers in order until one answers, with
// the caller's per-query budget (no default of its own); Judge is a pure
// function from that Measurement to the clock.offset finding. The package
// knows nothing of KMS, DNS or schools.
package clockcheck
