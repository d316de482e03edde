package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
)

// An experiment window is resolved from the experiments in the SQLite
// store of --data-dir, as serve's experiment watcher records them.
func TestVerdictTakesAnExperimentWindowFromTheStore(t *testing.T) {
	const doc = `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: kill-api}
spec:
  service: api
  namespace: shop
  groups: {control: group="control", experimental: group="experimental"}
  window:
    experiment: {tool: litmus, name: kill-api, lookback: 1h, before: 1m, after: 5m}
  metrics:
    - name: latency
      query: latency{ {{ .Group }} }
      direction: higherIsWorse
      allowedEffect: 20%
`
	file := filepath.Join(t.TempDir(), "h.yaml")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))
	dataDir := t.TempDir()
	start := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	db, err := store.Open(t.Context(), "", store.Options{DataDir: dataDir})
	require.NoError(t, err)
	for _, e := range []experiment.Experiment{
		{
			Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "kill-api", UID: "u1", Fault: "pod-delete",
			Start: start, End: start.Add(10 * time.Minute), Result: experiment.LitmusError, Detail: "failed step: ChaosInject",
		},
		// Another namespace's engine of the same name, later: not this one.
		{Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "other", Name: "kill-api", UID: "u2", Fault: "pod-delete", Start: start.Add(5 * time.Minute)},
	} {
		require.NoError(t, db.SaveExperiment(t.Context(), e))
	}
	require.NoError(t, db.Close())
	url, _ := fakePrometheus(t, "") // answers no query: the metric is inconclusive

	judge := func(t *testing.T, at time.Time, output string) (code int, out string) {
		t.Helper()
		code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--scrape-interval", "15s",
			"--data-dir", dataDir, "--at", at.Format(time.RFC3339Nano), "--output", output)
		require.NotEqual(t, cli.ExitUsage, code, "stderr: %s", stderr)
		return code, out
	}
	type verdictJSON struct {
		Result      string
		Reason      string
		Running     bool
		Window      struct{ Start, End, ChaosStart, ChaosEnd time.Time }
		Experiments []struct {
			Tool, Kind, Namespace, Name, UID, Fault, Result, Detail string
			Start                                                   time.Time
			End                                                     *time.Time
		}
		ToolDisagrees string `json:"tool_disagrees"`
	}
	parse := func(t *testing.T, out string) verdictJSON {
		t.Helper()
		var got struct{ Verdicts []verdictJSON }
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		require.Len(t, got.Verdicts, 1)
		return got.Verdicts[0]
	}

	t.Run("a run that started a lookback before is the window, with what Litmus said of it", func(t *testing.T) {
		code, out := judge(t, start.Add(time.Hour), "json")
		require.Equal(t, cli.ExitInconclusive, code, out)
		v := parse(t, out)
		require.Equal(t, start.Add(-time.Minute), v.Window.Start.UTC())
		require.Equal(t, start.Add(15*time.Minute), v.Window.End.UTC())
		require.Equal(t, start, v.Window.ChaosStart.UTC())
		require.Equal(t, start.Add(10*time.Minute), v.Window.ChaosEnd.UTC())
		require.False(t, v.Running)
		require.Len(t, v.Experiments, 1)
		e := v.Experiments[0]
		require.Equal(t, []string{"litmus", "ChaosEngine", "shop", "kill-api", "u1", "pod-delete", "Error", "failed step: ChaosInject"},
			[]string{e.Tool, e.Kind, e.Namespace, e.Name, e.UID, e.Fault, e.Result, e.Detail})
		require.Equal(t, start, e.Start.UTC())
		require.NotNil(t, e.End)
		require.Equal(t, "the chaos tool says its fault was not applied as it should have been: litmus ChaosEngine shop/kill-api pod-delete: Error (failed step: ChaosInject)", v.ToolDisagrees)
	})
	t.Run("the table names the experiment and the disagreement", func(t *testing.T) {
		_, out := judge(t, start.Add(time.Hour), "table")
		require.Contains(t, out, "experiment litmus ChaosEngine shop/kill-api pod-delete: Error (failed step: ChaosInject), 2026-11-01T01:00:00Z – 2026-11-01T01:10:00Z\n")
		require.Contains(t, out, "tool disagrees: the chaos tool says its fault was not applied")
	})
	t.Run("a millisecond later the run is outside the lookback: inconclusive, saying what to check", func(t *testing.T) {
		code, out := judge(t, start.Add(time.Hour+time.Millisecond), "json")
		require.Equal(t, cli.ExitInconclusive, code, out)
		v := parse(t, out)
		require.Empty(t, v.Experiments)
		require.Equal(t, "no run of litmus experiment shop/kill-api started in the 1h before 2026-11-01T02:00:00Z: is serve watching namespace shop (watch.namespaces), "+
			"are litmus's CRDs installed, and are the tool, name and namespace those of the experiment?", v.Reason)
	})
	t.Run("while the run goes on, the verdict is running", func(t *testing.T) {
		code, out := judge(t, start.Add(5*time.Minute), "json")
		require.Equal(t, cli.ExitInconclusive, code, out)
		v := parse(t, out)
		require.True(t, v.Running)
		require.Equal(t, start.Add(5*time.Minute), v.Window.ChaosEnd.UTC())
	})
}

