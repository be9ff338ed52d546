#!/usr/bin/env bash
# The project's test command (README: "Run the tests"). It installs the
# real servers the integration tests use when they are missing, then runs
# formatting, vet, the race-enabled test suite and the checks of the
# deployment material. Everything it starts listens on 127.0.0.0/8 or
# inside network namespaces the tests create, and it stops nothing it did
# not start. .ci/run sets KMSPROBE_REQUIRE_REAL=1 so that a missing real
# server fails the run; run this script without it on a machine that
# lacks some of them (those tests then skip and say what to install).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

scripts/test-deps.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 12m ./...
for check in scripts/check-units.sh scripts/prometheus/check.sh; do
  if [ -x "$check" ]; then
    echo "== $check"
    "$check"
  fi
done
echo "== demo smoke test"
demo_out=$(mktemp)
trap 'rm -f "$demo_out"' EXIT
go run ./cmd/kmsprobe demo > "$demo_out"
grep -q "This was a simulation" "$demo_out"
echo "all checks passed"
