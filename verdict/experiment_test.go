package verdict_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// fakeExperiments is an ExperimentSource over a fixed list, selecting as
// the store does (experiment.Filter), and recording the filters asked.
type fakeExperiments struct {
	exps    []experiment.Experiment
	err     error
	filters []experiment.Filter
}

func (f *fakeExperiments) Experiments(_ context.Context, flt experiment.Filter) ([]experiment.Experiment, error) {
	f.filters = append(f.filters, flt)
	if f.err != nil {
		return nil, f.err
	}
	var out []experiment.Experiment
	for _, e := range f.exps {
		if (flt.Tool == "" || e.Tool == flt.Tool) && (flt.Namespace == "" || e.Namespace == flt.Namespace) &&
			(flt.Name == "" || e.Name == flt.Name) && (flt.Since.IsZero() || e.Running() || !e.End.Before(flt.Since)) &&
			(flt.Until.IsZero() || e.Start.Before(flt.Until)) && (flt.Selector == nil || flt.Selector.Matches(labels.Set(e.Labels))) {
			out = append(out, e)
		}
	}
	return out, nil
}

// The experiment window of these tests: a Litmus engine shop/kill-api,
// an hour's lookback, 5 minutes after.
const experimentWindow = `window: {experiment: {tool: litmus, name: kill-api, lookback: 1h, after: 5m}}`

// litmusRun is a run of kill-api from base+10m to end (zero: running).
func litmusRun(result string, end time.Time) experiment.Experiment {
	return experiment.Experiment{
		Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "kill-api", UID: "u1", Fault: "pod-delete",
		Target: "appns=shop applabel=app=api", Start: base.Add(10 * time.Minute), End: end, Result: result,
		Detail: "phase Completed; probe success 100%",
	}
}

// duringRun sets an A/A latency whose experimental group is scaled by
// factor from base+10m to base+45m only (the runs' windows): before it,
// in the baseline, the groups are alike.
func duringRun(f *verdicttest.Source, factor float64) {
	f.Set("latency", chaos.Control, lognormal(1, nSamples, 0.1, 0.3))
	e := lognormal(2, nSamples, 0.1, 0.3)
	for i := 40; i <= 180; i++ {
		e[i] *= factor
	}
	f.Set("latency", chaos.Experimental, e)
}

func TestAnExperimentWindowIsTheExperimentsLatestRun(t *testing.T) {
	at := base.Add(50 * time.Minute)
	ended := litmusRun(experiment.LitmusPass, base.Add(40*time.Minute))
	src := &fakeExperiments{exps: []experiment.Experiment{
		{
			Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "kill-api", UID: "u0", Fault: "pod-delete",
			Start: base.Add(-20 * time.Minute), End: base.Add(-10 * time.Minute), Result: experiment.LitmusFail,
		},
		ended,
	}}
	f := newSource()
	aa(f, "latency", 1, 1)
	v, err := newJudge(t, verdict.Options{Samples: f, Experiments: src}).Judge(t.Context(), hyp(t, experimentWindow, metrics(latencyMetric)), at)
	require.NoError(t, err)
	require.Equal(t, []experiment.Filter{{Tool: experiment.Litmus, Namespace: "shop", Name: "kill-api", Since: at.Add(-time.Hour), Until: at.Add(time.Nanosecond)}},
		src.filters, "the experiment of the hypothesis's namespace, over the lookback")
	require.Equal(t, hypothesis.Span{
		Start: base.Add(10 * time.Minute), End: base.Add(45 * time.Minute),
		ChaosStart: base.Add(10 * time.Minute), ChaosEnd: base.Add(40 * time.Minute),
	}, v.Window)
	require.False(t, v.Running)
	require.Equal(t, verdict.Pass, v.Result, v.Reason)
	require.Empty(t, v.ToolDisagrees, "Litmus passed it too")
	require.Equal(t, []verdict.Experiment{{
		Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "kill-api", UID: "u1", Fault: "pod-delete",
		Start: ended.Start, End: ended.End, Result: experiment.LitmusPass, Detail: "phase Completed; probe success 100%",
	}}, v.Experiments)
	for _, q := range f.Queries() {
		if !strings.HasPrefix(q.Expr, verdicttest.RawPrefix) && !strings.HasPrefix(q.Expr, verdicttest.TargetsPrefix) {
			require.Equal(t, base.Add(10*time.Minute), q.Start, q.Expr)
			require.Equal(t, base.Add(45*time.Minute), q.End, q.Expr)
		}
	}

	data, err := json.Marshal(v)
	require.NoError(t, err)
	var got struct {
		Experiments []map[string]any `json:"experiments"`
	}
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, []map[string]any{{
		"tool": "litmus", "kind": "ChaosEngine", "namespace": "shop", "name": "kill-api", "uid": "u1", "fault": "pod-delete",
		"start": "2026-03-01T12:10:00Z", "end": "2026-03-01T12:40:00Z", "result": "Pass", "detail": "phase Completed; probe success 100%",
	}}, got.Experiments)
	var back verdict.Verdict
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, v.Experiments, back.Experiments)
}

