package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/watcher"
)

const (
	scaleNamespace   = "scale"
	scaleNodes       = 500
	scaleDeployments = 50
	scalePerDeploy   = 200 // 10,000 pods
)

var scaleOnce sync.Once

// scaleCluster fills the testbed with 500 nodes and 10,000 ready pods in 50
// Deployments, once per package run.
func scaleCluster(b *testing.B) kubernetes.Interface {
	b.Helper()
	tb := needBed(b)
	cfg := rest.CopyConfig(tb.RESTConfig())
	cfg.QPS, cfg.Burst = 2000, 2000
	c, err := kubernetes.NewForConfig(cfg)
	require.NoError(b, err)
	scaleOnce.Do(func() {
		ctx := b.Context()
		t0 := time.Now()
		_, err := tb.CreateNamespace(ctx, scaleNamespace)
		require.NoError(b, err)
		parallel(b, scaleNodes, 16, func(i int) error {
			_, err := tb.CreateNode(ctx, fmt.Sprintf("scale-%03d", i), map[string]string{"pool": scaleNamespace})
			return err
		})
		b.Logf("%d nodes ready after %s", scaleNodes, time.Since(t0).Round(time.Second))
		parallel(b, scaleDeployments, 8, func(i int) error {
			d := scale.Deployment(scaleNamespace, fmt.Sprintf("svc-%02d", i), fmt.Sprintf("svc-%02d", i),
				[]string{"control", "experimental"}[i%2], scaleNamespace, scalePerDeploy)
			// The default 300s not-ready toleration: a node slow to renew its
			// lease under this load must not set off an eviction storm.
			d.Spec.Template.Spec.Tolerations = d.Spec.Template.Spec.Tolerations[:1]
			_, err := c.AppsV1().Deployments(scaleNamespace).Create(ctx, d, metav1.CreateOptions{})
			return err
		})
		waitFor(b, 20*time.Minute, "10,000 running pods", func() (bool, error) {
			pods, err := c.CoreV1().Pods(scaleNamespace).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
			return err == nil && len(pods.Items) >= scaleDeployments*scalePerDeploy, err
		})
		b.Logf("%d pods running after %s", scaleDeployments*scalePerDeploy, time.Since(t0).Round(time.Second))
		// Under the fill's load kwok can be late renewing node leases: the
		// node controller then marks those nodes' pods not ready, and kwok
		// does not always mark them ready again. Such workloads stay
		// degraded; the measurement tolerates them (see waitSettled) but
		// says so.
		notReady := 0
		err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			ds, err := c.AppsV1().Deployments(scaleNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			notReady = 0
			for _, d := range ds.Items {
				if d.Status.ReadyReplicas < *d.Spec.Replicas {
					notReady++
				}
			}
			return notReady == 0, nil
		})
		if err != nil {
			b.Logf("%d of %d Deployments still short of ready replicas after %s", notReady, scaleDeployments, time.Since(t0).Round(time.Second))
		} else {
			b.Logf("all Deployments ready after %s", time.Since(t0).Round(time.Second))
		}
	})
	return c
}

func parallel(b *testing.B, n, workers int, f func(i int) error) {
	b.Helper()
	require.NoError(b, scale.Parallel(n, workers, f))
}

