package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

// The election of the HA test: short, so that a takeover takes seconds.
const (
	haLease = 4 * time.Second
	haRetry = 500 * time.Millisecond
	// client-go retries to acquire with a jitter of up to 1.2 retry periods.
	haJitter = 1.2
)

// leaderGauge is steadywatch_leader on a serve's /metrics, -1 if it cannot
// be read.
func leaderGauge(url string) float64 {
	code, body, err := httpGet(url + "/metrics")
	if err != nil || code != http.StatusOK {
		return -1
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return -1
	}
	return value(mfs, "steadywatch_leader", nil)
}

func TestTwoReplicasOnOnePostgreSQLTheLeaderKilledMidIncident(t *testing.T) {
	b := needBed(t)
	if os.Getenv(pgtest.SkipEnv) == "1" {
		t.Skipf("%s=1", pgtest.SkipEnv)
	}
	c := b.Client()
	pg, err := pgtest.Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, pg.Stop()) })
	require.NoError(t, pg.CreateDatabase(t.Context(), "ha"))
	dsn := pg.DSN("ha")

	const ns = "ha"
	namespace(t, ns)
	nodes := []string{"ha-1", "ha-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, deployment(ns, "queue", "queue", "experimental", ns, 3))

	cfgFile := filepath.Join(t.TempDir(), "steadywatch.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`kubernetes:
  leader_election:
    enabled: true
    namespace: ha
    lease_duration: 4s
    renew_deadline: 2s
    retry_period: 500ms
watch:
  checkpoint_interval: 1s
`), 0o600))
	replica := func() (*exec.Cmd, string) {
		cmd, url, _ := serveProcess(t, "--config", cfgFile, "--kubeconfig", b.Kubeconfig(), "--namespace", ns,
			"--store", dsn, "--data-dir", t.TempDir())
		waitFor(t, 60*time.Second, "/readyz", func() (bool, error) {
			code, _, err := httpGet(url + "/readyz")
			return code == http.StatusOK, err
		})
		return cmd, url
	}
	leaderCmd, leader := replica()
	waitFor(t, 30*time.Second, "the first replica to lead", func() (bool, error) { return leaderGauge(leader) == 1, nil })
	_, follower := replica()
	require.Zero(t, leaderGauge(follower), "the second replica follows")

	// Every replica acknowledges webhooks into the one store.
	var notes []*sentNotification
	post := func(url string) {
		t.Helper()
		note := newNotification(int64(len(notes)))
		code, err := postNotification(t.Context(), http.DefaultClient, url+receiver.Path, note.body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		notes = append(notes, note)
	}
	post(follower)
	post(leader)

	// The fault, with a replacement that cannot be scheduled: an incident
	// open across the takeover.
	for _, n := range nodes {
		setUnschedulable(t, c, n, true)
	}
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=queue"})
	require.NoError(t, err)
	deletedAt := time.Now()
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), pods.Items[0].Name, metav1.DeleteOptions{}))
	var before api.IncidentList
	waitFor(t, 30*time.Second, "the open incident, read through the follower", func() (bool, error) {
		code, body, err := httpGet(follower + api.IncidentsPath + "?service=queue&open=true")
		if err != nil || code != http.StatusOK {
			return false, err
		}
		return json.Unmarshal([]byte(body), &before) == nil && len(before.Incidents) == 1, nil
	})

	// SIGKILL the leader: no release, the follower waits for the lease
	// to expire.
	require.NoError(t, leaderCmd.Process.Kill())
	killedAt := time.Now()
	_ = leaderCmd.Wait()
	post(follower) // acknowledged with no leader at all
	waitFor(t, 30*time.Second, "the follower to take over", func() (bool, error) { return leaderGauge(follower) == 1, nil })
	takeover := time.Since(killedAt)
	t.Logf("TAKEOVER %dms after SIGKILL of the leader (lease %s, retry %s)", takeover.Milliseconds(), haLease, haRetry)
	// Not before the lease could have expired (the last renewal was at
	// most a retry period before the kill), and within it and a retry.
	require.GreaterOrEqual(t, takeover, haLease-haRetry, "took over a lease that had not expired: two leaders")
	require.LessOrEqual(t, takeover, haLease+time.Duration((1+haJitter)*float64(haRetry))+time.Second,
		"not taken over within the lease duration and a retry")

	// Recovery after the takeover: the new leader closes the incident it
	// restored, timed from its real start.
	recoveredAt := time.Now()
	for _, n := range nodes {
		setUnschedulable(t, c, n, false)
	}
	db, err := store.Open(t.Context(), dsn, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	var list []chaos.Incident
	waitFor(t, 60*time.Second, "the incident closed", func() (bool, error) {
		l, err := db.List(t.Context(), tracker.Filter{Service: "queue"})
		list = l
		return len(l) == 1 && !l[0].Open(), err
	})
	closedSeen := time.Now()
	inc := list[0]
	require.Equal(t, before.Incidents[0].ID, inc.ID, "one incident, recorded once")
	require.True(t, inc.Start.Equal(before.Incidents[0].Start), "start kept across the takeover")
	// The API's times are to the second (a deletion timestamp).
	require.WithinDuration(t, deletedAt, inc.Start, 2*time.Second)
	require.False(t, inc.End.Before(recoveredAt.Truncate(time.Second)), "ended %v, before the fault could recover at %v", inc.End, recoveredAt)
	require.False(t, inc.End.After(closedSeen), "ended %v, after it was seen closed at %v", inc.End, closedSeen)
	mfs := scrape(t, follower)
	recovery := series(mfs, "steadywatch_recovery_seconds", map[string]string{"kind": "pod_deleted", "service": "queue"}).GetHistogram()
	require.Equal(t, uint64(1), recovery.GetSampleCount(), "MTTR measured once, by the new leader")
	requireValue(t, inc.TimeToRecover().Seconds(), recovery.GetSampleSum())

	// No acknowledged alert lost, none doubled.
	stored, err := db.Alerts(t.Context(), alert.Filter{})
	require.NoError(t, err)
	byFingerprint := map[string]int{}
	for _, a := range stored {
		byFingerprint[a.Fingerprint]++
	}
	for _, note := range notes {
		for _, a := range note.alerts {
			require.Equal(t, 1, byFingerprint[a.Fingerprint], "alert %s", a.Fingerprint)
		}
	}
}
