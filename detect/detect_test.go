package detect_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/detect"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

const (
	window = 10 * time.Minute
	grace  = 2 * time.Minute
)

// alerts is an AlertSource over a slice, filtering as store.Store does.
type alerts struct {
	mu   sync.Mutex
	all  []alert.Alert
	err  error
	read int
}

func (s *alerts) add(as ...alert.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, as...)
}

func (s *alerts) SaveAlerts(_ context.Context, as []alert.Alert) (int, error) {
	s.add(as...)
	return len(as), nil
}

func (s *alerts) Alerts(_ context.Context, f alert.Filter) ([]alert.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read++
	if s.err != nil {
		return nil, s.err
	}
	var out []alert.Alert
	for _, a := range s.all {
		switch {
		case !f.Since.IsZero() && a.StartsAt.Before(f.Since):
		case !f.Until.IsZero() && !a.StartsAt.Before(f.Until):
		case !containsAll(a.Labels, f.Labels):
		default:
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b alert.Alert) int { return a.StartsAt.Compare(b.StartsAt) })
	return out, nil
}

func (s *alerts) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read
}

func containsAll(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// firing is an alert that started after the fault and was received 30s
// later (group_wait).
func firing(fp string, after time.Duration, labels ...string) alert.Alert {
	l := map[string]string{"alertname": "HighErrorRate"}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return alert.Alert{
		Fingerprint: fp, Status: alert.Firing, Labels: l,
		StartsAt: t0.Add(after), ReceivedAt: t0.Add(after + 30*time.Second), Source: "webhook",
	}
}

var web = chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}

func podDeleted(id string) chaos.Incident {
	return chaos.Incident{
		ID: id, Kind: chaos.PodDeleted, Subject: web,
		Object: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, Start: t0, Events: 1,
	}
}

// recoveredAfter is incident inc ended d after the fault.
func recoveredAfter(inc chaos.Incident, d time.Duration) chaos.Incident {
	inc.End = t0.Add(d)
	return inc
}

func nodeNotReady(id, node string) chaos.Incident {
	return chaos.Incident{
		ID: id, Kind: chaos.NodeNotReady, Subject: chaos.Subject{Group: chaos.NoGroup},
		Object: chaos.Ref{Kind: "Node", Name: node}, Start: t0, Events: 1,
	}
}

type fixture struct {
	store  *tracker.MemoryStore
	alerts *alerts
	reg    *prometheus.Registry
	d      *detect.Detector
}

func newFixture(t *testing.T, o detect.Options, incs ...chaos.Incident) *fixture {
	t.Helper()
	f := &fixture{store: tracker.NewMemoryStore(), alerts: &alerts{}, reg: prometheus.NewRegistry()}
	for _, inc := range incs {
		require.NoError(t, f.store.Save(t.Context(), inc))
	}
	o.Store, o.Alerts, o.Registerer = f.store, f.alerts, f.reg
	if o.Window == 0 {
		o.Window = window
	}
	if o.Grace == 0 {
		o.Grace = grace
	}
	var err error
	f.d, err = detect.New(o)
	require.NoError(t, err)
	return f
}

