package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
)

func newExperiment(tool experiment.Tool, name string, start, end int) experiment.Experiment {
	e := experiment.Experiment{
		Tool: tool, Kind: "PodChaos", Namespace: "shop", Name: name, UID: "uid-" + name, Fault: "pod-kill",
		Target: "mode=one namespaces=shop labels=app=web", Start: at(start), Result: experiment.Injected,
		Detail: "1 of 1 targets injected",
	}
	if end >= 0 {
		e.End, e.Result = at(end), experiment.Recovered
	}
	return e
}

// An experiment is one row a run, replaced by later readings of it (its
// end and result), and listed by tool, name and the time it ran, both
// sides of each bound.
func testExperiments(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	running := newExperiment(experiment.ChaosMesh, "kill-web", 10, -1)
	require.NoError(t, s.SaveExperiment(ctx, running))
	ended := running
	ended.End, ended.Result, ended.Detail = at(40), experiment.Recovered, "1 of 1 targets recovered"
	litmus := newExperiment(experiment.Litmus, "engine-db", 50, 80)
	litmus.Kind, litmus.Fault, litmus.Result = "ChaosEngine", "pod-delete", "Pass"
	list := func(f store.ExperimentFilter) []experiment.Experiment {
		t.Helper()
		got, err := s.Experiments(ctx, f)
		require.NoError(t, err)
		return got
	}
	require.Equal(t, []experiment.Experiment{running}, list(store.ExperimentFilter{}), "running: no end")
	require.Equal(t, []experiment.Experiment{running}, list(store.ExperimentFilter{Since: at(1000)}), "a running one reaches any later time")

	require.NoError(t, s.SaveExperiment(ctx, ended))
	require.NoError(t, s.SaveExperiment(ctx, litmus))
	require.Equal(t, []experiment.Experiment{ended, litmus}, list(store.ExperimentFilter{}), "the later reading replaced the row")
	for _, tc := range []struct {
		name string
		f    store.ExperimentFilter
		want []experiment.Experiment
	}{
		{"by tool", store.ExperimentFilter{Tool: experiment.Litmus}, []experiment.Experiment{litmus}},
		{"by name", store.ExperimentFilter{Name: "kill-web"}, []experiment.Experiment{ended}},
		{"by namespace", store.ExperimentFilter{Namespace: "other"}, nil},
		{"ended at since: still in", store.ExperimentFilter{Since: at(40)}, []experiment.Experiment{ended, litmus}},
		{"ended just before since: out", store.ExperimentFilter{Since: at(40).Add(time.Microsecond)}, []experiment.Experiment{litmus}},
		{"begun just before until: in", store.ExperimentFilter{Until: at(50).Add(time.Microsecond)}, []experiment.Experiment{ended, litmus}},
		{"begun at until: out", store.ExperimentFilter{Until: at(50)}, []experiment.Experiment{ended}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, list(tc.f))
		})
	}

	for _, tc := range []struct {
		name string
		edit func(e *experiment.Experiment)
		want string
	}{
		{"an unknown tool", func(e *experiment.Experiment) { e.Tool = "gremlin" }, `tool: "gremlin" is not one of litmus, chaos-mesh`},
		{"no name", func(e *experiment.Experiment) { e.Name = "" }, "name: not set"},
		{"no start", func(e *experiment.Experiment) { e.Start = time.Time{} }, "start: not set"},
		{"an end before the start", func(e *experiment.Experiment) { e.End = e.Start.Add(-time.Second) }, "end: 2026-03-14T09:00:09.123456789Z is before start"},
		{"a NUL in the detail", func(e *experiment.Experiment) { e.Detail = "a\x00b" }, "detail: NUL character at byte 1"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			e := newExperiment(experiment.ChaosMesh, "bad", 10, -1)
			tc.edit(&e)
			err := s.SaveExperiment(ctx, e)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "store: saving experiment shop/")
		})
	}
	require.Equal(t, []experiment.Experiment{ended, litmus}, list(store.ExperimentFilter{}), "nothing refused was stored")
}
