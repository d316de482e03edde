package hypothesis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/steadywatch/steadywatch/experiment"
)

func TestParseReadsEveryFieldOfAnExperimentWindow(t *testing.T) {
	hs, err := Parse([]byte(minimalWith(`
  namespace: shop
  window:
    experiment: {tool: litmus, name: kill-web, namespace: chaos, fault: pod-delete, lookback: 2h, before: 1m, after: 5m}
`)), "h.yaml")
	require.NoError(t, err)
	require.Equal(t, Window{Experiment: &ExperimentWindow{
		Tool: experiment.Litmus, Name: "kill-web", Namespace: "chaos", Fault: "pod-delete",
		Lookback: 2 * time.Hour, Before: time.Minute, After: 5 * time.Minute,
	}}, hs[0].Window)
	require.Equal(t, "litmus experiment chaos/kill-web (fault pod-delete)", hs[0].Window.Experiment.String())
}

func TestAnExperimentWindowDefaultsToTheHypothesisNamespaceAndTheEventWindowsMargins(t *testing.T) {
	hs, err := Parse([]byte(minimalWith(`
  namespace: shop
  window: {experiment: {tool: chaos-mesh, name: kill-web}}
`)), "h.yaml")
	require.NoError(t, err)
	require.Equal(t, &ExperimentWindow{
		Tool: experiment.ChaosMesh, Name: "kill-web", Namespace: "shop", Lookback: DefaultLookback, After: DefaultAfter,
	}, hs[0].Window.Experiment)
	require.Equal(t, "chaos-mesh experiment shop/kill-web", hs[0].Window.Experiment.String())
}

func TestAnExperimentWindowsStepIsBoundedByItsLongestWindow(t *testing.T) {
	// before + lookback + after = 1m + 3h + 14m = 3h15m: 11,701 points at
	// 1s, 5,851 at 2s.
	spec := func(step string) []byte {
		return []byte(minimalWith(`
  namespace: shop
  window: {experiment: {tool: litmus, name: kill-web, lookback: 3h, before: 1m, after: 14m}}
  step: ` + step + "\n"))
	}
	_, err := Parse(spec("2s"), "h.yaml")
	require.NoError(t, err)
	_, err = Parse(spec("1s"), "h.yaml")
	require.EqualError(t, err, "h.yaml:10: spec.step: 1s makes 11701 points per query over the longest window (before + lookback + after) of 3h15m, more than the 11000 Prometheus allows: use a step of at least 2s")
}

func TestTheDigestsOfHypothesesWithoutAnExperimentWindowAreThoseOfBeforeIt(t *testing.T) {
	// The digests of the examples as they were before Window.Experiment
	// existed: a final verdict in the history is given again only to the
	// same digest, so a new field must leave them as they were.
	want := map[string]string{
		"cpu-autoscaling":       "sha256:33277ca6cf9f88b97a4217783ef325d81f8d1b560e734a115eb3a6657d4787f6",
		"host-failure":          "sha256:620d3f9607ebc7bb8c2ff021211bc6d046287b9ce0de9c854925f74a3401ef15",
		"kill-postgres-replica": "sha256:45fbac2354d280a1cf3d0d0a31ffe8287ae371da87a3005558b1759af30f3ce3",
		"resource-exhaustion":   "sha256:cb06ce2d738fe81e6029bb1bc4eb36d92134ee523e2634f1d3b0918456f4804b",
	}
	for name, h := range loadExamples(t) {
		require.Equal(t, want[name], h.Digest(), name)
	}
}

func TestTheDigestOfAnExperimentWindowByNameIsThatOfBeforeSelectors(t *testing.T) {
	// Computed before ExperimentWindow.Selector existed.
	hs, err := Parse([]byte(minimalWith("  namespace: shop\n  window: {experiment: {tool: litmus, name: kill-web, namespace: chaos, fault: pod-delete, lookback: 2h, before: 1m, after: 5m}}\n")), "h.yaml")
	require.NoError(t, err)
	require.Equal(t, "sha256:7e8cb18a3e1c23f7ca6a9024ce912a8757d1d4ba3cebf0584cc75005abd6da3a", hs[0].Digest())
}