func heapInUse() uint64 {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkPodDeletionToMetricsSmallCluster measures the time from a pod
// deletion request to /metrics showing its event on an experiment-sized
// cluster: 20 nodes, 400 pods. Target: p99 ≤ 50 ms. It runs before the
// 10,000-pod benchmarks fill the testbed.
func BenchmarkPodDeletionToMetricsSmallCluster(b *testing.B) {
	tb := needBed(b)
	c := tb.Client()
	const ns = "small"
	smallOnce.Do(func() {
		_, err := tb.CreateNamespace(b.Context(), ns)
		require.NoError(b, err)
		parallel(b, 20, 8, func(i int) error {
			_, err := tb.CreateNode(b.Context(), fmt.Sprintf("small-%02d", i), map[string]string{"pool": ns})
			return err
		})
		parallel(b, 10, 4, func(i int) error {
			d := scale.Deployment(ns, fmt.Sprintf("svc-%02d", i), fmt.Sprintf("svc-%02d", i),
				[]string{"control", "experimental"}[i%2], ns, 40)
			_, err := c.AppsV1().Deployments(ns).Create(b.Context(), d, metav1.CreateOptions{})
			return err
		})
		waitFor(b, 5*time.Minute, "400 running pods", func() (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(b.Context(), metav1.ListOptions{FieldSelector: "status.phase=Running"})
			return err == nil && len(pods.Items) >= 400, err
		})
	})
	runPaces(b, c, ns)
}

var smallOnce sync.Once

// BenchmarkWatcherMemoryPerPod measures the heap the watcher (informer
// caches + incident tracker) holds per watched pod, on 10,000 pods and 500
// nodes. Target: ≤ 1 KiB per pod.
func BenchmarkWatcherMemoryPerPod(b *testing.B) {
	c := scaleCluster(b)
	for b.Loop() {
		before := heapInUse()
		tracker := tracker.New(tracker.Options{Recorder: exporter.NewMetrics(prometheus.NewRegistry())})
		w, err := watcher.New(watcher.Options{Client: c, Sink: tracker, Subjects: watcher.DefaultSubjects()})
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		waitFor(b, 5*time.Minute, "watcher synced", func() (bool, error) { return w.Synced(), nil })
		after := heapInUse()
		pods := tracker.Snapshot().Pods
		require.GreaterOrEqual(b, len(pods), scaleDeployments*scalePerDeploy)
		perPod := float64(after-before) / float64(len(pods))
		b.ReportMetric(perPod, "heap-B/pod")
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(len(pods)), "pods")
		runtime.KeepAlive(tracker)
		runtime.KeepAlive(w)
		cancel()
		require.NoError(b, <-done)
	}
}

// BenchmarkPodDeletionToMetrics measures the time from a pod deletion
// request to /metrics showing its event, with 10,000 pods and 500 nodes
// watched. Target: p99 ≤ 50 ms.
func BenchmarkPodDeletionToMetrics(b *testing.B) {
	c := scaleCluster(b)
	runPaces(b, c, scaleNamespace)
}

// runPaces measures 200 deletions in each pace, as sub-benchmarks.
func runPaces(b *testing.B, c kubernetes.Interface, ns string) {
	for _, pace := range []pace{settled, backToBack} {
		b.Run("pace="+string(pace), func(b *testing.B) {
			for b.Loop() {
				measureDeletions(b, c, ns, 200, pace)
			}
		})
	}
}

// pace is how deletions follow each other.
type pace string

const (
	// settled: each deletion hits a steady cluster, as a chaos
	// experiment's fault does — steadywatch has seen the previous
	// deletion's workload recover and the pods have not changed for
	// settleGap. This is what the target is about.
	settled pace = "settled"
	// backToBack: the next deletion as soon as /metrics showed the last,
	// about 40 a second with a score of replacements in flight — a
	// deletion storm, which makes the control plane the bottleneck.
	backToBack pace = "back-to-back"
)

// settleGap is how long the pods must go unchanged between two settled
// deletions.
const settleGap = 250 * time.Millisecond

