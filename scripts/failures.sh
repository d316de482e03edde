#!/usr/bin/env bash
# Prints, last, what a failed `go test -v` run said of its failures: the
# failing tests, each assertion's message, data races and panics. CI shows
# the end of the output; the filtered progress above it leaves these out.
set -uo pipefail
out=${1:?usage: failures.sh go-test-output-file}
echo
echo "=== failures in $out"
grep -E -- '--- FAIL' "$out" | sed 's/^ *//' | sort -u
grep -E -A3 '^\s+Error:|^\s+Error Trace:' "$out" | grep -vE '^\s+Test:' | cut -c1-600 | head -80
grep -E -A12 '^WARNING: DATA RACE' "$out" | head -40
grep -E -A20 '^panic:' "$out" | head -40
