#!/usr/bin/env bash
# bench.sh — kmsprobe's audit beside the floor, in one run, on the same
# simulated city: each school's own DNS server on its own 127.0.0.0/8
# address plus 3 city resolvers; SRV then the target's A; probe.timeout
# 1s × 2 attempts, 256 exchanges in flight.
#
# The city is served by one Knot DNS process (knotd, Debian package knot)
# inside a network namespace this script creates: every school zone and
# the city zone, on every address of the namespace's loopback. Dead school
# servers have addresses in 127.250.0.0/16, whose packets the namespace
# drops (nft), so a dead server is a real, silent timeout. Without root,
# knotd, nft or ip it falls back to internal/sim/simcity (one Go server per
# address in one process, itself slow and noisy: the floor measures the
# simulation as much as the network) and says so.
#
# The floor (internal/sim/floor) asks the same questions an audit needs
# with bare miekg/dns and nothing else: 8 exchanges per school (SRV and A
# at the school's server and at each resolver), 256 in flight, rcode only.
# kmsprobe asks each distinct question once, judges it all and writes the
# JSON report (--kms-mode tcp: the city has no KMS host, so the port is
# only tried).
#
#   scripts/bench.sh                      # 1,000 and 10,000 schools, 0% and 10% dead, 3 runs each
#   SIZES="1000" DEAD="0" RUNS=5 scripts/bench.sh
#   BENCH_CITY=sim scripts/bench.sh       # force the Go simulation
#   DELEGATION=off scripts/bench.sh       # the audit without dns.delegation: the floor's questions only
#   REFUSED="50000" scripts/bench.sh      # the memory row's size (default 50000; "" leaves it out)
#
# Last, a memory row: REFUSED schools that all rely on the 3 city
# resolvers, none of which listens (every question refused at once, in
# the namespace, whose ICMP rate limit is lifted so a refusal is not held
# back by the kernel's 1,000 errors a second); the default legs. It needs
# the namespace, so the Go simulation leaves it out.
#
# Prints, per city, the minimum and the median over RUNS of wall time, CPU
# (user+sys) and peak RSS of each, the ratios of the minima, and the peak
# number of questions kmsprobe had in flight to one server, plus the load
# average (the figures mean little on a busy machine).
# Packets never leave loopback: the knot city lives in its own namespace,
# the Go city binds only 127.0.0.0/8. Needs GNU time and bc.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
SIZES=${SIZES:-"1000 10000"}
REFUSED=${REFUSED-50000}
DEAD=${DEAD:-"0 10"}
RUNS=${RUNS:-3}
TIME=/usr/bin/time
"$TIME" -f x true 2>/dev/null || { echo "bench.sh: GNU time missing (apt-get install time)" >&2; exit 3; }
command -v bc >/dev/null || { echo "bench.sh: bc missing (apt-get install bc)" >&2; exit 3; }

city=${BENCH_CITY:-knot}
why=""
if [ "$city" = knot ]; then
	if [ "$(id -u)" != 0 ]; then why="not root (a network namespace needs it)"
	elif ! command -v knotd >/dev/null; then why="knotd missing (apt-get install knot)"
	elif ! command -v nft >/dev/null; then why="nft missing (apt-get install nftables)"
	elif ! command -v ip >/dev/null; then why="ip missing (apt-get install iproute2)"
	fi
	[ -n "$why" ] && city=sim
fi

