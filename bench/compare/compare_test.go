// Package compare runs `steadywatch serve` and kube-state-metrics v2.15.0
// side by side on the testbed filled with issue 16's cluster, and prints
// one table of both and their ratio (make bench-compare): memory, start,
// scrapes, and how soon a pod's deletion shows in a scrape.
//
// It is not in the default test run: set STEADYWATCH_BENCH_COMPARE=1.
// STEADYWATCH_BENCH_COMPARE_REPLICAS sizes the fill (pods per Deployment;
// default 500: 10,090 pods on 501 nodes; 45: 990 pods on 46 nodes, for
// development). STEADYWATCH_BIN measures a given steadywatch build.
package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/internal/testenv/procmem"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

const (
	// settle is how long both run, once synced, before their memory is
	// read: the first GC cycles ran, the first resync-free minute started.
	settle = 15 * time.Second
	// late is when, after steadywatch synced, both are read again: past
	// the Go runtime's forced collection (every 2 minutes) and the
	// scrapes and deletions.
	late = 3 * time.Minute
	// scrapes is how many scrapes of each are timed.
	scrapes = 10
	// deletionsEach is how many deletions each tool is timed on; the
	// deletions alternate between the tools, so that one tool's polling
	// does not load the other's measurement.
	deletionsEach = 40
)

func TestSideBySide(t *testing.T) {
	if os.Getenv("STEADYWATCH_BENCH_COMPARE") == "" {
		t.Skip("a measurement, not a test: set STEADYWATCH_BENCH_COMPARE=1 (make bench-compare)")
	}
	s := shape{replicas: 500}
	if v := os.Getenv("STEADYWATCH_BENCH_COMPARE_REPLICAS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		require.NoError(t, err, "STEADYWATCH_BENCH_COMPARE_REPLICAS")
		require.Positive(t, n, "STEADYWATCH_BENCH_COMPARE_REPLICAS")
		s.replicas = int32(n)
	}
	load0 := loadAverage()
	swBin := os.Getenv("STEADYWATCH_BIN")
	if swBin == "" {
		swBin = procmem.BuildSteadywatch(t)
	}
	ksmBin := ksmBinary(t)

	tb := testbed.New(t, testbed.Options{MetricsServer: true})
	cfg := tb.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 2000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	c, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	f := fill(t, tb, c, s)

	// The baseline: both on the empty namespace (the nodes are watched
	// all the same: they are not namespaced).
	sw := startSteadywatch(t, swBin, tb, emptyNamespace)
	waitSynced(t, sw)
	ksm := startKSM(t, ksmBin, tb, emptyNamespace, 0, f.nodes)
	waitSynced(t, ksm)
	baseSW, baseKSM := settled(t, sw, ksm)
	sw.proc.Kill()
	ksm.proc.Kill()

	// The cluster: each started alone, so that neither's start loads the
	// other's, then both run together.
	sw = startSteadywatch(t, swBin, tb, "")
	syncSW := waitSynced(t, sw)
	swSyncedAt := time.Now()
	ksm = startKSM(t, ksmBin, tb, "", f.pods, f.nodes)
	syncKSM := waitSynced(t, ksm)
	memSW, memKSM := settled(t, sw, ksm)
	scrSW, scrKSM := timeScrapes(t, sw, ksm)
	del := timeDeletions(t, c, sw, ksm)
	// Later: once the scrapes and deletions are over, at least late from
	// steadywatch's sync, what each holds in steady operation.
	if wait := time.Until(swSyncedAt.Add(late)); wait > 0 {
		time.Sleep(wait)
	}
	lateSW, lateKSM := readMemory(t, sw, ksm)

	r := report{
		pods: f.pods, nodes: f.nodes, readied: f.readied, fill: f.took,
		load: [2]string{load0, loadAverage()},
		sw:   side{base: baseSW, mem: memSW, late: lateSW, synced: syncSW, scrapes: scrSW, deletions: del.sw},
		ksm:  side{base: baseKSM, mem: memKSM, late: lateKSM, synced: syncKSM, scrapes: scrKSM, deletions: del.ksm},
		api:  del.api,
	}
	t.Log("\n" + r.String())
}

// memory is a tool's resident set and Go heap.
type memory struct {
	rss, anon, file int64
	heapInuse       float64
}

// settled lets both run for settle and reads their memory: RSS from
// /proc/PID/status, the heap from the Go runtime's own figure in each
// one's exposition (kube-state-metrics': on its telemetry port).
func settled(t *testing.T, tools ...*tool) (memory, memory) {
	t.Helper()
	time.Sleep(settle)
	return readMemory(t, tools...)
}

