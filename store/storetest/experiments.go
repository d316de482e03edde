package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
)

func newExperiment(tool experiment.Tool, name string, start, end int) experiment.Experiment {
	e := experiment.Experiment{
		Tool: tool, Kind: "PodChaos", Namespace: "shop", Name: name, UID: "uid-" + name, Fault: "pod-kill",
		Target: "mode=one namespaces=shop labels=app=web", Start: at(start), Result: experiment.Injected,
		Detail: "1 of 1 targets injected", Labels: map[string]string{"team": "shop", "fault": "pod-kill"},
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
	litmus.Labels = map[string]string{"team": "db", "fault": "pod-delete", "app.kubernetes.io/part-of": "checkout"}
	selector := func(s string) labels.Selector {
		t.Helper()
		sel, err := labels.Parse(s)
		require.NoError(t, err)
		return sel
	}
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
		{"a selector its labels match: in", store.ExperimentFilter{Selector: selector("team=shop")}, []experiment.Experiment{ended}},
		{"a selector its labels do not match: out", store.ExperimentFilter{Selector: selector("team=pay")}, nil},
		{"a selector of several requirements, all met", store.ExperimentFilter{Selector: selector("team=db,app.kubernetes.io/part-of=checkout")}, []experiment.Experiment{litmus}},
		{"a selector of several requirements, one unmet", store.ExperimentFilter{Selector: selector("team=shop,app.kubernetes.io/part-of=checkout")}, nil},
		{"set-based: in", store.ExperimentFilter{Selector: selector("fault in (pod-delete,pod-cpu-hog)")}, []experiment.Experiment{litmus}},
		{"set-based: notin", store.ExperimentFilter{Selector: selector("fault notin (pod-delete)")}, []experiment.Experiment{ended}},
		{"set-based: a label absent", store.ExperimentFilter{Selector: selector("!app.kubernetes.io/part-of")}, []experiment.Experiment{ended}},
		{"set-based: a label every one has, absent", store.ExperimentFilter{Selector: selector("!team")}, nil},
		{"set-based: a label present", store.ExperimentFilter{Selector: selector("app.kubernetes.io/part-of")}, []experiment.Experiment{litmus}},
		{"everything", store.ExperimentFilter{Selector: labels.Everything()}, []experiment.Experiment{ended, litmus}},
		{"a selector and a tool: both apply", store.ExperimentFilter{Tool: experiment.ChaosMesh, Selector: selector("fault in (pod-delete)")}, nil},
		{"a selector and a time bound: both apply", store.ExperimentFilter{Until: at(50), Selector: selector("team in (shop,db)")}, []experiment.Experiment{ended}},
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

// A run without labels reads back without them; a label value is kept as
// written, quotes and all.
func testExperimentLabels(t *testing.T, db Database) {
	ctx := t.Context()
	s := open(t, db)
	bare := newExperiment(experiment.Litmus, "bare", 10, 20)
	bare.Labels = nil
	odd := newExperiment(experiment.Litmus, "odd", 30, 40)
	odd.Labels = map[string]string{"note": `say "hi"\`, "empty": ""}
	require.NoError(t, s.SaveExperiment(ctx, bare))
	require.NoError(t, s.SaveExperiment(ctx, odd))
	got, err := s.Experiments(ctx, store.ExperimentFilter{})
	require.NoError(t, err)
	require.Equal(t, []experiment.Experiment{bare, odd}, got)
	sel, err := labels.Parse("empty=")
	require.NoError(t, err)
	got, err = s.Experiments(ctx, store.ExperimentFilter{Selector: sel})
	require.NoError(t, err)
	require.Equal(t, []experiment.Experiment{odd}, got, "an empty value is a value")
}

// A database of schema version 8 keeps its experiments through the
// upgrade, without labels.
func testUpgradeFromV8(t *testing.T, db Database) {
	ctx := t.Context()
	require.NoError(t, db.Migrate(ctx, 8))
	require.NoError(t, db.Exec(ctx, fmt.Sprintf(`INSERT INTO experiments (cluster, tool, namespace, name, uid, fault, kind, target,
	start_ns, end_ns, result, detail) VALUES ('', 'litmus', 'shop', 'old', 'uid-old', 'pod-delete', 'ChaosEngine', 'appns=shop', %d, %d, 'Pass', '')`,
		at(1).UnixNano(), at(2).UnixNano())))
	s := open(t, db)
	got, err := s.Experiments(ctx, store.ExperimentFilter{})
	require.NoError(t, err)
	require.Equal(t, []experiment.Experiment{{
		Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "old", UID: "uid-old", Fault: "pod-delete",
		Target: "appns=shop", Start: at(1), End: at(2), Result: "Pass",
	}}, got)
	sel, err := labels.Parse("!team")
	require.NoError(t, err)
	got, err = s.Experiments(ctx, store.ExperimentFilter{Selector: sel})
	require.NoError(t, err)
	require.Len(t, got, 1, "an old run has no labels")
}
