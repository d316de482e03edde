package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// serve's judge reads experiment windows from serve's store.
func TestServesJudgeTakesAnExperimentWindowFromItsStore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "h.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: kill-api}
spec:
  service: api
  namespace: shop
  groups: {control: group="control", experimental: group="experimental"}
  window: {experiment: {tool: chaos-mesh, name: kill-api}}
  recovery: {mttr: 1m}
`), 0o600))
	db, err := store.Open(t.Context(), "", store.Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	require.NoError(t, db.SaveExperiment(t.Context(), experiment.Experiment{
		Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-api", UID: "u1", Fault: "pod-kill",
		Start: start, Result: experiment.Injected,
	}))
	cfg := config.Verdicts{
		Hypotheses: []string{file}, PrometheusURL: "http://127.0.0.1:9090", Interval: model.Duration(time.Second),
		ScrapeInterval: model.Duration(15 * time.Second),
	}
	l, err := newVerdictLoop(cfg, config.LeaderElection{}, db, db, nil, verdict.NewBoard(), slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err)
	at := start.Add(time.Minute)
	v, err := l.judge.Judge(t.Context(), &l.hypotheses[0], at)
	require.NoError(t, err)
	require.Len(t, v.Experiments, 1, v.Reason)
	require.Equal(t, "pod-kill", v.Experiments[0].Fault)
	require.True(t, v.Running)
	require.Equal(t, start, v.Window.ChaosStart.UTC())
	require.Equal(t, at, v.Window.ChaosEnd)
}
