package hypothesis

// invalidFiles maps every testdata/invalid-*.yaml file to its exact error.
var invalidFiles = []struct {
	name string
	file string
	want string
}{
	{
		"a byte that is not UTF-8 is rejected at its line and column",
		"invalid-encoding-utf8.yaml",
		`testdata/invalid-encoding-utf8.yaml:8: column 12: invalid UTF-8 (byte 0xff): the file must be UTF-8`,
	},
	{
		"a NUL byte is rejected at its line and column",
		"invalid-nul-byte.yaml",
		`testdata/invalid-nul-byte.yaml:8: column 20: control character U+0000 is not allowed in YAML`,
	},
	{
		"an alert expected without a time is rejected at its entry",
		"invalid-alert-within.yaml",
		`testdata/invalid-alert-within.yaml:20: spec.recovery.alerts[0].within: must be greater than 0, got 0s`,
	},
	{
		"an unsupported apiVersion is rejected",
		"invalid-api-version.yaml",
		`testdata/invalid-api-version.yaml:1: apiVersion: "steadywatch.io/v1" is not supported, want steadywatch.io/v1alpha1`,
	},
	{
		"a duration with an unknown unit is rejected",
		"invalid-bad-duration.yaml",
		`testdata/invalid-bad-duration.yaml:11: spec.window.events.after: unknown unit " minutes" in duration "15 minutes"`,
	},
	{
		"a confidence written as a percentage is rejected",
		"invalid-confidence.yaml",
		`testdata/invalid-confidence.yaml:20: spec.judgement.confidence: must be between 0.5 and 1 (exclusive), got 98`,
	},
	{
		"a direction without an allowed effect is rejected",
		"invalid-direction-without-effect.yaml",
		`testdata/invalid-direction-without-effect.yaml:13: spec.metrics[0].allowedEffect: missing: a direction needs the effect it allows`,
	},
	{
		"an unknown direction is rejected with the choices",
		"invalid-direction.yaml",
		`testdata/invalid-direction.yaml:15: spec.metrics[0].direction: "up" is not one of higherIsWorse, lowerIsWorse, either`,
	},
	{
		"an alert expected twice is rejected at its second entry",
		"invalid-duplicate-alert.yaml",
		`testdata/invalid-duplicate-alert.yaml:21: spec.recovery.alerts[1].name: duplicate alert PostgresReplicaDown (also spec.recovery.alerts[0])`,
	},
	{
		"an alert expected twice with the same matchers, written differently, is rejected",
		"invalid-duplicate-alert-matchers.yaml",
		`testdata/invalid-duplicate-alert-matchers.yaml:22: spec.recovery.alerts[2].name: duplicate alert PostgresReplicaDown{service="a"} (also spec.recovery.alerts[0])`,
	},
	{
		"an alert matcher that does not parse is rejected at its line",
		"invalid-alert-matcher.yaml",
		`testdata/invalid-alert-matcher.yaml:21: spec.recovery.alerts[0].matchers[1]: severity=~"page|(" is not an Alertmanager matcher: error parsing regexp: missing closing ): ` + "`^(?:page|()$`",
	},
	{
		"an alertname matcher is rejected: the name says it",
		"invalid-alert-matcher-alertname.yaml",
		`testdata/invalid-alert-matcher-alertname.yaml:20: spec.recovery.alerts[0].matchers[0]: alertname is set by name, not by a matcher`,
	},
	{
		"an event kind listed twice is rejected",
		"invalid-duplicate-event-kind.yaml",
		`testdata/invalid-duplicate-event-kind.yaml:11: spec.window.events.kinds[2]: duplicate kind "pod_deleted" (also spec.window.events.kinds[0])`,
	},
	{
		"a key given twice is rejected",
		"invalid-duplicate-key.yaml",
		`testdata/invalid-duplicate-key.yaml:17: spec.metrics[0]: mapping key "direction" already defined at line 15`,
	},
	{
		"two metrics of one name are rejected at the second",
		"invalid-duplicate-metric.yaml",
		`testdata/invalid-duplicate-metric.yaml:17: spec.metrics[1].name: duplicate metric "api-p99-latency" (also spec.metrics[0])`,
	},
	{
		"two hypotheses of one name in a file name both places",
		"invalid-duplicate-name-in-file.yaml",
		`testdata/invalid-duplicate-name-in-file.yaml:23: metadata.name: duplicate hypothesis "kill-postgres-replica" (also testdata/invalid-duplicate-name-in-file.yaml:4)`,
	},
	{
		"a bare number above 1 as allowed effect is rejected as ambiguous",
		"invalid-effect-bare-number.yaml",
		`testdata/invalid-effect-bare-number.yaml:16: spec.metrics[0].allowedEffect: 20 would be 2000%: write 20% for 20 percent, or a fraction of at most 1`,
	},
	{
		"an allowed effect that is not a number is rejected",
		"invalid-effect-type.yaml",
		"testdata/invalid-effect-type.yaml:16: spec.metrics[0].allowedEffect: want a percentage (\"20%\") or a fraction (0.2), got !!str `a little`",
	},
	{
		"an allowed effect without a direction is rejected",
		"invalid-effect-without-direction.yaml",
		`testdata/invalid-effect-without-direction.yaml:13: spec.metrics[0].direction: missing: want higherIsWorse, lowerIsWorse or either with allowedEffect`,
	},
	{
		"a zero allowed effect is rejected",
		"invalid-effect-zero.yaml",
		`testdata/invalid-effect-zero.yaml:16: spec.metrics[0].allowedEffect: must be greater than 0%, got 0%`,
	},
	{
		"an unknown event kind is rejected with the kinds",
		"invalid-event-kind.yaml",
		`testdata/invalid-event-kind.yaml:11: spec.window.events.kinds[1]: unknown event kind "pod_killed", want one of pod_deleted, node_not_ready, hpa_scaled_up, hpa_scaled_down, workload_degraded, container_restarted`,
	},
	{
		"a fixed window ending before it starts is rejected",
		"invalid-fixed-end-before-start.yaml",
		`testdata/invalid-fixed-end-before-start.yaml:13: spec.window.fixed.end: must be after start (2026-11-21T10:30:00Z), got 2026-11-21T10:00:00Z`,
	},
	{
		"a fixed window without an end is rejected",
		"invalid-fixed-missing-end.yaml",
		`testdata/invalid-fixed-missing-end.yaml:11: spec.window.fixed.end: missing`,
	},
	{
		"a time without a zone offset is rejected",
		"invalid-fixed-time-zone.yaml",
		`testdata/invalid-fixed-time-zone.yaml:12: spec.window.fixed.start: "2026-11-21T10:00:00" is not an RFC 3339 time such as 2026-11-21T10:00:00Z`,
	},
	{
		"a group selector that does not parse is rejected with the position",
		"invalid-group-matcher.yaml",
		`testdata/invalid-group-matcher.yaml:9: spec.groups.experimental: parse error at char 22: unexpected identifier "experimental" in label matching, expected string`,
	},
	{
		"a group selector matching the metric name is rejected",
		"invalid-group-metric-name.yaml",
		`testdata/invalid-group-metric-name.yaml:8: spec.groups.control: must not match the metric name (__name__="up"): the group is added to every selector of a query`,
	},
	{
		"a group selector holding a template is rejected",
		"invalid-group-template.yaml",
		`testdata/invalid-group-template.yaml:9: spec.groups.experimental: must be label matchers, not a template`,
	},
	{
		"an HPA expectation without its return time is rejected",
		"invalid-hpa-baseline-within.yaml",
		`testdata/invalid-hpa-baseline-within.yaml:18: spec.recovery.hpa.baselineWithin: must be greater than 0, got 0s`,
	},
	{
		"a fractional replica count is rejected rather than truncated",
		"invalid-hpa-fractional-replicas.yaml",
		"testdata/invalid-hpa-fractional-replicas.yaml:18: spec.recovery.hpa.minReplicas: want an integer, got !!float `4.5`",
	},
	{
		"zero replicas are rejected",
		"invalid-hpa-min-replicas.yaml",
		`testdata/invalid-hpa-min-replicas.yaml:18: spec.recovery.hpa.minReplicas: must be between 1 and 2147483647, got 0`,
	},
	{
		"an HPA name that is not a Kubernetes name is rejected",
		"invalid-hpa-name.yaml",
		`testdata/invalid-hpa-name.yaml:18: spec.recovery.hpa.name: "Scale_App" is not a valid HorizontalPodAutoscaler name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
	},
	{
		"a kind other than Hypothesis is rejected",
		"invalid-kind.yaml",
		`testdata/invalid-kind.yaml:2: kind: "Experiment" is not supported, want Hypothesis`,
	},
	{
		"a pass score below the default marginal score points at the pass score",
		"invalid-marginal-above-pass.yaml",
		`testdata/invalid-marginal-above-pass.yaml:20: spec.judgement.marginalScore: must not be greater than passScore (50), got 75`,
	},
	{
		"a mapping that merges itself is rejected",
		"invalid-merge-itself.yaml",
		`testdata/invalid-merge-itself.yaml:18: spec.recovery: anchor "r" value contains itself`,
	},
	{
		"a metric name with a space is rejected",
		"invalid-metric-name.yaml",
		`testdata/invalid-metric-name.yaml:13: spec.metrics[0].name: "api p99" is not a valid name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	},
	{
		"a metric with neither effect nor SLO is rejected",
		"invalid-metric-nothing-to-judge.yaml",
		`testdata/invalid-metric-nothing-to-judge.yaml:13: spec.metrics[0]: nothing to judge: want direction and allowedEffect, an slo, or both`,
	},
	{
		"a zero fraction of judged metrics is rejected",
		"invalid-min-judged.yaml",
		`testdata/invalid-min-judged.yaml:20: spec.judgement.minJudged: must be a fraction greater than 0 and at most 1, got 0`,
	},
	{
		"a hypothesis without a name is rejected",
		"invalid-missing-name.yaml",
		`testdata/invalid-missing-name.yaml:4: metadata.name: missing`,
	},
	{
		"a hypothesis without a service is rejected at its spec",
		"invalid-missing-service.yaml",
		`testdata/invalid-missing-service.yaml:5: spec.service: missing: name the service whose chaos the hypothesis is about`,
	},
	{
		"a hypothesis name that is not a DNS-1123 label is rejected",
		"invalid-name.yaml",
		`testdata/invalid-name.yaml:4: metadata.name: "Kill_Postgres_Replica" is not a valid name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	},
	{
		"a namespace that is not a DNS-1123 label is rejected",
		"invalid-namespace.yaml",
		`testdata/invalid-namespace.yaml:7: spec.namespace: "Data-Pipeline" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	},
	{
		"a negative duration is rejected",
		"invalid-negative-duration.yaml",
		`testdata/invalid-negative-duration.yaml:11: spec.window.events.before: not a valid duration string: "-1m"`,
	},
	{
		"a query without the group placeholder is rejected",
		"invalid-no-placeholder.yaml",
		`testdata/invalid-no-placeholder.yaml:14: spec.metrics[0].query: has no {{ .Group }} placeholder, so it would select the same series for both groups`,
	},
	{
		"a metric without a query or a ratio is rejected",
		"invalid-no-query.yaml",
		`testdata/invalid-no-query.yaml:13: spec.metrics[0]: want query or ratio`,
	},
	{
		"a hypothesis without a window is rejected",
		"invalid-no-window.yaml",
		`testdata/invalid-no-window.yaml:5: spec.window: missing: want fixed (start and end), events or experiment`,
	},
	{
		"a hypothesis with neither metrics nor recovery expectations is rejected",
		"invalid-nothing-to-judge.yaml",
		`testdata/invalid-nothing-to-judge.yaml:5: spec: nothing to judge: want at least one of metrics and recovery expectations`,
	},
	{
		"a PromQL error in a folded block scalar points at its line",
		"invalid-promql-folded.yaml",
		`testdata/invalid-promql-folded.yaml:18: spec.metrics[0].query: parse error at char 9: unexpected end of input`,
	},
	{
		"an unknown PromQL function is rejected",
		"invalid-promql-function.yaml",
		`testdata/invalid-promql-function.yaml:14: spec.metrics[0].query: parse error at char 1: unknown function with name "histogram_quantil"`,
	},
	{
		"a placeholder without its comma is a PromQL error at the placeholder",
		"invalid-promql-matcher.yaml",
		`testdata/invalid-promql-matcher.yaml:14: spec.metrics[0].query: parse error at char 97: unexpected identifier "steadywatch_io_group" in label matching, expected "," or "}"`,
	},
	{
		"a PromQL error in a literal block scalar points at its line",
		"invalid-promql.yaml",
		`testdata/invalid-promql.yaml:16: spec.metrics[0].query: parse error at char 85: unclosed left parenthesis`,
	},
	{
		"a metric with both a query and a ratio is rejected",
		"invalid-query-and-ratio.yaml",
		`testdata/invalid-query-and-ratio.yaml:15: spec.metrics[0].ratio: query and ratio are exclusive: set one`,
	},
	{
		"a range vector query is rejected",
		"invalid-range-vector.yaml",
		`testdata/invalid-range-vector.yaml:14: spec.metrics[0].query: is a range vector, want an instant vector or a scalar`,
	},
	{
		"a zero minimum traffic is rejected",
		"invalid-ratio-min-total.yaml",
		`testdata/invalid-ratio-min-total.yaml:21: spec.metrics[1].ratio.minTotal: must be a number greater than 0, got 0`,
	},
	{
		"a ratio without a total is rejected",
		"invalid-ratio-missing-total.yaml",
		`testdata/invalid-ratio-missing-total.yaml:18: spec.metrics[1].ratio.total: missing`,
	},
	{
		"a PromQL error in a ratio's errors query is rejected",
		"invalid-ratio-promql.yaml",
		`testdata/invalid-ratio-promql.yaml:19: spec.metrics[1].ratio.errors: parse error at char 43: unexpected character inside braces: '5'`,
	},
	{
		"an SLO bound above 1 on a ratio is rejected",
		"invalid-ratio-slo.yaml",
		`testdata/invalid-ratio-slo.yaml:23: spec.metrics[1].slo.max: a ratio is between 0 and 1 (1% is 0.01), got 5`,
	},
	{
		"groups that select the same series, however spelt, are rejected",
		"invalid-same-groups.yaml",
		`testdata/invalid-same-groups.yaml:9: spec.groups.experimental: must select other series than spec.groups.control (both are {steadywatch_io_group="control"})`,
	},
	{
		"a pass score above 100 is rejected",
		"invalid-score.yaml",
		`testdata/invalid-score.yaml:20: spec.judgement.passScore: must be between 0 and 100, got 150`,
	},
	{
		"an error in the second document points into it",
		"invalid-second-document.yaml",
		`testdata/invalid-second-document.yaml:37: spec.recovery.mttr: not a valid duration string: "soon"`,
	},
	{
		"an SLO without bounds is rejected",
		"invalid-slo-empty.yaml",
		`testdata/invalid-slo-empty.yaml:17: spec.metrics[0].slo: want min, max or both`,
	},
	{
		"an SLO whose min exceeds its max is rejected",
		"invalid-slo-min-above-max.yaml",
		`testdata/invalid-slo-min-above-max.yaml:19: spec.metrics[0].slo.max: must be greater than min (2), got 0.5`,
	},
	{
		"a YAML syntax error is reported without the yaml prefix",
		"invalid-syntax.yaml",
		`testdata/invalid-syntax.yaml:10: did not find expected ',' or ']'`,
	},
	{
		"a template action other than .Group is rejected",
		"invalid-template-action.yaml",
		`testdata/invalid-template-action.yaml:14: spec.metrics[0].query: parse error at char 111: unsupported template action {{ .Service }}: only {{ .Group }} is allowed`,
	},
	{
		"a trimming template action is rejected",
		"invalid-template-trim.yaml",
		`testdata/invalid-template-trim.yaml:14: spec.metrics[0].query: parse error at char 88: unsupported template action {{- .Group -}}: only {{ .Group }} is allowed`,
	},
	{
		"a list as the whole document is rejected",
		"invalid-top-level-list.yaml",
		`testdata/invalid-top-level-list.yaml:1: want a mapping, got !!seq`,
	},
	{
		"a window both fixed and from events is rejected",
		"invalid-two-windows.yaml",
		`testdata/invalid-two-windows.yaml:12: spec.window.events: fixed and events are exclusive: set one`,
	},
	{
		"an unclosed template action is rejected",
		"invalid-unclosed-action.yaml",
		`testdata/invalid-unclosed-action.yaml:14: spec.metrics[0].query: parse error at char 88: unclosed template action: "{{ .Group }[1m])))" has no }}`,
	},
	{
		"an unknown field without a near name lists the fields",
		"invalid-unknown-field-list.yaml",
		`testdata/invalid-unknown-field-list.yaml:17: spec: unknown field "rollback", want one of description, service, namespace, groups, window, baseline, step, metrics, recovery, judgement`,
	},
	{
		"an unknown top-level field suggests the field it misspells",
		"invalid-unknown-field.yaml",
		`testdata/invalid-unknown-field.yaml:2: unknown field "kidn" (did you mean "kind"?)`,
	},
	{
		"an unknown metric field suggests the field it misspells",
		"invalid-unknown-nested-field.yaml",
		`testdata/invalid-unknown-nested-field.yaml:14: spec.metrics[0]: unknown field "qurey" (did you mean "query"?)`,
	},
	{
		"a negative weight is rejected",
		"invalid-weight.yaml",
		`testdata/invalid-weight.yaml:17: spec.metrics[0].weight: must be a number greater than 0, got -1`,
	},
	{
		"a string where a boolean is expected is rejected",
		"invalid-wrong-type-bool.yaml",
		"testdata/invalid-wrong-type-bool.yaml:21: spec.metrics[1].critical: want true or false, got !!str `very`",
	},
	{
		"a string where a list is expected is rejected",
		"invalid-wrong-type-list.yaml",
		"testdata/invalid-wrong-type-list.yaml:11: spec.window.events.kinds: want a list, got !!str `pod_del...`",
	},
	{
		"a string where a section is expected is rejected",
		"invalid-wrong-type-section.yaml",
		"testdata/invalid-wrong-type-section.yaml:10: spec.window: want a mapping, got !!str `last hour`",
	},
	{
		"a zero baseline is rejected",
		"invalid-zero-baseline.yaml",
		`testdata/invalid-zero-baseline.yaml:12: spec.baseline.duration: must be greater than 0, got 0s`,
	},
	{
		"a zero lookback is rejected",
		"invalid-zero-lookback.yaml",
		`testdata/invalid-zero-lookback.yaml:11: spec.window.events.lookback: must be greater than 0, got 0s`,
	},
	{
		"a zero MTTR is rejected",
		"invalid-zero-mttr.yaml",
		`testdata/invalid-zero-mttr.yaml:18: spec.recovery.mttr: must be greater than 0, got 0s`,
	},
	{
		"a zero step is rejected",
		"invalid-zero-step.yaml",
		`testdata/invalid-zero-step.yaml:12: spec.step: must be greater than 0, got 0s`,
	},
	{
		"a step below a second is refused: it repeats samples hundreds of times",
		"invalid-step-below-floor.yaml",
		`testdata/invalid-step-below-floor.yaml:12: spec.step: must be at least 1s, got 1ms: a step shorter than the scrape interval only repeats the same samples`,
	},
	{
		"a step that makes more points per query than Prometheus allows is refused, with the least that fits",
		"invalid-step-too-many-points.yaml",
		`testdata/invalid-step-too-many-points.yaml:12: spec.step: 1s makes 11701 points per query over the longest window (before + lookback + after) of 3h15m, more than the 11000 Prometheus allows: use a step of at least 2s`,
	},
	{
		"an unknown aggregate is rejected with the choices",
		"invalid-aggregate.yaml",
		`testdata/invalid-aggregate.yaml:18: spec.metrics[0].aggregate: "median" is not one of sum, avg, max, min`,
	},
	{
		"a ratio's series can only be summed",
		"invalid-ratio-aggregate.yaml",
		`testdata/invalid-ratio-aggregate.yaml:20: spec.metrics[0].aggregate: "max" cannot combine a ratio's counts: they add up, want sum`,
	},
	{
		"an experiment window beside an events window is rejected: they are exclusive",
		"invalid-experiment-and-events.yaml",
		`testdata/invalid-experiment-and-events.yaml:13: spec.window.experiment: events and experiment are exclusive: set one`,
	},
	{
		"an experiment window beside a fixed window is rejected: they are exclusive",
		"invalid-experiment-and-fixed.yaml",
		`testdata/invalid-experiment-and-fixed.yaml:13: spec.window.experiment: fixed and experiment are exclusive: set one`,
	},
	{
		"an experiment window without its tool is rejected with the choices",
		"invalid-experiment-missing-tool.yaml",
		`testdata/invalid-experiment-missing-tool.yaml:12: spec.window.experiment.tool: missing, want litmus or chaos-mesh`,
	},
	{
		"an experiment window of an unknown tool is rejected with the choices",
		"invalid-experiment-tool.yaml",
		`testdata/invalid-experiment-tool.yaml:12: spec.window.experiment.tool: "gremlin" is not one of litmus, chaos-mesh`,
	},
	{
		"an experiment window without a name is rejected, naming the tool's kinds",
		"invalid-experiment-missing-name.yaml",
		`testdata/invalid-experiment-missing-name.yaml:12: spec.window.experiment.name: missing: name the chaos-mesh object (a PodChaos, NetworkChaos, StressChaos, IOChaos or TimeChaos) whose run is the window, or select objects by their labels with selector`,
	},
	{
		"an experiment name that no Kubernetes object can have is rejected",
		"invalid-experiment-name.yaml",
		`testdata/invalid-experiment-name.yaml:12: spec.window.experiment.name: "Kill_Web" is not a valid object name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
	},
	{
		"an experiment window without a namespace, in a hypothesis without one, is rejected",
		"invalid-experiment-no-namespace.yaml",
		`testdata/invalid-experiment-no-namespace.yaml:11: spec.window.experiment.namespace: missing: name the namespace of kill-web (the hypothesis has no spec.namespace to default to)`,
	},
	{
		"an experiment namespace that is no namespace name is rejected",
		"invalid-experiment-namespace.yaml",
		`testdata/invalid-experiment-namespace.yaml:12: spec.window.experiment.namespace: "Shop" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	},
	{
		"an experiment fault with a stray space is rejected: it would never match",
		"invalid-experiment-fault.yaml",
		`testdata/invalid-experiment-fault.yaml:12: spec.window.experiment.fault: " pod-delete" is not a fault name (pod-delete, pod-kill…): no surrounding spaces or control characters`,
	},
	{
		"an experiment window with no lookback is rejected",
		"invalid-experiment-zero-lookback.yaml",
		`testdata/invalid-experiment-zero-lookback.yaml:12: spec.window.experiment.lookback: must be greater than 0, got 0s`,
	},
	{
		"a negative margin of an experiment window is rejected at its line",
		"invalid-experiment-negative-after.yaml",
		`testdata/invalid-experiment-negative-after.yaml:15: spec.window.experiment.after: not a valid duration string: "-5m"`,
	},
	{
		"an unknown field of an experiment window is rejected with the fields it has",
		"invalid-experiment-unknown-field.yaml",
		`testdata/invalid-experiment-unknown-field.yaml:12: spec.window.experiment: unknown field "kind", want one of tool, name, selector, namespace, fault, lookback, before, after`,
	},
	{
		"an experiment window with both a name and a selector is rejected: they are exclusive",
		"invalid-experiment-name-and-selector.yaml",
		`testdata/invalid-experiment-name-and-selector.yaml:12: spec.window.experiment.selector: name and selector are exclusive: set one`,
	},
	{
		"an experiment selector that is no label selector is rejected with the parser's word",
		"invalid-experiment-selector.yaml",
		`testdata/invalid-experiment-selector.yaml:12: spec.window.experiment.selector: "team=shop,fault in pod-kill" is not a label selector: unable to parse requirement: found 'pod-kill' expected: '('`,
	},
	{
		"an experiment selector without a requirement is rejected: it would select every experiment of the namespace",
		"invalid-experiment-empty-selector.yaml",
		`testdata/invalid-experiment-empty-selector.yaml:12: spec.window.experiment.selector: " " selects every experiment: give at least one requirement (team=shop, fault in (pod-delete)…)`,
	},
}
