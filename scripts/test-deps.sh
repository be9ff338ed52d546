#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages: the real
# servers the integration tests start (unbound, dnsmasq, kea, radvd,
# chrony, aiosmtpd, prometheus), chromium and a CJK font for the HTML
# screenshots, and the tools (ip, setcap, systemd-analyze, GNU time,
# openssl). Only installs what is missing, so a second run costs a few
# seconds. Needs root; without it, prints what to install and the tests
# that need a missing piece skip with a reason (or fail under
# KMSPROBE_REQUIRE_REAL=1, as in CI).
#
# It never stops, kills or restarts anything: on an admin's machine the
# system's resolver and time service may be the ones in production. The
# tests start their own daemons on their own ports and stop only those,
# by the PID they started. While it installs, a policy-rc.d keeps the
# packages' maintainer scripts from starting new services; a service
# that was already running is left alone.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have unbound          || need+=(unbound)
have dnsmasq          || need+=(dnsmasq-base)
have kea-dhcp4        || need+=(kea-dhcp4-server)
have radvd            || need+=(radvd)
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
have openssl          || need+=(openssl)
fc-list :lang=zh-tw 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)

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
# policy-rc.d exiting 101 tells invoke-rc.d (and so every maintainer
# script) "do not start services now". An admin's own policy-rc.d is put
# back afterwards, whatever happens.
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ] || [ -L "$policy" ]; then
  saved=$(mktemp /usr/sbin/.policy-rc.d.kmsprobe.XXXXXX)
  mv -f "$policy" "$saved"
fi
restore() {
  rm -f "$policy"
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; fi
}
trap restore EXIT
printf '#!/bin/sh\n# kmsprobe test-deps: no service starts during this install\nexit 101\n' > "$policy"
chmod 0755 "$policy"
# --no-install-recommends keeps chromium and prometheus lean.
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
restore
trap - EXIT
echo "test-deps: done"
