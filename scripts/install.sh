#!/usr/bin/env bash
# Installs kmsprobe for the weekly audit: builds the binary with go,
# installs it with the capabilities the DHCP leg needs, creates the
# kmsprobe user, /etc/kmsprobe and /var/lib/kmsprobe/reports, copies
# schools.yaml when none is there yet, and installs the systemd units (or,
# without systemd, the cron file). Safe to run again: it never overwrites
# an admin's schools.yaml and repeats nothing that is already done.
#
# Usage: scripts/install.sh [--dry-run] [--no-build] [--cron]
#   DESTDIR=/tmp/stage  stage into a folder (packaging); no user, no setcap,
#                       no systemctl
#   PREFIX=/usr/local   where bin/ and share/ go (default /usr/local)
#   --dry-run           print what would be done, change nothing
#   --no-build          install an existing ./kmsprobe instead of building
#   --cron              install /etc/cron.d/kmsprobe instead of the timer
set -euo pipefail

cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
DRY=0 BUILD=1 CRON=0
for a in "$@"; do
  case "$a" in
    --dry-run) DRY=1 ;;
    --no-build) BUILD=0 ;;
    --cron) CRON=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done

BIN="$DESTDIR$PREFIX/bin/kmsprobe"
ETC="$DESTDIR/etc/kmsprobe"
VAR="$DESTDIR/var/lib/kmsprobe"
UNITS="$DESTDIR/etc/systemd/system"
DOC="$DESTDIR$PREFIX/share/doc/kmsprobe"

run() {
  echo "+ $*"
  if [ "$DRY" -eq 0 ]; then "$@"; fi
}

if [ "$DRY" -eq 0 ] && [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or with DESTDIR=... to stage, or --dry-run to see the steps)" >&2
  exit 1
fi

# 1. Build.
if [ "$BUILD" -eq 1 ]; then
  version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
  run env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o kmsprobe ./cmd/kmsprobe
fi

# 2. The binary. install(1) replaces it atomically enough for a oneshot
# service, and always, so an upgrade takes effect.
run install -d -m 0755 "$(dirname "$BIN")"
run install -m 0755 kmsprobe "$BIN"
# The DHCP leg sends a DHCPDISCOVER from port 68 over a raw socket. File
# capabilities let it do so without root (cron); the systemd unit grants
# the same through AmbientCapabilities. A staged install cannot keep them
# (packagers set them in postinst).
if [ -z "$DESTDIR" ]; then
  if command -v setcap >/dev/null 2>&1; then
    run setcap cap_net_raw,cap_net_bind_service=+ep "$BIN"
  else
    echo "install.sh: setcap not found (Debian: apt-get install libcap2-bin); the DHCP leg will need root" >&2
  fi
fi

# 3. The user the audit runs as.
if [ -z "$DESTDIR" ] && ! getent passwd kmsprobe >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/kmsprobe --no-create-home --shell /usr/sbin/nologin --comment "kmsprobe KMS audit" kmsprobe
fi
owner=()
if [ -z "$DESTDIR" ]; then owner=(-o root -g kmsprobe); fi
vowner=()
if [ -z "$DESTDIR" ]; then vowner=(-o kmsprobe -g kmsprobe); fi

# 4. Folders: configuration readable by the kmsprobe group (it may hold
# the SMTP password file), reports writable by the kmsprobe user only.
# kmsprobe saves reports 0640 in a 0750 folder (they map the city's
# network): add admins who read reports to the kmsprobe group.
run install -d -m 0750 "${owner[@]}" "$ETC"
run install -d -m 0750 "${vowner[@]}" "$VAR" "$VAR/reports"
if [ -e "$ETC/schools.yaml" ]; then
  echo "= $ETC/schools.yaml exists; left as it is"
else
  run install -m 0640 "${owner[@]}" schools.yaml "$ETC/schools.yaml"
fi
run install -d -m 0755 "$DOC"
for f in schools.yaml scripts/kmsprobe.cron; do
  run install -m 0644 "$f" "$DOC/$(basename "$f")"
done

# 5. Scheduling.
if [ "$CRON" -eq 1 ]; then
  run install -d -m 0755 "$DESTDIR/etc/cron.d"
  run install -m 0644 scripts/kmsprobe.cron "$DESTDIR/etc/cron.d/kmsprobe"
else
  run install -d -m 0755 "$UNITS"
  run install -m 0644 scripts/systemd/kmsprobe.service scripts/systemd/kmsprobe.timer "$UNITS/"
  if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
    run systemctl enable --now kmsprobe.timer
  fi
fi

cat <<MSG
kmsprobe is installed as $BIN.
Next: edit /etc/kmsprobe/schools.yaml (schools and the mail: section), then
  kmsprobe validate -c /etc/kmsprobe/schools.yaml
  sudo -u kmsprobe kmsprobe audit -c /etc/kmsprobe/schools.yaml --save=/var/lib/kmsprobe/reports --mail
Put the SMTP password in a file only kmsprobe can read:
  install -m 0600 -o kmsprobe -g kmsprobe /dev/null /etc/kmsprobe/smtp.pass  # then write the password into it,
  and set mail.password_file: /etc/kmsprobe/smtp.pass
MSG
