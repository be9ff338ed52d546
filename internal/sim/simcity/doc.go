// Command simcity runs a benchmark city (internal/sim.StartBenchCity) as a
// process, so scripts/bench-tools.sh can audit it with kmsprobe and with
// the tools admins use today (dig), on the same servers. It serves DNS
// only, on 127.0.0.0/8, until it is interrupted.
//
//	go run ./internal/sim/simcity -schools 1000 -dead-every 10 -dir /tmp/city
//
// writes /tmp/city/schools.yaml (the audit) and /tmp/city/questions.txt
// (one "server port name" line per SRV question a PC of each school would
// ask), /tmp/city/floor.txt (the exchanges internal/sim/floor asks), then
// /tmp/city/ready.
//
// With -knot it starts nothing: it writes the same city for one Knot DNS
// process (knot.conf, zones/, schools.yaml, floor.txt, ready.txt; see
// sim.WriteKnotCity) and exits. scripts/bench.sh runs that knotd inside a
// network namespace of its own.
package main
