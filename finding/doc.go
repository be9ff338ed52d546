// Package finding holds the one result type every leg of kmsprobe returns.
//
// A Finding is a verdict on one check against one server, with typed
// evidence, the remedy an admin can apply, a stable message id for
// translation and, for a fault of shared infrastructure, the reference of
// the one place its remedy lives (DependsOn).
//
// It owns: statuses and their order, check ids (a contract), the Finding
// type and the evidence helpers. It must not know any leg, any server or
// any output format: every other package depends on it.
package finding
