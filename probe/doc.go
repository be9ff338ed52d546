// Package probe runs an audit as three stages and holds its result, the
// Report:
//
//	MakePlan (pure)   every distinct question, each asked once
//	executor          exchanges with bounded concurrency -> Measurements only
//	Judge (pure)      Plan + Measurements -> per-school findings + infrastructure
//
// Follow-ups are planned from answers (followUps, KMSTargets), never judged
// inline: an SRV answer's targets are asked as soon as it arrives, the KMS
// leg dials only the addresses the judged DNS chains lead to and a witness
// vouches for (DESIGN §4.1), and the shared servers' own faults are moved
// into Report.Infrastructure once (§4.2).
//
// It owns: the plan, the executor, the judge's orchestration of the legs'
// judges, the trust rules that span legs (witnesses, usable addresses,
// shared infrastructure) and the Report model. It must not know how a leg
// talks to the network (legs implement Leg/Measurement), how a report is
// rendered, saved, mailed or exported, or anything about command-line flags.
package probe
