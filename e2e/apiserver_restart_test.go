package e2e

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// podTrace is what the test's own watch saw of one pod.
type podTrace struct {
	uid     types.UID
	app     string
	created time.Time // the API's creationTimestamp (whole seconds)
	// readyObserved is when the watch first delivered the pod Ready,
	// readyAPI the condition's lastTransitionTime (whole seconds).
	readyObserved, readyAPI time.Time
	// terminating is when the watch first delivered the pod with a
	// deletionTimestamp (or deleted, if it never saw that), deleted when it
	// delivered the pod's DELETED event.
	terminating, deleted time.Time
}

// readyAt is the pod's Ready time: the watch's observation put into the
// whole second the API stamped, zero while not Ready.
func (p podTrace) readyAt() time.Time {
	if p.readyObserved.IsZero() {
		return time.Time{}
	}
	return clamp(p.readyObserved, p.readyAPI)
}

// podWatch is the test's own plain watch of a namespace's pods: the ground
// truth, with none of steadywatch's watcher or tracker code.
type podWatch struct {
	mu     sync.Mutex
	pods   map[types.UID]*podTrace
	closed bool
}

func watchPods(t *testing.T, c kubernetes.Interface, ns string) *podWatch {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	pw := &podWatch{pods: map[types.UID]*podTrace{}}
	now := time.Now()
	for i := range list.Items {
		pw.see(&list.Items[i], watch.Added, now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				pw.see(p, ev.Type, time.Now())
			}
		}
		pw.mu.Lock()
		pw.closed = true
		pw.mu.Unlock()
	}()
	t.Cleanup(func() {
		cancel()
		w.Stop()
		<-done
	})
	return pw
}

func (pw *podWatch) see(p *corev1.Pod, typ watch.EventType, at time.Time) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	tr := pw.pods[p.UID]
	if tr == nil {
		tr = &podTrace{uid: p.UID, app: p.Labels["app"], created: p.CreationTimestamp.Time}
		pw.pods[p.UID] = tr
	}
	if tr.terminating.IsZero() && (typ == watch.Deleted || p.DeletionTimestamp != nil) {
		tr.terminating = at
	}
	if typ == watch.Deleted {
		if tr.deleted.IsZero() {
			tr.deleted = at
		}
		return
	}
	if ready, since := podReady(p); ready && tr.readyObserved.IsZero() {
		tr.readyObserved, tr.readyAPI = at, since
	}
}

// pod is the trace of uid, if the watch saw it.
func (pw *podWatch) pod(uid types.UID) (podTrace, bool) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	tr, ok := pw.pods[uid]
	if !ok {
		return podTrace{}, false
	}
	return *tr, true
}

// replacement is the pod of app not among before, if the watch saw one.
func (pw *podWatch) replacement(app string, before map[types.UID]bool) (podTrace, bool) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	for uid, tr := range pw.pods {
		if tr.app == app && !before[uid] {
			return *tr, true
		}
	}
	return podTrace{}, false
}

// replacements are the pods of app not among before that the watch saw.
func (pw *podWatch) replacements(app string, before map[types.UID]bool) []podTrace {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	var out []podTrace
	for uid, tr := range pw.pods {
		if tr.app == app && !before[uid] {
			out = append(out, *tr)
		}
	}
	return out
}

// readyzLog polls steadywatch's /readyz and keeps every change of its code.
type readyzLog struct {
	mu      sync.Mutex
	changes []readyzChange
}

type readyzChange struct {
	at   time.Time
	code int
}

func followReadyz(t *testing.T, base string) *readyzLog {
	t.Helper()
	rl := &readyzLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			code, _, _ := httpGet(base + "/readyz")
			rl.mu.Lock()
			if n := len(rl.changes); n == 0 || rl.changes[n-1].code != code {
				rl.changes = append(rl.changes, readyzChange{at: time.Now(), code: code})
			}
			rl.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return rl
}

// notReady is the span from the first time /readyz answered anything but
// 200 after from until it answered 200 again (zero if it has not), and the
// codes it answered after from, in order.
func (rl *readyzLog) notReady(from time.Time) (down, up time.Time, codes []int) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, ch := range rl.changes {
		if ch.at.Before(from) {
			continue
		}
		codes = append(codes, ch.code)
		switch {
		case ch.code != http.StatusOK && down.IsZero():
			down = ch.at
		case ch.code == http.StatusOK && !down.IsZero():
			return down, ch.at, codes
		}
	}
	return down, time.Time{}, codes
}