func TestParseReadsAnExperimentWindowsSelector(t *testing.T) {
	hs, err := Parse([]byte(minimalWith(`
  namespace: shop
  window:
    experiment: {tool: chaos-mesh, selector: "team=shop,fault in (pod-kill, pod-failure),!canary"}
`)), "h.yaml")
	require.NoError(t, err)
	ew := hs[0].Window.Experiment
	require.Empty(t, ew.Name)
	require.NotNil(t, ew.Selector)
	require.Equal(t, "!canary,fault in (pod-failure,pod-kill),team=shop", ew.Selector.String())
	require.Equal(t, `chaos-mesh experiments in shop selected by "!canary,fault in (pod-failure,pod-kill),team=shop"`, ew.String())
}

func TestAnExperimentWindowsSelectorIsJudgedAsWhatItSelects(t *testing.T) {
	digest := func(selector string) string {
		t.Helper()
		hs, err := Parse([]byte(minimalWith("  namespace: shop\n  window: {experiment: {tool: litmus, selector: '"+selector+"'}}\n")), "h.yaml")
		require.NoError(t, err)
		return hs[0].Digest()
	}
	require.Equal(t, digest("team=shop,fault in (a, b)"), digest("fault in (b,a), team=shop"), "the same selector written another way")
	require.NotEqual(t, digest("team=shop"), digest("team=db"))
	require.NotEqual(t, digest("team=shop"), digest("team!=shop"))
}

func TestAnExperimentWindowsFieldsChangeTheDigest(t *testing.T) {
	digest := func(window string) string {
		t.Helper()
		hs, err := Parse([]byte(minimalWith("  namespace: shop\n  window: {experiment: {"+window+"}}\n")), "h.yaml")
		require.NoError(t, err)
		return hs[0].Digest()
	}
	seen := map[string]string{}
	for what, w := range map[string]string{
		"base":      "tool: litmus, name: kill-web",
		"tool":      "tool: chaos-mesh, name: kill-web",
		"name":      "tool: litmus, name: kill-db",
		"namespace": "tool: litmus, name: kill-web, namespace: other",
		"fault":     "tool: litmus, name: kill-web, fault: pod-delete",
		"lookback":  "tool: litmus, name: kill-web, lookback: 2h",
		"before":    "tool: litmus, name: kill-web, before: 1m",
		"after":     "tool: litmus, name: kill-web, after: 11m",
		"selector":  "tool: litmus, selector: team=shop",
		"another":   "tool: litmus, selector: team=db",
	} {
		d := digest(w)
		require.NotContains(t, seen, d, "%s changes the digest (same as %s)", what, seen[d])
		seen[d] = what
	}
}

