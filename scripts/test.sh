#!/usr/bin/env bash
# The project's test command (README: "Run the tests"). It installs the
# real servers the integration tests use when they are missing, then runs
# formatting, vet, the race-enabled test suite and the checks of the
# deployment material. Everything it starts listens on 127.0.0.0/8 or
# inside network namespaces the tests create.
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
go test -race -count=1 -timeout 20m ./...
for check in scripts/check-units.sh scripts/prometheus/check.sh; do
  if [ -x "$check" ]; then
    echo "== $check"
    "$check"
  fi
done
echo "== demo smoke test"
go run ./cmd/kmsprobe demo > /tmp/kmsprobe-demo.txt
grep -q "This was a simulation" /tmp/kmsprobe-demo.txt
echo "all checks passed"
