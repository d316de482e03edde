#!/usr/bin/env bash
# The testbed's first build on a bare machine (issue 18): from an empty Go
# module cache, build cache and testbed cache, each a fresh directory, so
# nothing this machine built before is reused. It prints the build's own
# progress lines, /usr/bin/time -v's figures and the load average sampled
# every 10 s beside it (load.log), which says whether the machine was idle.
#
#   bash bench/coldbuild/run.sh            # keeps its directory, printed at the end
#   COLD_DIR=/tmp/x bash bench/coldbuild/run.sh
#
# It needs no network cache of its own: the modules come from GOPROXY as a
# new user's would. Delete the directory afterwards (≈ 3 GiB).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${COLD_DIR:-$(mktemp -d /tmp/coldbuild.XXXXXX)}
mkdir -p "$work"
if [ -n "$(ls -A "$work")" ]; then
	echo "coldbuild: $work is not empty; a cold build needs an empty directory" >&2
	exit 2
fi
export GOMODCACHE=$work/mod GOCACHE=$work/gocache STEADYWATCH_CACHE_DIR=$work/testbed
export GOFLAGS=-modcacherw
cd "$root"
(while sleep 10; do echo "$(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg)"; done) >"$work/load.log" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
echo "coldbuild: $(date -u +%FT%TZ) at $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), into $work"
/usr/bin/time -v make --no-print-directory testbed-build 2>&1 | tee "$work/build.log"
echo "coldbuild: done $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg); load samples in $work/load.log"