func TestAnExperimentWindowIsTheLatestRunThatStartedWithinItsLookback(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &ExperimentWindow{Tool: experiment.Litmus, Namespace: "shop", Name: "kill-web", Lookback: time.Hour, Before: time.Minute, After: 5 * time.Minute}
	run := func(uid, fault string, start, end time.Time) experiment.Experiment {
		return experiment.Experiment{
			Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "kill-web", UID: uid, Fault: fault,
			Start: start, End: end, Result: experiment.LitmusPass,
		}
	}
	edge := now.Add(-time.Hour)
	for _, tc := range []struct {
		name  string
		w     *ExperimentWindow
		exps  []experiment.Experiment
		want  []string // UID/fault of the run's experiments; nil: none
		start time.Time
	}{
		{
			"a run that started exactly a lookback ago counts", w,
			[]experiment.Experiment{run("a", "pod-delete", edge, edge.Add(time.Minute))},
			[]string{"a/pod-delete"},
			edge,
		},
		{
			"a run that started just before the lookback does not", w,
			[]experiment.Experiment{run("a", "pod-delete", edge.Add(-time.Nanosecond), now)},
			nil,
			time.Time{},
		},
		{
			"a run that starts after the time of judgement does not", w,
			[]experiment.Experiment{run("a", "pod-delete", now.Add(time.Nanosecond), time.Time{})},
			nil,
			time.Time{},
		},
		{
			"a run that starts at the time of judgement does", w,
			[]experiment.Experiment{run("a", "pod-delete", now, time.Time{})},
			[]string{"a/pod-delete"},
			now,
		},
		{"of two runs the later counts", w, []experiment.Experiment{
			run("a", "pod-delete", now.Add(-50*time.Minute), now.Add(-45*time.Minute)),
			run("b", "pod-delete", now.Add(-20*time.Minute), now.Add(-15*time.Minute)),
		}, []string{"b/pod-delete"}, now.Add(-20 * time.Minute)},
		{"the faults of one engine's run are one run", w, []experiment.Experiment{
			run("a", "pod-delete", now.Add(-50*time.Minute), now.Add(-45*time.Minute)),
			run("b", "pod-delete", now.Add(-30*time.Minute), now.Add(-25*time.Minute)),
			run("b", "pod-cpu-hog", now.Add(-24*time.Minute), now.Add(-20*time.Minute)),
		}, []string{"b/pod-delete", "b/pod-cpu-hog"}, now.Add(-30 * time.Minute)},
		{
			"a fault given picks its own", &ExperimentWindow{Tool: w.Tool, Namespace: w.Namespace, Name: w.Name, Fault: "pod-delete", Lookback: w.Lookback},
			[]experiment.Experiment{
				run("b", "pod-delete", now.Add(-30*time.Minute), now.Add(-25*time.Minute)),
				run("b", "pod-cpu-hog", now.Add(-24*time.Minute), now.Add(-20*time.Minute)),
			},
			[]string{"b/pod-delete"},
			now.Add(-30 * time.Minute),
		},
		{"another tool's, namespace's or name's experiment does not count", w, []experiment.Experiment{
			{Tool: experiment.ChaosMesh, Namespace: "shop", Name: "kill-web", UID: "x", Start: now.Add(-time.Minute)},
			{Tool: experiment.Litmus, Namespace: "other", Name: "kill-web", UID: "y", Start: now.Add(-time.Minute)},
			{Tool: experiment.Litmus, Namespace: "shop", Name: "kill-db", UID: "z", Start: now.Add(-time.Minute)},
		}, nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.w.Run(now, tc.exps)
			require.Equal(t, tc.want != nil, ok)
			var keys []string
			for _, e := range got {
				keys = append(keys, e.UID+"/"+e.Fault)
			}
			require.Equal(t, tc.want, keys)
			if ok {
				s, _ := tc.w.Span(now, got)
				require.Equal(t, tc.start, s.ChaosStart)
			}
		})
	}
}

func TestAnExperimentWindowSpansTheRunAndRunsUntilItEnds(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := &ExperimentWindow{Tool: experiment.Litmus, Namespace: "shop", Name: "kill-web", Lookback: time.Hour, Before: time.Minute, After: 5 * time.Minute}
	start := now.Add(-30 * time.Minute)
	for _, tc := range []struct {
		name     string
		ends     []time.Time
		chaosEnd time.Time
		running  bool
	}{
		{"ended: its end", []time.Time{now.Add(-10 * time.Minute)}, now.Add(-10 * time.Minute), false},
		{"ended at the time of judgement: ended", []time.Time{now}, now, false},
		{"running: the time of judgement", []time.Time{{}}, now, true},
		{"ended after the time of judgement: running then", []time.Time{now.Add(time.Nanosecond)}, now, true},
		{"several faults: the last end", []time.Time{now.Add(-20 * time.Minute), now.Add(-10 * time.Minute)}, now.Add(-10 * time.Minute), false},
		{"several faults, one running: running", []time.Time{now.Add(-20 * time.Minute), {}}, now, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var run []experiment.Experiment
			for i, end := range tc.ends {
				run = append(run, experiment.Experiment{
					Tool: experiment.Litmus, Namespace: "shop", Name: "kill-web", UID: "a", Fault: string(rune('a' + i)),
					Start: start.Add(time.Duration(i) * time.Minute), End: end,
				})
			}
			s, running := w.Span(now, run)
			require.Equal(t, Span{
				Start: start.Add(-time.Minute), End: tc.chaosEnd.Add(5 * time.Minute),
				ChaosStart: start, ChaosEnd: tc.chaosEnd,
			}, s)
			require.Equal(t, tc.running, running)
		})
	}
}