// detection returns the stored detection of incident id.
func (f *fixture) detection(t *testing.T, id string) chaos.Detection {
	t.Helper()
	incs, err := f.store.List(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	for _, inc := range incs {
		if inc.ID == id {
			return inc.Detection
		}
	}
	t.Fatalf("no incident %s", id)
	return chaos.Detection{}
}

func detected(fp string, after time.Duration) chaos.Detection {
	return chaos.Detection{At: t0.Add(after), Alert: "HighErrorRate", Fingerprint: fp}
}

var undetected = chaos.Detection{Undetected: true}

func TestWhichAlertDetectsAnIncident(t *testing.T) {
	resolved := firing("r", time.Minute, "service", "web", "namespace", "shop")
	resolved.Status, resolved.EndsAt = alert.Resolved, t0.Add(90*time.Second)
	other := firing("o", 30*time.Second, "service", "web")
	other.Labels["alertname"] = "Watchdog"

	for _, tc := range []struct {
		name   string
		opts   detect.Options
		inc    chaos.Incident
		alerts []alert.Alert
		want   chaos.Detection
	}{
		{
			"an alert naming the service and namespace detects its fault",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", 45*time.Second, "service", "web", "namespace", "shop", "severity", "page")},
			detected("a", 45*time.Second),
		},
		{
			"the service may come from app_kubernetes_io_name",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "app_kubernetes_io_name", "web")},
			detected("a", time.Minute),
		},
		{
			"the first service label present is the alert's service, even if a later one would match",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "kube-state-metrics", "app", "web")},
			undetected,
		},
		{
			"configured labels replace the defaults",
			detect.Options{Labels: detect.Labels{Service: []string{"app", "service"}}},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "kube-state-metrics", "app", "web")},
			detected("a", time.Minute),
		},
		{
			"an alert of another namespace does not detect it",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "namespace", "staging")},
			undetected,
		},
		{
			"an alert of the other group does not detect it",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "steadywatch_io_group", "control")},
			undetected,
		},
		{
			"a group label's raw value is mapped to its group",
			detect.Options{GroupValues: map[string]chaos.Group{"canary": chaos.Experimental}},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "group", "canary")},
			detected("a", time.Minute),
		},
		{
			"steadywatch's own alerts about the incident do not detect it",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{func() alert.Alert {
				a := firing("a", time.Minute, "service", "web")
				a.Labels["alertname"] = "SteadywatchRecoveryTooSlow"
				return a
			}()},
			undetected,
		},
		{
			"a group label naming no group is not compared",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "group", "frontend")},
			detected("a", time.Minute),
		},
		{
			"steadywatch's own group label is compared",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "group", "control")},
			undetected,
		},
		{
			"an empty group label list compares no group",
			detect.Options{Labels: detect.Labels{Group: []string{}}},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "group", "frontend")},
			detected("a", time.Minute),
		},
		{
			"an alert naming no service does not detect a service's fault, whatever else matches",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "namespace", "shop", "group", "experimental")},
			undetected,
		},
		{
			"an alert starting with the fault detects it at once",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", 0, "service", "web")},
			detected("a", 0),
		},
		{
			"an alert starting as the window ends detects it",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", window, "service", "web")},
			detected("a", window),
		},
		{
			"an alert starting just after the window does not",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", window+time.Nanosecond, "service", "web")},
			undetected,
		},
		{
			"an alert starting before the fault recovered detects it",
			detect.Options{},
			recoveredAfter(podDeleted("i"), 30*time.Second),
			[]alert.Alert{firing("a", 30*time.Second, "service", "web")},
			detected("a", 30*time.Second),
		},
		{
			"an alert starting after the fault recovered does not (issue 11 #2: 32 s late)",
			detect.Options{},
			recoveredAfter(podDeleted("i"), 30*time.Second),
			[]alert.Alert{firing("a", 62*time.Second, "service", "web")},
			undetected,
		},
		{
			"an alert starting within AfterRecovery of the recovery detects it",
			detect.Options{AfterRecovery: 32 * time.Second},
			recoveredAfter(podDeleted("i"), 30*time.Second),
			[]alert.Alert{firing("a", 62*time.Second, "service", "web")},
			detected("a", 62*time.Second),
		},
		{
			"an alert starting just past AfterRecovery does not",
			detect.Options{AfterRecovery: 32*time.Second - time.Nanosecond},
			recoveredAfter(podDeleted("i"), 30*time.Second),
			[]alert.Alert{firing("a", 62*time.Second, "service", "web")},
			undetected,
		},
		{
			"an alert that started before the fault does not",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", -time.Nanosecond, "service", "web")},
			undetected,
		},
		{
			"the earliest of several alerts wins, wherever it is stored",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("late", 3*time.Minute, "service", "web"), firing("early", 2*time.Minute, "service", "web"), firing("later", 4*time.Minute, "service", "web")},
			detected("early", 2*time.Minute),
		},
		{
			"alerts starting together are told apart by fingerprint",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("b", time.Minute, "service", "web"), firing("a", time.Minute, "service", "web")},
			detected("a", time.Minute),
		},
		{
			"an alert first delivered resolved did fire, and detects it",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{resolved},
			chaos.Detection{At: t0.Add(time.Minute), Alert: "HighErrorRate", Fingerprint: "r"},
		},
		{
			"an alert left out of AlertNames does not detect it",
			detect.Options{AlertNames: []string{"HighErrorRate"}},
			podDeleted("i"),
			[]alert.Alert{other, firing("a", 5*time.Minute, "service", "web")},
			detected("a", 5*time.Minute),
		},
		{
			"a node's fault is detected by an alert naming the node, whatever exporter's namespace and service it carries",
			detect.Options{},
			nodeNotReady("n", "worker-1"),
			[]alert.Alert{firing("a", time.Minute, "node", "worker-1", "namespace", "monitoring", "service", "kube-state-metrics")},
			detected("a", time.Minute),
		},
		{
			"a service's share of a node fault is detected by an alert naming the service",
			detect.Options{},
			func() chaos.Incident { i := podDeleted("i"); i.Kind = chaos.NodeNotReady; return i }(),
			[]alert.Alert{firing("a", time.Minute, "service", "web", "node", "worker-1")},
			detected("a", time.Minute),
		},
		{
			"an alert naming another node does not detect it",
			detect.Options{},
			nodeNotReady("n", "worker-1"),
			[]alert.Alert{firing("a", time.Minute, "node", "worker-2")},
			undetected,
		},
		{
			"an alert naming only a service does not detect a node's fault",
			detect.Options{},
			nodeNotReady("n", "worker-1"),
			[]alert.Alert{firing("a", time.Minute, "service", "web")},
			undetected,
		},
		{
			"an alert naming only a node does not detect a service's fault",
			detect.Options{},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "node", "worker-1")},
			undetected,
		},
		{
			"measured from receipt, MTTD runs to when steadywatch got the alert",
			detect.Options{From: detect.FromReceived},
			podDeleted("i"),
			[]alert.Alert{firing("a", time.Minute, "service", "web")},
			detected("a", 90*time.Second),
		},
		{
			"measured from receipt, the first received wins over the first started",
			detect.Options{From: detect.FromReceived},
			podDeleted("i"),
			[]alert.Alert{
				func() alert.Alert {
					a := firing("started-first", time.Minute, "service", "web")
					a.ReceivedAt = t0.Add(6 * time.Minute)
					return a
				}(),
				firing("received-first", 2*time.Minute, "service", "web"),
			},
			detected("received-first", 150*time.Second),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts, tc.inc)
			f.alerts.add(tc.alerts...)
			require.NoError(t, f.d.Sweep(t.Context(), t0.Add(time.Hour)))
			require.Equal(t, tc.want, f.detection(t, tc.inc.ID))
		})
	}
}