work=$(mktemp -d)
ns=""
server_pid=""
stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}
cleanup() {
	stop_server
	if [ -n "$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
go build -o "$work/kmsprobe" ./cmd/kmsprobe
go build -o "$work/simcity" ./internal/sim/simcity
go build -o "$work/floor" ./internal/sim/floor
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

run=() # prefix that puts a command into the city's network
if [ "$city" = knot ]; then
	ns="kmsbench-$$"
	ip netns add "$ns"
	ip netns exec "$ns" ip link set lo up
	# Dropped on input, not output: a dropped output packet is an EPERM
	# the sender sees at once, not the silence of a dead server.
	ip netns exec "$ns" nft -f - <<-EOF
		table inet kmsbench {
			chain input {
				type filter hook input priority 0; policy accept;
				ip daddr 127.250.0.0/16 drop
			}
		}
	EOF
	run=(ip netns exec "$ns")
	echo "city: one knotd ($(knotd --version | head -n 1)) in network namespace $ns; dead servers silently dropped"
else
	echo "city: the Go simulation (internal/sim/simcity)${why:+, because $why}: it costs CPU beside the measured processes, so the floor is pessimistic"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs per figure: $RUNS (min / median); dns.delegation: ${DELEGATION:-on}"

# no_delegation <dir>: with DELEGATION=off the audit asks only the floor's
# questions (the knot city's schools.yaml has dns.delegation on).
no_delegation() {
	if [ "${DELEGATION:-on}" = off ] && ! grep -q 'delegation: false' "$1/schools.yaml"; then
		sed -i 's/^probe: {/probe: {delegation: false, /' "$1/schools.yaml"
	fi
}

# start_city <n> <dead-every> <dir>: the city's servers up and answering.
start_city() {
	local n=$1 every=$2 dir=$3 out
	mkdir -p "$dir"
	if [ "$city" = knot ]; then
		"$work/simcity" -knot -schools "$n" -dead-every "$every" -timeout 1s -dir "$dir" >/dev/null
		no_delegation "$dir"
		"${run[@]}" knotd -c "$dir/knot.conf" 2>"$dir/server.log" &
		server_pid=$!
		# Up when every live school's SRV answers NOERROR at its own
		# server (zones load in the background after knotd starts).
		local want
		want=$(wc -l <"$dir/ready.txt")
		for _ in $(seq 300); do
			out=$("${run[@]}" "$work/floor" -in "$dir/ready.txt" -timeout 300ms -attempts 1 2>&1 || true)
			case "$out" in *"(NOERROR=$want)"*) return 0 ;; esac
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.2
		done
		echo "bench.sh: knotd did not serve the city: $out" >&2
		cat "$dir/server.log" >&2
		exit 3
	fi
	rm -f "$dir/ready"
	"$work/simcity" -schools "$n" -dead-every "$every" -timeout 1s -dir "$dir" 2>"$dir/server.log" &
	server_pid=$!
	for _ in $(seq 600); do [ -e "$dir/ready" ] && { no_delegation "$dir"; return 0; }; sleep 0.1; done
	echo "bench.sh: the simulated city did not start:" >&2
	cat "$dir/server.log" >&2
	exit 3
}

measure() { # out-file, command... ; appends "wall cpu rss_kib"
	local out=$1; shift
	"${run[@]}" "$TIME" -f "%e %U %S %M" -o "$work/t" "$@" >"$work/stdout" 2>"$work/stderr" || true
	local wall user sys rss
	read -r wall user sys rss < <(tail -n 1 "$work/t")
	echo "$wall $(echo "$user + $sys" | bc) $rss" >>"$out"
}

# pick <file> <column> <min|med>
pick() {
	local vals
	vals=$(cut -d' ' -f"$2" "$1" | sort -g)
	if [ "$3" = min ]; then head -n 1 <<<"$vals"; else sed -n "$(( ($(wc -l <<<"$vals") + 1) / 2 ))p" <<<"$vals"; fi
}
mib() { echo "scale=1; $1/1024" | bc; }
ratio() { echo "scale=2; $1/$2" | bc; }

printf '%-22s | %-23s | %-23s | %-23s | %-23s | %-23s | %-23s | %6s %6s %6s | %s\n' "city" \
	"floor wall s min/med" "floor CPU s" "floor MiB" "audit wall s min/med" "audit CPU s" "audit MiB" "wall×" "CPU×" "RSS×" "peak/server"
for n in $SIZES; do
	for d in $DEAD; do
		every=0
		[ "$d" != 0 ] && every=$((100 / d))
		dir="$work/city-$n-$d"
		start_city "$n" "$every" "$dir"
		rm -f "$work/floor.m" "$work/audit.m"
		peak="?"
		for _ in $(seq "$RUNS"); do
			measure "$work/floor.m" "$work/floor" -in "$dir/floor.txt" -inflight 256 -timeout 1s -attempts 2
			floor_line=$(cat "$work/stdout")
			measure "$work/audit.m" "$work/kmsprobe" audit -c "$dir/schools.yaml" --kms-mode tcp --format json -o "$dir/report.json"
			peak=$(grep -o '"peak_per_server": *[0-9]*' "$dir/report.json" | grep -o '[0-9]*$' || echo "?")
			exchanges=$(grep -o '"exchanges": *[0-9]*' "$dir/report.json" | grep -o '[0-9]*$' || echo "?")
		done
		stop_server
		f=() a=()
		for c in 1 2 3; do
			for s in min med; do
				f+=("$(pick "$work/floor.m" $c $s)")
				a+=("$(pick "$work/audit.m" $c $s)")
			done
		done
		printf '%-22s | %10.2f / %10.2f | %10.2f / %10.2f | %10s / %10s | %10.2f / %10.2f | %10.2f / %10.2f | %10s / %10s | %6s %6s %6s | %s\n' \
			"$n schools, ${d}% dead" "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "$(mib "${f[4]}")" "$(mib "${f[5]}")" \
			"${a[0]}" "${a[1]}" "${a[2]}" "${a[3]}" "$(mib "${a[4]}")" "$(mib "${a[5]}")" \
			"$(ratio "${a[0]}" "${f[0]}")" "$(ratio "${a[2]}" "${f[2]}")" "$(ratio "${a[4]}" "${f[4]}")" "$peak"
		echo "    $floor_line; kmsprobe: $exchanges exchanges; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	done
done

# refused_city <n> <dir>: n schools on 3 resolvers nobody answers for.
refused_city() {
	mkdir -p "$2"
	{
		echo "version: 1"
		echo "kms: {host: kms.bench.example, port: 1688, addresses: [127.0.0.88]}"
		echo "resolvers: [127.3.0.121:53, 127.3.0.122:53, 127.3.0.123:53]"
		echo "probe: {timeout: 1s, attempts: 2, concurrency: 256}"
		echo "schools:"
		awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "  - {id: s%06d, suffix: s%06d.bench.example}\n", i, i }'
	} >"$2/schools.yaml"
}

if [ -n "$REFUSED" ] && [ "$city" = knot ]; then
	"${run[@]}" sysctl -q -w net.ipv4.icmp_ratelimit=0
	for n in $REFUSED; do
		dir="$work/refused-$n"
		refused_city "$n" "$dir"
		rm -f "$work/refused.m"
		for _ in $(seq "$RUNS"); do
			measure "$work/refused.m" "$work/kmsprobe" audit -c "$dir/schools.yaml" --kms-mode tcp --format json -o "$dir/report.json"
		done
		printf '%-22s | %-23s | %-23s | %-23s | %10.2f / %10.2f | %10.2f / %10.2f | %10s / %10s |\n' \
			"$n schools, refused" "" "" "" "$(pick "$work/refused.m" 1 min)" "$(pick "$work/refused.m" 1 med)" \
			"$(pick "$work/refused.m" 2 min)" "$(pick "$work/refused.m" 2 med)" \
			"$(mib "$(pick "$work/refused.m" 3 min)")" "$(mib "$(pick "$work/refused.m" 3 med)")"
		echo "    every question refused at once; $(grep -o '"exchanges": *[0-9]*' "$dir/report.json" | grep -o '[0-9]*$' || echo "?") exchanges; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	done
fi
