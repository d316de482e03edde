// Package costcurve measures what steadywatch's watcher, tracker and
// exporter cost as the cluster grows (issue 16, "the cost curve"): heap
// and RSS per pod once synced, the time to sync, the CPU per pod event,
// and the /metrics scrape. The cluster is served by client-go's fake
// clientset with list reactors that hand out lists made for them, once,
// and fake watches the events are sent into: no object tracker holds
// the objects.
//
// BenchmarkCostCurve reports the figures at 1k and 10k pods, and at 100k
// and 1M with STEADYWATCH_BENCH_COSTCURVE=1 (`make bench-costcurve`).
// TestCostCurveIsFlat fails if memory per pod or the scrape grows with
// the cluster between 1k and 10k pods.
package costcurve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/watcher"
	"github.com/steadywatch/steadywatch/web"
)

const (
	// burstCycles pod evictions are sent in a burst once synced, each
	// four events: the pod marked for deletion, its replacement added,
	// then ready, and the pod gone. A burst evicts each pod it takes once.
	burstCycles    = 4 * podsPerDeployment // len(services)
	eventsPerCycle = 4
	scrapes        = 10
	// benchBursts are sent, one after the other, by the benchmark; the
	// least CPU is reported, what is least disturbed by whatever else the
	// machine runs. The test, which does not judge the CPU, sends one.
	benchBursts = 3
	syncTimeout = 10 * time.Minute
)

// figures are what one size costs. Memory is what the process holds
// more once synced than before it started watching.
type figures struct {
	cluster   cluster
	heap, rss int64
	// sync is from the start until the pod handler has seen every pod
	// (what its HasSynced waits for); ready until the watcher says synced
	// (it checks every 100 ms).
	sync, ready time.Duration
	// syncCPU is the process's CPU time until sync: wall time on a shared
	// machine is mostly the others' doing.
	syncCPU time.Duration
	// events is a burst's, cpu and wall the least costly burst's.
	events    int
	cpu, wall time.Duration
	// scrape are the /metrics times, sorted.
	scrape      []time.Duration
	scrapeBytes int
	series      int
	byName      map[string]int
}

func (f figures) cpuPerEvent() time.Duration { return f.cpu / time.Duration(max(1, f.events)) }

func (f figures) scrapeMedian() time.Duration { return f.scrape[len(f.scrape)/2] }

// perPod is what a pod costs above the empty cluster's base.
func perPod(v, base int64, pods int) float64 { return float64(v-base) / float64(pods) }

// countingSink hands what the watcher sees to the tracker and counts the
// pod calls, so the benchmark knows when the informer has handed over
// what it was sent.
type countingSink struct {
	*tracker.Tracker
	mu      sync.Mutex
	seen    int
	want    int
	reached chan struct{}
}

func (s *countingSink) PodChanged(p tracker.Pod) {
	s.Tracker.PodChanged(p)
	s.count()
}

func (s *countingSink) PodGone(p tracker.Pod, missed bool) {
	s.Tracker.PodGone(p, missed)
	s.count()
}

func (s *countingSink) count() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	if s.seen == s.want {
		close(s.reached)
	}
}

// expect returns a channel closed once n more pod calls were made.
func (s *countingSink) expect(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want = s.seen + n
	s.reached = make(chan struct{})
	if n == 0 {
		close(s.reached)
	}
	return s.reached
}

// discardStore keeps no incident: serve writes them to its database, and
// an in-memory history would grow with the events, not the pods.
type discardStore struct{}

func (discardStore) Save(context.Context, chaos.Incident) error { return nil }
func (discardStore) List(context.Context, tracker.Filter) ([]chaos.Incident, error) {
	return nil, nil
}
func (discardStore) SaveEvent(context.Context, chaos.Event) error { return nil }
func (discardStore) Events(context.Context, tracker.Filter) ([]chaos.Event, error) {
	return nil, nil
}

// memory is the heap in use after a full collection and the resident set
// once the freed pages went back to the OS.
func memory(tb testing.TB) (heap, rss int64) {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Fatalf("reading RSS: %v", err)
	}
	fields := strings.Fields(string(statm))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		tb.Fatalf("reading RSS: %v", err)
	}
	return int64(m.HeapInuse), pages * int64(os.Getpagesize()) //nolint:gosec // a heap below 8 EiB
}