func TestOnlyFailuresAreDecided(t *testing.T) {
	scaled := podDeleted("hpa")
	scaled.Kind = chaos.HPAScaledUp
	scaled.Object = chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
	f := newFixture(t, detect.Options{}, scaled)
	f.alerts.add(firing("a", time.Minute, "service", "web"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(time.Hour)))
	require.Equal(t, chaos.Detection{}, f.detection(t, "hpa"), "scaling is no fault to detect")
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(""),
		"steadywatch_detection_seconds", "steadywatch_incidents_undetected_total"))
}

func TestAnIncidentIsUndetectedOnlyOnceWindowAndGraceHavePassed(t *testing.T) {
	f := newFixture(t, detect.Options{}, podDeleted("i"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(window+grace)))
	require.Equal(t, chaos.Detection{}, f.detection(t, "i"), "an alert may still be on its way")

	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(window+grace+time.Nanosecond)))
	require.Equal(t, undetected, f.detection(t, "i"))
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_incidents_undetected_total Failures no alert detected within the detection window; faults whose start was inferred are left out.
# TYPE steadywatch_incidents_undetected_total counter
steadywatch_incidents_undetected_total{group="experimental",kind="pod_deleted",service="web"} 1
`), "steadywatch_incidents_undetected_total", "steadywatch_detection_seconds"))

	// An alert delivered later changes nothing, and counts nothing more.
	f.alerts.add(firing("late", 9*time.Minute, "service", "web"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(time.Hour)))
	require.Equal(t, undetected, f.detection(t, "i"))
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_incidents_undetected_total Failures no alert detected within the detection window; faults whose start was inferred are left out.
# TYPE steadywatch_incidents_undetected_total counter
steadywatch_incidents_undetected_total{group="experimental",kind="pod_deleted",service="web"} 1
`), "steadywatch_incidents_undetected_total", "steadywatch_detection_seconds"))
}

