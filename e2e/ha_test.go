package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/hypyaml"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
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
	c := b.Client()
	dsn := postgresDB(t, "ha")

	const ns = "ha"
	namespace(t, ns)
	nodes := []string{"ha-1", "ha-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, scale.Deployment(ns, "queue", "queue", "experimental", ns, 3))
	createDeployment(t, c, scale.Deployment(ns, "queue-control", "queue", "control", ns, 3))

	// A hypothesis judged across the takeover: the queue keeps 90 % of its
	// replicas ready (it will not), and aborts on that hard bound.
	const hyp = "queue-survives-a-pod-kill"
	hypFile := filepath.Join(t.TempDir(), "queue.yaml")
	hypYAML := hypyaml.PodKill{Name: hyp, Namespace: ns, Service: "queue", Recovery: true}.YAML()
	require.NoError(t, os.WriteFile(hypFile, []byte(hypYAML), 0o600))
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	addrs := []string{freeAddr(t), freeAddr(t)}
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: steadywatch
    static_configs:
      - targets: [%q, %q]
`, addrs[0], addrs[1])})

	cfgFile := filepath.Join(t.TempDir(), "steadywatch.yml")
	require.NoError(t, os.WriteFile(cfgFile, fmt.Appendf(nil, `kubernetes:
  leader_election:
    enabled: true
    namespace: ha
    lease_duration: 4s
    renew_deadline: 2s
    retry_period: 500ms
watch:
  checkpoint_interval: 1s
verdicts:
  hypotheses: [%q]
  prometheus_url: %q
  interval: 1s
  scrape_interval: 1s
  abort_alertmanager_url: %q
`, hypFile, prom.URL(), am.URL()), 0o600))
	replica := func(addr string) (*exec.Cmd, string) {
		cmd, _, _ := serveProcess(t, "--config", cfgFile, "--kubeconfig", b.Kubeconfig(), "--namespace", ns,
			"--store", dsn, "--data-dir", t.TempDir(), "--listen", addr)
		url := "http://" + addr // the last --listen is the one
		waitFor(t, 60*time.Second, "/readyz", func() (bool, error) {
			code, _, err := httpGet(url + "/readyz")
			return code == http.StatusOK, err
		})
		return cmd, url
	}
	leaderCmd, leader := replica(addrs[0])
	waitFor(t, 30*time.Second, "the first replica to lead", func() (bool, error) { return leaderGauge(leader) == 1, nil })
	_, follower := replica(addrs[1])
	require.Zero(t, leaderGauge(follower), "the second replica follows")
	current := func(url string) verdict.Verdict {
		code, body, err := httpGet(url + api.VerdictsPath + "/" + hyp)
		var v verdict.Verdict
		if err == nil && code == http.StatusOK {
			require.NoError(t, json.Unmarshal([]byte(body), &v))
		}
		return v
	}
	// The window starts 10 s before the fault: Prometheus must have that
	// much steady state of both groups.
	waitFor(t, 60*time.Second, "12 s of steady state in Prometheus", func() (bool, error) {
		val, _, _, err := prom.API().Query(t.Context(),
			`min(count_over_time(steadywatch_workload_ready_ratio{namespace="ha",service="queue"}[15s]))`, time.Now())
		if err != nil {
			return false, err
		}
		vec, ok := val.(model.Vector)
		return ok && len(vec) == 1 && vec[0].Value >= 12, nil
	})

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

	// Alertmanager never holds two abort alerts of the hypothesis: polled
	// until the test ends.
	var mostAborts atomic.Int64
	pollCtx, stopPoll := context.WithCancel(t.Context())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for pollCtx.Err() == nil {
			if n, err := abortAlerts(pollCtx, am, hyp); err == nil && int64(n) > mostAborts.Load() {
				mostAborts.Store(int64(n))
			}
			select {
			case <-pollCtx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { stopPoll(); <-polled })

	// The leader aborts the experiment before it dies.
	waitFor(t, 30*time.Second, "the leader's abort", func() (bool, error) { return current(leader).Abort, nil })
	waitFor(t, 30*time.Second, "the abort alert in Alertmanager", func() (bool, error) {
		n, err := abortAlerts(t.Context(), am, hyp)
		return n > 0, err
	})

	// SIGKILL the leader: no release, the follower waits for the lease
	// to expire.
	require.NoError(t, leaderCmd.Process.Kill())
	killedAt := time.Now()
	_ = leaderCmd.Wait()
	// The dead leader's last renewal, as the Lease holds it.
	dead, err := c.CoordinationV1().Leases(ns).Get(t.Context(), config.DefaultLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, dead.Spec.HolderIdentity)
	require.NotNil(t, dead.Spec.RenewTime)
	post(follower) // acknowledged with no leader at all
	waitFor(t, 30*time.Second, "the follower to take over", func() (bool, error) { return leaderGauge(follower) == 1, nil })
	takeover := time.Since(killedAt)
	t.Logf("TAKEOVER %dms after SIGKILL of the leader (lease %s, retry %s)", takeover.Milliseconds(), haLease, haRetry)
	// Not before the lease expired, as client-go can tell: the new holder
	// acquired it at least a lease duration after the dead one's last
	// renewal, both as written in the Lease (one host, one clock), that
	// renewal's time taken to the second — client-go compares the records
	// it reads with their times in whole seconds, so renewals within one
	// second look alike (config refuses a lease_duration that leaves no
	// second for that). The time from the kill cannot say so: a loaded
	// machine delays a renewal past its retry period.
	taken, err := c.CoordinationV1().Leases(ns).Get(t.Context(), config.DefaultLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, taken.Spec.HolderIdentity)
	require.NotNil(t, taken.Spec.AcquireTime)
	require.NotEqual(t, *dead.Spec.HolderIdentity, *taken.Spec.HolderIdentity, "the Lease changed hands")
	lastRenewal := dead.Spec.RenewTime.Time
	t.Logf("the Lease was acquired %s after the dead leader's last renewal (at %s)",
		taken.Spec.AcquireTime.Sub(lastRenewal), lastRenewal.Format("15:04:05.000000"))
	require.GreaterOrEqual(t, taken.Spec.AcquireTime.Sub(lastRenewal.Truncate(time.Second)), haLease,
		"took over a lease that had not expired: two leaders")
	require.LessOrEqual(t, takeover, haLease+time.Duration((1+haJitter)*float64(haRetry))+time.Second,
		"not taken over within the lease duration and a retry")

	// The new leader judges the running experiment again (its own gauge,
	// not the store's history that followers serve).
	waitFor(t, 30*time.Second, "the new leader to judge", func() (bool, error) {
		return series(scrape(t, follower), "steadywatch_hypothesis_verdict", map[string]string{"hypothesis": hyp}) != nil, nil
	})

	// The abort holds across the takeover: while the experiment runs, the
	// new leader aborts (its own judgement, or the abort of record held
	// through one that cannot judge the gap of the takeover) and posts the
	// alert again.
	waitFor(t, 30*time.Second, "the new leader's abort", func() (bool, error) {
		v := current(follower)
		return v.Running && v.Abort, nil
	})
	t.Logf("abort after the takeover: %q, held: %q", current(follower).AbortReasons, current(follower).AbortHeld)
	waitFor(t, 30*time.Second, "the abort alert in Alertmanager after the takeover", func() (bool, error) {
		n, err := abortAlerts(t.Context(), am, hyp)
		return n > 0, err
	})

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

	// The verdict: judged once the window is over, by the new leader;
	// never a PASS: the ready ratio fell below the SLO, and the watch has
	// a gap from the kill to the takeover.
	waitFor(t, 90*time.Second, "the final verdict", func() (bool, error) {
		v := current(follower)
		return !v.Running && !v.At.IsZero() && v.Window.End.Before(v.At), nil
	})
	v := current(follower)
	require.NotEqual(t, verdict.Pass, v.Result, "reason: %s", v.Reason)
	if v.Result == verdict.Inconclusive {
		require.Contains(t, v.Reason, "steadywatch has no record of", "inconclusive for another reason than the gap of the takeover")
	}
	t.Logf("final verdict %s: %s", v.Result, v.Reason)
	waitFor(t, 30*time.Second, "the abort alert resolved", func() (bool, error) {
		n, err := abortAlerts(t.Context(), am, hyp)
		return n == 0, err
	})
	stopPoll()
	<-polled
	require.EqualValues(t, 1, mostAborts.Load(), "abort alerts of %s at once in Alertmanager, at the most", hyp)
	// No verdict doubled: the history has each change once (two equal
	// verdicts in a row would be the same change stored by both leaders)
	// and one final verdict.
	var history []verdict.Transition
	require.NoError(t, db.EachVerdict(t.Context(), deletedAt.Add(-time.Hour), time.Now().Add(time.Minute), func(tr *verdict.Transition) error {
		if tr.Hypothesis == hyp {
			history = append(history, *tr)
		}
		return nil
	}))
	finals := 0
	for i, tr := range history {
		t.Logf("history: %s %s running=%t final=%t abort=%t", tr.At.Format(time.RFC3339Nano), tr.Result, tr.Running, tr.Final, abortOf(t, tr))
		if tr.Final {
			finals++
		}
		if i > 0 {
			p := history[i-1]
			require.False(t, p.Result == tr.Result && p.Running == tr.Running && p.Final == tr.Final && abortOf(t, p) == abortOf(t, tr),
				"the same verdict stored twice in a row, at %v and %v", p.At, tr.At)
		}
	}
	// Nobody watched between the kill and the takeover: the window is
	// judged inconclusive, again at each interval (not final) in case the
	// record turns up; were it final, it would be stored once.
	require.LessOrEqual(t, finals, 1, "one final verdict of the window at most")
}

// abortOf is whether the stored verdict aborted the experiment.
func abortOf(t *testing.T, tr verdict.Transition) bool {
	t.Helper()
	var v struct {
		Abort bool `json:"abort"`
	}
	require.NoError(t, json.Unmarshal(tr.Verdict, &v))
	return v.Abort
}

// abortAlerts counts the abort alerts of hyp that Alertmanager holds.
func abortAlerts(ctx context.Context, am *promtest.Alertmanager, hyp string) (int, error) {
	alerts, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(ctx))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range alerts.Payload {
		if a.Labels["alertname"] == abort.AlertName && a.Labels["hypothesis"] == hyp {
			n++
		}
	}
	return n, nil
}