func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs the watcher, tracker and exporter over a cluster of pods
// pods, as serve wires them, and measures them, sending bursts bursts of
// pod events; with pods = 0, the base every size pays.
func measure(tb testing.TB, pods, bursts int) figures {
	tb.Helper()
	f := figures{cluster: newCluster(pods)}
	heap0, rss0 := memory(tb)

	api := newFakeAPI(f.cluster)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(contract.Namespace))
	health := watcher.NewHealth(watcher.HealthOptions{})
	reg.MustRegister(exporter.NewWatchHealthCollector(health))
	sink := &countingSink{Tracker: tracker.New(tracker.Options{Store: discardStore{}, Recorder: exporter.NewMetrics(reg)})}
	w, err := watcher.New(watcher.Options{
		Client: api, Address: "fake", Sink: sink, Subjects: watcher.DefaultSubjects(), Health: health,
	})
	if err != nil {
		tb.Fatal(err)
	}
	reg.MustRegister(exporter.NewStateCollector(sink.Tracker, w), exporter.NewVerdictCollector(verdict.NewBoard()))
	metrics := web.MetricsHandler(reg)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	listed := sink.expect(pods)
	start, cpu0 := time.Now(), cpuTime(tb)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	}()
	select {
	case <-listed:
		f.sync, f.syncCPU = time.Since(start), cpuTime(tb)-cpu0
	case <-time.After(syncTimeout):
		tb.Fatalf("%d pods not handed over within %s", pods, syncTimeout)
	}
	waitfor.True(tb, syncTimeout, "the watcher to sync", w.Synced)
	f.ready = time.Since(start)
	heap1, rss1 := memory(tb)
	f.heap, f.rss = heap1-heap0, rss1-rss0

	if pods > 0 { // the empty cluster has no pod to delete
		e := newEvictions(f.cluster, api.podWatch(), sink)
		for round := range bursts {
			events, cpu, wall := e.burst(tb)
			if round == 0 || cpu < f.cpu {
				f.events, f.cpu, f.wall = events, cpu, wall
			}
		}
	}
	for range scrapes {
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/metrics", nil)
		t := time.Now()
		metrics.ServeHTTP(rec, req)
		f.scrape = append(f.scrape, time.Since(t))
		if rec.Code != http.StatusOK {
			tb.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
		}
		f.scrapeBytes = rec.Body.Len()
		f.series, f.byName = series(rec.Body.String())
	}
	slices.Sort(f.scrape)
	return f
}

// evictions evicts and recreates pods of the Deployments, a burst at a
// time, sending their events into the pod watch.
type evictions struct {
	c     cluster
	pw    *watch.FakeWatcher
	sink  *countingSink
	sent  int // cycles sent so far
	rv    int
	alive map[int]*corev1.Pod // the pods that replaced others, by index
}

func newEvictions(c cluster, pw *watch.FakeWatcher, sink *countingSink) *evictions {
	return &evictions{c: c, pw: pw, sink: sink, rv: 1, alive: map[int]*corev1.Pod{}}
}

// burst sends burstCycles evictions and returns how many events it sent
// and the process's CPU and wall time until the tracker had them all.
// The events' objects are made beforehand, so the CPU is the informer's
// and the tracker's (and the fake watch's channel).
//
// The pods are taken in turn from the first Deployment of each service,
// so that every size's burst is of the same subjects and makes the same
// series. Each pod is evicted as by a chaos tool's kill through the
// Eviction API: a deletion with a reason opens its incident at once
// (without one the tracker holds it up to ScaleDownHold of wall time for a
// scale-down to show, and what it decided would depend on how busy the
// machine is). The events are dated as they are sent: the deletion asked
// for then, the replacement created and ready then, so that the watcher
// sees each live however long the burst takes, and each recovery and
// each time between failures is measured.
func (e *evictions) burst(tb testing.TB) (int, time.Duration, time.Duration) {
	tb.Helper()
	perLap := len(services) * podsPerDeployment
	if perLap != burstCycles {
		tb.Fatalf("a burst is %d evictions, one of each of the %d pods it takes", burstCycles, perLap)
	}
	if e.c.deployed < perLap {
		tb.Fatalf("a burst takes %d pods of Deployments, the cluster has %d", perLap, e.c.deployed)
	}
	version := func(p *corev1.Pod) *corev1.Pod {
		e.rv++
		p.ResourceVersion = strconv.Itoa(e.rv)
		return p
	}
	type cycle struct{ terminating, pending, ready *corev1.Pod }
	cycles := make([]cycle, burstCycles)
	for k := range cycles {
		j := e.sent + k
		i := j%len(services)*podsPerDeployment + j/len(services)%podsPerDeployment
		gen := j / perLap
		old, ok := e.alive[i]
		if !ok {
			old = e.c.pod(i, gen, true)
		}
		old = old.DeepCopy()
		old.DeletionTimestamp = &metav1.Time{}
		old.DeletionGracePeriodSeconds = new(int64(30))
		old.Status.Conditions = append(old.Status.Conditions, corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI",
		})
		pending, ready := e.c.pod(i, gen+1, false), e.c.pod(i, gen+1, true)
		e.alive[i] = ready
		cycles[k] = cycle{version(old), version(pending), version(ready)}
	}
	e.sent += len(cycles)
	events := len(cycles) * eventsPerCycle
	handed := e.sink.expect(events)
	cpu0, start := cpuTime(tb), time.Now()
	for _, cy := range cycles {
		now := time.Now()
		cy.terminating.DeletionTimestamp.Time = now.Add(30 * time.Second)
		e.pw.Modify(cy.terminating)
		e.pw.Add(dated(cy.pending, now))
		e.pw.Modify(dated(cy.ready, now))
		e.pw.Delete(cy.terminating)
	}
	select {
	case <-handed:
	case <-time.After(syncTimeout):
		tb.Fatalf("%d pod events not handed over within %s", events, syncTimeout)
	}
	return events, cpuTime(tb) - cpu0, time.Since(start)
}

