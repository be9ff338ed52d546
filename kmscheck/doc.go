// Package kmscheck is kmsprobe's KMS leg: it checks, from the network side,
// whether a KMS host would activate school PCs.
//
// Three checks (DESIGN.md §4):
//
//   - kms.tcp: a TCP connect to one address of the SRV target, with its
//     round trip; refused, timeout and unreachable are told apart.
//   - kms.rpc: a DCE/RPC bind to the KMS interface (offering NDR32, NDR64
//     and bind-time feature negotiation as Windows does) and one activation
//     request (protocol V4, V5 or V6), whose answer is fully verified
//     (PROTOCOL.md §6) before its client count is judged against the
//     activation threshold.
//   - clock.offset: this machine's clock against NTP, because KMS refuses
//     clients more than 4 hours off.
//
// Measuring and judging are separate: Dial, Bind, Session.Activate,
// Handshake and QueryNTP talk to the network and return plain results;
// JudgeTCP, JudgeRPC and JudgeClock are pure functions from those results
// to findings. Probe and CheckClock chain the two for the orchestrator.
//
// The package is a KMS client only. A probe sends one stable client machine
// ID per probe host (LoadIdentity, MachineIdentity), so weekly runs count as
// one client on the KMS host instead of inflating its count. Every read and
// write is bounded by the caller's context, and nothing a peer sends makes
// it allocate more than a few KiB.
//
// The activation threshold is Options.MinCount (kms.min_count) when set,
// else the product's own N (25 for Windows client editions, 5 for Office
// and Windows Server). Evidence carries both min_count and
// product_threshold, and a pass below the product's N says so.
//
// Package kmsreplay serves captured exchanges for tests and the demo; it
// replays bytes and cannot activate anything.
package kmscheck
