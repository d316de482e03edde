#!/usr/bin/env bash
# Installs what steadywatch's build, lint and tests need on a bare Debian 12
# machine (CI runs it as root in a fresh clone). Idempotent: a second run
# changes nothing, and `apt-get update` runs only when a package is missing.
#
# Go itself is not installed here: it is expected at /usr/local/go (the Go
# tools pinned in tools/go.mod -- golangci-lint, gofumpt, govulncheck,
# benchstat -- are built on demand by `go tool -modfile=tools/go.mod NAME`).
set -euo pipefail

readonly GO_MIN_MAJOR=1
readonly GO_MIN_MINOR=26

export PATH="/usr/local/go/bin:${PATH}"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'install-tools: %s\n' "$*"; }
die() { printf 'install-tools: ERROR: %s\n' "$*" >&2; exit 1; }

# as_root runs a command as root, through sudo when not already root.
as_root() {
	if [[ ${EUID} -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# pkg_installed PKG succeeds when the Debian package PKG is installed.
pkg_installed() {
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

apt_updated=0

# apt_install PKG... installs those of the given Debian packages that are not
# installed yet; it runs `apt-get update` first, once per run, and only when
# something is missing.
apt_install() {
	local pkg missing=()
	for pkg in "$@"; do
		pkg_installed "${pkg}" || missing+=("${pkg}")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		log "already installed: $*"
		return 0
	fi
	if [[ ${apt_updated} -eq 0 ]]; then
		log "apt-get update"
		as_root apt-get update -qq
		apt_updated=1
	fi
	log "apt-get install ${missing[*]}"
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

readonly POLICY_RC_D=/usr/sbin/policy-rc.d
policy_rc_d_ours=0

# remove_policy_rc_d removes the policy-rc.d that without_service_starts put
# in place, and only that one.
remove_policy_rc_d() {
	if [[ ${policy_rc_d_ours} -eq 1 ]]; then
		as_root rm -f "${POLICY_RC_D}"
		policy_rc_d_ours=0
	fi
}

# without_service_starts CMD... runs CMD with invoke-rc.d told (through a
# policy-rc.d that exits 101, "action forbidden") not to start or restart
# services, so that package maintainer scripts do not start daemons: there is
# no init system to run them in a container, and tests start their own. An
# existing policy-rc.d (Docker images ship one) is left as it is.
without_service_starts() {
	if [[ ! -e ${POLICY_RC_D} ]]; then
		log "temporary ${POLICY_RC_D}: no service starts during the install"
		printf '#!/bin/sh\n# install-tools.sh: no service starts during the install\nexit 101\n' |
			as_root tee "${POLICY_RC_D}" >/dev/null
		as_root chmod 0755 "${POLICY_RC_D}"
		policy_rc_d_ours=1
		trap remove_policy_rc_d EXIT
	fi
	local rc=0
	"$@" || rc=$?
	remove_policy_rc_d
	return "${rc}"
}

# stop_package_daemons SERVICE... stops those of the packages' own daemons
# that run anyway (a policy-rc.d that allows starts, or an earlier install),
# through their init scripts, which stop only the daemon they started (by its
# pid file), never a test's server.
stop_package_daemons() {
	local svc
	for svc in "$@"; do
		[[ -x /etc/init.d/${svc} ]] || continue
		if as_root "/etc/init.d/${svc}" status >/dev/null 2>&1; then
			log "stopping the ${svc} daemon the package started"
			as_root "/etc/init.d/${svc}" stop >/dev/null || die "could not stop the ${svc} daemon (/etc/init.d/${svc} stop)"
		fi
	done
}

# check_go fails with a clear message unless go >= GO_MIN_MAJOR.GO_MIN_MINOR
# is on PATH.
check_go() {
	local want="go${GO_MIN_MAJOR}.${GO_MIN_MINOR}"
	if ! command -v go >/dev/null 2>&1; then
		die "go not found on PATH (looked in /usr/local/go/bin too); steadywatch needs ${want} or newer: install it to /usr/local/go"
	fi
	local v
	v="$(go env GOVERSION 2>/dev/null || true)"
	# go1.26.8, go1.27rc1, go1.26 ...; anything else (devel builds) is taken as new enough.
	if [[ ${v} =~ ^go([0-9]+)\.([0-9]+) ]]; then
		local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
		if ((major < GO_MIN_MAJOR || (major == GO_MIN_MAJOR && minor < GO_MIN_MINOR))); then
			die "$(command -v go) is ${v}; steadywatch needs ${want} or newer (install it to /usr/local/go)"
		fi
	fi
	log "using ${v:-go (unknown version)} at $(command -v go)"
}

main() {
	if ! command -v dpkg-query >/dev/null 2>&1; then
		die "this script targets Debian (dpkg/apt-get not found)"
	fi

	check_go

	# Build and test basics.
	apt_install git make ca-certificates

	# PostgreSQL server binaries (/usr/lib/postgresql/*/bin) for the store's
	# tests: pgtest runs its own throwaway cluster on a free port, so the
	# cluster the package may create and start on 5432 is not needed.
	apt_install postgresql

	# The sqlite3 CLI runs the weekly report benchmark's floor
	# (bench/report/sqlite3-floor.sh); GNU time measures its peak RSS.
	apt_install sqlite3 time

	# Prometheus and Alertmanager (/usr/bin/prometheus, promtool,
	# prometheus-alertmanager, amtool) for promtest, which runs its own
	# servers on free ports: the packages' daemons are kept from starting and
	# stopped if they run anyway, so nothing holds 9090/9093/9094.
	without_service_starts apt_install prometheus prometheus-alertmanager
	stop_package_daemons prometheus prometheus-alertmanager

	# Chromium for the HTML report's test (report/html_browser_test.go),
	# which drives it headless through chromedp.
	apt_install chromium

	log "done"
}

main "$@"
