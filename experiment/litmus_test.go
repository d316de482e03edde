package experiment_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/steadywatch/steadywatch/experiment"
)

// The objects below are shaped as LitmusChaos writes them: the ChaosEngine's
// status by chaos-operator and chaos-runner (ChaosEngineStatus and
// ExperimentStatuses in chaos-operator api/litmuschaos/v1alpha1/
// chaosengine_types.go), the ChaosResult by the experiment pod (litmus-go
// pkg/result/chaosresult.go, ChaosResultStatus / TestStatus in
// chaosresult_types.go: failureOutput.failedStep since chaos-operator 3,
// failStep before).

func engine(status string) string {
	return `
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata:
	name: web-chaos
	namespace: shop
	uid: 0b6f2d1e-engine
	creationTimestamp: "2026-03-01T10:00:00Z"
	labels:
		team: shop
		app.kubernetes.io/part-of: checkout
spec:
	engineState: active
	appinfo:
		appns: shop
		applabel: app=web
		appkind: deployment
	chaosServiceAccount: pod-delete-sa
	experiments:
	- name: pod-delete
		spec:
			components:
				env:
				- name: TOTAL_CHAOS_DURATION
					value: "30"
` + status
}

func result(name, experimentName, created, status string) string {
	return fmt.Sprintf(`
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosResult
metadata:
	name: %s
	namespace: shop
	uid: 7c1d-result
	creationTimestamp: %q
	labels:
		name: %s
spec:
	engine: web-chaos
	experiment: %s
%s`, name, created, name, experimentName, status)
}

const completedPass = `
status:
	engineStatus: completed
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: pod-delete-8lf2tk-xv9nq
		status: Completed
		verdict: Pass
		lastUpdateTime: "2026-03-01T10:01:05Z"
`

const greenResult = `
status:
	experimentStatus:
		phase: Completed
		verdict: Pass
		probeSuccessPercentage: "100"
	history:
		passedRuns: 1
		failedRuns: 0
		stoppedRuns: 0
`

