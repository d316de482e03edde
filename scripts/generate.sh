#!/usr/bin/env bash
# Writes everything steadywatch generates from deploy/steadywatch.yml and the
# example hypotheses, under ROOT (default: the repository):
#   ROOT/dashboards/generated   Grafana dashboards (JSON and sidecar ConfigMaps)
#   ROOT/rules/generated        Prometheus rule file and PrometheusRule
#   ROOT/deploy/generated       Alertmanager route, Kubernetes manifests
#   ROOT/deploy/helm/steadywatch/files
#                               the rule file and dashboards the Helm chart
#                               ships, copied from the two above
#   ROOT/README.md              README.md with its metrics table rewritten from
#                               package contract (go run ./contract/gen)
# make generate runs it on the repository; make check-generated on a temporary
# directory, and compares.
set -euo pipefail

root=${1:-.}
bin=$(mktemp -d)
trap 'rm -rf "${bin}"' EXIT
go build -o "${bin}/steadywatch" ./cmd/steadywatch

flags=(--config deploy/steadywatch.yml --hypotheses examples --namespace monitoring
	--alertmanager.credentials-file /etc/alertmanager/secrets/steadywatch/token)
for kind in dashboards rules; do
	rm -rf "${root}/${kind}/generated"
	"${bin}/steadywatch" generate "${kind}" "${flags[@]}" --out "${root}/${kind}/generated"
done
rm -rf "${root}/deploy/generated"
for kind in alertmanager kubernetes; do
	"${bin}/steadywatch" generate "${kind}" "${flags[@]}" --out "${root}/deploy/generated/${kind}"
done
chart_files="${root}/deploy/helm/steadywatch/files"
rm -rf "${chart_files}"
mkdir -p "${chart_files}/rules" "${chart_files}/dashboards"
cp "${root}/rules/generated/steadywatch.rules.yml" "${chart_files}/rules/"
cp "${root}"/dashboards/generated/*.json "${chart_files}/dashboards/"
go run ./contract/gen -in README.md -out "${root}/README.md"
