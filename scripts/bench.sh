#!/usr/bin/env bash
# bench.sh — run BenchmarkAudit1000 (1,000 simulated schools on 127.0.0.0/8,
# 10% of their DNS servers dead, 3 shared resolvers; see probe/bench_test.go)
# under GNU time, and print one summary: wall time, CPU (user+sys), peak
# memory (max RSS) and the benchmark's own figures.
#
#   scripts/bench.sh                 # 3 audits
#   BENCHTIME=10x scripts/bench.sh   # 10 audits
#   BENCH=BenchmarkAudit1000 PKG=./probe scripts/bench.sh
#
# The test binary is built first, so compile time and the compiler's memory
# are not measured. The figures cover the whole process: starting the
# 1,003 simulated servers, then BENCHTIME audits (ns/op is one audit alone).
# Everything stays on loopback (DESIGN.md §7).
#
# Needs GNU time (/usr/bin/time; Debian: apt-get install time).
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH=${BENCH:-BenchmarkAudit1000}
BENCHTIME=${BENCHTIME:-3x}
PKG=${PKG:-./probe}
TIME=${TIME:-/usr/bin/time}

if ! "$TIME" -v true >/dev/null 2>&1; then
	echo "bench.sh: GNU time not found at $TIME (Debian/Ubuntu: apt-get install time)" >&2
	exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin="$work/bench.test"
go test -c -o "$bin" "$PKG"

# The benchmark raises RLIMIT_NOFILE itself up to the hard limit; say so
# early when even that is too low (about 2,300 descriptors are needed).
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 2400 ]; then
	echo "bench.sh: warning: the hard open-files limit is $hard; the benchmark needs about 2,400 and will skip" >&2
fi

# Run from the package directory, as go test does.
( cd "$PKG" && "$TIME" -v -o "$work/time.txt" "$bin" -test.run '^$' -test.bench "^${BENCH}\$" \
	-test.benchtime "$BENCHTIME" -test.count 1 ) | tee "$work/bench.txt"

awk -v benchtime="$BENCHTIME" -v bench="$BENCH" '
FNR == NR {
	if ($0 ~ /^Benchmark/) {
		for (i = 3; i < NF; i += 2) m[$(i+1)] = $i
		iters = $2; found = 1
	}
	next
}
/Elapsed \(wall clock\)/ { n = split($NF, p, ":"); wall = (n == 3) ? p[1]*3600 + p[2]*60 + p[3] : p[1]*60 + p[2] }
/User time \(seconds\)/ { user = $NF }
/System time \(seconds\)/ { sys = $NF }
/Maximum resident set size/ { rss = $NF }
END {
	if (!found) { print "bench.sh: no benchmark result (skipped? see above)" > "/dev/stderr"; exit 1 }
	printf "\n== %s, %s (%d audits) ==\n", bench, benchtime, iters
	printf "wall time (process)   %8.2f s\n", wall
	printf "CPU user+sys          %8.2f s   (user %.2f, sys %.2f; %.0f%% of one core)\n", user + sys, user, sys, (wall > 0 ? 100 * (user + sys) / wall : 0)
	printf "peak memory (max RSS) %8.1f MiB\n", rss / 1024
	printf "one audit (ns/op)     %8.3f s\n", m["ns/op"] / 1e9
	printf "exchanges per audit   %8d     (%.0f exchanges/s)\n", m["exchanges/op"], m["exchanges/s"]
	printf "schools per audit     %8d\n", m["schools/op"]
	if ("B/op" in m) printf "allocated per audit   %8.1f MiB   (%d allocs)\n", m["B/op"] / 1048576, m["allocs/op"]
}' "$work/bench.txt" "$work/time.txt"