func TestFromStartsAtAnEarlierAlertDeliveredLaterStillWins(t *testing.T) {
	f := newFixture(t, detect.Options{}, podDeleted("i"))
	// An alert of a new Alertmanager group arrives first...
	f.alerts.add(firing("second", 40*time.Second, "service", "web"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(70*time.Second)))
	require.Equal(t, chaos.Detection{}, f.detection(t, "i"), "held for Grace: an earlier alert may be on its way")

	// ...one that started earlier joined a group that had notified already,
	// and waited for its group_interval.
	f.alerts.add(firing("first", 20*time.Second, "service", "web"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(20*time.Second+grace)))
	require.Equal(t, detected("first", 20*time.Second), f.detection(t, "i"))
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP steadywatch_detection_seconds Time from fault start to the alert that detected it (MTTD samples); faults whose start was inferred are left out.
# TYPE steadywatch_detection_seconds histogram
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.05"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.1"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.25"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="0.5"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="1"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="2.5"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="5"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="10"} 0
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="30"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="60"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="120"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="300"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="600"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="1800"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="3600"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="7200"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="21600"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="86400"} 1
steadywatch_detection_seconds_bucket{group="experimental",kind="pod_deleted",service="web",le="+Inf"} 1
steadywatch_detection_seconds_sum{group="experimental",kind="pod_deleted",service="web"} 20
steadywatch_detection_seconds_count{group="experimental",kind="pod_deleted",service="web"} 1
`), "steadywatch_detection_seconds"))
}

func TestFromReceivedAlertsAreJoinedAsTheyArrive(t *testing.T) {
	other := podDeleted("cart")
	other.Subject.Service, other.Object.Name = "cart", "cart"
	f := newFixture(t, detect.Options{From: detect.FromReceived}, podDeleted("i"), other)

	a := firing("a", 20*time.Second, "service", "web")
	f.alerts.add(a)
	require.NoError(t, f.d.Alerts(t.Context(), []alert.Alert{a}))
	require.Equal(t, detected("a", 50*time.Second), f.detection(t, "i"), "no sweep needed")
	require.Equal(t, chaos.Detection{}, f.detection(t, "cart"), "an incident the alerts do not match is left to the sweep")

	reads := f.alerts.reads()
	require.NoError(t, f.d.Alerts(t.Context(), []alert.Alert{firing("x", time.Minute, "alertname", "Watchdog")}))
	require.Equal(t, reads, f.alerts.reads(), "alerts that name no service or node read nothing")
}

func TestAlertsJoinTheEarliestStoredAlertNotTheOneJustReceived(t *testing.T) {
	f := newFixture(t, detect.Options{From: detect.FromReceived}, podDeleted("i"))
	// Stored before the incident was, and so not joined on arrival.
	early := firing("early", 10*time.Second, "service", "web")
	f.alerts.add(early)
	now := firing("now", 2*time.Minute, "service", "web")
	f.alerts.add(now)
	require.NoError(t, f.d.Alerts(t.Context(), []alert.Alert{now}))
	require.Equal(t, detected("early", 40*time.Second), f.detection(t, "i"))
}

func TestMissedIncidentsAreDecidedButNotMeasured(t *testing.T) {
	missed := podDeleted("missed")
	missed.Missed = true
	lost := nodeNotReady("lost", "worker-1")
	lost.Missed = true
	f := newFixture(t, detect.Options{}, missed, lost)
	f.alerts.add(firing("a", time.Minute, "service", "web"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(time.Hour)))
	require.Equal(t, detected("a", time.Minute), f.detection(t, "missed"))
	require.Equal(t, undetected, f.detection(t, "lost"))
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(""),
		"steadywatch_detection_seconds", "steadywatch_incidents_undetected_total"),
		"an inferred start makes no MTTD sample")
}

func TestARestartDoesNotCountAgain(t *testing.T) {
	ctx := t.Context()
	dsn := "sqlite://" + t.TempDir() + "/sw.db"
	src := &alerts{}
	src.add(firing("a", time.Minute, "service", "web"))
	cart := podDeleted("cart")
	cart.Subject.Service = "cart"

	run := func(reg *prometheus.Registry, save bool) {
		s, err := store.Open(ctx, dsn, store.Options{})
		require.NoError(t, err)
		defer func() { require.NoError(t, s.Close()) }()
		if save {
			require.NoError(t, s.Save(ctx, podDeleted("web")))
			require.NoError(t, s.Save(ctx, cart))
		}
		d, err := detect.New(detect.Options{Store: s, Alerts: src, Registerer: reg, Window: window, Grace: grace})
		require.NoError(t, err)
		require.NoError(t, d.Sweep(ctx, t0.Add(time.Hour)))
		incs, err := s.List(ctx, tracker.Filter{})
		require.NoError(t, err)
		require.Len(t, incs, 2)
		require.Equal(t, undetected, incs[0].Detection, "cart")
		require.Equal(t, detected("a", time.Minute), incs[1].Detection, "web")
	}

	first := prometheus.NewRegistry()
	run(first, true)
	n, err := testutil.GatherAndCount(first, "steadywatch_detection_seconds", "steadywatch_incidents_undetected_total")
	require.NoError(t, err)
	require.Equal(t, 2, n, "one MTTD sample and one undetected incident")

	second := prometheus.NewRegistry()
	run(second, false)
	n, err = testutil.GatherAndCount(second, "steadywatch_detection_seconds", "steadywatch_incidents_undetected_total")
	require.NoError(t, err)
	require.Zero(t, n, "what the first run recorded is not counted again")
}

// listedEarly is a store whose List answers what it held when the test
// began: every detector listed before any recorded, the race at its worst.
type listedEarly struct {
	*tracker.MemoryStore
	incs []chaos.Incident
}

func (s listedEarly) List(context.Context, tracker.Filter) ([]chaos.Incident, error) {
	return slices.Clone(s.incs), nil
}

func TestDetectorsRacingTheTrackerCountOnce(t *testing.T) {
	inc := podDeleted("i")
	f := newFixture(t, detect.Options{From: detect.FromReceived}, inc)
	a := firing("a", time.Minute, "service", "web")
	f.alerts.add(a)
	early := listedEarly{MemoryStore: f.store, incs: []chaos.Incident{inc}}
	// Two detectors, as the webhook and the sweep of two replicas sharing
	// the store would run them.
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var ds []*detect.Detector
	for _, reg := range regs {
		d, err := detect.New(detect.Options{Store: early, Alerts: f.alerts, Registerer: reg, From: detect.FromReceived})
		require.NoError(t, err)
		ds = append(ds, d)
	}

	var wg sync.WaitGroup
	wg.Go(func() { // the tracker saves its copy as the pod comes back
		for i := range 200 {
			inc.Events = i + 1
			if err := f.store.Save(context.Background(), inc); err != nil {
				t.Errorf("save: %v", err)
				return
			}
		}
	})
	for i := range 8 {
		wg.Go(func() {
			d := ds[i%2]
			var err error
			if i%4 < 2 {
				err = d.Alerts(context.Background(), []alert.Alert{a})
			} else {
				err = d.Sweep(context.Background(), t0.Add(2*time.Minute))
			}
			if err != nil {
				t.Errorf("detect: %v", err)
			}
		})
	}
	wg.Wait()

	require.Equal(t, detected("a", 90*time.Second), f.detection(t, "i"), "the tracker's saves kept the detection")
	var total uint64
	for _, reg := range regs {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "steadywatch_detection_seconds" {
				total += mf.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
	}
	require.Equal(t, uint64(1), total, "one MTTD sample across both detectors")
}

// failingStore fails List, as a store that lost its database would.
type failingStore struct{ *tracker.MemoryStore }

func (failingStore) List(context.Context, tracker.Filter) ([]chaos.Incident, error) {
	return nil, errors.New("database is gone")
}

func TestSinkJoinsWhatItSavedAndNeverFailsASaveForAJoin(t *testing.T) {
	f := newFixture(t, detect.Options{From: detect.FromReceived}, podDeleted("i"))
	a := firing("a", time.Minute, "service", "web")
	n, err := f.d.Sink(f.alerts).SaveAlerts(t.Context(), []alert.Alert{a})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, detected("a", 90*time.Second), f.detection(t, "i"))

	reg := prometheus.NewRegistry()
	broken, err := detect.New(detect.Options{Store: failingStore{f.store}, Alerts: f.alerts, Registerer: reg})
	require.NoError(t, err)
	n, err = broken.Sink(f.alerts).SaveAlerts(t.Context(), []alert.Alert{firing("b", 2*time.Minute, "service", "web")})
	require.NoError(t, err, "the alerts are stored: the notification must be acknowledged")
	require.Equal(t, 1, n)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP steadywatch_detection_errors_total Sweeps and joins of alerts to incidents that failed reading or writing the store; retried on the next sweep.
# TYPE steadywatch_detection_errors_total counter
steadywatch_detection_errors_total 1
`), "steadywatch_detection_errors_total"))

	f.alerts.err = errors.New("read failed")
	saveErr := errors.New("disk full")
	_, err = f.d.Sink(saverFunc(func() error { return saveErr })).SaveAlerts(t.Context(), []alert.Alert{a})
	require.ErrorIs(t, err, saveErr, "a failed save is the receiver's to report")
}

type saverFunc func() error

func (f saverFunc) SaveAlerts(context.Context, []alert.Alert) (int, error) { return 0, f() }

func TestMetricsAreLintClean(t *testing.T) {
	f := newFixture(t, detect.Options{}, podDeleted("i"), nodeNotReady("n", "worker-1"))
	f.alerts.add(firing("a", time.Minute, "service", "web"))
	require.NoError(t, f.d.Sweep(t.Context(), t0.Add(time.Hour)))
	problems, err := testutil.GatherAndLint(f.reg)
	require.NoError(t, err)
	require.Empty(t, problems)
	names, err := f.reg.Gather()
	require.NoError(t, err)
	got := map[string]bool{}
	for _, mf := range names {
		got[mf.GetName()] = true
	}
	require.Equal(t, []string{"steadywatch_detection_errors_total", "steadywatch_detection_seconds", "steadywatch_incidents_undetected_total"},
		slices.Sorted(maps.Keys(got)))
}
