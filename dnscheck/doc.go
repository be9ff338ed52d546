// Package dnscheck is the DNS leg of kmsprobe: it asks one server one
// question (Client.Exchange) and rules on the answers (JudgeSRV,
// JudgeTarget, JudgeConsistency) per DESIGN.md §4.
//
// Measuring and judging are apart on purpose: the judges are pure functions
// of the answers, so every cell of the verdict table is a table-driven test,
// and the orchestrator can ask each distinct question once and judge it for
// every school that shares it.
package dnscheck
