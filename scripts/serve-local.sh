#!/usr/bin/env bash
# Starts the project's local control plane (go run ./cmd/testbed up) and
# `steadywatch serve` against it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
state=$(mktemp -d)
go run ./cmd/testbed up >"$state/testbed.out" 2>"$state/testbed.log" &
testbed=$!
cleanup() {
	kill -TERM "$testbed" 2>/dev/null || true
	wait "$testbed" 2>/dev/null || true
	rm -rf "$state"
}
trap cleanup EXIT INT TERM
echo "starting the local control plane (logs: $state/testbed.log)..." >&2
for _ in $(seq 1 600); do
	if grep -q '^export KUBECONFIG=' "$state/testbed.out" 2>/dev/null; then break; fi
	if ! kill -0 "$testbed" 2>/dev/null; then cat "$state/testbed.log" >&2; exit 1; fi
	sleep 0.5
done
kubeconfig=$(sed -n 's/^export KUBECONFIG=//p' "$state/testbed.out")
[ -n "$kubeconfig" ] || { echo "the control plane did not come up" >&2; exit 1; }
echo "control plane up: export KUBECONFIG=$kubeconfig" >&2
echo "steadywatch: metrics on http://127.0.0.1:9477/metrics" >&2
./bin/steadywatch serve --kubeconfig "$kubeconfig" --data-dir "$state/data" "$@"
