package pipelinesim

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	primary = "postgres-experimental-primary-0"
	replica = "postgres-experimental-replica-0"
)

func TestBothGroupsServeTheSteadyStateAndOnlyTimeAdvancesTheCounters(t *testing.T) {
	b := startBed(t)
	idle := b.scrape()
	require.Equal(t, idle, b.scrape(), "no time passed: nothing moved")
	d := b.over(time.Minute)
	for _, g := range DefaultGroups {
		requireView(t, steady, d.of(g), g)
		lag, ok := d.lag(g, "postgres-"+g+"-replica-0")
		require.True(t, ok)
		require.Zero(t, lag, "a ready replica of a ready primary has no lag")
		lag, ok = d.lag(g, "postgres-"+g+"-primary-0")
		require.True(t, ok, "postgres_exporter reports 0 for a primary it can query")
		require.Zero(t, lag)
		for _, p := range []struct{ pod, role string }{{"postgres-" + g + "-primary-0", "primary"}, {"postgres-" + g + "-replica-0", "replica"}} {
			up, ok := d.up(g, p.pod, p.role)
			require.True(t, ok, p.pod)
			require.InDelta(t, 1.0, up, 1e-9, p.pod)
		}
	}
	// The p99 the hypotheses bound (0.5 s): an exponential's p99 is 4.6
	// means, 138 ms, between the 0.1 and 0.25 buckets.
	bucket := func(le string) float64 {
		k := "flask_http_request_duration_seconds_bucket{method=GET,steadywatch_io_group=control,le=" + le + "}"
		return d.after[k] - d.before[k]
	}
	require.Less(t, bucket("0.1"), 0.99*6000)
	require.GreaterOrEqual(t, bucket("0.25"), 0.99*6000)
}

func TestKillingThePrimaryFailsRequestsStopsCommitsAndLagsTheReplicaUntilItIsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone bool // its pg_up series with it
		kill func(b *bed)
	}{
		{"the primary pod deleted", true, func(b *bed) {
			require.NoError(b.t, b.client.CoreV1().Pods(ns).Delete(b.t.Context(), primary, metav1.DeleteOptions{}))
		}},
		{"the primary pod not ready", false, func(b *bed) {
			_, err := b.client.CoreV1().Pods(ns).Update(b.t.Context(),
				newPGPod("experimental", primary, ComponentPrimary, "experimental-a", false), metav1.UpdateOptions{})
			require.NoError(b.t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBed(t)
			tc.kill(b)
			b.until("experimental", "the primary is down", func(r Rates) bool { return !r.PrimaryReady })

			d := b.over(time.Minute)
			requireView(t, steady, d.of("control"), "control")
			requireView(t, view{serverErrors: 5900, exceptions: 5900, requests: 5900, sparkFailed: 120, meanLatency: 1}, d.of("experimental"),
				"every request fails on the database after waiting the retry budget (the last second's still wait), every Spark task fails, none commits")
			lag, _ := d.lag("experimental", replica)
			require.InDelta(t, 60.0, lag, 1e-9, "the replica falls behind by the minute the primary was down")
			lag, _ = d.lag("control", "postgres-control-replica-0")
			require.Zero(t, lag)
			up, ok := d.up("experimental", primary, ComponentPrimary)
			require.Equal(t, !tc.gone, ok)
			require.Zero(t, up, "a not ready primary is down")
			_, ok = d.lag("experimental", primary)
			require.False(t, ok, "a primary that does not answer reports no lag")

			// The StatefulSet's replacement comes up.
			_, err := b.client.CoreV1().Pods(ns).Get(t.Context(), primary, metav1.GetOptions{})
			back := newPGPod("experimental", primary, ComponentPrimary, "experimental-a", true)
			if err == nil {
				_, err = b.client.CoreV1().Pods(ns).Update(t.Context(), back, metav1.UpdateOptions{})
			} else {
				_, err = b.client.CoreV1().Pods(ns).Create(t.Context(), back, metav1.CreateOptions{})
			}
			require.NoError(t, err)
			b.until("experimental", "the primary is back", func(r Rates) bool { return r.PrimaryReady })

			d = b.over(3 * time.Second)
			lag, _ = d.lag("experimental", replica)
			require.InDelta(t, 30.0, lag, 1e-9, "the replica catches up at 10 s a second")
			d = b.over(time.Minute)
			lag, _ = d.lag("experimental", replica)
			require.Zero(t, lag, "and is caught up, not below 0")
			requireView(t, steady, d.of("experimental"), "recovered")
			up, ok = d.up("experimental", primary, ComponentPrimary)
			require.True(t, ok)
			require.InDelta(t, 1.0, up, 1e-9)
			lag, ok = d.lag("experimental", primary)
			require.True(t, ok, "the primary back reports its lag again")
			require.Zero(t, lag)
		})
	}
}

