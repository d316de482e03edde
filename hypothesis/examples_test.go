package hypothesis

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
)

func loadExamples(t *testing.T) map[string]Hypothesis {
	t.Helper()
	hs, err := Load(filepath.Join("..", "examples"))
	require.NoError(t, err)
	byName := make(map[string]Hypothesis, len(hs))
	names := make([]string, len(hs))
	for i, h := range hs {
		byName[h.Name] = h
		names[i] = h.Name
		require.Equal(t, filepath.Join("..", "examples", h.Name+".yaml"), h.Source.File, "each example is named after its file")
	}
	require.Equal(t, []string{"cpu-autoscaling", "host-failure", "kill-postgres-replica", "resource-exhaustion"}, names)
	return byName
}

func TestTheExamplesSelectTheGroupsByOneLabel(t *testing.T) {
	for name, h := range loadExamples(t) {
		require.Equal(t, Groups{
			Control:      `steadywatch_io_group="control"`,
			Experimental: `steadywatch_io_group="experimental"`,
		}, h.Groups, name)
		require.NotEmpty(t, h.Metrics, name)
		for _, m := range h.Metrics {
			require.Contains(t, m.Query(chaos.Experimental), `steadywatch_io_group="experimental"`, "%s: %s", name, m.Name)
		}
	}
}

func TestEachExampleJudgesItsExperiment(t *testing.T) {
	ex := loadExamples(t)

	kill := ex["kill-postgres-replica"]
	require.Equal(t, []chaos.Kind{chaos.PodDeleted}, kill.Window.Events.Kinds)
	require.Equal(t, 2*time.Minute, kill.Recovery.ReplacementReady)
	require.NotNil(t, kill.Metrics[1].Ratio, "the API's errors are judged on their counts")

	exhaustion := ex["resource-exhaustion"]
	require.NotNil(t, exhaustion.Window.Fixed)
	require.Equal(t, []AlertExpectation{{Name: "ScaleAppHighLatency", Within: 5 * time.Minute}}, exhaustion.Recovery.Alerts)
	require.InDelta(t, 1.0, exhaustion.Metrics[0].AllowedEffect, 0, "latency may double")

	host := ex["host-failure"]
	require.Contains(t, host.Window.Events.Kinds, chaos.NodeNotReady)
	require.True(t, host.Metrics[0].Critical)
	require.InDelta(t, 0.75, host.Judgement.MinJudged, 0)

	scaling := ex["cpu-autoscaling"]
	require.Equal(t, &HPAExpectation{Name: "scale-app-experimental", MinReplicas: 4, Within: 3 * time.Minute, BaselineWithin: 10 * time.Minute}, scaling.Recovery.HPA)
}