func TestAnExperimentWindowBySelectorIsTheLatestRunOfTheObjectsItSelects(t *testing.T) {
	at := base.Add(50 * time.Minute)
	labelled := func(name, uid string, start time.Duration, lbls map[string]string) experiment.Experiment {
		e := litmusRun(experiment.LitmusPass, base.Add(40*time.Minute))
		e.Name, e.UID, e.Start, e.Labels = name, uid, base.Add(start), lbls
		return e
	}
	shop := map[string]string{"team": "shop", "fault": "pod-delete"}
	src := &fakeExperiments{exps: []experiment.Experiment{
		labelled("kill-api-1", "u1", 0, shop),
		labelled("kill-api-2", "u2", 10*time.Minute, shop),
		labelled("kill-db", "u3", 20*time.Minute, map[string]string{"team": "db", "fault": "pod-delete"}),
	}}
	f := newSource()
	aa(f, "latency", 1, 1)
	window := `window: {experiment: {tool: litmus, selector: "team=shop,fault in (pod-delete)", lookback: 1h, after: 5m}}`
	v, err := newJudge(t, verdict.Options{Samples: f, Experiments: src}).Judge(t.Context(), hyp(t, window, metrics(latencyMetric)), at)
	require.NoError(t, err)
	require.Len(t, src.filters, 1)
	flt := src.filters[0]
	require.NotNil(t, flt.Selector, "the selector is asked of the store")
	require.Equal(t, "fault in (pod-delete),team=shop", flt.Selector.String())
	flt.Selector = nil
	require.Equal(t, experiment.Filter{Tool: experiment.Litmus, Namespace: "shop", Since: at.Add(-time.Hour), Until: at.Add(time.Nanosecond)}, flt,
		"no name: the selector picks the objects")
	require.Equal(t, verdict.Pass, v.Result, v.Reason)
	require.Len(t, v.Experiments, 1)
	require.Equal(t, "kill-api-2", v.Experiments[0].Name, "of the two objects selected, the later run; not the later one of another team")
	require.Equal(t, base.Add(10*time.Minute), v.Window.ChaosStart)
}

func TestAnExperimentWindowCountsARunThatStartedWithinItsLookback(t *testing.T) {
	// The run starts at base+10m; judged an hour later it is just within
	// the lookback, a nanosecond later just outside.
	edge := base.Add(70 * time.Minute)
	for _, tc := range []struct {
		name string
		at   time.Time
		want verdict.Result
	}{
		{"a run that started a lookback before counts", edge, verdict.Pass},
		{"a run that started a nanosecond more before does not", edge.Add(time.Nanosecond), verdict.Inconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			aa(f, "latency", 1, 1)
			src := &fakeExperiments{exps: []experiment.Experiment{litmusRun(experiment.LitmusPass, base.Add(40*time.Minute))}}
			v, err := newJudge(t, verdict.Options{Samples: f, Experiments: src}).Judge(t.Context(), hyp(t, experimentWindow, metrics(latencyMetric)), tc.at)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
		})
	}
}

