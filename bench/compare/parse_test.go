package compare

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTheWrapperModuleBuildsTheVersionCompared(t *testing.T) {
	data, err := os.ReadFile("ksm/go.mod")
	require.NoError(t, err)
	versions := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "v") {
			versions[f[0]] = f[1]
		}
	}
	require.Equal(t, ksmVersion, versions["k8s.io/kube-state-metrics/v2"])
}

func TestKSMPodLineFindsThePodsInfoAndDeletionOnly(t *testing.T) {
	for _, c := range []struct {
		line           string
		info, deleting bool
	}{
		{`kube_pod_info{namespace="compare",pod="web-1",uid="u",host_ip="127.0.0.1"} 1`, true, false},
		{`kube_pod_deletion_timestamp{namespace="compare",pod="web-1",uid="u"} 1.7e+09`, false, true},
		{`kube_pod_info{pod="web-1",namespace="compare"} 1`, true, false},
		{`kube_pod_info{namespace="compare",pod="web-12",uid="u"} 1`, false, false},
		{`kube_pod_info{namespace="compare",created_by_name="web-1",pod="x"} 1`, false, false},
		{`kube_pod_status_ready{namespace="compare",pod="web-1",condition="true"} 1`, false, false},
		{`kube_pod_info_total 3`, false, false},
	} {
		info, deleting := ksmPodLine(c.line, "web-1")
		require.Equal(t, c.info, info, c.line)
		require.Equal(t, c.deleting, deleting, c.line)
	}
}

func TestPodDeletedSampleReadsOnlyPodDeletions(t *testing.T) {
	v, ok, err := podDeletedSample(`steadywatch_chaos_events_total{kind="pod_deleted",namespace="compare",service="svc-01"} 3`)
	require.NoError(t, err)
	require.True(t, ok)
	require.InDelta(t, 3.0, v, 0)
	_, ok, _ = podDeletedSample(`steadywatch_chaos_events_total{kind="node_not_ready",namespace=""} 1`)
	require.False(t, ok)
	_, ok, err = podDeletedSample(`steadywatch_chaos_events_total{kind="pod_deleted"} x`)
	require.True(t, ok)
	require.Error(t, err)
}

func TestKSMListedNeedsASuccessfulListOfEachKind(t *testing.T) {
	telemetry := `# HELP kube_state_metrics_list_total Number of total resource list in kube-state-metrics
kube_state_metrics_list_total{resource="*v1.Pod",result="success"} 1
kube_state_metrics_list_total{resource="*v1.Node",result="success"} 2
kube_state_metrics_list_total{resource="*v1.Deployment",result="error"} 1
kube_state_metrics_list_total{resource="*v1.StatefulSet",result="success"} 0
`
	require.True(t, ksmListed(telemetry, 2))
	require.False(t, ksmListed(telemetry, 3), "an error and a zero are no successful list")
}

func TestScrapeCountsSamplesAndBytes(t *testing.T) {
	body := "# HELP a An a.\n# TYPE a gauge\na 1\n\nb{x=\"1\"} 2\nb{x=\"2\"} 3\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	var lines []string
	n, err := scrape(t.Context(), srv.URL, func(l string) { lines = append(lines, l) })
	require.NoError(t, err)
	require.Equal(t, int64(len(body)), n)
	require.Equal(t, []string{"a 1", `b{x="1"} 2`, `b{x="2"} 3`}, lines)
}

func TestReportRatiosAreKSMOverSteadywatch(t *testing.T) {
	d := func(ms ...int) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Millisecond)
		}
		return out
	}
	r := report{
		pods: 1000, nodes: 51,
		sw: side{
			base: memory{rss: 40 << 20}, mem: memory{rss: 50 << 20, heapInuse: 8 << 20}, synced: time.Second,
			scrapes:   scrapeStats{took: d(1, 2, 3), bytes: 100, series: 10, cpu: 30 * time.Millisecond},
			deletions: d(10, 20, 30),
		},
		ksm: side{
			base: memory{rss: 50 << 20}, mem: memory{rss: 125 << 20, heapInuse: 40 << 20}, synced: 3 * time.Second,
			scrapes:   scrapeStats{took: d(10, 20, 40), bytes: 1000, series: 500, cpu: 300 * time.Millisecond},
			deletions: d(100, 200, 300),
		},
	}
	out := r.String()
	for _, want := range []string{
		"| RSS after sync, MiB | 50.0 | 125.0 | 2.5 |",
		"| RSS per pod above the baseline, KiB | 10.24 | 76.80 | 7.5 |",
		"| Go heap in use, MiB | 8.0 | 40.0 | 5.0 |",
		"| start → synced, s | 1.00 | 3.00 | 3.0 |",
		"| 1.0 / 2.0 / 3.0 | 10.0 / 20.0 / 40.0 | 10.0 (medians) |",
		"| series | 10 | 500 | 50.0 |",
		"| CPU per scrape, ms | 3.0 | 30.0 | 10.0 |",
		"| 20.0 / 20.0 | 200.0 / 200.0 | 10.0 / 10.0 |",
	} {
		require.Contains(t, out, want)
	}
	require.True(t, strings.HasPrefix(out, "1000 pods on 51 nodes"), out)
}
