#!/usr/bin/env bash
# bench.sh — kmsprobe's audit beside the floor, in one run, on the same
# simulated city (internal/sim/simcity: each school's own DNS server on its
# own 127.0.0.0/8 address plus 3 city resolvers; SRV then the target's A;
# probe.timeout 1s × 2 attempts, 256 exchanges in flight).
#
# The floor (internal/sim/floor) asks the same questions an audit needs
# with bare miekg/dns and nothing else: 8 exchanges per school (SRV and A
# at the school's server and at each resolver), 256 in flight, rcode only.
# kmsprobe asks each distinct question once, judges it all and writes the
# JSON report (--kms-mode tcp: the city has no KMS host, so the port is
# only tried).
#
#   scripts/bench.sh                      # 1,000 and 10,000 schools, 0% and 10% dead
#   SIZES="1000" DEAD="0" scripts/bench.sh
#
# Prints wall time, CPU (user+sys) and peak RSS of each, the ratios, and
# the peak number of questions kmsprobe had in flight to one server.
# Everything stays on loopback (DESIGN §7). Needs GNU time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000"}
DEAD=${DEAD:-"0 10"}
TIME=/usr/bin/time
"$TIME" -f x true 2>/dev/null || { echo "bench.sh: GNU time missing (apt-get install time)" >&2; exit 3; }

work=$(mktemp -d)
city_pid=""
cleanup() {
	if [ -n "$city_pid" ]; then kill "$city_pid" 2>/dev/null || true; wait "$city_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/kmsprobe" ./cmd/kmsprobe
go build -o "$work/simcity" ./internal/sim/simcity
go build -o "$work/floor" ./internal/sim/floor
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

measure() { # out-file, command... ; records "wall cpu rss_kib"
	local out=$1; shift
	"$TIME" -f "%e %U %S %M" -o "$work/t" "$@" >"$work/stdout" 2>"$work/stderr" || true
	read -r wall user sys rss < <(tail -n 1 "$work/t")
	echo "$wall $(echo "$user + $sys" | bc) $rss" >"$out"
}

printf '%-30s %10s %10s %10s %10s %10s %10s %8s %8s %8s %6s\n' "city" "floor s" "floor cpu" "floor MiB" "audit s" "audit cpu" "audit MiB" "wall ×" "cpu ×" "rss ×" "peak/srv"
for n in $SIZES; do
	for d in $DEAD; do
		every=0
		[ "$d" != 0 ] && every=$((100 / d))
		rm -f "$work/ready"
		"$work/simcity" -schools "$n" -dead-every "$every" -timeout 1s -dir "$work" 2>"$work/city.log" &
		city_pid=$!
		for _ in $(seq 600); do [ -e "$work/ready" ] && break; sleep 0.1; done
		[ -e "$work/ready" ] || { echo "bench.sh: the simulated city did not start:" >&2; cat "$work/city.log" >&2; exit 3; }

		measure "$work/floor.m" "$work/floor" -in "$work/floor.txt" -inflight 256 -timeout 1s -attempts 2
		floor_line=$(cat "$work/stdout")
		measure "$work/audit.m" "$work/kmsprobe" audit -c "$work/schools.yaml" --kms-mode tcp --format json -o "$work/report.json"
		peak=$(grep -o '"peak_per_server": *[0-9]*' "$work/report.json" | grep -o '[0-9]*$' || echo "?")
		exchanges=$(grep -o '"exchanges": *[0-9]*' "$work/report.json" | grep -o '[0-9]*$' || echo "?")

		read -r fw fc fr <"$work/floor.m"
		read -r aw ac ar <"$work/audit.m"
		printf '%-30s %10.2f %10.2f %10.1f %10.2f %10.2f %10.1f %8.2f %8.2f %8.2f %6s\n' \
			"$n schools, ${d}% dead" "$fw" "$fc" "$(echo "scale=1; $fr/1024" | bc)" "$aw" "$ac" "$(echo "scale=1; $ar/1024" | bc)" \
			"$(echo "scale=3; $aw/$fw" | bc)" "$(echo "scale=3; $ac/$fc" | bc)" "$(echo "scale=3; $ar/$fr" | bc)" "$peak"
		echo "    $floor_line; kmsprobe: $exchanges exchanges" >&2

		kill "$city_pid"; wait "$city_pid" 2>/dev/null || true; city_pid=""
	done
done
