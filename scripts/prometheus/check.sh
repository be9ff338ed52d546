#!/usr/bin/env bash
# Checks the Prometheus material: config and rules parse, and the rules
# behave as rules_test.yml says. CI runs it; so can anyone with
# Debian's prometheus package (which ships promtool).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v promtool >/dev/null; then
	echo "check.sh: promtool not found: install it with  apt-get install -y prometheus  (Debian ships it in that package)" >&2
	exit 1
fi
promtool --version 2>&1 | head -1
promtool check config prometheus.yml
promtool check rules rules.yml
promtool test rules rules_test.yml
