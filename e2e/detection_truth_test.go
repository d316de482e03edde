package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/tracker"
)

// readyWatch is the test's own record of when a Deployment's pods were all
// ready: a plain watch of the pods, none of steadywatch's code.
type readyWatch struct {
	mu    sync.Mutex
	ready map[string]bool // pod name → ready and not terminating
	// whole is when the count of ready pods last reached want.
	whole time.Time
	want  int
}

func watchReady(t *testing.T, c kubernetes.Interface, ns, app string, want int) *readyWatch {
	t.Helper()
	rw := &readyWatch{ready: map[string]bool{}, want: want}
	w, err := c.CoreV1().Pods(ns).Watch(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	go func() {
		for ev := range w.ResultChan() {
			now := time.Now()
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			ready, _ := podReady(p)
			rw.mu.Lock()
			before := rw.count()
			rw.ready[p.Name] = ev.Type != watch.Deleted && ready && p.DeletionTimestamp == nil
			if before < rw.want && rw.count() >= rw.want {
				rw.whole = now
			}
			rw.mu.Unlock()
		}
	}()
	return rw
}

func (rw *readyWatch) count() int {
	n := 0
	for _, r := range rw.ready {
		if r {
			n++
		}
	}
	return n
}

// wholeSince returns when the pods were last seen all ready, if they are
// now and that happened after since.
func (rw *readyWatch) wholeSince(since time.Time) (time.Time, bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.whole, rw.count() >= rw.want && rw.whole.After(since)
}

// TestAnAlertDetectsOnlyAFaultOfItsServiceThatIsStillOpen posts alerts to a
// real Alertmanager, which delivers them to steadywatch's webhook, around
// two real pod kills (issue 11 #2): an alert of another service and one
// that starts after the fault recovered detect nothing; an alert of the
// service during the fault detects it, with its startsAt as the detection.
// The faults' times come from the test's own stopwatch and pod watch.
func TestAnAlertDetectsOnlyAFaultOfItsServiceThatIsStillOpen(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "detecttruth"
	namespace(t, ns)
	nodes := []string{"detecttruth-1", "detecttruth-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, scale.Deployment(ns, "web-experimental", "web", "experimental", ns, 2))
	own := watchReady(t, c, ns, "web-experimental", 2)

	const window, grace = 20 * time.Second, 2 * time.Second
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	sw := startSteadywatch(t, ns, t.TempDir(), func(cfg *config.Config) {
		cfg.Alerts.Detection.Window = model.Duration(window)
		cfg.Alerts.Detection.Grace = model.Duration(grace)
	})
	require.NoError(t, writeFileString(am.ConfigPath, fmt.Sprintf(`route:
  receiver: steadywatch
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: steadywatch
    webhook_configs:
      - url: http://%s%s
        send_resolved: true
`, strings.TrimPrefix(sw.url, "http://"), receiver.Path)))
	require.NoError(t, am.Reload(t.Context()))
	fire := func(name, service string) time.Time {
		t.Helper()
		at := time.Now().UTC().Truncate(time.Millisecond)
		_, err := am.Client().Alert.PostAlerts(amalert.NewPostAlertsParamsWithContext(t.Context()).WithAlerts(models.PostableAlerts{{
			Alert:    models.Alert{Labels: models.LabelSet{"alertname": name, "service": service, "namespace": ns, "severity": "page"}},
			StartsAt: strfmt.DateTime(at),
		}}))
		require.NoError(t, err)
		return at
	}

	// kill deletes one pod while no node takes its replacement, runs
	// during while the fault is open, and returns the request's bounds and
	// when the test's own watch saw the Deployment whole again.
	kill := func(during func()) (before, after, whole time.Time) {
		t.Helper()
		for _, n := range nodes {
			setUnschedulable(t, c, n, true)
		}
		pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web-experimental"})
		require.NoError(t, err)
		before = time.Now()
		require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}))
		after = time.Now()
		waitFor(t, 30*time.Second, "steadywatch sees the fault", func() (bool, error) {
			open, err := sw.Store.List(t.Context(), tracker.Filter{Service: "web", OpenOnly: true})
			return len(open) == 1, err
		})
		during()
		for _, n := range nodes {
			setUnschedulable(t, c, n, false)
		}
		waitFor(t, 60*time.Second, "the Deployment whole again (own watch)", func() (bool, error) {
			var ok bool
			whole, ok = own.wholeSince(after)
			return ok, nil
		})
		return before, after, whole
	}

	// Fault 1: an alert of another service while it is open; one of the
	// service 2 s after it recovered, well inside the window.
	before1, after1, whole1 := kill(func() { fire("DbDown", "db") })
	waitFor(t, 30*time.Second, "steadywatch sees the recovery", func() (bool, error) {
		open, err := sw.Store.List(t.Context(), tracker.Filter{Service: "web", OpenOnly: true})
		return len(open) == 0, err
	})
	time.Sleep(time.Until(whole1.Add(2 * time.Second))) // the alert's start, by design after the recovery
	late := fire("WebDownLate", "web")
	require.Less(t, late.Sub(before1), window, "the late alert is inside the window: only its lateness rules it out")

	// Fault 2: an alert of the service while it is open.
	var onTime time.Time
	before2, after2, _ := kill(func() {
		time.Sleep(time.Second) // the alert starts a moment into the fault, by design
		onTime = fire("WebDown", "web")
	})

	var incs []chaos.Incident
	waitFor(t, window+grace+30*time.Second, "both faults decided", func() (bool, error) {
		var err error
		incs, err = sw.Store.List(t.Context(), tracker.Filter{Service: "web"})
		if err != nil || len(incs) != 2 {
			return false, err
		}
		return incs[0].Detection.Decided() && incs[1].Detection.Decided(), nil
	})
	if incs[0].Start.After(incs[1].Start) {
		incs[0], incs[1] = incs[1], incs[0]
	}
	const tolerance = 100 * time.Millisecond
	for i, b := range [][2]time.Time{{before1, after1}, {before2, after2}} {
		require.Equal(t, chaos.PodDeleted, incs[i].Kind)
		require.WithinRange(t, incs[i].Start, b[0].Add(-tolerance), b[1].Add(tolerance), "fault %d starts with the deletion request", i+1)
	}
	require.True(t, incs[0].Detection.Undetected,
		"an alert of another service and one starting after the recovery detect nothing: %+v", incs[0].Detection)
	require.Equal(t, "WebDown", incs[1].Detection.Alert)
	require.True(t, incs[1].Detection.At.Equal(onTime), "detected at the alert's startsAt: %s vs %s", incs[1].Detection.At, onTime)
	mttd, ok := incs[1].TimeToDetect()
	require.True(t, ok)
	require.InDelta(t, onTime.Sub(before2).Seconds(), mttd.Seconds(), (after2.Sub(before2) + tolerance).Seconds(), "MTTD against the test's stopwatch")

	mfs := scrape(t, sw.url)
	labels := map[string]string{"service": "web", "group": "experimental"}
	require.InDelta(t, 1, sum(mfs, "steadywatch_incidents_undetected_total", labels), 0)
	detSum, detCount := histogram(t, mfs, "steadywatch_detection_seconds", labels)
	require.Equal(t, uint64(1), detCount, "one detection observed")
	require.InDelta(t, mttd.Seconds(), detSum, 1e-6)
	// MTBF: the two kills are two failures, one interval apart.
	between, n := histogram(t, mfs, "steadywatch_time_between_failures_seconds", labels)
	require.Equal(t, uint64(1), n, "two faults, one time between them")
	require.InDelta(t, incs[1].Start.Sub(incs[0].Start).Seconds(), between, 1e-6)
	require.InDelta(t, before2.Sub(before1).Seconds(), between, (after1.Sub(before1) + after2.Sub(before2) + 2*tolerance).Seconds())
	t.Logf("MTTD error (steadywatch − stopwatch) %+dms (DELETE call %s)",
		(mttd - onTime.Sub(before2)).Milliseconds(), after2.Sub(before2).Round(time.Millisecond))
	t.Logf("fault 1 recovered (own watch) %s after the kill; late alert %s after that; MTTD %s (alert %s after the kill)",
		whole1.Sub(before1).Round(time.Millisecond), late.Sub(whole1).Round(time.Millisecond), mttd.Round(time.Millisecond), onTime.Sub(before2).Round(time.Millisecond))
}

// histogram returns the sample sum and count of the one series of
// histogram name whose labels include want.
func histogram(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) (sum float64, count uint64) {
	t.Helper()
	m := series(mfs, name, want)
	require.NotNil(t, m, "no series %s%v", name, want)
	require.NotNil(t, m.Histogram, "%s is not a histogram", name)
	return m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
}
