package demo

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// teamRules are the alert rules of the pipeline's team, which the example
// hypotheses expect to fire, with their kube-prometheus-style `for`
// durations scaled. Each carries the namespace, service and group of what
// it is about, so that steadywatch joins it to the incident it detects
// (MTTD).
func teamRules(scaled func(time.Duration) time.Duration, withLatency bool) string {
	rules := fmt.Sprintf(`groups:
  - name: pipeline
    rules:
      # A Postgres instance of the pair does not answer.
      - alert: PostgresReplicaDown
        expr: sum by (steadywatch_io_group) (pg_up) < 2
        labels: {severity: page, namespace: %[1]s, service: postgres}
        annotations: {summary: 'a Postgres instance of the {{ $labels.steadywatch_io_group }} pipeline is down'}
      # kube-prometheus' KubeNodeNotReady, for 15m scaled, on the node
      # condition series the pipeline simulator serves as kube-state-metrics
      # would (the demo runs none); its node label joins it to the node's
      # incident.
      - alert: KubeNodeNotReady
        expr: kube_node_status_condition{condition="Ready",status="true"} == 0
        for: %[2]s
        labels: {severity: warning}
        annotations: {summary: '{{ $labels.node }} has been unready for more than %[2]s'}
`, Namespace, promDuration(scaled(15*time.Minute)))
	if !withLatency {
		return rules
	}
	return rules + fmt.Sprintf(`      # The Flask API's 95th percentile above 120 ms (its steady state is
      # about 90 ms) for 1m, scaled.
      - alert: ScaleAppHighLatency
        expr: |
          histogram_quantile(0.95, sum by (le, steadywatch_io_group) (rate(flask_http_request_duration_seconds_bucket[%[2]s]))) > 0.12
        for: %[3]s
        labels: {severity: page, namespace: %[1]s, service: scale-app}
        annotations: {summary: 'the {{ $labels.steadywatch_io_group }} API answers slowly: p95 {{ $value }}s'}
`, Namespace, promDuration(scaled(2*time.Minute)), promDuration(scaled(time.Minute)))
}

// promDuration writes d as Prometheus does (1m30s, 1s500ms).
func promDuration(d time.Duration) string { return model.Duration(d).String() }