// A window by label selector is resolved from the store's experiments
// and their labels: of the objects it selects in the namespace, the run
// that started latest.
func TestVerdictTakesAnExperimentWindowBySelectorFromTheStore(t *testing.T) {
	const doc = `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: kill-api}
spec:
  service: api
  namespace: shop
  groups: {control: group="control", experimental: group="experimental"}
  window:
    experiment: {tool: litmus, selector: "team=shop,fault in (pod-delete)", lookback: 1h, after: 5m}
  metrics:
    - name: latency
      query: latency{ {{ .Group }} }
      direction: higherIsWorse
      allowedEffect: 20%
`
	file := filepath.Join(t.TempDir(), "h.yaml")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))
	dataDir := t.TempDir()
	start := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	db, err := store.Open(t.Context(), "", store.Options{DataDir: dataDir})
	require.NoError(t, err)
	shop := map[string]string{"team": "shop", "fault": "pod-delete"}
	runOf := func(ns, name, uid string, after time.Duration, lbls map[string]string) experiment.Experiment {
		return experiment.Experiment{
			Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: ns, Name: name, UID: uid, Fault: "pod-delete",
			Start: start.Add(after), End: start.Add(after + 5*time.Minute), Result: experiment.LitmusPass, Labels: lbls,
		}
	}
	for _, e := range []experiment.Experiment{
		runOf("shop", "kill-api-1", "u1", 0, shop),
		runOf("shop", "kill-api-2", "u2", 10*time.Minute, shop),
		// Later, but of another team, or of another namespace.
		runOf("shop", "kill-db", "u3", 20*time.Minute, map[string]string{"team": "db", "fault": "pod-delete"}),
		runOf("other", "kill-api-3", "u4", 20*time.Minute, shop),
	} {
		require.NoError(t, db.SaveExperiment(t.Context(), e))
	}
	require.NoError(t, db.Close())
	url, _ := fakePrometheus(t, "")

	at := start.Add(40 * time.Minute)
	code, out, stderr := run(t, "verdict", "-f", file, "--prometheus", url, "--scrape-interval", "15s",
		"--data-dir", dataDir, "--at", at.Format(time.RFC3339Nano), "--output", "json")
	require.NotEqual(t, cli.ExitUsage, code, "stderr: %s", stderr)
	var got struct {
		Verdicts []struct {
			Window      struct{ ChaosStart, ChaosEnd time.Time }
			Experiments []struct{ Name, UID string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got.Verdicts, 1)
	v := got.Verdicts[0]
	require.Len(t, v.Experiments, 1, out)
	require.Equal(t, "kill-api-2", v.Experiments[0].Name)
	require.Equal(t, start.Add(10*time.Minute), v.Window.ChaosStart)
	require.Equal(t, start.Add(15*time.Minute), v.Window.ChaosEnd)
}