func TestAnExperimentWindowBySelectorIsTheLatestMatchingRunWithinItsLookback(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	sel, err := labels.Parse("team=shop,fault in (pod-delete)")
	require.NoError(t, err)
	w := &ExperimentWindow{Tool: experiment.Litmus, Namespace: "shop", Selector: sel, Lookback: time.Hour}
	shop := map[string]string{"team": "shop", "fault": "pod-delete"}
	run := func(name, uid, fault string, lbls map[string]string, start time.Time) experiment.Experiment {
		return experiment.Experiment{
			Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: name, UID: uid, Fault: fault,
			Start: start, End: start.Add(5 * time.Minute), Result: experiment.LitmusPass, Labels: lbls,
		}
	}
	edge := now.Add(-time.Hour)
	for _, tc := range []struct {
		name string
		exps []experiment.Experiment
		want []string // name/UID/fault of the run's experiments; nil: none
	}{
		{"a match that started exactly a lookback ago counts", []experiment.Experiment{run("kill-a", "a", "pod-delete", shop, edge)}, []string{"kill-a/a/pod-delete"}},
		{"a match that started just before the lookback does not", []experiment.Experiment{run("kill-a", "a", "pod-delete", shop, edge.Add(-time.Nanosecond))}, nil},
		{"a match that starts after the time of judgement does not", []experiment.Experiment{run("kill-a", "a", "pod-delete", shop, now.Add(time.Nanosecond))}, nil},
		{"of two objects that match, the one started later counts", []experiment.Experiment{
			run("kill-b", "b", "pod-delete", shop, now.Add(-20*time.Minute)),
			run("kill-a", "a", "pod-delete", shop, now.Add(-50*time.Minute)),
		}, []string{"kill-b/b/pod-delete"}},
		{"a later object that does not match does not count", []experiment.Experiment{
			run("kill-a", "a", "pod-delete", shop, now.Add(-50*time.Minute)),
			run("kill-db", "d", "pod-delete", map[string]string{"team": "db", "fault": "pod-delete"}, now.Add(-10*time.Minute)),
			run("kill-x", "x", "pod-delete", nil, now.Add(-5*time.Minute)),
		}, []string{"kill-a/a/pod-delete"}},
		{"the other faults of the matching run come with it", []experiment.Experiment{
			run("kill-a", "a", "pod-delete", shop, now.Add(-30*time.Minute)),
			run("kill-a", "a", "pod-cpu-hog", shop, now.Add(-24*time.Minute)),
		}, []string{"kill-a/a/pod-delete", "kill-a/a/pod-cpu-hog"}},
		{"another tool's or namespace's match does not count", []experiment.Experiment{
			{Tool: experiment.ChaosMesh, Namespace: "shop", Name: "kill-a", UID: "x", Start: now.Add(-time.Minute), Labels: shop},
			{Tool: experiment.Litmus, Namespace: "other", Name: "kill-a", UID: "y", Start: now.Add(-time.Minute), Labels: shop},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := w.Run(now, tc.exps)
			require.Equal(t, tc.want != nil, ok)
			var keys []string
			for _, e := range got {
				keys = append(keys, e.Name+"/"+e.UID+"/"+e.Fault)
			}
			require.Equal(t, tc.want, keys)
		})
	}
}
