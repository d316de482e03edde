package promtest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
)

func TestPrometheusStartsOnOpenMetricsData(t *testing.T) {
	// Long ago: Prometheus serves data of any age it has blocks for.
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	data := "# TYPE requests counter\n"
	for i := range 41 {
		data += "requests_total{group=\"a\"} " + model.SampleValue(float64(6*i)).String() + " " +
			model.TimeFromUnixNano(at.Add(time.Duration(i)*15*time.Second).UnixNano()).String() + "\n"
	}
	data += "# EOF\n"
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: "global: {}\n", OpenMetrics: data})

	v, _, _, err := p.API().QueryRange(t.Context(), `rate(requests_total{group="a"}[1m])`,
		v1.Range{Start: at.Add(5 * time.Minute), End: at.Add(10 * time.Minute), Step: time.Minute})
	require.NoError(t, err)
	m, ok := v.(model.Matrix)
	require.True(t, ok)
	require.Len(t, m, 1)
	require.Len(t, m[0].Values, 6)
	for _, s := range m[0].Values {
		require.InDelta(t, 0.4, float64(s.Value), 1e-9, "6 requests every 15 s")
	}
	flags, err := p.API().Flags(t.Context())
	require.NoError(t, err)
	require.Equal(t, "10y", flags["storage.tsdb.retention.time"])
	om, err := os.ReadFile(filepath.Join(p.Dir, "backfill.om"))
	require.NoError(t, err)
	require.Equal(t, data, string(om))
}

func TestPrometheusRefusesBadOpenMetricsData(t *testing.T) {
	if os.Getenv(promtest.SkipEnv) == "1" {
		t.Skip("needs promtool")
	}
	_, err := promtest.NewPrometheus(t.Context(), t.TempDir(), promtest.PrometheusOptions{OpenMetrics: "requests_total 1 1577836800\n"})
	require.ErrorContains(t, err, "loading the OpenMetrics data: promtool tsdb create-blocks-from openmetrics")
	require.ErrorContains(t, err, "EOF")
}
