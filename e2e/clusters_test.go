package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/receiver"
)

// TestTwoClustersOnOnePostgreSQLKeepApart runs two serves as two clusters,
// east and west, each scoped to a namespace of its own on the testbed, into
// one PostgreSQL database: the same fault in each, and the same
// notifications (the same fingerprints and starts) sent to both at once,
// some sent again. The test counts what it did and what was acknowledged,
// and reads the database with its own SQL: each cluster holds its own
// incidents and alerts, each once, none lost, none of the other's; and the
// API reads one cluster by default, and both with cluster=*.
func TestTwoClustersOnOnePostgreSQLKeepApart(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	dsn := postgresDB(t, "clusters")

	clusters := []string{"east", "west"}
	nsOf := func(cluster string) string { return "mc-" + cluster }
	urls := map[string]string{}
	for _, cl := range clusters {
		ns := nsOf(cl)
		namespace(t, ns)
		node(t, ns+"-1", map[string]string{"pool": ns})
		createDeployment(t, c, scale.Deployment(ns, "web", "web", "experimental", ns, 3))
		cfgFile := filepath.Join(t.TempDir(), "steadywatch.yml")
		require.NoError(t, os.WriteFile(cfgFile, fmt.Appendf(nil, "cluster: %s\nwatch:\n  checkpoint_interval: 1s\n", cl), 0o600))
		_, url, _ := serveProcess(t, "--config", cfgFile, "--kubeconfig", b.Kubeconfig(), "--namespace", ns,
			"--store", dsn, "--data-dir", t.TempDir())
		urls[cl] = url
	}
	for _, cl := range clusters {
		waitFor(t, 60*time.Second, cl+" /readyz", func() (bool, error) {
			code, _, err := httpGet(urls[cl] + "/readyz")
			return code == http.StatusOK, err
		})
	}

	// incidents reads a serve's incidents of service web through the API.
	incidents := func(cl, query string) (api.IncidentList, int) {
		t.Helper()
		code, body, err := httpGet(urls[cl] + api.IncidentsPath + "?service=web" + query)
		require.NoError(t, err)
		var list api.IncidentList
		if code == http.StatusOK {
			require.NoError(t, json.Unmarshal([]byte(body), &list))
		}
		return list, code
	}

	// The same fault in both clusters at once, twice: one pod of web
	// deleted, the next only once both recovered. What the test did is
	// its count of incidents.
	const rounds = 2
	deleted := map[string]int{}
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, len(clusters))
		for _, cl := range clusters {
			pods, err := c.CoreV1().Pods(nsOf(cl)).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
			require.NoError(t, err)
			require.NotEmpty(t, pods.Items)
			victim := pods.Items[0].Name
			wg.Go(func() { errs <- c.CoreV1().Pods(nsOf(cl)).Delete(t.Context(), victim, metav1.DeleteOptions{}) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for _, cl := range clusters {
			deleted[cl]++
			// Recovered: steadywatch closed the incident of this round.
			waitFor(t, 60*time.Second, fmt.Sprintf("%s: round %d's incident closed", cl, round), func() (bool, error) {
				list, code := incidents(cl, "&open=false")
				return code == http.StatusOK && len(list.Incidents) == round+1, nil
			})
		}
	}

	// The same notifications to both clusters at once; every third one
	// again to east only, as Alertmanager retries. The test's ledger counts
	// the acknowledged posts of each alert in each cluster.
	const notifications = 12
	type key struct{ cluster, fingerprint string }
	acked := map[key]int{}
	var mu sync.Mutex
	post := func(cl string, note *sentNotification) {
		code, err := postNotification(t.Context(), http.DefaultClient, urls[cl]+receiver.Path, note.body)
		if !assert200(t, code, err) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, a := range note.alerts {
			acked[key{cl, a.Fingerprint}]++
		}
	}
	var wg sync.WaitGroup
	for n := range int64(notifications) {
		note := newNotification(n)
		for _, cl := range clusters {
			wg.Go(func() { post(cl, note) })
		}
		if n%3 == 0 {
			wg.Go(func() { post("east", note) })
		}
	}
	wg.Wait()
	require.Len(t, acked, len(clusters)*notifications*crashAlertsPerNote, "every post acknowledged")

	// The database, read with the test's own SQL.
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(t.Context()) })
	rows, err := conn.Query(t.Context(), `SELECT cluster, fingerprint, notifications FROM alerts
WHERE labels->>'alertname' = 'CrashTest'`)
	require.NoError(t, err)
	stored := map[key]int{}
	for rows.Next() {
		var k key
		var n int
		require.NoError(t, rows.Scan(&k.cluster, &k.fingerprint, &n))
		_, dup := stored[k]
		require.False(t, dup, "alert %v stored twice", k)
		stored[k] = n
	}
	require.NoError(t, rows.Err())
	require.Equal(t, acked, stored, "each cluster's alerts stored once, with their notifications counted, none lost, none of the other")

	rows, err = conn.Query(t.Context(), `SELECT cluster, namespace, kind, end_ns IS NOT NULL FROM incidents
WHERE service = 'web' AND namespace = ANY($1)`, []string{nsOf("east"), nsOf("west")})
	require.NoError(t, err)
	storedIncidents := map[string]int{}
	for rows.Next() {
		var cl, ns, kind string
		var closed bool
		require.NoError(t, rows.Scan(&cl, &ns, &kind, &closed))
		require.Equal(t, nsOf(cl), ns, "an incident of %s stored under cluster %q", ns, cl)
		require.Equal(t, "pod_deleted", kind)
		require.True(t, closed)
		storedIncidents[cl]++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, deleted, storedIncidents, "one incident per pod the test deleted, in its cluster")

	// The API: each serve its own cluster by default, both with *.
	for _, cl := range clusters {
		list, code := incidents(cl, "")
		require.Equal(t, http.StatusOK, code)
		require.Len(t, list.Incidents, deleted[cl])
		for _, inc := range list.Incidents {
			require.Equal(t, cl, inc.Cluster)
			require.Equal(t, nsOf(cl), inc.Namespace)
		}
		all, code := incidents(cl, "&cluster=*")
		require.Equal(t, http.StatusOK, code)
		perCluster := map[string]int{}
		for _, inc := range all.Incidents {
			require.Equal(t, nsOf(inc.Cluster), inc.Namespace)
			perCluster[inc.Cluster]++
		}
		require.Equal(t, deleted, perCluster, "cluster=* through %s sees both", cl)
		other, code := incidents(cl, "&cluster="+otherOf(clusters, cl))
		require.Equal(t, http.StatusOK, code)
		require.Len(t, other.Incidents, deleted[otherOf(clusters, cl)])
	}
	code, body, err := httpGet(urls["east"] + api.IncidentsPath + "?cluster=north")
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `no cluster \"north\" in the store; known: \"east\", \"west\"`)
	t.Logf("stored %d alerts and %v incidents in clusters %v", len(stored), storedIncidents, slices.Sorted(maps.Keys(deleted)))
}

// assert200 reports a post that was not acknowledged, and whether it was.
func assert200(t *testing.T, code int, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("post: %v", err)
		return false
	}
	if code != http.StatusOK {
		t.Errorf("post: status %d", code)
		return false
	}
	return true
}

// otherOf is the cluster of two that is not cl.
func otherOf(clusters []string, cl string) string {
	for _, o := range clusters {
		if o != cl {
			return o
		}
	}
	return ""
}
