#!/usr/bin/env bash
# Runs the weekly report's alert aggregation (floor.sql) with Debian's
# sqlite3 CLI on a steadywatch SQLite store, and prints it as CSV: the
# floor BenchmarkWeeklyReport compares report.Weekly with.
#
#   bench/report/sqlite3-floor.sh FILE [FROM TO]
#
# FROM and TO are the week's bounds as dates or times `date -d` reads
# (default 2026-02-16 and 2026-02-23 UTC, the generated stores' 2026-W08);
# alerts are read from a week before the previous week. Time it with
# `time bench/report/sqlite3-floor.sh FILE`.
set -euo pipefail

die() { printf 'sqlite3-floor: %s\n' "$*" >&2; exit 2; }

[[ $# -eq 1 || $# -eq 3 ]] || die "usage: $0 FILE [FROM TO]"
db=$1
[[ -f ${db} ]] || die "FILE: ${db}: no such file"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"
from_s=$(date -u -d "${2:-2026-02-16T00:00:00Z}" +%s) || die "FROM: not a date: ${2}"
to_s=$(date -u -d "${3:-2026-02-23T00:00:00Z}" +%s) || die "TO: not a date: ${3}"
((from_s < to_s)) || die "FROM ${2:-} is not before TO ${3:-}"
week=$((7 * 24 * 3600))
span_s=$((from_s - (to_s - from_s) - week))
ns=1000000000

# exec: the process the caller waits for (and measures) is sqlite3 itself.
exec sqlite3 -bail -readonly -csv -header "${db}" \
	".param set @from $((from_s * ns))" \
	".param set @to $((to_s * ns))" \
	".param set @span $((span_s * ns))" \
	".param set @noisy $((300 * ns))" \
	".param set @flap 3" \
	".read $(dirname "$0")/floor.sql"