// measureDeletions starts steadywatch on ns, deletes n of its pods one at a
// time, paced as p says, and reports how long each took to show on
// /metrics.
//
// It starts on a settled cluster: after steadywatch's start it waits until
// the pods have had no update for settleQuiet, as a cluster between
// experiments would be. A watch of its own (probe) times when the API
// server's watch delivered each deletion, which splits the latency into
// what the control plane took (delete call → any watcher could know:
// apiwatch) and what steadywatch added after it (→ recorded → scraped:
// added).
func measureDeletions(b *testing.B, c kubernetes.Interface, ns string, n int, p pace) {
	// As users run it: the e2e tests' 1 s checkpoint is for their restarts.
	inst := startSteadywatch(b, ns, b.TempDir(), func(c *config.Config) {
		c.Watch.CheckpointInterval = config.DefaultCheckpointInterval
	})
	sw := inst.url
	probe := scale.StartProbe(b, c, ns)
	settledFirst := probe.Settle(b)
	// Incidents open before the first deletion are the cluster's own (see
	// scaleCluster); the settled pace waits for the benchmark's to close.
	preexisting := map[string]bool{}
	for _, inc := range inst.Tracker.OpenIncidents() {
		preexisting[inc.ID] = true
	}
	if len(preexisting) > 0 {
		b.Logf("%d incidents open before the first deletion (workloads already degraded); the settled pace does not wait for them", len(preexisting))
	}
	pods, err := c.CoreV1().Pods(ns).List(b.Context(), metav1.ListOptions{})
	require.NoError(b, err)
	var latencies, toProbe, added, toTracker, toScrape, toReturn []time.Duration
	for i := range n {
		if p == settled && i > 0 {
			waitSettled(b, c, inst, probe, preexisting)
		}
		victim := pods.Items[i*len(pods.Items)/n]
		before := eventsTotal(b, sw)
		start := time.Now()
		require.NoError(b, c.CoreV1().Pods(ns).Delete(b.Context(), victim.Name, metav1.DeleteOptions{}))
		toReturn = append(toReturn, time.Since(start))
		// Scrape back to back (each scrape is a few hundred µs), so the
		// polling adds little to what is measured.
		deadline := start.Add(10 * time.Second)
		for eventsTotal(b, sw) <= before {
			require.True(b, time.Now().Before(deadline), "pod deletion %d not on /metrics within 10s", i)
		}
		seen := time.Now()
		recorded := inst.Tracker.LastEvent()
		latencies = append(latencies, seen.Sub(start))
		toTracker = append(toTracker, recorded.Sub(start))
		toScrape = append(toScrape, seen.Sub(recorded))
		if at, ok := probe.Deleted(string(victim.UID), deadline); ok {
			toProbe = append(toProbe, at.Sub(start))
			added = append(added, seen.Sub(at))
		}
	}
	q := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(latencies, 0.50), "p50-ms")
	b.ReportMetric(q(latencies, 0.99), "p99-ms")
	b.ReportMetric(q(latencies, 1), "max-ms")
	b.ReportMetric(q(toReturn, 0.50), "delete-call-p50-ms")
	b.ReportMetric(q(toReturn, 0.99), "delete-call-p99-ms")
	b.ReportMetric(q(toProbe, 0.50), "apiwatch-p50-ms")
	b.ReportMetric(q(toProbe, 0.99), "apiwatch-p99-ms")
	b.ReportMetric(q(added, 0.50), "added-p50-ms")
	b.ReportMetric(q(added, 0.99), "added-p99-ms")
	b.ReportMetric(q(toTracker, 0.50), "tracker-p50-ms")
	b.ReportMetric(q(toTracker, 0.99), "tracker-p99-ms")
	b.ReportMetric(q(toScrape, 0.50), "scrape-p50-ms")
	b.ReportMetric(q(toScrape, 0.99), "scrape-p99-ms")
	if settledFirst {
		b.ReportMetric(1, "settled")
	} else {
		b.ReportMetric(0, "settled")
	}
	probe.Stop()
	inst.stop()
}

// waitSettled waits until steadywatch has no incident open but the
// preexisting ones and the pods have not changed for settleGap.
func waitSettled(b *testing.B, c kubernetes.Interface, inst *instance, probe *scale.Probe, preexisting map[string]bool) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		open := slices.DeleteFunc(inst.Tracker.OpenIncidents(), func(inc chaos.Incident) bool { return preexisting[inc.ID] })
		if len(open) == 0 && probe.QuietFor() >= settleGap {
			return
		}
		if time.Now().After(deadline) {
			if len(open) == 0 {
				b.Fatalf("the pods kept changing for 30s")
			}
			b.Fatalf("%d incidents still open after 30s, the first %s; %s", len(open), open[0].ID, describeWorkload(b, c, open[0].Object))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describeWorkload says what the API server has of a Deployment: its
// status and how many of its pods are ready, for a failure message.
func describeWorkload(b *testing.B, c kubernetes.Interface, ref chaos.Ref) string {
	d, err := c.AppsV1().Deployments(ref.Namespace).Get(b.Context(), ref.Name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	pods, err := c.CoreV1().Pods(ref.Namespace).List(b.Context(), metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
	if err != nil {
		return err.Error()
	}
	ready, terminating := 0, 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			terminating++
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return fmt.Sprintf("%s: spec %d, status %+v; %d pods, %d ready, %d terminating", ref, *d.Spec.Replicas, d.Status, len(pods.Items), ready, terminating)
}

// eventsTotal scrapes the pod_deleted total cheaply (the exposition is
// read as text; a scrape is part of what the latency measures).
//
// It asks for the exposition as Prometheus does, but uncompressed, and reads
// only the lines it needs: what is measured is when the served exposition
// has the event, not how long this client takes to parse all of it.
func eventsTotal(b *testing.B, url string) float64 {
	b.Helper()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, url+"/metrics", nil)
	require.NoError(b, err)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := scrapeClient.Do(req)
	require.NoError(b, err)
	defer resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "steadywatch_chaos_events_total{") || !strings.Contains(line, `kind="pod_deleted"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(b, err, line)
		total += v
	}
	require.NoError(b, sc.Err())
	return total
}

// scrapeClient keeps its connection and asks for no compression.
var scrapeClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}
