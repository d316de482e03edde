package experiment_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/experiment"
)

// The statuses below are shaped as Chaos Mesh's controllers write them
// (chaos-mesh api/v1alpha1 ChaosStatus, ExperimentStatus, Record and
// RecordEvent): the records controller (controllers/common/records)
// appends a Succeeded or Failed event with operation Apply or Recover to a
// target's record at each attempt and counts the successes; the condition
// controller (controllers/common/condition) sets Selected, AllInjected,
// AllRecovered and Paused, in map order, with AllRecovered true as soon as
// the targets are selected and not yet injected; the desiredphase
// controller sets experiment.desiredPhase to Run, then Stop when the
// duration is over, a one-shot action is done or the chaos is paused.

const podKill = `
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata:
	name: kill-web
	namespace: shop
	uid: 3f1e-podchaos
	creationTimestamp: "2026-03-01T10:00:00Z"
	labels: {team: shop, fault: pod-kill}
spec:
	action: pod-kill
	mode: one
	selector:
		namespaces: [shop]
		labelSelectors:
			app: web
			tier: front
`

func TestFromChaosMesh(t *testing.T) {
	kill := experiment.Experiment{
		Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-web", UID: "3f1e-podchaos",
		Fault: "pod-kill", Target: "mode=one namespaces=shop labels=app=web,tier=front",
		Labels: map[string]string{"team": "shop", "fault": "pod-kill"},
	}
	with := func(e experiment.Experiment, f func(*experiment.Experiment)) experiment.Experiment {
		f(&e)
		return e
	}
	for _, tc := range []struct {
		name string
		obj  string
		want experiment.Experiment
	}{
		{
			name: "a pod kill applied then recovered began at its first apply and ended at its last recovery",
			obj: podKill + `
status:
	conditions:
	- {type: AllRecovered, status: "True"}
	- {type: Paused, status: "False"}
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "False"}
	experiment:
		desiredPhase: Stop
		containerRecords:
		- id: shop/web-7d9c5b6f4-x2v8q
			selectorKey: .
			phase: Not Injected
			injectedCount: 1
			recoveredCount: 1
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
			- {type: Succeeded, operation: Recover, timestamp: "2026-03-01T10:00:03Z"}
`,
			want: with(kill, func(e *experiment.Experiment) {
				e.Start, e.End = at("2026-03-01T10:00:02Z"), at("2026-03-01T10:00:03Z")
				e.Result, e.Detail = experiment.Recovered, "1 target"
			}),
		},
		{
			name: "a network delay on two pods still running is injected, since the earlier of its applies, with no end",
			obj: `
apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata:
	name: slow-db
	namespace: shop
	uid: 9a2b-networkchaos
	creationTimestamp: "2026-03-01T10:00:00Z"
spec:
	action: delay
	mode: fixed-percent
	value: "50"
	duration: 5m
	selector:
		pods:
			shop: [db-0, db-1]
	delay:
		latency: 100ms
status:
	conditions:
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "True"}
	- {type: AllRecovered, status: "False"}
	- {type: Paused, status: "False"}
	experiment:
		desiredPhase: Run
		containerRecords:
		- id: shop/db-1
			selectorKey: .
			phase: Injected
			injectedCount: 1
			recoveredCount: 0
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:05Z"}
		- id: shop/db-0
			selectorKey: .
			phase: Injected
			injectedCount: 1
			recoveredCount: 0
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:04Z"}
`,
			want: experiment.Experiment{
				Tool: experiment.ChaosMesh, Kind: "NetworkChaos", Namespace: "shop", Name: "slow-db", UID: "9a2b-networkchaos",
				Fault: "delay", Target: "mode=fixed-percent value=50 pods=shop/db-0,shop/db-1",
				Start: at("2026-03-01T10:00:04Z"), Result: experiment.Injected, Detail: "2 targets",
			},
		},
		{
			name: "selected targets not yet injected have not started, though AllRecovered holds",
			obj: podKill + `
status:
	conditions:
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "False"}
	- {type: AllRecovered, status: "True"}
	- {type: Paused, status: "False"}
	experiment:
		desiredPhase: Run
		containerRecords:
		- {id: shop/web-7d9c5b6f4-x2v8q, selectorKey: ., phase: Not Injected, injectedCount: 0, recoveredCount: 0}
`,
			want: with(kill, func(e *experiment.Experiment) { e.Detail = "1 target; not injected yet" }),
		},
		{
			name: "an apply that keeps failing has failed, and began at its first attempt",
			obj: podKill + `
status:
	conditions:
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "False"}
	- {type: AllRecovered, status: "True"}
	experiment:
		desiredPhase: Run
		containerRecords:
		- id: shop/web-7d9c5b6f4-x2v8q
			selectorKey: .
			phase: Not Injected
			injectedCount: 0
			recoveredCount: 0
			events:
			- {type: Failed, operation: Apply, message: "pods \"web-7d9c5b6f4-x2v8q\" not found", timestamp: "2026-03-01T10:00:02Z"}
			- {type: Failed, operation: Apply, message: "pods \"web-7d9c5b6f4-x2v8q\" not found", timestamp: "2026-03-01T10:00:07Z"}
`,
			want: with(kill, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:02Z")
				e.Result = experiment.Failed
				e.Detail = `1 target; Apply failed on shop/web-7d9c5b6f4-x2v8q: pods "web-7d9c5b6f4-x2v8q" not found`
			}),
		},
		{
			name: "a failure a retry overcame is no failure, and the start is the successful apply",
			obj: podKill + `
status:
	conditions:
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "True"}
	- {type: AllRecovered, status: "False"}
	experiment:
		desiredPhase: Run
		containerRecords:
		- id: shop/web-7d9c5b6f4-x2v8q
			selectorKey: .
			phase: Injected
			injectedCount: 1
			recoveredCount: 0
			events:
			- {type: Failed, operation: Apply, message: "rpc error: connection refused", timestamp: "2026-03-01T10:00:02Z"}
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:04Z"}
`,
			want: with(kill, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:04Z")
				e.Result, e.Detail = experiment.Injected, "1 target"
			}),
		},
		{
			name: "a paused experiment, recovered for the pause, has not ended",
			obj: podKill + `
status:
	conditions:
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "False"}
	- {type: AllRecovered, status: "True"}
	- {type: Paused, status: "True"}
	experiment:
		desiredPhase: Stop
		containerRecords:
		- id: shop/web-7d9c5b6f4-x2v8q
			selectorKey: .
			phase: Not Injected
			injectedCount: 1
			recoveredCount: 1
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
			- {type: Succeeded, operation: Recover, timestamp: "2026-03-01T10:00:30Z"}
`,
			want: with(kill, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:02Z")
				e.Result, e.Detail = experiment.Injected, "1 target; paused"
			}),
		},
		{
			name: "one target of two recovered is not the end",
			obj: podKill + `
status:
	conditions:
	- {type: Selected, status: "True"}
	- {type: AllInjected, status: "False"}
	- {type: AllRecovered, status: "False"}
	experiment:
		desiredPhase: Stop
		containerRecords:
		- id: shop/web-a
			selectorKey: .
			phase: Not Injected
			injectedCount: 1
			recoveredCount: 1
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
			- {type: Succeeded, operation: Recover, timestamp: "2026-03-01T10:01:02Z"}
		- id: shop/web-b
			selectorKey: .
			phase: Injected
			injectedCount: 1
			recoveredCount: 0
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
`,
			want: with(kill, func(e *experiment.Experiment) {
				e.Start = at("2026-03-01T10:00:02Z")
				e.Result, e.Detail = experiment.Injected, "2 targets"
			}),
		},
		{
			name: "a stress on containers is named by its stressors",
			obj: `
apiVersion: chaos-mesh.org/v1alpha1
kind: StressChaos
metadata:
	name: burn
	namespace: shop
	uid: 11aa-stresschaos
spec:
	mode: all
	selector:
		namespaces: [shop]
		labelSelectors: {app: web}
	containerNames: [web]
	stressors:
		memory: {workers: 1, size: 256MB}
		cpu: {workers: 2, load: 80}
status:
	experiment:
		desiredPhase: Run
		containerRecords:
		- id: shop/web-a/web
			selectorKey: .
			phase: Injected
			injectedCount: 1
			recoveredCount: 0
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
`,
			want: experiment.Experiment{
				Tool: experiment.ChaosMesh, Kind: "StressChaos", Namespace: "shop", Name: "burn", UID: "11aa-stresschaos",
				Fault: "stress:cpu,memory", Target: "mode=all namespaces=shop labels=app=web containers=web",
				Start: at("2026-03-01T10:00:02Z"), Result: experiment.Injected, Detail: "1 target",
			},
		},
		{
			name: "a time shift is a time-offset",
			obj: `
apiVersion: chaos-mesh.org/v1alpha1
kind: TimeChaos
metadata: {name: skew, namespace: shop, uid: 22bb-timechaos}
spec:
	mode: one
	timeOffset: -10m
	selector: {namespaces: [shop]}
`,
			want: experiment.Experiment{
				Tool: experiment.ChaosMesh, Kind: "TimeChaos", Namespace: "shop", Name: "skew", UID: "22bb-timechaos",
				Fault: "time-offset", Target: "mode=one namespaces=shop", Detail: "no target selected yet",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := experiment.FromChaosMesh(object(t, tc.obj))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFromChaosMeshNamesTheFieldItCannotRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		want   string
	}{
		{
			name:   "records that are not a list",
			status: "status:\n\texperiment:\n\t\tcontainerRecords: {id: x}\n",
			want:   "chaos-mesh PodChaos shop/kill-web: status.experiment.containerRecords: expected a list, got an object",
		},
		{
			name:   "a condition that is not an object",
			status: "status:\n\tconditions: [AllInjected]\n",
			want:   "chaos-mesh PodChaos shop/kill-web: status.conditions[0]: expected an object, got a string",
		},
		{
			name: "an event time that is not one",
			status: `
status:
	experiment:
		containerRecords:
		- id: shop/web-a
			phase: Injected
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
			- {type: Succeeded, operation: Recover, timestamp: "10:01"}
`,
			want: `chaos-mesh PodChaos shop/kill-web: status.experiment.containerRecords[0].events[1].timestamp: "10:01" is not an RFC 3339 time`,
		},
		{
			name: "a recovery before any apply",
			status: `
status:
	conditions: [{type: AllRecovered, status: "True"}]
	experiment:
		desiredPhase: Stop
		containerRecords:
		- id: shop/web-a
			events:
			- {type: Succeeded, operation: Recover, timestamp: "2026-03-01T10:00:01Z"}
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
`,
			want: "chaos-mesh PodChaos shop/kill-web: status.experiment.containerRecords: all recovered, last at 2026-03-01T10:00:01Z, before the first apply at 2026-03-01T10:00:02Z",
		},
		{
			name: "an event without its time",
			status: `
status:
	experiment:
		containerRecords:
		- id: shop/web-a
			events:
			- {type: Succeeded, operation: Apply}
`,
			want: "chaos-mesh PodChaos shop/kill-web: status.experiment.containerRecords[0].events[0].timestamp: missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := experiment.FromChaosMesh(object(t, podKill+tc.status))
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestFromChaosMeshRefusesAnotherKind(t *testing.T) {
	_, err := experiment.FromChaosMesh(object(t, "apiVersion: chaos-mesh.org/v1alpha1\nkind: Schedule\nmetadata: {name: s, namespace: shop}\n"))
	require.EqualError(t, err, "chaos-mesh Schedule shop/s: not an experiment kind (PodChaos, NetworkChaos, StressChaos, IOChaos, TimeChaos)")
}
