// Package legs builds the audit's legs beyond DNS — KMS, clock — from a
// schools.yaml, with one table of named budgets that every command
// shares (audit, demo, serve, kms), so the same configuration always gives
// the same time to the same exchange.
//
// It owns: the budgets, and the adapters that put kmscheck and clockcheck
// behind probe's one Measure/Judge contract. It must not know about
// commands, flags, rendering or how an audit is orchestrated.
package legs
