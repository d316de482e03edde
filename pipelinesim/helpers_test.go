package pipelinesim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/steadywatch/steadywatch/internal/testclock"
)

const ns = "pipeline"

var t0 = time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)

// pipeline is one group's copy of the seeds' pipeline as the demo lays it
// out: two nodes (zones a and b), three API replicas across them, the
// Postgres primary in zone a and its replica in zone b, with the two Spark
// workers (the seeds ran Spark in one zone).
func pipeline(group string) []runtime.Object {
	objs := []runtime.Object{node(group+"-a", true), node(group+"-b", true)}
	for i, zone := range []string{"a", "b", "a"} {
		objs = append(objs, newAPIPod(group, fmt.Sprintf("scale-app-%s-%d", group, i), group+"-"+zone, "10m", true))
	}
	return append(objs,
		newPGPod(group, "postgres-"+group+"-primary-0", ComponentPrimary, group+"-a", true),
		newPGPod(group, "postgres-"+group+"-replica-0", ComponentReplica, group+"-b", true),
		pod(group, "spark-worker-"+group+"-0", ComponentWorker, group+"-b", true),
		pod(group, "spark-worker-"+group+"-1", ComponentWorker, group+"-b", true))
}

func node(name string, ready bool) *corev1.Node {
	status := corev1.ConditionTrue
	if !ready {
		status = corev1.ConditionUnknown
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}},
	}
}

func pod(group, name, component, nodeName string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns,
			Labels: map[string]string{GroupLabel: group, ComponentLabel: component, "app.kubernetes.io/name": "scale-app"},
		},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{
			Name:      "app",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
		}}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func newAPIPod(group, name, nodeName, cpu string, ready bool) *corev1.Pod {
	p := pod(group, name, ComponentAPI, nodeName, ready)
	p.Annotations = map[string]string{CPUUsageAnnotation: cpu}
	return p
}

func newPGPod(group, name, role, nodeName string, ready bool) *corev1.Pod {
	return pod(group, name, role, nodeName, ready)
}

// bed is a Sim watching a fake cluster, on a clock the test moves.
type bed struct {
	t      *testing.T
	client *fake.Clientset
	clock  *testclock.Clock
	sim    *Sim
}

func startBed(t *testing.T, objs ...runtime.Object) *bed {
	t.Helper()
	if len(objs) == 0 {
		objs = append(pipeline("control"), pipeline("experimental")...)
	}
	client := fake.NewClientset(objs...)
	var mu sync.Mutex
	watching := map[string]bool{}
	// The fake clientset drops what happens between an informer's list and
	// its watch: change the cluster only once both watches are in place.
	client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		wa, ok := a.(k8stesting.WatchActionImpl)
		if !ok {
			return false, nil, nil
		}
		w, err := client.Tracker().Watch(wa.GetResource(), wa.GetNamespace(), wa.ListOptions)
		mu.Lock()
		watching[wa.GetResource().Resource] = true
		mu.Unlock()
		return true, w, err
	})
	clock := testclock.New(t0)
	s, err := New(Options{Client: client, Namespace: ns, Now: clock.Now})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return watching["pods"] && watching["nodes"] && s.Synced()
	}, 10*time.Second, 5*time.Millisecond, "waiting for the sim to read and watch the cluster")
	return &bed{t: t, client: client, clock: clock, sim: s}
}

// until waits for the sim to see the cluster change: cond holds on group's rates.
func (b *bed) until(group, what string, cond func(Rates) bool) {
	b.t.Helper()
	require.Eventually(b.t, func() bool { return cond(b.sim.Rates(group)) }, 10*time.Second, time.Millisecond, what)
}

// series is a scrape: each sample by name{labels in order}.
type series map[string]float64

func (b *bed) scrape() series {
	b.t.Helper()
	mfs, err := b.sim.Gatherer().Gather()
	require.NoError(b.t, err)
	out := series{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			lv := map[string]string{}
			for _, l := range m.GetLabel() {
				lv[l.GetName()] = l.GetValue()
			}
			key := func(name string, extra ...string) string {
				parts := make([]string, 0, len(lv)+1)
				for _, k := range slices.Sorted(maps.Keys(lv)) {
					parts = append(parts, k+"="+lv[k])
				}
				return name + "{" + strings.Join(append(parts, extra...), ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key(mf.GetName())] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key(mf.GetName())] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				out[key(mf.GetName()+"_count")] = float64(h.GetSampleCount())
				out[key(mf.GetName()+"_sum")] = h.GetSampleSum()
				for _, bk := range h.GetBucket() {
					out[key(mf.GetName()+"_bucket", fmt.Sprintf("le=%g", bk.GetUpperBound()))] = float64(bk.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// over scrapes, moves the clock by d and scrapes again: what the cluster's
// current state did in d.
func (b *bed) over(d time.Duration) delta {
	b.t.Helper()
	before := b.scrape()
	b.clock.Advance(d)
	return delta{before: before, after: b.scrape()}
}

type delta struct{ before, after series }

// group's view of a window: its counters' increases and gauges' ends.
type view struct {
	ok, serverErrors, unavailable, exceptions, commits, requests float64
	sparkCompleted, sparkFailed                                  float64
	meanLatency                                                  float64
}

func (d delta) of(group string) view {
	inc := func(k string) float64 { return d.after[k] - d.before[k] }
	req := func(status string) float64 {
		return inc(fmt.Sprintf("flask_http_request_total{method=GET,status=%s,steadywatch_io_group=%s}", status, group))
	}
	v := view{
		ok: req("200"), serverErrors: req("500"), unavailable: req("503"),
		exceptions:     inc(fmt.Sprintf("flask_http_request_exceptions_total{method=GET,status=500,steadywatch_io_group=%s}", group)),
		commits:        inc(fmt.Sprintf("pg_stat_database_xact_commit{datname=lmd,steadywatch_io_group=%s}", group)),
		requests:       inc(fmt.Sprintf("flask_http_request_duration_seconds_count{method=GET,steadywatch_io_group=%s}", group)),
		sparkCompleted: inc(fmt.Sprintf("metrics_executor_completedTasks_total{steadywatch_io_group=%s}", group)),
		sparkFailed:    inc(fmt.Sprintf("metrics_executor_failedTasks_total{steadywatch_io_group=%s}", group)),
	}
	if v.requests > 0 {
		v.meanLatency = inc(fmt.Sprintf("flask_http_request_duration_seconds_sum{method=GET,steadywatch_io_group=%s}", group)) / v.requests
	}
	return v
}

func (d delta) lag(group, pod string) (float64, bool) {
	v, ok := d.after[fmt.Sprintf("pg_replication_lag_seconds{pod=%s,steadywatch_io_group=%s}", pod, group)]
	return v, ok
}

func (d delta) up(group, pod, role string) (float64, bool) {
	v, ok := d.after[fmt.Sprintf("pg_up{pod=%s,role=%s,steadywatch_io_group=%s}", pod, role, group)]
	return v, ok
}

// steady is a group's minute with the defaults and three replicas at 10 %
// CPU: 100 req/s, all served, ρ = 2/3 so a mean of 10 ms × 3; two Spark
// workers completing a task a second each.
var steady = view{ok: 6000, commits: 6000, requests: 6000, sparkCompleted: 120, meanLatency: 0.03}

func requireView(t *testing.T, want, got view, msg string) {
	t.Helper()
	require.InDelta(t, want.meanLatency, got.meanLatency, 1e-3, msg+": mean latency")
	want.meanLatency, got.meanLatency = 0, 0
	require.Equal(t, want, got, msg)
}