// readMemory reads both tools' memory now.
func readMemory(t *testing.T, tools ...*tool) (memory, memory) {
	t.Helper()
	var m [2]memory
	for i, tl := range tools {
		st := procmem.ReadStatus(t, tl.pid())
		code, body := get(t.Context(), tl.runtime)
		require.Equal(t, 200, code, "%s's %s", tl.name, tl.runtime)
		heap := procmem.GoMetrics(body)["go_memstats_heap_inuse_bytes"]
		require.NotZero(t, heap, "%s exports go_memstats_heap_inuse_bytes", tl.name)
		m[i] = memory{rss: st["VmRSS"], anon: st["RssAnon"], file: st["RssFile"], heapInuse: heap}
	}
	return m[0], m[1]
}

// scrapeStats are the timed scrapes of one tool.
type scrapeStats struct {
	took          []time.Duration
	bytes, series int
	cpu           time.Duration // process CPU over all of them
}

// timeScrapes scrapes each tool scrapes times, in turn, and notes the
// time, size, series and the process's CPU time each took.
func timeScrapes(t *testing.T, tools ...*tool) (scrapeStats, scrapeStats) {
	t.Helper()
	var st [2]scrapeStats
	for range scrapes {
		for i, tl := range tools {
			cpu0, err := procmem.CPU(tl.pid())
			require.NoError(t, err)
			series := 0
			t0 := time.Now()
			n, err := scrape(t.Context(), tl.metrics, func(string) { series++ })
			took := time.Since(t0)
			require.NoError(t, err)
			cpu1, err := procmem.CPU(tl.pid())
			require.NoError(t, err)
			st[i].took = append(st[i].took, took)
			st[i].bytes, st[i].series = int(n), series
			st[i].cpu += cpu1 - cpu0
		}
	}
	return st[0], st[1]
}

// deletions are the times from a pod's delete call to the first scrape
// that shows it, per tool, and to the API server's watch delivering it.
type deletions struct {
	sw, ksm, api []time.Duration
}