func TestFromLitmus(t *testing.T) {
	web := experiment.Experiment{
		Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "web-chaos", UID: "0b6f2d1e-engine",
		Fault: "pod-delete", Target: "appns=shop applabel=app=web appkind=deployment",
		Labels: map[string]string{"team": "shop", "app.kubernetes.io/part-of": "checkout"},
	}
	with := func(e experiment.Experiment, f func(*experiment.Experiment)) experiment.Experiment {
		f(&e)
		return e
	}
	for _, tc := range []struct {
		name    string
		engine  string
		results []string
		want    []experiment.Experiment
	}{
		{
			name:    "a completed engine with a passing result started when its result was created and ended at the runner's last update",
			engine:  engine(completedPass),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start, e.End = at("2026-03-01T10:00:12Z"), at("2026-03-01T10:01:05Z")
				e.Result, e.Detail = "Pass", "phase Completed; probe success 100%; engine completed"
			})},
		},
		{
			name: "a running experiment has no end and the result's verdict Awaited",
			engine: engine(`
status:
	engineStatus: initialized
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: pod-delete-8lf2tk-xv9nq
		status: Running
		verdict: Awaited
		lastUpdateTime: "2026-03-01T10:00:10Z"
`),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", `
status:
	experimentStatus:
		phase: Running
		verdict: Awaited
		probeSuccessPercentage: Awaited
`)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:12Z")
				e.Result, e.Detail = "Awaited", "phase Running; probe success Awaited; engine initialized"
			})},
		},
		{
			name:   "a failed experiment names its failed step as chaos-operator 3 writes it",
			engine: engine(completedPass),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", `
status:
	experimentStatus:
		phase: Completed
		verdict: Fail
		probeSuccessPercentage: "50"
		failureOutput:
			failedStep: "[probe]: http-check probe has Failed"
			errorCode: PROBE_ERROR
`)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start, e.End = at("2026-03-01T10:00:12Z"), at("2026-03-01T10:01:05Z")
				e.Result = "Fail"
				e.Detail = "phase Completed; probe success 50%; failed step: [probe]: http-check probe has Failed (PROBE_ERROR); engine completed"
			})},
		},
		{
			name:   "an older runner's failStep and numeric score are read too",
			engine: engine(completedPass),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", `
status:
	experimentStatus:
		phase: Completed
		verdict: Fail
		probeSuccessPercentage: 0
		failStep: Waiting for the application to be ready
`)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start, e.End = at("2026-03-01T10:00:12Z"), at("2026-03-01T10:01:05Z")
				e.Result = "Fail"
				e.Detail = "phase Completed; probe success 0%; failed step: Waiting for the application to be ready; engine completed"
			})},
		},
		{
			name:    "a result kept from an earlier engine of the same name says nothing of this run's start: the engine's creation does",
			engine:  engine(completedPass),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-02-20T08:00:00Z", greenResult)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start, e.End = at("2026-03-01T10:00:00Z"), at("2026-03-01T10:01:05Z")
				e.Result, e.Detail = "Pass", "phase Completed; probe success 100%; engine completed"
			})},
		},
		{
			name: "before the experiment pod writes its result, the engine's verdict from its creation",
			engine: engine(`
status:
	engineStatus: initialized
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: ""
		status: Waiting for Job Creation
		verdict: Awaited
		lastUpdateTime: "2026-03-01T10:00:04Z"
`),
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:00Z")
				e.Result, e.Detail = "Awaited", "no ChaosResult yet; Waiting for Job Creation; engine initialized"
			})},
		},
		{
			name: "a result Completed before the runner recorded the end is still running",
			engine: engine(`
status:
	engineStatus: initialized
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: pod-delete-8lf2tk-xv9nq
		status: Running
		verdict: Awaited
		lastUpdateTime: "2026-03-01T10:00:10Z"
`),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:12Z")
				e.Result, e.Detail = "Pass", "phase Completed; probe success 100%; engine initialized"
			})},
		},
		{
			name: "an engine stopped by its user ended at the abort, Stopped",
			engine: engine(`
status:
	engineStatus: stopped
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: pod-delete-8lf2tk-xv9nq
		status: Forcefully Aborted
		verdict: Awaited
		lastUpdateTime: "2026-03-01T10:00:40Z"
`),
			results: []string{result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", `
status:
	experimentStatus:
		phase: Running
		verdict: Awaited
`)},
			want: []experiment.Experiment{with(web, func(e *experiment.Experiment) {
				e.Start, e.End = at("2026-03-01T10:00:12Z"), at("2026-03-01T10:00:40Z")
				e.Result, e.Detail = "Stopped", "phase Running; Forcefully Aborted; engine stopped"
			})},
		},
		{
			name: "two experiments of one engine are two experiments, each with its own result and no other engine's",
			engine: engine(`
status:
	engineStatus: completed
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: pod-delete-8lf2tk-xv9nq
		status: Completed
		verdict: Pass
		lastUpdateTime: "2026-03-01T10:01:05Z"
	- name: pod-network-latency
		runner: web-chaos-runner
		experimentPod: pod-network-latency-2kq8d-5fj2l
		status: Completed
		verdict: Fail
		lastUpdateTime: "2026-03-01T10:03:00Z"
`),
			results: []string{
				result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult),
				result("web-chaos-pod-network-latency", "pod-network-latency", "2026-03-01T10:01:20Z", `
status:
	experimentStatus:
		phase: Completed
		verdict: Fail
		probeSuccessPercentage: "0"
`),
				// Another engine's result of the same experiment.
				`
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosResult
metadata:
	name: db-chaos-pod-delete
	namespace: shop
	creationTimestamp: "2026-03-01T10:00:30Z"
spec:
	engine: db-chaos
	experiment: pod-delete
status:
	experimentStatus:
		phase: Completed
		verdict: Fail
`,
			},
			want: []experiment.Experiment{
				with(web, func(e *experiment.Experiment) {
					e.Start, e.End = at("2026-03-01T10:00:12Z"), at("2026-03-01T10:01:05Z")
					e.Result, e.Detail = "Pass", "phase Completed; probe success 100%; engine completed"
				}),
				with(web, func(e *experiment.Experiment) {
					e.Fault = "pod-network-latency"
					e.Start, e.End = at("2026-03-01T10:01:20Z"), at("2026-03-01T10:03:00Z")
					e.Result, e.Detail = "Fail", "phase Completed; probe success 0%; engine completed"
				}),
			},
		},
		{
			name:   "an engine the operator has not started reports nothing",
			engine: engine("status:\n\tengineStatus: initialized\n"),
		},
		{
			name:   "an engine without any status reports nothing",
			engine: engine(""),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var results []*unstructured.Unstructured
			for _, r := range tc.results {
				results = append(results, object(t, r))
			}
			got, err := experiment.FromLitmus(object(t, tc.engine), results)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFromLitmusNamesTheFieldItCannotRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine string
		result string
		want   string
	}{
		{
			name:   "experiments that are not a list",
			engine: engine("status:\n\tengineStatus: completed\n\texperiments: pod-delete\n"),
			want:   "litmus ChaosEngine shop/web-chaos: status.experiments: expected a list, got a string",
		},
		{
			name:   "an experiment without a name",
			engine: engine("status:\n\texperiments:\n\t- status: Running\n"),
			want:   "litmus ChaosEngine shop/web-chaos: status.experiments[0].name: missing",
		},
		{
			name: "an ended experiment without its time",
			engine: engine(`
status:
	engineStatus: completed
	experiments:
	- name: pod-delete
		status: Completed
		verdict: Pass
`),
			want: "litmus ChaosEngine shop/web-chaos: status.experiments[0].lastUpdateTime: missing for a Completed experiment",
		},
		{
			name: "a time that is not one",
			engine: engine(`
status:
	engineStatus: completed
	experiments:
	- name: pod-delete
		status: Completed
		lastUpdateTime: yesterday
`),
			want: `litmus ChaosEngine shop/web-chaos: status.experiments[0].lastUpdateTime: "yesterday" is not an RFC 3339 time`,
		},
		{
			name:   "a verdict that is not a string",
			engine: engine(completedPass),
			result: result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", "status:\n\texperimentStatus:\n\t\tphase: Completed\n\t\tverdict: 1\n"),
			want:   "litmus ChaosResult shop/web-chaos-pod-delete: status.experimentStatus.verdict: expected a string, got a number",
		},
		{
			name:   "an experiment status that is not an object",
			engine: engine(completedPass),
			result: result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", "status:\n\texperimentStatus: [Completed]\n"),
			want:   "litmus ChaosResult shop/web-chaos-pod-delete: status.experimentStatus: expected an object, got a list",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var results []*unstructured.Unstructured
			if tc.result != "" {
				results = append(results, object(t, tc.result))
			}
			_, err := experiment.FromLitmus(object(t, tc.engine), results)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestALitmusRunCarriesTheEnginesLabelsAndNotTheResults(t *testing.T) {
	bare := strings.Replace(engine(completedPass), "\tlabels:\n\t\tteam: shop\n\t\tapp.kubernetes.io/part-of: checkout\n", "", 1)
	require.NotEqual(t, engine(completedPass), bare, "the fixture lost its labels")
	got, err := experiment.FromLitmus(object(t, bare),
		[]*unstructured.Unstructured{object(t, result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult))})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Nil(t, got[0].Labels, "the ChaosResult's labels (name: web-chaos-pod-delete) are not the run's")
}
