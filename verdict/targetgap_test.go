package verdict_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// One of the experimental group's two pods stops answering its scrapes
// (starved by a resource-exhaustion fault, not deleted): the group's
// aggregate answers from the other pod, its family has raw samples all
// along, and the verdict passed on half the group. Prometheus's up series
// shows the target down: that is a gap, and a would-be pass is
// inconclusive. Both sides of the allowance; a pod the watch saw deleted,
// or a node it saw NotReady, explains its target going; a target without a
// pod or node label cannot be explained; a failure stands.
func TestATargetThatStoppedAnsweringLeavesAnAggregateOverTheOthersInconclusive(t *testing.T) {
	const ready = `
    - name: ready
      query: min(ready{ {{ .Group }} })
      slo: {min: 0.5}
      critical: true`
	const starved = `{__name__="up", instance="10.0.0.7:8080", job="api", namespace="shop", pod="api-7"}`
	const unnamed = `{__name__="up", instance="10.0.0.7:8080", job="api"}`
	const onNode = `{__name__="up", instance="10.0.0.7:8080", job="api", node="worker-2"}`
	nodeDownAt := func(node string, d time.Duration) chaos.Event {
		return chaos.Event{
			Kind: chaos.NodeNotReady, Subject: chaos.Subject{Service: "api", Group: chaos.Experimental},
			Object: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "api"}, Node: node,
			At: chaos.Timestamp{Observed: base.Add(d)},
		}
	}
	mid := at(30 * time.Minute)
	deletedAt := func(d time.Duration) chaos.Event {
		return chaos.Event{
			Kind: chaos.PodDeleted, Subject: chaos.Subject{Service: "api", Group: chaos.Experimental},
			Object: chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "api-7"},
			At:     chaos.Timestamp{Observed: base.Add(d)},
		}
	}
	// A target's up series as the judge's check sees it: 0 at the steps
	// [from, to) in which it failed a scrape, absent elsewhere.
	down := func(from, to int) []float64 {
		out := make([]float64, nSamples)
		for i := range out {
			out[i] = absent
			if i >= from && i < to {
				out[i] = 0
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		family string // whose target it is: ready's unless set
		target string
		from   int
		to     int
		events []chaos.Event
		value  float64
		want   verdict.Result
		reason string
	}{
		{
			name: "down 5 steps, its pod not deleted", target: starved, from: mid, to: mid + 5, value: 1,
			want:   verdict.Inconclusive,
			reason: `scrape target {instance="10.0.0.7:8080", job="api", namespace="shop", pod="api-7"} failed its scrapes (up == 0) in the experimental group for 1m30s`,
		},
		{
			name: "a target of another family down: not one the query read", family: "other", target: starved,
			from: mid, to: mid + 5, value: 1, want: verdict.Pass,
		},
		{name: "down 1 step: within the allowance", target: starved, from: mid, to: mid + 1, value: 1, want: verdict.Pass},
		{
			name: "down 2 steps: beyond it", target: starved, from: mid, to: mid + 2, value: 1, want: verdict.Inconclusive,
			reason: "pod api-7 was not seen deleted then",
		},
		{
			name: "down 5 steps, its pod deleted 20 s before", target: starved, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{deletedAt(30*time.Minute - 20*time.Second)}, want: verdict.Pass,
		},
		{
			// The stretch runs from the last step answered (29:45); a
			// deletion up to a step and the 30 s grace before that explains
			// it, and not a second more.
			name: "down 5 steps, its pod deleted at the slack's edge", target: starved, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{deletedAt(29 * time.Minute)}, want: verdict.Pass,
		},
		{
			name: "down 5 steps, its pod deleted a second before the slack", target: starved, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{deletedAt(29*time.Minute - time.Second)}, want: verdict.Inconclusive,
			reason: "pod api-7 was not seen deleted then",
		},
		{
			name: "down 5 steps, the same pod name deleted 10 minutes before", target: starved, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{deletedAt(20 * time.Minute)}, want: verdict.Inconclusive,
			reason: "pod api-7 was not seen deleted then",
		},
		{
			name: "down all through the window", target: starved, from: 0, to: nSamples, value: 1, want: verdict.Inconclusive,
			reason: "failed its scrapes (up == 0) in the experimental group all through",
		},
		{
			name: "no pod label: nothing can explain it", target: unnamed, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{deletedAt(30*time.Minute - 20*time.Second)}, want: verdict.Inconclusive,
			reason: "relabel __meta_kubernetes_pod_name to pod, and __meta_kubernetes_pod_node_name to node",
		},
		{
			// A host failure: the node is declared NotReady a grace period
			// after its pods stopped answering.
			name: "on a node seen NotReady while it was down", target: onNode, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{nodeDownAt("worker-2", 30*time.Minute+40*time.Second)}, want: verdict.Pass,
		},
		{
			name: "on a node, another node NotReady", target: onNode, from: mid, to: mid + 5, value: 1,
			events: []chaos.Event{nodeDownAt("worker-3", 30*time.Minute+40*time.Second)}, want: verdict.Inconclusive,
			reason: "node worker-2 was not seen NotReady then",
		},
		{
			name: "a failure over it stands", target: starved, from: mid, to: mid + 5, value: 0, want: verdict.Fail,
			reason: "failed its scrapes (up == 0)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			f.Set("ready", chaos.Control, constant(nSamples, 1))
			f.Set("ready", chaos.Experimental, constant(nSamples, tc.value))
			family := "ready"
			if tc.family != "" {
				family = tc.family
			}
			f.SetDown(family, chaos.Experimental, tc.target, down(tc.from, tc.to))
			s := tracker.NewMemoryStore()
			for _, e := range tc.events {
				require.NoError(t, s.SaveEvent(t.Context(), e))
			}
			v, err := newJudge(t, verdict.Options{Samples: f, Store: s}).Judge(t.Context(), hyp(t, fixedWindow, metrics(ready)), after)
			require.NoError(t, err)
			m := v.Metrics[0]
			require.Equal(t, tc.want, m.Result, m.Reason)
			if tc.want != verdict.Fail {
				require.Equal(t, tc.want, v.Result, v.Reason)
			}
			if tc.want == verdict.Pass {
				require.Empty(t, m.SampleGaps)
				return
			}
			require.Contains(t, m.Reason, tc.reason)
			require.Len(t, m.SampleGaps, 1, "%+v", m.SampleGaps)
			g := m.SampleGaps[0]
			require.Equal(t, chaos.Experimental, g.Group)
			require.Contains(t, g.Series, `instance="10.0.0.7:8080"`)
			// The gap covers the steps the target was down.
			require.False(t, g.From.After(base.Add(time.Duration(tc.from)*step)), "%s", g.From)
			require.False(t, g.To.Before(base.Add(time.Duration(tc.to-1)*step)), "%s", g.To)
		})
	}
}