func TestTheReplicaLagsOnlyWhileItIsNotReady(t *testing.T) {
	b := startBed(t)
	d := b.over(time.Minute)
	lag, _ := d.lag("experimental", replica)
	require.Zero(t, lag)

	_, err := b.client.CoreV1().Pods(ns).Update(t.Context(),
		newPGPod("experimental", replica, ComponentReplica, "experimental-b", false), metav1.UpdateOptions{})
	require.NoError(t, err)
	b.until("experimental", "the replica is not ready", func(r Rates) bool { return !r.Postgres[replica] })
	d = b.over(time.Minute)
	lag, _ = d.lag("experimental", replica)
	require.InDelta(t, 60.0, lag, 1e-9)
	up, _ := d.up("experimental", replica, ComponentReplica)
	require.Zero(t, up)
	// The primary still serves: the API does not notice.
	requireView(t, steady, d.of("experimental"), "a replica down")

	_, err = b.client.CoreV1().Pods(ns).Update(t.Context(),
		newPGPod("experimental", replica, ComponentReplica, "experimental-b", true), metav1.UpdateOptions{})
	require.NoError(t, err)
	b.until("experimental", "the replica is ready", func(r Rates) bool { return r.Postgres[replica] })
	d = b.over(time.Second)
	lag, _ = d.lag("experimental", replica)
	require.InDelta(t, 50.0, lag, 1e-9, "catching up at 10 s a second")
	up, _ = d.up("experimental", replica, ComponentReplica)
	require.InDelta(t, 1.0, up, 1e-9)
	d = b.over(5 * time.Second)
	lag, _ = d.lag("experimental", replica)
	require.Zero(t, lag, "caught up")
}