func TestARunningExperimentsVerdictIsRunningToTheTimeOfJudgement(t *testing.T) {
	at := base.Add(30 * time.Minute)
	for _, after := range []string{"0s", "5m"} {
		t.Run("after "+after, func(t *testing.T) {
			f := newSource()
			aa(f, "latency", 1, 1)
			src := &fakeExperiments{exps: []experiment.Experiment{litmusRun(experiment.LitmusAwaited, time.Time{})}}
			h := hyp(t, `window: {experiment: {tool: litmus, name: kill-api, after: `+after+`}}`, metrics(latencyMetric))
			v, err := newJudge(t, verdict.Options{Samples: f, Experiments: src}).Judge(t.Context(), h, at)
			require.NoError(t, err)
			require.True(t, v.Running, "the experiment has not ended")
			require.Equal(t, at, v.Window.ChaosEnd)
			require.Equal(t, at.Add(h.Window.Experiment.After), v.Window.End)
			require.Equal(t, verdict.Pass, v.Result, v.Reason)
			require.Empty(t, v.ToolDisagrees, "Awaited while it runs is no disagreement")
			data, err := json.Marshal(v.Experiments[0])
			require.NoError(t, err)
			require.NotContains(t, string(data), `"end"`, "no end while it runs")
		})
	}
}

func TestAnExperimentWindowWithoutARunIsInconclusiveSayingWhatToCheck(t *testing.T) {
	at := base.Add(50 * time.Minute)
	other := litmusRun(experiment.LitmusPass, base.Add(40*time.Minute))
	other.Namespace = "chaos"
	otherTeam := litmusRun(experiment.LitmusPass, base.Add(40*time.Minute))
	otherTeam.Labels = map[string]string{"team": "db", "fault": "pod-delete"}
	const selectorWindow = `window: {experiment: {tool: litmus, selector: "team=shop,fault in (pod-delete)", lookback: 1h, after: 5m}}`
	for _, tc := range []struct {
		name   string
		source verdict.ExperimentSource
		window string // "": experimentWindow
		reason string
	}{
		{"no store", nil, "", "no store: the window is the latest run of litmus experiment shop/kill-api, and there is no store of the experiments steadywatch recorded: " +
			"give steadywatch verdict --store or --data-dir (serve judges with its own)"},
		{
			"a store that fails", &fakeExperiments{err: errors.New("database is locked")}, "",
			"reading the runs of litmus experiment shop/kill-api: database is locked",
		},
		{
			"no run of it, only one in another namespace", &fakeExperiments{exps: []experiment.Experiment{other}}, "",
			"no run of litmus experiment shop/kill-api started in the 1h before 2026-03-01T12:50:00Z: is serve watching namespace shop (watch.namespaces), " +
				"are litmus's CRDs installed, and are the tool, name and namespace those of the experiment?",
		},
		{
			"no run the selector selects, only one of another team", &fakeExperiments{exps: []experiment.Experiment{other, otherTeam}}, selectorWindow,
			`no run of litmus experiments in shop selected by "fault in (pod-delete),team=shop" started in the 1h before 2026-03-01T12:50:00Z: ` +
				"is serve watching namespace shop (watch.namespaces), are litmus's CRDs installed, and does " +
				"kubectl get chaosengine -n shop -l 'fault in (pod-delete),team=shop' list the experiment's object?",
		},
		{
			"no Chaos Mesh run the selector selects", &fakeExperiments{}, `window: {experiment: {tool: chaos-mesh, selector: "!canary", lookback: 1h}}`,
			`no run of chaos-mesh experiments in shop selected by "!canary" started in the 1h before 2026-03-01T12:50:00Z: ` +
				"is serve watching namespace shop (watch.namespaces), are chaos-mesh's CRDs installed, and does " +
				"kubectl get podchaos,networkchaos,stresschaos,iochaos,timechaos -n shop -l '!canary' list the experiment's object?",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			aa(f, "latency", 1, 1)
			o := verdict.Options{Samples: f}
			if tc.source != nil {
				o.Experiments = tc.source
			}
			window := experimentWindow
			if tc.window != "" {
				window = tc.window
			}
			v, err := newJudge(t, o).Judge(t.Context(), hyp(t, window, metrics(latencyMetric)+"  recovery: {mttr: 3m}\n"), at)
			require.NoError(t, err)
			require.Equal(t, verdict.Inconclusive, v.Result)
			require.Equal(t, tc.reason, v.Reason)
			require.Equal(t, tc.reason, v.Metrics[0].Reason)
			require.Equal(t, tc.reason, v.Recovery[0].Reason)
			require.True(t, math.IsNaN(v.Score))
			require.Empty(t, f.Queries(), "nothing to query without a window")
		})
	}
}