// dated is p created at, its conditions and container changed at.
func dated(p *corev1.Pod, at time.Time) *corev1.Pod {
	p.CreationTimestamp.Time = at
	p.Status.StartTime = &p.CreationTimestamp
	for i := range p.Status.Conditions {
		p.Status.Conditions[i].LastTransitionTime.Time = at
	}
	p.Status.ContainerStatuses[0].State.Running.StartedAt.Time = at
	return p
}

// series counts the samples of a text exposition, in all and by name
// (a histogram's buckets count under their _bucket name).
func series(body string) (int, map[string]int) {
	n, byName := 0, map[string]int{}
	for line := range strings.Lines(body) {
		if line == "\n" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		byName[name]++
	}
	return n, byName
}

// baseline measures the empty cluster once the process has paid, in a
// first run, what only the first run pays (client-go's and Prometheus's
// lazily built globals).
func baseline(tb testing.TB) figures {
	tb.Helper()
	measure(tb, 0, 0)
	return measure(tb, 0, 0)
}

// sizes are the benchmark's cluster sizes: 100k and 1M pods take minutes
// and gigabytes, so only when asked for.
func sizes() []int {
	s := []int{1_000, 10_000}
	if os.Getenv("STEADYWATCH_BENCH_COSTCURVE") != "" {
		s = append(s, 100_000, 1_000_000)
	}
	return s
}

// BenchmarkCostCurve reports, per size, what a pod costs above the empty
// cluster's base; run it with -benchtime 1x (one measurement per size).
func BenchmarkCostCurve(b *testing.B) {
	base := baseline(b)
	for _, n := range sizes() {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			var f figures
			for b.Loop() {
				f = measure(b, n, benchBursts)
			}
			c := f.cluster
			b.ReportMetric(perPod(f.heap, base.heap, n), "heap-B/pod")
			b.ReportMetric(perPod(f.rss, base.rss, n), "rss-B/pod")
			b.ReportMetric(f.sync.Seconds(), "sync-s")
			b.ReportMetric(f.syncCPU.Seconds(), "sync-cpu-s")
			b.ReportMetric(float64(f.cpuPerEvent().Nanoseconds()), "cpu-ns/event")
			b.ReportMetric(ms(f.scrape[0]), "scrape-min-ms")
			b.ReportMetric(ms(f.scrapeMedian()), "scrape-med-ms")
			b.ReportMetric(ms(f.scrape[len(f.scrape)-1]), "scrape-max-ms")
			b.ReportMetric(float64(f.scrapeBytes), "scrape-bytes")
			b.ReportMetric(float64(f.series), "series")
			b.Logf("pods %d, nodes %d, workloads %d (%d Deployments), HPAs %d: heap %.1f MiB, RSS %.1f MiB above the process before; "+
				"synced in %s (ready %s); %d events in %s wall, %s CPU; the empty cluster's base: heap %.0f KiB, RSS %.0f KiB, %d series",
				n, c.nodes, c.workloads(), c.deployments, c.hpas, mib(f.heap), mib(f.rss), f.sync, f.ready, f.events, f.wall, f.cpu,
				float64(base.heap)/(1<<10), float64(base.rss)/(1<<10), base.series)
		})
	}
}

