package e2e

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/incident"
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
			d := deployment(scaleNamespace, fmt.Sprintf("svc-%02d", i), fmt.Sprintf("svc-%02d", i),
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
	})
	return c
}

func parallel(b *testing.B, n, workers int, f func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkWatcherMemoryPerPod measures the heap the watcher (informer
// caches + incident tracker) holds per watched pod, on 10,000 pods and 500
// nodes. Target: ≤ 1 KiB per pod.
func BenchmarkWatcherMemoryPerPod(b *testing.B) {
	c := scaleCluster(b)
	for b.Loop() {
		before := heapInUse()
		tracker := incident.NewTracker(incident.Options{Recorder: exporter.NewMetrics(prometheus.NewRegistry())})
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
// request to /metrics showing its event, with 10,000 pods watched.
// Target: p99 ≤ 50 ms.
func BenchmarkPodDeletionToMetrics(b *testing.B) {
	c := scaleCluster(b)
	for b.Loop() {
		inst := startSteadywatch(b, scaleNamespace, b.TempDir())
		sw := inst.url
		pods, err := c.CoreV1().Pods(scaleNamespace).List(b.Context(), metav1.ListOptions{})
		require.NoError(b, err)
		const n = 200
		// Where the time goes: until the tracker recorded the event (API
		// server, watch delivery, informer, tracker), and from there until a
		// scrape showed it (steadywatch's exposition).
		var latencies, toTracker, toScrape []time.Duration
		for i := range n {
			p := pods.Items[i*len(pods.Items)/n]
			before := eventsTotal(b, sw)
			start := time.Now()
			require.NoError(b, c.CoreV1().Pods(scaleNamespace).Delete(b.Context(), p.Name, metav1.DeleteOptions{}))
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
		}
		q := func(d []time.Duration, p float64) float64 {
			slices.Sort(d)
			return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(q(latencies, 0.50), "p50-ms")
		b.ReportMetric(q(latencies, 0.99), "p99-ms")
		b.ReportMetric(q(latencies, 1), "max-ms")
		b.ReportMetric(q(toTracker, 0.50), "tracker-p50-ms")
		b.ReportMetric(q(toTracker, 0.99), "tracker-p99-ms")
		b.ReportMetric(q(toScrape, 0.50), "scrape-p50-ms")
		b.ReportMetric(q(toScrape, 0.99), "scrape-p99-ms")
	}
}

// eventsTotal scrapes the pod_deleted total cheaply (the exposition is
// read as text; a scrape is part of what the latency measures).
func eventsTotal(b *testing.B, url string) float64 {
	b.Helper()
	return sum(scrape(b, url), "steadywatch_chaos_events_total", map[string]string{"kind": "pod_deleted"})
}
