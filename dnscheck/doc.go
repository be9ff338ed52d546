// Package dnscheck is the DNS leg of kmsprobe: it asks one server one
// question (Client.Exchange) and rules on the answers (JudgeSRV,
// JudgeTarget, JudgeConsistency) per DESIGN.md §4 and the trust rules of
// §4.1.
//
// Measuring and judging are apart on purpose: the judges are pure functions
// of the answers, so every cell of the verdict table is a table-driven test,
// and the orchestrator can ask each distinct question once and judge it for
// every school that shares it.
//
// What it promises the orchestrator:
//   - Exchange takes, like a stub resolver, the first well-formed answer to
//     the very question asked (id, QR, question section) before the
//     deadline; packets that are not it are named in Answer.Ignored.
//   - Only records owned by the name asked (or the end of its CNAME chain
//     in the same answer) count: SRVRecords, Addresses, Targets.
//   - Targets is bounded (MaxTargets); NotFollowed names the rest.
//   - UsableKMSAddress / DialableAddresses say what may be dialled; an SRV
//     target "." (NoService) is never followed (Followable).
//   - ServerFault and JudgeSharedServer tell a shared server's own fault
//     from a record problem (DESIGN §4.2), with the remedy for the people
//     who run that server.
//   - Evidence is typed (SRVEvidence, TargetEvidence, ConsistencyEvidence)
//     and read back with SRVEvidenceOf, RoleOf, ..., also from saved JSON.
//   - Every finding has a message id and Args; the English texts live in
//     messages.go and i18n/locales/dns.*.toml.
//
// It must not know about schools.yaml, reports or rendering. Package
// dnstest is its kit of hostile servers for tests.
package dnscheck
