package cli_test

import (
	"encoding/csv"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/store"
)

// clusterStore is a data directory whose store east and west wrote: the
// same alert (fingerprint and start) in both, and one more in west.
func clusterStore(t *testing.T) string {
	dir := t.TempDir()
	start := time.Date(2026, 3, 24, 10, 0, 0, 0, time.UTC)
	page := func(fp string) alert.Alert {
		return alert.Alert{
			Fingerprint: fp, Status: alert.Resolved, StartsAt: start, EndsAt: start.Add(2 * time.Minute),
			Labels:   map[string]string{"alertname": "HighLatency", "service": "cart", "severity": "critical"},
			Receiver: "steadywatch", Source: alert.SourceWebhook,
		}
	}
	for cluster, alerts := range map[string][]alert.Alert{
		"east": {page("f1")},
		"west": {page("f1"), page("f2")},
	} {
		s, err := store.Open(t.Context(), "", store.Options{DataDir: dir, Cluster: cluster})
		require.NoError(t, err)
		_, err = s.SaveAlerts(t.Context(), alerts)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	return dir
}

// firingByCluster reads the csv report's current alerts firing of every
// service, by its cluster column.
func firingByCluster(t *testing.T, out string) map[string]string {
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"cluster", "period", "from", "to", "service", "figure", "value", "samples"}, records[0])
	got := map[string]string{}
	for _, r := range records[1:] {
		if r[1] == "current" && r[4] == "" && r[5] == "alerts_firing" {
			got[r[0]] = r[6]
		}
	}
	return got
}

func TestReportOfSeveralClustersGroupsByClusterAndAddsUp(t *testing.T) {
	dir := clusterStore(t)
	weekly := []string{"report", "weekly", "--data-dir", dir, "--week", "2026-W13"}

	t.Run("* reports every cluster, a cluster column in csv", func(t *testing.T) {
		code, stdout, stderr := run(t, append(weekly, "--cluster", "*", "--format", "csv")...)
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Equal(t, map[string]string{"east": "1", "west": "2"}, firingByCluster(t, stdout),
			"the alert both clusters share is one in each, not one in all")
	})
	t.Run("* in markdown: the clusters' counts, their total, a section each", func(t *testing.T) {
		code, stdout, stderr := run(t, append(weekly, "--cluster", "*")...)
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Contains(t, stdout, "| east | 1 | 1 | 1 |\n| west | 1 | 2 | 2 |\n| **Total** | 2 | 3 | 3 |")
		require.Less(t, strings.Index(stdout, "# Cluster east"), strings.Index(stdout, "# Cluster west"))
		require.NotContains(t, stdout, "(unnamed)", "a cluster with no rows has no section")
	})
	t.Run("a cluster by name is that cluster's report alone", func(t *testing.T) {
		code, stdout, stderr := run(t, append(weekly, "--cluster", "west", "--format", "csv")...)
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Contains(t, stdout, "current,2026-03-23T00:00:00Z,2026-03-30T00:00:00Z,,alerts_firing,2,2")
		require.NotContains(t, stdout, "cluster")
	})
	t.Run("without --cluster, the configuration's", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "steadywatch.yml")
		require.NoError(t, os.WriteFile(cfg, []byte("cluster: east\ndata_dir: "+dir+"\n"), 0o600))
		code, stdout, stderr := run(t, "report", "weekly", "--config", cfg, "--week", "2026-W13", "--format", "csv")
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Contains(t, stdout, "current,2026-03-23T00:00:00Z,2026-03-30T00:00:00Z,,alerts_firing,1,1")
	})
	for _, tc := range []struct{ name, want string }{
		{"north", `--cluster: no cluster "north" in the store; known: "", "east", "west", or * for all`},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			code, _, stderr := run(t, append(weekly, "--cluster", tc.name)...)
			require.Equal(t, cli.ExitUsage, code)
			require.Contains(t, stderr, tc.want)
		})
	}
	t.Run("refused: html of several clusters", func(t *testing.T) {
		code, _, stderr := run(t, append(weekly, "--cluster", "*", "--format", "html")...)
		require.Equal(t, cli.ExitUsage, code)
		require.Contains(t, stderr, `--format html: a page shows one cluster; give --cluster NAME, one of "east", "west"`)
	})
}

// The csv of every cluster parses back into each cluster's own csv report:
// its rows, in its order, under the cluster column, the unnamed cluster's
// under "" — the cluster column neither lost nor shifting a field.
func TestReportCSVOfEveryClusterParsesBackIntoEachClustersReport(t *testing.T) {
	dir := clusterStore(t)
	unnamed, err := store.Open(t.Context(), "", store.Options{DataDir: dir})
	require.NoError(t, err)
	_, err = unnamed.SaveAlerts(t.Context(), []alert.Alert{{
		Fingerprint: "f9", Status: alert.Firing, StartsAt: time.Date(2026, 3, 25, 8, 0, 0, 0, time.UTC),
		Labels:   map[string]string{"alertname": "Down", "service": "checkout", "severity": "warning"},
		Receiver: "steadywatch", Source: alert.SourceWebhook,
	}})
	require.NoError(t, err)
	require.NoError(t, unnamed.Close())
	weekly := []string{"report", "weekly", "--data-dir", dir, "--week", "2026-W13", "--format", "csv"}

	csvOf := func(cluster string) [][]string {
		t.Helper()
		code, stdout, stderr := run(t, append(weekly, "--cluster", cluster)...)
		require.Equal(t, cli.ExitOK, code, stderr)
		records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		require.NoError(t, err)
		return records
	}
	all := csvOf("*")
	require.Equal(t, "cluster", all[0][0])
	byCluster := map[string][][]string{}
	for _, r := range all[1:] {
		byCluster[r[0]] = append(byCluster[r[0]], r[1:])
	}
	require.ElementsMatch(t, []string{"", "east", "west"}, slices.Collect(maps.Keys(byCluster)))
	for _, cluster := range []string{"", "east", "west"} {
		own := csvOf(cluster)
		require.Equal(t, own[0], all[0][1:], "the header is the cluster column and a cluster's header")
		require.Equal(t, own[1:], byCluster[cluster], "cluster %q", cluster)
	}
}