func TestTheVerdictSaysWhereTheChaosToolDisagrees(t *testing.T) {
	at := base.Add(50 * time.Minute)
	end := base.Add(40 * time.Minute)
	chaosMesh := func(result string, end time.Time) experiment.Experiment {
		return experiment.Experiment{
			Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-api", UID: "u2", Fault: "pod-kill",
			Start: base.Add(10 * time.Minute), End: end, Result: result, Detail: "1 target",
		}
	}
	const (
		litmusWindow = experimentWindow
		meshWindow   = `window: {experiment: {tool: chaos-mesh, name: kill-api, lookback: 1h, after: 5m}}`
	)
	for _, tc := range []struct {
		name   string
		window string
		run    experiment.Experiment
		// factor scales the experimental latency: 1 passes, 1.5 fails.
		factor    float64
		want      verdict.Result
		reason    string // a part of it
		disagrees string // "": none
	}{
		{
			name: "Litmus passed what steadywatch fails: the failure stands, with the note", window: litmusWindow,
			run: litmusRun(experiment.LitmusPass, end), factor: 1.5, want: verdict.Fail, reason: "critical metric latency failed",
			disagrees: "the chaos tool's verdict differs from steadywatch's fail: litmus ChaosEngine shop/kill-api pod-delete: Pass (phase Completed; probe success 100%)",
		},
		{
			name: "Litmus failed what steadywatch passes: the pass stands, with the note", window: litmusWindow,
			run: litmusRun(experiment.LitmusFail, end), factor: 1, want: verdict.Pass, reason: "score 100",
			disagrees: "the chaos tool's verdict differs from steadywatch's pass: litmus ChaosEngine shop/kill-api pod-delete: Fail (phase Completed; probe success 100%)",
		},
		{
			name: "Litmus failed what steadywatch fails too: they agree", window: litmusWindow,
			run: litmusRun(experiment.LitmusFail, end), factor: 1.5, want: verdict.Fail, reason: "critical metric latency failed",
		},
		{
			name: "Litmus's Error makes a pass inconclusive: the fault may not have happened", window: litmusWindow,
			run: litmusRun(experiment.LitmusError, end), factor: 1, want: verdict.Inconclusive,
			reason:    "the steady state held (score 100 at or above the pass score 95), but the chaos tool says its fault was not applied as it should have been: litmus ChaosEngine shop/kill-api pod-delete: Error (phase Completed; probe success 100%): without the fault the window shows nothing of it",
			disagrees: "the chaos tool says its fault was not applied as it should have been: litmus ChaosEngine shop/kill-api pod-delete: Error (phase Completed; probe success 100%)",
		},
		{
			name: "Litmus's Stopped makes a pass inconclusive", window: litmusWindow,
			run: litmusRun(experiment.LitmusStopped, end), factor: 1, want: verdict.Inconclusive, reason: "pod-delete: Stopped",
			disagrees: "the chaos tool says its fault was not applied as it should have been: litmus ChaosEngine shop/kill-api pod-delete: Stopped (phase Completed; probe success 100%)",
		},
		{
			name: "a failure stays a failure when Litmus stopped, with the note", window: litmusWindow,
			run: litmusRun(experiment.LitmusStopped, end), factor: 1.5, want: verdict.Fail, reason: "critical metric latency failed",
			disagrees: "the chaos tool says its fault was not applied as it should have been: litmus ChaosEngine shop/kill-api pod-delete: Stopped (phase Completed; probe success 100%)",
		},
		{
			name: "Chaos Mesh's failed makes a pass inconclusive", window: meshWindow,
			run: chaosMesh(experiment.Failed, time.Time{}), factor: 1, want: verdict.Inconclusive, reason: "chaos-mesh PodChaos shop/kill-api pod-kill: failed (1 target)",
			disagrees: "the chaos tool says its fault was not applied as it should have been: chaos-mesh PodChaos shop/kill-api pod-kill: failed (1 target)",
		},
		{
			name: "a Chaos Mesh experiment that ended without injecting makes a pass inconclusive", window: meshWindow,
			run: chaosMesh("", end), factor: 1, want: verdict.Inconclusive, reason: "chaos-mesh PodChaos shop/kill-api pod-kill: no result (1 target)",
			disagrees: "the chaos tool says its fault was not applied as it should have been: chaos-mesh PodChaos shop/kill-api pod-kill: no result (1 target)",
		},
		{
			name: "a recovered Chaos Mesh experiment passes: Chaos Mesh has no verdict to differ", window: meshWindow,
			run: chaosMesh(experiment.Recovered, end), factor: 1, want: verdict.Pass, reason: "score 100",
		},
		{
			name: "a recovered Chaos Mesh experiment fails as steadywatch judges it, without a note", window: meshWindow,
			run: chaosMesh(experiment.Recovered, end), factor: 1.5, want: verdict.Fail, reason: "critical metric latency failed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSource()
			duringRun(f, tc.factor)
			src := &fakeExperiments{exps: []experiment.Experiment{tc.run}}
			v, err := newJudge(t, verdict.Options{Samples: f, Experiments: src}).Judge(t.Context(), hyp(t, tc.window, metrics(latencyMetric)), at)
			require.NoError(t, err)
			require.Equal(t, tc.want, v.Result, v.Reason)
			require.Contains(t, v.Reason, tc.reason)
			require.Equal(t, tc.disagrees, v.ToolDisagrees)
			require.Len(t, v.Experiments, 1)
		})
	}
}

