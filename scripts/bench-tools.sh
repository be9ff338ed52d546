#!/usr/bin/env bash
# bench-tools.sh — kmsprobe against the tools admins use today, on the same
# simulated city: N schools, each with its own DNS server on 127.0.0.0/8,
# 3 shared resolvers, every 10th school server dead (internal/sim/simcity).
#
#   scripts/bench-tools.sh                  # 1000 schools
#   SCHOOLS=300 SAMPLE=50 scripts/bench-tools.sh
#
# Today an admin checks a school with `nslookup -type=srv` / `dig SRV` per
# DNS server, by hand or in a shell loop. The loop is timed two ways: one
# question after another (on SAMPLE schools, then scaled to all), and with
# 256 in parallel through xargs. dig only asks the SRV question; kmsprobe
# also resolves every target through the same server, compares the
# servers, checks the KMS port and judges it all. kmsprobe runs with
# --kms-mode tcp: the city has no KMS host, so it only tries the port.
# Everything stays on loopback (DESIGN.md §7).
set -euo pipefail
cd "$(dirname "$0")/.."
SCHOOLS=${SCHOOLS:-1000}
SAMPLE=${SAMPLE:-100}
TIME=/usr/bin/time
command -v dig >/dev/null || { echo "bench-tools.sh: dig missing (apt-get install bind9-dnsutils)" >&2; exit 3; }
"$TIME" -f x true 2>/dev/null || { echo "bench-tools.sh: GNU time missing (apt-get install time)" >&2; exit 3; }

work=$(mktemp -d)
trap 'kill $city_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/kmsprobe" ./cmd/kmsprobe
go build -o "$work/simcity" ./internal/sim/simcity
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$work/simcity" -schools "$SCHOOLS" -dead-every 10 -timeout 1s -dir "$work" &
city_pid=$!
for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.1; done
[ -e "$work/ready" ] || { echo "bench-tools.sh: the simulated city did not start" >&2; exit 3; }
questions=$(wc -l < "$work/questions.txt")

measure() { # label, command... -> "label wall cpu maxrss"
  local label=$1; shift
  "$TIME" -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$work/t")
  printf '%-46s %8.2f s %8.2f s %8.1f MiB\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)"
}

echo "city: $SCHOOLS schools, $questions SRV questions (own server + 3 resolvers each), timeout 1 s x 2 tries"
printf '%-46s %10s %10s %12s\n' "tool" "wall" "CPU" "peak RSS"
measure "kmsprobe audit (all checks, all schools)" "$work/kmsprobe" audit -c "$work/schools.yaml" --kms-mode tcp --format json -o "$work/report.json"
head -n $((SAMPLE * 4)) "$work/questions.txt" > "$work/sample.txt"
cat > "$work/seq.sh" <<'SH'
while read -r host port name; do dig @"$host" -p "$port" SRV "$name" +time=1 +tries=2 +short >/dev/null || true; done < "$1"
SH
measure "dig, one after another ($SAMPLE schools)" bash "$work/seq.sh" "$work/sample.txt"
seq_wall=$(tail -n 1 "$work/t" | cut -d' ' -f1)
printf '%-46s %8.0f s   (scaled from %d schools)\n' "dig, one after another (all $SCHOOLS, est.)" "$(echo "$seq_wall * $SCHOOLS / $SAMPLE" | bc -l)" "$SAMPLE"
measure "dig, 256 in parallel via xargs (all)" sh -c "xargs -P 256 -L 1 sh -c 'dig @\"\$0\" -p \"\$1\" SRV \"\$2\" +time=1 +tries=2 +short >/dev/null || true' < '$work/questions.txt'"
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print(f"kmsprobe report: {s['schools']} schools, {r['probe'].get('exchanges', '?')} distinct DNS exchanges, "
      f"{sum(len(x['findings']) for x in r['schools'])} findings")
PY