// Issue 11's truth table: faults injected around a restart of the API
// server itself. Fault A is a pod kill just before the stop, seen live: its
// start and MTTR must match the test's own stopwatch and watch. Fault B is a
// pod kill just after the API server came back, while steadywatch's watch
// had not yet reconnected (a TCP proxy holds it off a few seconds longer,
// so that this does not depend on client-go's backoff): it must be flagged
// missed, dated within what the evidence allows, and give no MTTR sample.
// /readyz and the watch metrics must show the outage, and /readyz must not
// say ready before the watches really resumed (the restarted API server
// expires the old resourceVersion; client-go relists after a backoff).
func TestFaultsAroundAnAPIServerRestartAreMeasuredOrFlaggedMissed(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "apiserver-restart"
	namespace(t, ns)
	nodes := []string{ns + "-1", ns + "-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, scale.Deployment(ns, "before", "before", "experimental", ns, 2))
	createDeployment(t, c, scale.Deployment(ns, "after", "after", "experimental", ns, 2))
	t.Cleanup(func() {
		// Leave the shared testbed whole whatever happened.
		if err := b.StartAPIServer(context.Background()); err != nil && !errors.Is(err, testbed.ErrAPIServerRunning) {
			t.Errorf("restarting the testbed's apiserver after the test: %v", err)
		}
		for _, n := range nodes {
			patch := []byte(`{"spec":{"unschedulable":false}}`)
			_, _ = c.CoreV1().Nodes().Patch(context.Background(), n, types.MergePatchType, patch, metav1.PatchOptions{})
		}
	})

	rc := b.RESTConfig()
	u, err := url.Parse(rc.Host)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.lis.Addr().String()
	rc.Host = u.String()
	const tolerance = 2 * time.Second
	sw := startSteadywatchVia(t, rc, ns, t.TempDir(), func(cfg *config.Config) {
		cfg.Watch.HealthTolerance = model.Duration(tolerance)
	})
	// Fault A's verdict needs steadywatch's record of the time before it.
	var watchedFrom time.Time
	waitFor(t, 30*time.Second, "the watch coverage to start", func() (bool, error) {
		spans, err := sw.Coverage.Coverage(t.Context(), time.Time{}, time.Time{})
		for _, s := range spans {
			watchedFrom = maxTime(watchedFrom, s.From)
		}
		return len(spans) == len(chaos.WatchedResources), err
	})
	pods := map[string]string{"resource": "pods"}
	mfs := scrape(t, sw.url)
	requireValue(t, 1, value(mfs, "steadywatch_watch_up", pods))
	errorsBefore := zeroIfNaN(value(mfs, "steadywatch_watch_errors_total", pods))
	relistsBefore := zeroIfNaN(value(mfs, "steadywatch_watch_relists_total", pods))
	readyz := followReadyz(t, sw.url)

	list, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	original := map[types.UID]bool{}
	victims := map[string]corev1.Pod{}
	for _, p := range list.Items {
		original[p.UID] = true
		victims[p.Labels["app"]] = p
	}
	require.Len(t, original, 4)
	before := watchPods(t, c, ns)
	// The replacements cannot start until the test says so.
	for _, n := range nodes {
		setUnschedulable(t, c, n, true)
	}
	zero := int64(0)
	kill := func(app string) (asked, answered time.Time) {
		asked = time.Now()
		require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), victims[app].Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}))
		return asked, time.Now()
	}

	// Fault A, just before the stop. Waiting for steadywatch's count only
	// orders the stop after its delivery; the truth is the test's own.
	aAsked, aAnswered := kill("before")
	waitFor(t, 10*time.Second, "fault A delivered to steadywatch and to the test's watch, and its replacement created", func() (bool, error) {
		tr, _ := before.pod(victims["before"].UID)
		_, replaced := before.replacement("before", original)
		return !tr.deleted.IsZero() && replaced && sum(scrape(t, sw.url), "steadywatch_chaos_events_total",
			map[string]string{"kind": "pod_deleted", "service": "before"}) == 1, nil
	})
	aTrace, _ := before.pod(victims["before"].UID)

	stopAt := time.Now()
	require.NoError(t, b.StopAPIServer(t.Context()))
	stopped := time.Now()
	var body string
	waitFor(t, tolerance+10*time.Second, "/readyz 503 while the apiserver is down", func() (bool, error) {
		code, b, err := httpGet(sw.url + "/readyz")
		body = b
		return code == http.StatusServiceUnavailable, err
	})
	require.Contains(t, body, "watch has been broken since", "/readyz names the broken watch")
	waitFor(t, 10*time.Second, "the watch metrics to show the outage", func() (bool, error) {
		mfs := scrape(t, sw.url)
		return value(mfs, "steadywatch_watch_up", pods) == 0 &&
			value(mfs, "steadywatch_watch_errors_total", pods) > errorsBefore, nil
	})
	brokenSince := value(scrape(t, sw.url), "steadywatch_watch_broken_since_timestamp_seconds", pods)
	require.InDelta(t, float64(stopAt.UnixNano())/1e9, brokenSince, (stopped.Sub(stopAt) + time.Second).Seconds(),
		"the outage is dated at the stop")

	// Keep steadywatch off the API server a little past its return.
	proxy.Cut()
	startAt := time.Now()
	require.NoError(t, b.StartAPIServer(t.Context()))
	upAt := time.Now()
	after := watchPods(t, c, ns) // fresh, after the restart

	// Fault B, just after the API server came back.
	bAsked, bAnswered := kill("after")
	waitFor(t, 30*time.Second, "fault B seen by the test's watch and its replacement created", func() (bool, error) {
		tr, _ := after.pod(victims["after"].UID)
		_, replaced := after.replacement("after", original)
		return !tr.deleted.IsZero() && replaced, nil
	})
	code, _, err := httpGet(sw.url + "/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, code, "steadywatch still cannot see the API server")
	// A deletion delivered within LateObservation of the end of the
	// cluster's second it is dated in counts as seen happening (a watch's
	// delivery delay): keep steadywatch cut off past that, or a resumed
	// watch that delivers B at once is rightly taken as live. CI's testbed
	// came back fast enough for the restore to land 21 ms after B's DELETE.
	seenLateFrom := bAnswered.Truncate(time.Second).Add(time.Second + chaos.LateObservation + 100*time.Millisecond)
	waitFor(t, 5*time.Second, "fault B to be past what a live watch would deliver", func() (bool, error) {
		return time.Now().After(seenLateFrom), nil
	})
	restoreAt := time.Now()
	proxy.Restore()
	waitFor(t, 60*time.Second, "/readyz 200 once steadywatch reaches the API server again", func() (bool, error) {
		code, _, err := httpGet(sw.url + "/readyz")
		return code == http.StatusOK, err
	})

	t.Logf("restored %s, /readyz 200 at %s", restoreAt.Format(time.StampMilli), time.Now().Format(time.StampMilli))
	for _, n := range nodes {
		setUnschedulable(t, c, n, false)
	}
	t.Logf("uncordoned at %s", time.Now().Format(time.StampMilli))
	var aNew, bNew podTrace
	waitFor(t, 30*time.Second, "both replacements Ready (the test's watch)", func() (bool, error) {
		var okA, okB bool
		aNew, okA = after.replacement("before", original)
		bNew, okB = after.replacement("after", original)
		return okA && okB && !aNew.readyAt().IsZero() && !bNew.readyAt().IsZero(), nil
	})
	var incs []chaos.Incident
	waitFor(t, 30*time.Second, "steadywatch to close both incidents", func() (bool, error) {
		incs, err = sw.Store.List(t.Context(), tracker.Filter{})
		open := 0
		for _, inc := range incs {
			if inc.Open() {
				open++
			}
		}
		return len(incs) >= 2 && open == 0, err
	})
	mfs = scrape(t, sw.url)

	evs, err := sw.Store.Events(t.Context(), tracker.Filter{})
	require.NoError(t, err)
	for _, e := range evs {
		t.Logf("event %s", e)
	}
	for _, inc := range incs {
		t.Logf("incident %s/%s: start %s end %s missed %t", inc.Subject.Service, inc.Kind,
			inc.Start.Format(time.StampMilli), inc.End.Format(time.StampMilli), inc.Missed)
	}
	t.Logf("oracle: A asked %s answered %s seen deleted %s; A's replacement created %s ready observed %s (API %s)",
		aAsked.Format(time.StampMilli), aAnswered.Format(time.StampMilli), aTrace.deleted.Format(time.StampMilli),
		aNew.created.Format(time.StampMilli), aNew.readyObserved.Format(time.StampMilli), aNew.readyAPI.Format(time.StampMilli))
	t.Logf("oracle: B asked %s answered %s; B's replacement created %s ready observed %s (API %s)",
		bAsked.Format(time.StampMilli), bAnswered.Format(time.StampMilli),
		bNew.created.Format(time.StampMilli), bNew.readyObserved.Format(time.StampMilli), bNew.readyAPI.Format(time.StampMilli))

	// One incident per fault, of the right kind, service and group.
	require.Len(t, incs, 2, "one incident per fault: %+v", incs)
	bySvc := map[string]chaos.Incident{}
	for _, inc := range incs {
		require.Equal(t, chaos.PodDeleted, inc.Kind, "%+v", inc)
		require.Equal(t, chaos.Group("experimental"), inc.Subject.Group, "%+v", inc)
		require.Equal(t, chaos.Ref{Kind: "Deployment", Namespace: ns, Name: inc.Subject.Service}, inc.Object, "%+v", inc)
		bySvc[inc.Subject.Service] = inc
	}
	incA, incB := bySvc["before"], bySvc["after"]
	require.NotEmpty(t, incA.ID, "an incident for fault A: %+v", incs)
	require.NotEmpty(t, incB.ID, "an incident for fault B: %+v", incs)

	// Fault A was seen live: its start within 100 ms (plus the watch's
	// delivery delay) of the DELETE, its MTTR within 100 ms of the oracle's.
	require.False(t, incA.Missed, "fault A happened in steadywatch's view")
	aDelay := aTrace.deleted.Sub(aAnswered)
	startErrA := incA.Start.Sub(aAsked)
	require.GreaterOrEqual(t, startErrA, -100*time.Millisecond, "fault A's start (%s) not before the DELETE (%s)", incA.Start, aAsked)
	require.LessOrEqual(t, startErrA, aAnswered.Sub(aAsked)+max(aDelay, 0)+100*time.Millisecond,
		"fault A's start within 100 ms + the delivery delay of the DELETE")
	mttrA := series(mfs, "steadywatch_recovery_seconds", map[string]string{"kind": "pod_deleted", "service": "before"})
	require.NotNil(t, mttrA, "fault A is measured")
	require.Equal(t, uint64(1), mttrA.GetHistogram().GetSampleCount())
	truthA := aNew.readyAt().Sub(aAsked)
	mttrErrA := time.Duration(mttrA.GetHistogram().GetSampleSum()*1e9) - truthA
	require.InDelta(t, 0, mttrErrA.Seconds(), (aAnswered.Sub(aAsked) + 100*time.Millisecond).Seconds(),
		"fault A's MTTR within 100 ms of the oracle's %s", truthA)
	require.WithinDuration(t, aNew.readyAt(), incA.End, 100*time.Millisecond, "fault A recovered when its replacement was Ready")

	// Fault B happened while steadywatch could not see: flagged missed,
	// dated within what the evidence allows (after the pod was last in
	// view, no later than its replacement's creation, whole seconds) and
	// not at the relist, and no MTTR sample.
	require.True(t, incB.Missed, "fault B happened while steadywatch's watch was down: %+v", incB)
	require.True(t, incB.Start.After(stopAt), "fault B dated after the pod was last in view (the stop, %s): %s", stopAt, incB.Start)
	require.True(t, incB.Start.Before(bNew.created.Add(time.Second)) && incB.Start.Before(restoreAt),
		"fault B dated no later than its replacement's creation (%s), not at the relist (after %s): %s", bNew.created, restoreAt, incB.Start)
	startErrB := incB.Start.Sub(bAsked)
	require.WithinDuration(t, bNew.readyAt(), incB.End, 100*time.Millisecond, "fault B recovered when its replacement was Ready")
	require.Nil(t, series(mfs, "steadywatch_recovery_seconds", map[string]string{"service": "after"}),
		"no MTTR sample, made up or otherwise, for a fault whose start was not seen")
	requireValue(t, 1, value(mfs, "steadywatch_incidents_unmeasured_total",
		map[string]string{"kind": "pod_deleted", "service": "after", "reason": "start_not_seen"}))
	require.True(t, math.IsNaN(value(mfs, "steadywatch_incidents_unmeasured_total", map[string]string{"service": "before"})),
		"fault A is measured, not counted unmeasured")
	requireValue(t, 1, value(mfs, "steadywatch_chaos_events_missed_total", map[string]string{"kind": "pod_deleted"}))

	// The outage in the watch metrics and on /readyz.
	requireValue(t, 1, value(mfs, "steadywatch_watch_up", pods))
	requireValue(t, 0, value(mfs, "steadywatch_watch_broken_since_timestamp_seconds", pods))
	require.Greater(t, value(mfs, "steadywatch_watch_relists_total", pods), relistsBefore, "the restarted apiserver's watch cache made it list again")
	down, up, codes := readyz.notReady(stopAt)
	require.False(t, down.IsZero(), "/readyz went 503: %v", codes)
	require.True(t, down.Before(upAt), "/readyz was 503 while the apiserver was down (%s – %s): from %s", stopAt, upAt, down)
	require.False(t, down.Before(stopAt), "not before the stop")
	require.Equal(t, []int{http.StatusServiceUnavailable, http.StatusOK}, codes, "503 throughout, then 200")
	require.True(t, up.After(restoreAt), "200 again only once steadywatch could reach the API server (%s): %s", restoreAt, up)

	// MTBF: one failure per service, and fault B's start an estimate: no
	// sample, least of all one to or from B's made-up start.
	for _, svc := range []string{"before", "after"} {
		mtbf := series(mfs, "steadywatch_time_between_failures_seconds", map[string]string{"service": svc})
		require.True(t, mtbf == nil || mtbf.GetHistogram().GetSampleCount() == 0, "no MTBF sample for %s's one failure: %v", svc, mtbf)
	}

	// Verdicts, bounded just above and just below each true value: fault
	// A's recovery went on through the outage (steadywatch could not see
	// whether it ended there), fault B's start was not seen: neither is
	// judged on either side, and each names the broken watch.
	judge, err := promsource.NewJudge(promsource.Options{URL: "http://127.0.0.1:1"}, // no metrics to query
		verdict.Options{Store: sw.Store, Alerts: sw.DB, Coverage: sw.Coverage})
	require.NoError(t, err)
	margin := aAnswered.Sub(aAsked) + 150*time.Millisecond
	truthB := bNew.readyAt().Sub(bAsked)
	for _, c := range []struct {
		name, service string
		from, until   time.Time
		truth         time.Duration
	}{
		{"fault A (live, recovered through the outage)", "before", maxTime(watchedFrom, aAsked.Add(-time.Second)), stopAt, truthA},
		{"fault B (missed)", "after", bAsked.Add(-time.Second), bAsked.Add(time.Second), truthB},
	} {
		require.Greater(t, c.truth, margin, "%s: a bound below the truth must be positive", c.name)
		for _, bound := range []time.Duration{c.truth + margin, c.truth - margin} {
			v := judgeMTTR(t, judge, ns, c.service, c.from, c.until, bound)
			require.Equal(t, verdict.Inconclusive, v.Result, "%s, true MTTR %s, bound %s: %s", c.name, c.truth, bound, v.Reason)
			require.Contains(t, v.Reason, "watch was broken", "%s: the verdict names the outage", c.name)
		}
	}

	t.Logf("apiserver down %s (stop %s, start to ready %s); steadywatch cut off for %s; /readyz 503 for %s (from %s after the stop to %s after the proxy was restored)",
		upAt.Sub(stopAt).Round(time.Millisecond), stopped.Sub(stopAt).Round(time.Millisecond), upAt.Sub(startAt).Round(time.Millisecond),
		restoreAt.Sub(stopAt).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond),
		down.Sub(stopAt).Round(time.Millisecond), up.Sub(restoreAt).Round(time.Millisecond))
	t.Logf("fault A (live): start error %+.3fs (DELETE call %s, own watch delay %s), MTTR steadywatch %.3fs vs oracle %.3fs: error %+.3fs",
		startErrA.Seconds(), aAnswered.Sub(aAsked).Round(time.Millisecond), aDelay.Round(time.Millisecond),
		mttrA.GetHistogram().GetSampleSum(), truthA.Seconds(), mttrErrA.Seconds())
	t.Logf("fault B (missed): start estimate error %+.3fs, recovery error %+.3fs, no MTTR sample; DELETE %s after the apiserver was ready",
		startErrB.Seconds(), incB.End.Sub(bNew.readyAt()).Seconds(), bAsked.Sub(upAt).Round(time.Millisecond))
	t.Logf("/readyz during the outage: %s", strings.TrimSpace(body))
}

func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