func TestAHostFailureCostsItsPodsUntilTheirReplacementsAreReadyInTheOtherZone(t *testing.T) {
	b := startBed(t)
	before := b.scrape() // the windows start before the changes: they fail tasks at once
	_, err := b.client.CoreV1().Nodes().UpdateStatus(t.Context(), node("experimental-b", false), metav1.UpdateOptions{})
	require.NoError(t, err)
	b.until("experimental", "the node's API pod is gone", func(r Rates) bool { return r.ReadyAPI == 2 })
	// kube-state-metrics' node condition, which KubeNodeNotReady alerts on.
	nodes := b.scrape()
	for n, want := range map[string][3]float64{"experimental-b": {0, 0, 1}, "experimental-a": {1, 0, 0}} { // a lost kubelet: Unknown
		for i, st := range []string{"true", "false", "unknown"} {
			require.InDelta(t, want[i], nodes["kube_node_status_condition{condition=Ready,node="+n+",status="+st+"}"], 0, "%s %s", n, st)
		}
	}

	// Two replicas at their full capacity of 100 req/s: ρ capped at 0.95,
	// a mean of 10 ms × 20; the primary is in zone a, so no errors. The
	// Spark workers' running tasks (4 each) fail and none completes.
	b.clock.Advance(time.Minute)
	d := delta{before: before, after: b.scrape()}
	requireView(t, steady, d.of("control"), "control")
	requireView(t, view{ok: 6000, commits: 6000, requests: 6000, sparkFailed: 8, meanLatency: 0.2}, d.of("experimental"), "two replicas left")
	up, _ := d.up("experimental", replica, ComponentReplica)
	require.Zero(t, up, "the replica on the failed node is down")
	lag, _ := d.lag("experimental", replica)
	require.InDelta(t, 60.0, lag, 1e-9)

	// Evicted, then rescheduled in zone a: Pending until kwok makes them
	// Ready. The informer delivers in order: once the replica's deletion
	// is seen, so is the API pod's before it.
	before = b.scrape()
	for _, p := range []string{"scale-app-experimental-1", "spark-worker-experimental-0", "spark-worker-experimental-1", replica} {
		require.NoError(t, b.client.CoreV1().Pods(ns).Delete(t.Context(), p, metav1.DeleteOptions{}))
	}
	b.until("experimental", "the evictions", func(r Rates) bool {
		_, seen := r.Postgres[replica]
		return !seen
	})
	rescheduled := []*corev1.Pod{
		newAPIPod("experimental", "scale-app-experimental-3", "experimental-a", "10m", false),
		pod("experimental", "spark-worker-experimental-0", ComponentWorker, "experimental-a", false),
		pod("experimental", "spark-worker-experimental-1", ComponentWorker, "experimental-a", false),
		newPGPod("experimental", replica, ComponentReplica, "experimental-a", false),
	}
	for _, p := range rescheduled {
		_, err := b.client.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	b.until("experimental", "the replacements are pending", func(r Rates) bool {
		ready, seen := r.Postgres[replica]
		return seen && !ready
	})
	b.clock.Advance(time.Minute)
	d = delta{before: before, after: b.scrape()}
	requireView(t, view{ok: 6000, commits: 6000, requests: 6000, meanLatency: 0.2}, d.of("experimental"),
		"pending replacements serve nothing; evicting workers that had stopped fails no more tasks")

	for _, p := range rescheduled {
		p.Status.Conditions[0].Status = corev1.ConditionTrue
		_, err := b.client.CoreV1().Pods(ns).Update(t.Context(), p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	b.until("experimental", "the replacements are ready", func(r Rates) bool { return r.ReadyAPI == 3 && r.Postgres[replica] })
	d = b.over(time.Minute)
	requireView(t, steady, d.of("experimental"), "rescheduled")
	requireView(t, steady, d.of("control"), "control")
	lag, _ = d.lag("experimental", replica)
	require.Zero(t, lag)
}

func TestTheHPAScalingTheAPIChangesItsLatencyNotItsThroughput(t *testing.T) {
	b := startBed(t)
	for i := 3; i < 6; i++ {
		_, err := b.client.CoreV1().Pods(ns).Create(t.Context(),
			newAPIPod("experimental", "scale-app-experimental-"+string(rune('0'+i)), "experimental-a", "10m", true), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	b.until("experimental", "six replicas", func(r Rates) bool { return r.ReadyAPI == 6 })
	// ρ = 1/3: a mean of 10 ms × 1.5.
	d := b.over(time.Minute)
	requireView(t, view{ok: 6000, commits: 6000, requests: 6000, sparkCompleted: 120, meanLatency: 0.015}, d.of("experimental"), "scaled out")
	requireView(t, steady, d.of("control"), "control")

	// Scaling in: the pods terminate, still Ready, before they are gone;
	// endpoints drop a terminating pod at once.
	for i := 3; i < 6; i++ {
		p, err := b.client.CoreV1().Pods(ns).Get(t.Context(), "scale-app-experimental-"+string(rune('0'+i)), metav1.GetOptions{})
		require.NoError(t, err)
		p.DeletionTimestamp = &metav1.Time{Time: t0}
		_, err = b.client.CoreV1().Pods(ns).Update(t.Context(), p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	b.until("experimental", "three replicas", func(r Rates) bool { return r.ReadyAPI == 3 })
	requireView(t, steady, b.over(time.Minute).of("experimental"), "scaled in")
}

func TestStarvedAPIPodsAnswerSlowerFromTheCPUTargetOn(t *testing.T) {
	for _, tc := range []struct {
		cpu  string
		mean float64
	}{
		{"50m", 0.03},  // at the target (50 % of the 100m request): not starved
		{"60m", 0.036}, // just above: 1.2 × slower
		{"90m", 0.054}, // the HPA test's attack: 1.8 ×
	} {
		t.Run(tc.cpu, func(t *testing.T) {
			b := startBed(t)
			for i := range 3 {
				name := "scale-app-experimental-" + string(rune('0'+i))
				p, err := b.client.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
				require.NoError(t, err)
				p.Annotations[CPUUsageAnnotation] = tc.cpu
				_, err = b.client.CoreV1().Pods(ns).Update(t.Context(), p, metav1.UpdateOptions{})
				require.NoError(t, err)
			}
			want := tc.mean
			b.until("experimental", "the CPU usage raised", func(r Rates) bool {
				for _, m := range r.MeanLatency {
					if m < want-1e-9 || m > want+1e-9 {
						return false
					}
				}
				return len(r.MeanLatency) == 3
			})
			d := b.over(time.Minute)
			requireView(t, view{ok: 6000, commits: 6000, requests: 6000, sparkCompleted: 120, meanLatency: tc.mean}, d.of("experimental"), "starved")
			requireView(t, steady, d.of("control"), "control")
		})
	}
}

func TestNoReadyAPIEndpointAnswers503ToTheWholeLoad(t *testing.T) {
	b := startBed(t)
	for i := range 3 {
		require.NoError(t, b.client.CoreV1().Pods(ns).Delete(t.Context(), "scale-app-experimental-"+string(rune('0'+i)), metav1.DeleteOptions{}))
	}
	b.until("experimental", "no replica", func(r Rates) bool { return r.ReadyAPI == 0 })
	d := b.over(time.Minute)
	requireView(t, view{unavailable: 6000, sparkCompleted: 120}, d.of("experimental"), "no endpoint; Spark still writes")
	requireView(t, steady, d.of("control"), "control")
}

func TestStartServesTheMetricsOverHTTPOnLoopback(t *testing.T) {
	b := startBed(t) // for its cluster; Start reads it again
	srv, err := Start(t.Context(), Options{Client: b.client, Namespace: ns, Now: b.clock.Now})
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Close()) }()
	require.Regexp(t, `^http://127\.0\.0\.1:\d+/metrics$`, srv.URL)
	b.clock.Advance(time.Minute) // shared clock: srv started at t0
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `flask_http_request_total{method="GET",status="200",steadywatch_io_group="experimental"} 6000`)
	require.Contains(t, string(body), `pg_up{pod="postgres-control-primary-0",role="primary",steadywatch_io_group="control"} 1`)
}

func TestTimeBeforeAChangeCountsAtTheOldRatesAndAfterItAtTheNew(t *testing.T) {
	b := startBed(t)
	before := b.scrape()
	b.clock.Advance(30 * time.Second) // no scrape: only the event can settle these 30 s
	require.NoError(t, b.client.CoreV1().Pods(ns).Delete(t.Context(), primary, metav1.DeleteOptions{}))
	b.until("experimental", "the primary is gone", func(r Rates) bool { return !r.PrimaryReady })
	b.clock.Advance(30 * time.Second)
	d := delta{before: before, after: b.scrape()}
	requireView(t, view{ok: 3000, commits: 3000, serverErrors: 2900, exceptions: 2900, requests: 5900, sparkCompleted: 60, sparkFailed: 60, meanLatency: (3000*0.03 + 2900*1) / 5900.0},
		d.of("experimental"), "half a minute each side of the deletion; the last second's requests still wait")
	requireView(t, steady, d.of("control"), "control")
	lag, _ := d.lag("experimental", replica)
	require.InDelta(t, 30.0, lag, 1e-9)
}

func TestTheExpositionIsNamedAndTypedAsTheExportersTheHypothesesQuery(t *testing.T) {
	b := startBed(t)
	b.clock.Advance(time.Minute)
	expected := `
# HELP flask_http_request_exceptions_total Requests that raised an exception in the Flask API.
# TYPE flask_http_request_exceptions_total counter
flask_http_request_exceptions_total{method="GET",status="500",steadywatch_io_group="control"} 0
flask_http_request_exceptions_total{method="GET",status="500",steadywatch_io_group="experimental"} 0
# HELP flask_http_request_total Requests the Flask API answered, by status.
# TYPE flask_http_request_total counter
flask_http_request_total{method="GET",status="200",steadywatch_io_group="control"} 6000
flask_http_request_total{method="GET",status="200",steadywatch_io_group="experimental"} 6000
flask_http_request_total{method="GET",status="500",steadywatch_io_group="control"} 0
flask_http_request_total{method="GET",status="500",steadywatch_io_group="experimental"} 0
flask_http_request_total{method="GET",status="503",steadywatch_io_group="control"} 0
flask_http_request_total{method="GET",status="503",steadywatch_io_group="experimental"} 0
# HELP metrics_executor_completedTasks_total Spark tasks the pipeline's workers completed.
# TYPE metrics_executor_completedTasks_total counter
metrics_executor_completedTasks_total{steadywatch_io_group="control"} 120
metrics_executor_completedTasks_total{steadywatch_io_group="experimental"} 120
# HELP pg_replication_lag_seconds How far the instance's replay is behind the primary (0 on the primary).
# TYPE pg_replication_lag_seconds gauge
pg_replication_lag_seconds{pod="postgres-control-primary-0",steadywatch_io_group="control"} 0
pg_replication_lag_seconds{pod="postgres-control-replica-0",steadywatch_io_group="control"} 0
pg_replication_lag_seconds{pod="postgres-experimental-primary-0",steadywatch_io_group="experimental"} 0
pg_replication_lag_seconds{pod="postgres-experimental-replica-0",steadywatch_io_group="experimental"} 0
# HELP pg_stat_database_xact_commit Transactions committed in the database.
# TYPE pg_stat_database_xact_commit counter
pg_stat_database_xact_commit{datname="lmd",steadywatch_io_group="control"} 6000
pg_stat_database_xact_commit{datname="lmd",steadywatch_io_group="experimental"} 6000
# HELP pg_up Whether the Postgres instance answers.
# TYPE pg_up gauge
pg_up{pod="postgres-control-primary-0",role="primary",steadywatch_io_group="control"} 1
pg_up{pod="postgres-control-replica-0",role="replica",steadywatch_io_group="control"} 1
pg_up{pod="postgres-experimental-primary-0",role="primary",steadywatch_io_group="experimental"} 1
pg_up{pod="postgres-experimental-replica-0",role="replica",steadywatch_io_group="experimental"} 1
`
	require.NoError(t, testutil.GatherAndCompare(b.sim.Gatherer(), strings.NewReader(expected),
		"flask_http_request_total", "flask_http_request_exceptions_total", "metrics_executor_completedTasks_total",
		"pg_stat_database_xact_commit", "pg_up", "pg_replication_lag_seconds"))
	n, err := testutil.GatherAndCount(b.sim.Gatherer(), "flask_http_request_duration_seconds")
	require.NoError(t, err)
	require.Equal(t, 2, n, "one latency histogram per group")
}

func TestAPromotedReplicaReportsNoLagAtOnceSoTheGroupsLagNeverGoesMissing(t *testing.T) {
	b := startBed(t)
	require.NoError(t, b.client.CoreV1().Pods(ns).Delete(t.Context(), primary, metav1.DeleteOptions{}))
	b.until("experimental", "the primary is gone", func(r Rates) bool { return !r.PrimaryReady })
	d := b.over(5 * time.Second)
	lag, ok := d.lag("experimental", replica)
	require.True(t, ok)
	require.InDelta(t, 5.0, lag, 1e-9, "the replica lags while there is no primary")

	// The operator promotes the replica: its role label becomes primary.
	_, err := b.client.CoreV1().Pods(ns).Update(t.Context(),
		newPGPod("experimental", replica, ComponentPrimary, "experimental-b", true), metav1.UpdateOptions{})
	require.NoError(t, err)
	b.until("experimental", "the replica is promoted", func(r Rates) bool { return r.PrimaryReady })
	lag, ok = b.over(time.Second).lag("experimental", replica)
	require.True(t, ok, "the new primary reports its lag")
	require.Zero(t, lag, "which is 0, as pg_is_in_recovery() is false")
}

// setPrimary makes the experimental primary ready or not and waits for the
// sim to see it.
func (b *bed) setPrimary(ready bool) {
	b.t.Helper()
	_, err := b.client.CoreV1().Pods(ns).Update(b.t.Context(),
		newPGPod("experimental", primary, ComponentPrimary, "experimental-a", ready), metav1.UpdateOptions{})
	require.NoError(b.t, err)
	b.until("experimental", fmt.Sprintf("the primary ready=%v", ready), func(r Rates) bool { return r.PrimaryReady == ready })
}

func (d delta) bucket(group, le string) float64 {
	k := fmt.Sprintf("flask_http_request_duration_seconds_bucket{method=GET,steadywatch_io_group=%s,le=%s}", group, le)
	return d.after[k] - d.before[k]
}

func TestRequestsWaitForAPrimaryThatIsBackWithinTheRetryBudget(t *testing.T) {
	b := startBed(t)
	before := b.scrape()
	b.setPrimary(false)
	b.clock.Advance(500 * time.Millisecond)
	d := delta{before: before, after: b.scrape()}
	requireView(t, view{sparkFailed: 1}, d.of("experimental"), "the 50 requests so far wait: counted nowhere yet")

	b.setPrimary(true)
	d = delta{before: before, after: b.scrape()}
	// 50 requests, their waits uniform over [0, 0.5] s, plus the usual
	// exponential 30 ms: a mean of 0.28 s, and P(wait + service ≤ b) =
	// (b − 0.03 (1 − e^(−b/0.03))) / 0.5 for b ≤ 0.5.
	requireView(t, view{ok: 50, commits: 50, requests: 50, sparkFailed: 1, meanLatency: 0.28}, d.of("experimental"),
		"every request succeeds once the primary is back, none fails")
	require.InDelta(t, 50*(0.1-0.03*(1-math.Exp(-0.1/0.03)))/0.5, d.bucket("experimental", "0.1"), 1, "the wait shows in the buckets")
	require.InDelta(t, 50*(0.25-0.03*(1-math.Exp(-0.25/0.03)))/0.5, d.bucket("experimental", "0.25"), 1)
	require.InDelta(t, 50*(0.5-0.03)/0.5, d.bucket("experimental", "0.5"), 1)
	require.InDelta(t, 50.0, d.bucket("experimental", "1"), 1)
	requireView(t, steady, b.over(time.Minute).of("experimental"), "after the spell")
}

func TestRequestsOlderThanTheRetryBudgetFailAtTheBudgetAndTheRestWait(t *testing.T) {
	b := startBed(t)
	before := b.scrape()
	b.setPrimary(false)
	b.clock.Advance(2500 * time.Millisecond)
	d := delta{before: before, after: b.scrape()}
	requireView(t, view{serverErrors: 150, exceptions: 150, requests: 150, sparkFailed: 5, meanLatency: 1}, d.of("experimental"),
		"the requests of the first 1.5 s have waited their second and failed; the last second's wait")
	require.Zero(t, d.bucket("experimental", "0.75"), "a failed request took the whole budget")
	require.InDelta(t, 150.0, d.bucket("experimental", "1"), 1e-9)

	b.clock.Advance(500 * time.Millisecond)
	b.setPrimary(true)
	d = delta{before: before, after: b.scrape()}
	// 100 waiting requests, waits uniform over [0, 1] s: a mean of 0.53 s.
	requireView(t, view{ok: 100, commits: 100, serverErrors: 200, exceptions: 200, requests: 300, sparkFailed: 6, meanLatency: (200*1 + 100*0.53) / 300.0},
		d.of("experimental"), "3 s down: 2 s of requests failed, the last second's succeed")
	require.InDelta(t, 100*(0.75-0.03), d.bucket("experimental", "0.75"), 1)
	require.InDelta(t, 200+100*(1-0.03), d.bucket("experimental", "1"), 1, "the failed ones and the waiting ones done within the second")
}

func TestAPrimaryThatStaysDownFailsRequestsAtTheRateTheyArriveAfterTheBudget(t *testing.T) {
	b := startBed(t)
	b.setPrimary(false)
	b.clock.Advance(time.Second)
	d := b.over(time.Minute)
	requireView(t, view{serverErrors: 6000, exceptions: 6000, requests: 6000, sparkFailed: 120, meanLatency: 1}, d.of("experimental"),
		"a steady 100 errors a second, as many as arrive")
	requireView(t, steady, d.of("control"), "control")
}

func TestTheRetryBudgetBoundsWhichSpellsTheAPIMasks(t *testing.T) {
	for _, tc := range []struct {
		spell        time.Duration
		ok, failures float64
	}{
		{990 * time.Millisecond, 99, 0},   // just under the 1 s budget: masked
		{1020 * time.Millisecond, 100, 2}, // just over: the first 20 ms of requests fail
	} {
		t.Run(tc.spell.String(), func(t *testing.T) {
			b := startBed(t)
			before := b.scrape()
			b.setPrimary(false)
			b.clock.Advance(tc.spell)
			b.setPrimary(true)
			got := delta{before: before, after: b.scrape()}.of("experimental")
			require.InDelta(t, tc.ok, got.ok, 1e-9)
			require.InDelta(t, tc.ok, got.commits, 1e-9)
			require.InDelta(t, tc.failures, got.serverErrors, 1e-9)
			require.InDelta(t, tc.ok+tc.failures, got.requests, 1e-9, "every request counted once")
		})
	}
}