// timeDeletions deletes Deployment pods one at a time, alternating the
// tool timed, and polls that tool's /metrics back to back until it shows
// the deletion: for steadywatch its pod_deleted event counted, for
// kube-state-metrics the pod's kube_pod_deletion_timestamp present or its
// kube_pod_info gone. Before the next deletion the victim's Deployment
// has its ready count back and the pods have not changed for a second.
func timeDeletions(t *testing.T, c kubernetes.Interface, sw, ksm *tool) deletions {
	t.Helper()
	ctx := t.Context()
	probe := scale.StartProbe(t, c, fillNamespace)
	probe.Settle(t)
	pods, err := c.CoreV1().Pods(fillNamespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	var victims []string
	uids := map[string]string{}
	for _, p := range pods.Items {
		if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Kind == "ReplicaSet" {
			victims = append(victims, p.Name)
			uids[p.Name] = string(p.UID)
		}
	}
	slices.Sort(victims)
	n := 2 * deletionsEach
	require.GreaterOrEqual(t, len(victims), n)
	var d deletions
	for i := range n {
		victim := victims[i*len(victims)/n]
		tl := []*tool{sw, ksm}[i%2]
		visible := podGone(victim)
		if tl == sw {
			before, err := swDeletedTotal(ctx, sw)
			require.NoError(t, err)
			visible = func(ctx context.Context, url string) (bool, error) {
				now, err := swDeletedTotal(ctx, sw)
				return now > before, err
			}
		} else {
			shown, err := visible(ctx, ksm.metrics)
			require.NoError(t, err)
			require.False(t, shown, "kube-state-metrics shows %s before its deletion", victim)
		}
		_, readyBefore := readyReplicas(t, c, victim)
		start := time.Now()
		require.NoError(t, c.CoreV1().Pods(fillNamespace).Delete(ctx, victim, metav1.DeleteOptions{}))
		deadline := start.Add(time.Minute)
		for {
			shown, err := visible(ctx, tl.metrics)
			require.NoError(t, err)
			if shown {
				break
			}
			require.True(t, time.Now().Before(deadline), "%s did not show the deletion of %s within a minute", tl.name, victim)
		}
		if tl == sw {
			d.sw = append(d.sw, time.Since(start))
		} else {
			d.ksm = append(d.ksm, time.Since(start))
		}
		if at, ok := probe.Deleted(uids[victim], deadline); ok {
			d.api = append(d.api, at.Sub(start))
		}
		waitWorkloadReady(t, c, probe, victim, readyBefore)
	}
	return d
}

// swDeletedTotal is steadywatch's count of pod deletions.
func swDeletedTotal(ctx context.Context, sw *tool) (float64, error) {
	total := 0.0
	var bad []error
	_, err := scrape(ctx, sw.metrics, func(line string) {
		v, ok, err := podDeletedSample(line)
		total += v
		if ok && err != nil {
			bad = append(bad, err)
		}
	})
	return total, errors.Join(append(bad, err)...)
}

// podDeletedSample reads line if it is a
// steadywatch_chaos_events_total{kind="pod_deleted"} sample.
func podDeletedSample(line string) (float64, bool, error) {
	if !strings.HasPrefix(line, "steadywatch_chaos_events_total{") || !strings.Contains(line, `kind="pod_deleted"`) {
		return 0, false, nil
	}
	v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
	if err != nil {
		return 0, true, fmt.Errorf("unreadable sample %q: %w", line, err)
	}
	return v, true, nil
}

// podGone says whether kube-state-metrics' exposition shows pod's
// deletion: its kube_pod_deletion_timestamp, or no kube_pod_info.
func podGone(pod string) func(ctx context.Context, url string) (bool, error) {
	return func(ctx context.Context, url string) (bool, error) {
		var info, deleting bool
		_, err := scrape(ctx, url, func(line string) {
			i, d := ksmPodLine(line, pod)
			info, deleting = info || i, deleting || d
		})
		return !info || deleting, err
	}
}

// ksmPodLine says whether line is pod's kube_pod_info or its
// kube_pod_deletion_timestamp.
func ksmPodLine(line, pod string) (info, deleting bool) {
	name, labels, ok := strings.Cut(line, "{")
	if !ok || (name != "kube_pod_info" && name != "kube_pod_deletion_timestamp") {
		return false, false
	}
	if !strings.HasPrefix(labels, `pod="`+pod+`"`) && !strings.Contains(labels, `,pod="`+pod+`"`) {
		return false, false
	}
	return name == "kube_pod_info", name == "kube_pod_deletion_timestamp"
}

// readyReplicas is the ready count of victim's Deployment (its name
// less the ReplicaSet's and the pod's suffixes).
func readyReplicas(t *testing.T, c kubernetes.Interface, victim string) (string, int32) {
	t.Helper()
	app := victim[:strings.LastIndexByte(victim[:strings.LastIndexByte(victim, '-')], '-')]
	d, err := c.AppsV1().Deployments(fillNamespace).Get(t.Context(), app, metav1.GetOptions{})
	require.NoError(t, err)
	return app, d.Status.ReadyReplicas
}

// waitWorkloadReady waits until victim's Deployment has as many replicas
// ready as before the deletion (not necessarily all: on a loaded testbed
// nodes that miss a lease renewal take pods with them) and the pods have
// not changed for a second, for at most a minute: a cluster that keeps
// changing is measured as it is.
func waitWorkloadReady(t *testing.T, c kubernetes.Interface, probe *scale.Probe, victim string, before int32) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, ready := readyReplicas(t, c, victim); ready >= before && probe.QuietFor() >= time.Second {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%s's Deployment not settled within a minute: going on", victim)
}

// waitSynced polls tl until it is synced and returns the time from its
// start to the poll that found it synced.
func waitSynced(t *testing.T, tl *tool) time.Duration {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		at := time.Now()
		if tl.ready() {
			took := at.Sub(tl.started)
			t.Logf("%s synced %s after its start", tl.name, took.Round(time.Millisecond))
			return took
		}
		select {
		case <-tl.proc.Exited():
			t.Fatalf("%s exited before it synced: %v\n%s", tl.name, tl.proc.WaitErr(), tl.proc.LogTail(4096))
		default:
		}
		require.True(t, time.Now().Before(deadline), "%s not synced within 10 minutes", tl.name)
		time.Sleep(20 * time.Millisecond)
	}
}

// loadAverage is /proc/loadavg's three averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// side is what was measured of one tool.
type side struct {
	base, mem, late memory
	synced          time.Duration
	scrapes         scrapeStats
	deletions       []time.Duration
}

// report is the table.
type report struct {
	pods, nodes, readied int
	fill                 time.Duration
	load                 [2]string
	sw, ksm              side
	api                  []time.Duration
}