func mib(b int64) float64        { return float64(b) / (1 << 20) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Bounds of flat: the larger cluster's heap per pod (above the base)
// within a factor of the smaller's either way; its fastest scrape no
// slower than scrapeFactor times the smaller's; and at most one series
// more per workload more (the ready-ratio gauge is one per workload).
const (
	heapFactor   = 2.0
	scrapeFactor = 5.0
)

// flat says how large's costs grew more than in proportion to its pods
// over small's, if they did.
func flat(base, small, large figures) error {
	var errs []string
	hs, hl := perPod(small.heap, base.heap, small.cluster.pods), perPod(large.heap, base.heap, large.cluster.pods)
	if hl > heapFactor*hs || hl < hs/heapFactor {
		errs = append(errs, fmt.Sprintf("heap per pod %.0f B at %d pods, %.0f B at %d: not within a factor of %g",
			hs, small.cluster.pods, hl, large.cluster.pods, heapFactor))
	}
	if ss, sl := small.scrape[0], large.scrape[0]; float64(sl) > scrapeFactor*float64(ss) {
		errs = append(errs, fmt.Sprintf("fastest scrape %s at %d pods, %s at %d: more than %g times",
			ss, small.cluster.pods, sl, large.cluster.pods, scrapeFactor))
	}
	if more, workloads := large.series-small.series, large.cluster.workloads()-small.cluster.workloads(); more > workloads {
		errs = append(errs, fmt.Sprintf("%d series more at %d pods than at %d, for %d workloads more: %s",
			more, large.cluster.pods, small.cluster.pods, workloads, grown(small.byName, large.byName)))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// grown names the series that large has more of than small.
func grown(small, large map[string]int) string {
	var out []string
	for name, n := range large {
		if n > small[name] {
			out = append(out, fmt.Sprintf("%s +%d", name, n-small[name]))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// TestCostCurveIsFlat measures 1k and 10k pods: what a pod costs in heap
// stays the same, and the scrape does not grow with the pods.
func TestCostCurveIsFlat(t *testing.T) {
	base := baseline(t)
	small, large := measure(t, 1_000, 1), measure(t, 10_000, 1)
	for _, f := range []figures{small, large} {
		t.Logf("%d pods: heap %.0f B/pod, RSS %.0f B/pod, synced in %s, %s CPU/event, scrape min %s median %s, %d series",
			f.cluster.pods, perPod(f.heap, base.heap, f.cluster.pods), perPod(f.rss, base.rss, f.cluster.pods),
			f.sync, f.cpuPerEvent(), f.scrape[0], f.scrapeMedian(), f.series)
	}
	require.NoError(t, flat(base, small, large))
}

// TestFlatBounds checks flat on made-up figures just inside and just
// outside each bound.
func TestFlatBounds(t *testing.T) {
	const kib = 1 << 10
	sized := func(pods int, heapPerPod int64, scrape time.Duration, series int) figures {
		return figures{
			cluster: newCluster(pods), heap: 10*kib*kib + int64(pods)*heapPerPod,
			scrape: []time.Duration{scrape}, series: series, byName: map[string]int{"x": series},
		}
	}
	base := sized(0, 0, time.Millisecond, 150)
	small := sized(1_000, kib, time.Millisecond, 180)
	workloads := newCluster(10_000).workloads() - small.cluster.workloads()
	for _, c := range []struct {
		name  string
		large figures
		fails string
	}{
		{"twice the heap per pod is flat enough", sized(10_000, 2*kib, time.Millisecond, 180), ""},
		{"more than twice is not", sized(10_000, 2*kib+1, time.Millisecond, 180), "heap per pod"},
		{"half the heap per pod is flat enough", sized(10_000, kib/2, time.Millisecond, 180), ""},
		{"less than half is not", sized(10_000, kib/2-1, time.Millisecond, 180), "heap per pod"},
		{"a scrape five times slower is flat enough", sized(10_000, kib, 5*time.Millisecond, 180), ""},
		{"slower than that is not", sized(10_000, kib, 5*time.Millisecond+time.Microsecond, 180), "fastest scrape"},
		{"a series more per workload is flat enough", sized(10_000, kib, time.Millisecond, 180+workloads), ""},
		{"one more than that is not", sized(10_000, kib, time.Millisecond, 181+workloads), "series more"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := flat(base, small, c.large)
			if c.fails == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.fails)
		})
	}
}

func TestSeriesCountsSamplesByName(t *testing.T) {
	n, byName := series("# HELP a x\n# TYPE a counter\na{k=\"1\"} 1\na{k=\"2\"} 2\nb 3\n\n")
	require.Equal(t, 3, n)
	require.Equal(t, map[string]int{"a": 2, "b": 1}, byName)
}