func TestAnEnginesFaultsAreOneRunAndEachIsChecked(t *testing.T) {
	at := base.Add(50 * time.Minute)
	deleted := litmusRun(experiment.LitmusPass, base.Add(20*time.Minute))
	hog := litmusRun(experiment.LitmusError, base.Add(40*time.Minute))
	hog.Fault, hog.Start = "pod-cpu-hog", base.Add(25*time.Minute)
	src := &fakeExperiments{exps: []experiment.Experiment{deleted, hog}}
	f := newSource()
	aa(f, "latency", 1, 1)
	j := newJudge(t, verdict.Options{Samples: f, Experiments: src})

	v, err := j.Judge(t.Context(), hyp(t, experimentWindow, metrics(latencyMetric)), at)
	require.NoError(t, err)
	require.Equal(t, base.Add(10*time.Minute), v.Window.ChaosStart)
	require.Equal(t, base.Add(40*time.Minute), v.Window.ChaosEnd, "the window spans both faults")
	require.Len(t, v.Experiments, 2)
	require.Equal(t, verdict.Inconclusive, v.Result, "the second fault errored")
	require.Contains(t, v.Reason, "pod-cpu-hog: Error")

	v, err = j.Judge(t.Context(), hyp(t, `window: {experiment: {tool: litmus, name: kill-api, fault: pod-delete, after: 5m}}`, metrics(latencyMetric)), at)
	require.NoError(t, err)
	require.Equal(t, base.Add(20*time.Minute), v.Window.ChaosEnd, "fault: pod-delete is the first fault alone")
	require.Equal(t, verdict.Pass, v.Result, v.Reason)
	require.Len(t, v.Experiments, 1)
}
