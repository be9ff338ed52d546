#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages: the real
# servers the integration tests start (unbound, dnsmasq, kea, chrony,
# aiosmtpd, prometheus), chromium for the HTML smoke test, and the tools
# (ip, setcap, systemd-analyze, GNU time). Only installs what is missing,
# so a second run costs a few seconds. Needs root; without it, prints what
# to install and the tests that need a missing piece skip with a reason.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have unbound          || need+=(unbound)
have dnsmasq          || need+=(dnsmasq-base)
have kea-dhcp4        || need+=(kea-dhcp4-server)
have chronyd          || need+=(chrony)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
have prometheus       || need+=(prometheus)
have promtool         || need+=(prometheus)
have chromium         || need+=(chromium)
have ip               || need+=(iproute2)
have setcap           || need+=(libcap2-bin)
have systemd-analyze  || need+=(systemd)
[ -x /usr/bin/time ]  || need+=(time)
have dig              || need+=(bind9-dnsutils)
have bc               || need+=(bc)

if [ ${#need[@]} -eq 0 ]; then
  echo "test-deps: everything is installed"
  exit 0
fi
# Deduplicate (prometheus provides both binaries).
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: not root; install these first: apt-get install -y ${need[*]}" >&2
  exit 0
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps chromium and prometheus lean; the services
# these packages would start are not used (tests start their own, on
# loopback or inside their own network namespaces).
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts some of these daemons on install; the tests start their own.
for svc in unbound dnsmasq kea-dhcp4-server chrony prometheus prometheus-node-exporter; do
  systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done
pkill -x unbound 2>/dev/null || true
pkill -x chronyd 2>/dev/null || true
pkill -x prometheus 2>/dev/null || true
echo "test-deps: done"