// A check that cannot be made is a gap over the whole window: what was
// not checked cannot pass. Each of the three checks of a family, failing
// alone.
func TestACheckOfTheRawSamplesThatFailsCannotPass(t *testing.T) {
	const ready = `
    - name: ready
      query: min(ready{ {{ .Group }} })
      slo: {min: 0.5}
      critical: true`
	for prefix, want := range map[string]string{
		verdicttest.RawPrefix:     `could not check that Prometheus had raw samples of ready{group="experimental"} (read by metric ready's query) in the experimental group`,
		verdicttest.TargetsPrefix: `could not check that the scrape targets of ready{group="experimental"} (read by metric ready's query) answered their scrapes in the experimental group`,
		verdicttest.DownPrefix:    `could not check that the scrape targets of ready{group="experimental"} (read by metric ready's query) answered their scrapes in the experimental group`,
	} {
		t.Run(prefix, func(t *testing.T) {
			f := newSource()
			f.Set("ready", chaos.Control, constant(nSamples, 1))
			f.Set("ready", chaos.Experimental, constant(nSamples, 1))
			f.FailChecks(prefix, errors.New("503 Service Unavailable"))
			v, err := newJudge(t, verdict.Options{Samples: f, Store: tracker.NewMemoryStore()}).Judge(t.Context(), hyp(t, fixedWindow, metrics(ready)), after)
			require.NoError(t, err)
			require.Equal(t, verdict.Inconclusive, v.Result, v.Reason)
			m := v.Metrics[0]
			require.Contains(t, m.Reason, want)
			require.Contains(t, m.Reason, "503 Service Unavailable")
			require.NotEmpty(t, m.SampleGaps)
			for _, g := range m.SampleGaps {
				require.Equal(t, base, g.From)
				require.Equal(t, winEnd, g.To)
			}
		})
	}
}
