// Command floor is the yardstick scripts/bench.sh measures kmsprobe
// against: the same DNS exchanges an audit needs, with bare miekg/dns, a
// fixed number in flight, and no judging, no plan, no report. It reads
// "server port name type" lines (simcity writes them to floor.txt: for
// every school, the SRV question and the KMS host's A question at the
// school's own server and at each city resolver) and prints how many
// exchanges ended in each rcode or error.
//
//	floor -in floor.txt -inflight 256 -timeout 1s -attempts 2
//
// It only ever talks to the addresses in its input (127.0.0.0/8 from
// simcity).
package main