func (r report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pods on %d nodes (%d marked Ready by the fill), filled in %s; nproc %d; load average %s at the start, %s at the end\n\n",
		r.pods, r.nodes, r.readied, r.fill.Round(time.Second), runtime.NumCPU(), r.load[0], r.load[1])
	b.WriteString("| | steadywatch | kube-state-metrics " + ksmVersion + " | KSM ÷ steadywatch |\n|---|---|---|---|\n")
	row := func(name string, sw, ksm float64, format string) {
		fmt.Fprintf(&b, "| %s | "+format+" | "+format+" | %s |\n", name, sw, ksm, ratio(ksm, sw))
	}
	perPod := func(m memory) float64 { return float64(m.rss) / 1024 / float64(r.pods) }
	abovePerPod := func(s side) float64 { return float64(s.mem.rss-s.base.rss) / 1024 / float64(r.pods) }
	row("RSS after sync, MiB", procmem.MiB(r.sw.mem.rss), procmem.MiB(r.ksm.mem.rss), "%.1f")
	row("  of it anonymous, MiB", procmem.MiB(r.sw.mem.anon), procmem.MiB(r.ksm.mem.anon), "%.1f")
	row("RSS on the empty namespace (baseline), MiB", procmem.MiB(r.sw.base.rss), procmem.MiB(r.ksm.base.rss), "%.1f")
	row(fmt.Sprintf("RSS %s after steadywatch synced (after the scrapes and deletions), MiB", late), procmem.MiB(r.sw.late.rss), procmem.MiB(r.ksm.late.rss), "%.1f")
	row("  of it anonymous, MiB", procmem.MiB(r.sw.late.anon), procmem.MiB(r.ksm.late.anon), "%.1f")
	row("  Go heap in use then, MiB", procmem.MiB(r.sw.late.heapInuse), procmem.MiB(r.ksm.late.heapInuse), "%.1f")
	row("RSS per pod, KiB", perPod(r.sw.mem), perPod(r.ksm.mem), "%.2f")
	row("RSS per pod above the baseline, KiB", abovePerPod(r.sw), abovePerPod(r.ksm), "%.2f")
	row("Go heap in use, MiB", procmem.MiB(r.sw.mem.heapInuse), procmem.MiB(r.ksm.mem.heapInuse), "%.1f")
	row("start → synced, s", r.sw.synced.Seconds(), r.ksm.synced.Seconds(), "%.2f")
	mmm := func(d []time.Duration) (float64, string) {
		d = slices.Clone(d)
		slices.Sort(d)
		med := ms(d[len(d)/2])
		return med, fmt.Sprintf("%.1f / %.1f / %.1f", ms(d[0]), med, ms(d[len(d)-1]))
	}
	swMed, swS := mmm(r.sw.scrapes.took)
	ksmMed, ksmS := mmm(r.ksm.scrapes.took)
	fmt.Fprintf(&b, "| scrape time min / median / max of %d, ms | %s | %s | %s (medians) |\n", scrapes, swS, ksmS, ratio(ksmMed, swMed))
	row("response bytes (uncompressed)", float64(r.sw.scrapes.bytes), float64(r.ksm.scrapes.bytes), "%.0f")
	row("series", float64(r.sw.scrapes.series), float64(r.ksm.scrapes.series), "%.0f")
	row("CPU per scrape, ms", ms(r.sw.scrapes.cpu)/scrapes, ms(r.ksm.scrapes.cpu)/scrapes, "%.1f")
	q := func(d []time.Duration, p float64) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return ms(d[int(p*float64(len(d)-1))])
	}
	fmt.Fprintf(&b, "| deletion → visible in a scrape, p50 / p99 of %d / %d, ms | %.1f / %.1f | %.1f / %.1f | %s / %s |\n",
		len(r.sw.deletions), len(r.ksm.deletions), q(r.sw.deletions, 0.5), q(r.sw.deletions, 0.99), q(r.ksm.deletions, 0.5), q(r.ksm.deletions, 0.99),
		ratio(q(r.ksm.deletions, 0.5), q(r.sw.deletions, 0.5)), ratio(q(r.ksm.deletions, 0.99), q(r.sw.deletions, 0.99)))
	if len(r.api) > 0 {
		fmt.Fprintf(&b, "\nthe API server's watch delivered the deletions (either tool's): p50 %.1f ms, p99 %.1f ms of %d\n", q(r.api, 0.5), q(r.api, 0.99), len(r.api))
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", a/b)
}
