package hypyaml

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/hypothesis"
)

// Each variant loads as a hypothesis, with what it was asked for.
func TestEachVariantLoads(t *testing.T) {
	plain, err := hypothesis.Parse([]byte(PodKill{Name: "a", Namespace: "reload"}.YAML()), "a.yaml")
	require.NoError(t, err)
	require.Len(t, plain, 1)
	require.Equal(t, "a", plain[0].Name)
	require.Equal(t, "reload", plain[0].Namespace)
	require.Equal(t, "web", plain[0].Service)
	require.Len(t, plain[0].Metrics, 1)
	require.Contains(t, plain[0].Metrics[0].Value.String(), `namespace="reload"`)
	require.Zero(t, plain[0].Recovery.MTTR)

	full, err := hypothesis.Parse([]byte(PodKill{
		Name: "b", Namespace: "shop", Service: "queue", Description: "web survives", Recovery: true, Alerts: []string{"WebDown", "WebSlow"},
	}.YAML()), "b.yaml")
	require.NoError(t, err)
	require.Len(t, full, 1)
	require.Equal(t, "web survives", full[0].Description)
	require.Equal(t, "queue", full[0].Service)
	require.Contains(t, full[0].Metrics[0].Value.String(), `service="queue"`)
	require.Equal(t, time.Minute, full[0].Recovery.MTTR)
	require.Len(t, full[0].Recovery.Alerts, 2)
	require.Equal(t, "WebSlow", full[0].Recovery.Alerts[1].Name)
	require.True(t, full[0].Judgement.AbortOnHardBound)
}
