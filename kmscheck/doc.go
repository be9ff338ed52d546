// Package kmscheck is kmsprobe's KMS leg: it checks, from the network side,
// whether a KMS host would activate school PCs.
//
// Two checks (DESIGN.md §4); the clock check lives in package clockcheck:
//
//   - kms.tcp: a TCP connect to one address of the SRV target, with its
//     round trip; refused, timeout and unreachable are told apart.
//   - kms.rpc: a DCE/RPC bind to the KMS interface (offering NDR32, NDR64
//     and bind-time feature negotiation as Windows does) and one activation
//     request (protocol V4, V5 or V6), whose answer is fully verified
//     (PROTOCOL.md §6) before its client count is judged against the
//     activation threshold.
//
// Measuring and judging are separate: Measure (built on Dial, Bind,
// Session.Activate and Handshake) talks to the network, within the
// caller's Budget, and returns a typed Measurement; Judge is a pure
// function from a Measurement and an Expect to findings, with typed
// evidence (TCPEvidence, RPCEvidence) and their accessors. Check chains
// the two. The package has no default timeout of its own.
//
// The package is a KMS client only. A probe sends one stable client machine
// ID per probe host (LoadIdentity, MachineIdentity), so weekly runs count as
// one client on the KMS host instead of inflating its count. Every read and
// write is bounded by the caller's context, and nothing a peer sends makes
// it allocate more than a few KiB.
//
// The activation threshold is Expect.MinCount (kms.min_count) when set,
// else the product's own N (25 for Windows client editions, 5 for Office
// and Windows Server). Evidence carries both min_count and
// product_threshold, and a pass below the product's N says so.
//
// Package kmsreplay serves captured exchanges for tests and the demo; it
// replays bytes and cannot activate anything.
package kmscheck
