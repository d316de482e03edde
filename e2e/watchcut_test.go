package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// cutProxy is a TCP proxy between steadywatch and the API server. Cut
// closes every connection and, until Restore, closes each new one as soon
// as it is accepted: the API server is gone for steadywatch, not for the
// test's own client.
type cutProxy struct {
	lis    net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{lis: lis, target: target, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	wg.Go(func() { p.serve(&wg) })
	t.Cleanup(func() {
		_ = lis.Close()
		p.Cut()
		wg.Wait()
	})
	return p
}

func (p *cutProxy) serve(wg *sync.WaitGroup) {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		wg.Go(func() { p.forward(c) })
	}
}

func (p *cutProxy) forward(c net.Conn) {
	defer p.drop(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		_ = up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func (p *cutProxy) drop(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *cutProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Issue 11, #9 and #10: during a 14 s cut of the watch nothing said so
// (no metric, /readyz 200, an INFO "very short watch"), and two pods
// deleted meanwhile were recorded at the relist with an MTTR of 0 s.
func TestAWatchCutIsVisibleAndWhatItHidIsNotMeasured(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "watchcut"
	namespace(t, ns)
	node(t, "watchcut-1", map[string]string{"pool": ns})
	createDeployment(t, c, scale.Deployment(ns, "cut", "cut", "experimental", ns, 3))

	rc := b.RESTConfig()
	u, err := url.Parse(rc.Host)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.lis.Addr().String()
	rc.Host = u.String()
	sw := startSteadywatchVia(t, rc, ns, t.TempDir(), func(cfg *config.Config) {
		cfg.Watch.HealthTolerance = model.Duration(2 * time.Second)
	})
	var watchedFrom time.Time
	waitFor(t, 30*time.Second, "the watch coverage to start", func() (bool, error) {
		spans, err := sw.Coverage.Coverage(t.Context(), time.Time{}, time.Time{})
		for _, s := range spans {
			watchedFrom = maxTime(watchedFrom, s.From)
		}
		return len(spans) == len(chaos.WatchedResources), err
	})
	requireValue(t, 1, value(scrape(t, sw.url), "steadywatch_watch_up", map[string]string{"resource": "pods"}))
	errorsBefore := value(scrape(t, sw.url), "steadywatch_watch_errors_total", map[string]string{"resource": "pods"})
	if math.IsNaN(errorsBefore) {
		errorsBefore = 0
	}

	judge, err := promsource.NewJudge(promsource.Options{URL: "http://127.0.0.1:1"}, // no metrics to query
		verdict.Options{Store: sw.Store, Alerts: sw.DB, Coverage: sw.Coverage})
	require.NoError(t, err)

	// The test's own watch of the pods: the truth, through no proxy.
	own := watchPods(t, c, ns)
	original := map[types.UID]bool{}
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=cut"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 3)
	for _, p := range pods.Items {
		original[p.UID] = true
	}

	// Fault 1, seen live before the cut: one pod killed, its replacement
	// held Pending 1 s (the node cordoned), so that the true MTTR exceeds
	// the verdict's margin and a bound below it can fail.
	setUnschedulable(t, c, "watchcut-1", true)
	live := pods.Items[2]
	liveAsked := time.Now()
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), live.Name, metav1.DeleteOptions{}))
	liveAnswered := time.Now()
	var liveNew podTrace
	waitFor(t, 30*time.Second, "the live kill's replacement created (own watch)", func() (bool, error) {
		var ok bool
		liveNew, ok = own.replacement("cut", original)
		return ok, nil
	})
	time.Sleep(time.Second) // the fault's duration, not a wait for a condition
	setUnschedulable(t, c, "watchcut-1", false)
	waitFor(t, 30*time.Second, "the live kill's replacement Ready (own watch)", func() (bool, error) {
		liveNew, _ = own.replacement("cut", original)
		return !liveNew.readyAt().IsZero(), nil
	})
	liveTrace, _ := own.pod(live.UID)
	liveTruth := liveNew.readyAt().Sub(liveAsked)
	var liveInc chaos.Incident
	waitFor(t, 30*time.Second, "steadywatch's incident of the live kill closed", func() (bool, error) {
		incs, err := sw.Store.List(t.Context(), tracker.Filter{Service: "cut"})
		if len(incs) == 1 {
			liveInc = incs[0]
		}
		return len(incs) == 1 && !liveInc.Open(), err
	})
	require.False(t, liveInc.Missed, "the live kill was seen: %+v", liveInc)
	require.Equal(t, chaos.PodDeleted, liveInc.Kind)
	liveDelay := max(liveTrace.deleted.Sub(liveAnswered), 0)
	liveTol := liveAnswered.Sub(liveAsked) + liveDelay + 100*time.Millisecond
	require.WithinRange(t, liveInc.Start, liveAsked.Add(-100*time.Millisecond), liveAsked.Add(liveTol),
		"the live kill's start within 100 ms + the call and its delivery of the DELETE (%s)", liveAsked)
	require.InDelta(t, liveTruth.Seconds(), liveInc.TimeToRecover().Seconds(), liveTol.Seconds(),
		"the live kill's MTTR within %s of the own watch's %s", liveTol, liveTruth)
	checkRecoveryBounds(t, judge, "the live kill before the cut", ns, "cut",
		maxTime(watchedFrom, liveAsked.Add(-time.Second)), liveAsked.Add(time.Second), liveTruth, liveTol+50*time.Millisecond)

	// Fault 2, during the cut: two pods killed at once.
	pods, err = c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=cut"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 3)
	victims := []string{pods.Items[0].Name, pods.Items[1].Name}
	beforeCut := map[types.UID]bool{live.UID: true}
	for _, p := range pods.Items {
		beforeCut[p.UID] = true
	}

	// One request deletes both, so that they are one fault: with two Delete
	// calls in turn on 2 busy cores, kwok once had the first one's
	// replacement Ready before the second call (both stamped within the
	// second of the first deletion: the workload whole for a moment, two
	// faults, rightly two incidents).
	for _, name := range victims {
		_, err := c.CoreV1().Pods(ns).Patch(t.Context(), name, types.MergePatchType,
			[]byte(`{"metadata":{"labels":{"victim":"cut"}}}`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	cutAt := time.Now()
	proxy.Cut()
	require.NoError(t, c.CoreV1().Pods(ns).DeleteCollection(t.Context(), metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: "app=cut,victim=cut"}))

	var readyz string
	// Each watch notices the cut on its own (the first read that fails), so
	// /readyz may name another one first: on 2 busy cores the nodes watch
	// was named 2 s before the pods watch.
	waitFor(t, 10*time.Second, "/readyz to fail during the cut, naming the pods watch", func() (bool, error) {
		code, body, err := httpGet(sw.url + "/readyz")
		readyz = body
		return code == http.StatusServiceUnavailable && strings.Contains(body, "the pods watch has been broken since"), err
	})
	require.Contains(t, readyz, "the pods watch has been broken since")
	waitFor(t, 10*time.Second, "the health metrics to show the outage", func() (bool, error) {
		mfs := scrape(t, sw.url)
		return value(mfs, "steadywatch_watch_up", map[string]string{"resource": "pods"}) == 0 &&
			value(mfs, "steadywatch_watch_errors_total", map[string]string{"resource": "pods"}) > errorsBefore, nil
	})
	mfs := scrape(t, sw.url)
	brokenSince := value(mfs, "steadywatch_watch_broken_since_timestamp_seconds", map[string]string{"resource": "pods"})
	require.InDelta(t, float64(cutAt.UnixNano())/1e9, brokenSince, 2, "the outage is dated at the cut")
	waitFor(t, 60*time.Second, "the replacements ready behind steadywatch's back", func() (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(t.Context(), "cut", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 3 && d.Status.UpdatedReplicas == 3, err
	})
	time.Sleep(time.Until(cutAt.Add(15 * time.Second))) // the cut's deliberate length
	code, _, err := httpGet(sw.url + "/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, code, "still broken at the end of the cut")

	restoreAt := time.Now()
	proxy.Restore()
	waitFor(t, 60*time.Second, "/readyz to succeed after the cut", func() (bool, error) {
		code, _, err := httpGet(sw.url + "/readyz")
		return code == http.StatusOK, err
	})

	var deleted []chaos.Event
	waitFor(t, 30*time.Second, "both deletions recorded beside the live kill's", func() (bool, error) {
		all, err := sw.Store.Events(t.Context(), tracker.Filter{Service: "cut"})
		deleted = deleted[:0]
		for _, e := range all {
			if e.Kind == chaos.PodDeleted && e.Object.Name != live.Name {
				deleted = append(deleted, e)
			}
		}
		return len(deleted) == 2, err
	})
	for _, e := range deleted {
		require.Contains(t, victims, e.Object.Name)
		require.True(t, e.Missed, "%s was deleted while the watch was cut: missed", e)
		at := e.At.Best()
		require.False(t, at.Before(cutAt.Truncate(time.Second)), "%s: dated after the cut began (%s)", e, cutAt)
		require.True(t, at.Before(restoreAt), "%s: dated before the watch came back (%s), not at the relist", e, restoreAt)
	}
	// The replacements as the test's own watch saw them: the workload was
	// whole again when the later one was Ready.
	// They turned Ready during the cut, so steadywatch can know no more
	// than the whole second the API server stamped: the truth is the range
	// from the later stamp to the own watch's receipt.
	var whole, wholeStamp time.Time
	waitFor(t, 10*time.Second, "both replacements Ready (own watch)", func() (bool, error) {
		fresh := own.replacements("cut", beforeCut)
		whole, wholeStamp = time.Time{}, time.Time{}
		for _, p := range fresh {
			if p.readyAt().IsZero() {
				return false, nil
			}
			whole, wholeStamp = maxTime(whole, p.readyAt()), maxTime(wholeStamp, p.readyAPI)
		}
		return len(fresh) == 2, nil
	})
	// The premise of one fault, by the own watch: neither victim was
	// deleted after a replacement was Ready.
	var firstReady, lastDeleted time.Time
	for _, p := range own.replacements("cut", beforeCut) {
		if firstReady.IsZero() || p.readyObserved.Before(firstReady) {
			firstReady = p.readyObserved
		}
	}
	for _, p := range pods.Items[:2] {
		tr, ok := own.pod(p.UID)
		require.True(t, ok, "the own watch saw victim %s", p.Name)
		lastDeleted = maxTime(lastDeleted, tr.terminating)
	}
	require.False(t, lastDeleted.IsZero(), "the own watch saw the victims terminate")
	require.True(t, lastDeleted.Before(firstReady),
		"the test's premise: both victims deleted (last at %s) before a replacement was Ready (%s)",
		lastDeleted.Format(time.StampMilli), firstReady.Format(time.StampMilli))
	var incs []chaos.Incident
	waitFor(t, 30*time.Second, "steadywatch's incidents closed", func() (bool, error) {
		incs, err = sw.Store.List(t.Context(), tracker.Filter{Service: "cut"})
		for _, inc := range incs {
			if inc.Open() {
				return false, err
			}
		}
		return true, err
	})
	// One incident per fault: the live kill, and the two pods killed at
	// once during the cut.
	require.Len(t, incs, 2, "one incident per fault (the live kill, the kill during the cut): %+v", incs)
	var cutInc chaos.Incident
	for _, inc := range incs {
		if inc.ID != liveInc.ID {
			cutInc = inc
		}
	}
	require.NotEmpty(t, cutInc.ID, "an incident of the kill during the cut beside the live kill's: %+v", incs)
	require.Equal(t, chaos.PodDeleted, cutInc.Kind, "%+v", cutInc)
	require.Equal(t, chaos.Ref{Kind: "Deployment", Namespace: ns, Name: "cut"}, cutInc.Object, "%+v", cutInc)
	require.True(t, cutInc.Missed, "an incident the cut hid is marked missed: %+v", cutInc)
	require.False(t, cutInc.Start.Before(cutAt.Truncate(time.Second)), "the hidden kill dated after the cut began (%s): %s", cutAt, cutInc.Start)
	require.True(t, cutInc.Start.Before(restoreAt), "the hidden kill dated before the watch came back (%s), not at the relist: %s", restoreAt, cutInc.Start)
	require.WithinRange(t, cutInc.End, wholeStamp.Add(-100*time.Millisecond), whole.Add(100*time.Millisecond),
		"the hidden kill recovered when its later replacement was Ready (own watch: stamped %s, received %s)", wholeStamp, whole)

	mfs = scrape(t, sw.url)
	requireValue(t, 1, value(mfs, "steadywatch_watch_up", map[string]string{"resource": "pods"}))
	// client-go either relists after the cut (the deletions come as
	// tombstones) or resumes the watch from its resourceVersion (they come
	// as plain events, 15 s late): both must be marked missed.
	relists := value(mfs, "steadywatch_watch_relists_total", map[string]string{"resource": "pods"})
	require.False(t, math.IsNaN(relists), "the relists of the pods watch are exported")
	t.Logf("after the cut client-go %s", map[bool]string{true: "relisted the pods", false: "resumed the pods watch without a relist"}[relists >= 1])
	require.GreaterOrEqual(t, value(mfs, "steadywatch_chaos_events_missed_total", map[string]string{"kind": "pod_deleted"}), 2.0)
	// The MTTR histogram holds the live kill's and nothing else: no
	// sample, least of all 0 s, from a fault nobody saw.
	recovery := series(mfs, "steadywatch_recovery_seconds", map[string]string{"service": "cut"})
	require.NotNil(t, recovery, "the live kill is measured")
	require.Equal(t, uint64(1), recovery.GetHistogram().GetSampleCount(), "no MTTR sample from a fault nobody saw: %v", recovery)
	require.InDelta(t, liveInc.TimeToRecover().Seconds(), recovery.GetHistogram().GetSampleSum(), 1e-3, "the one sample is the live kill's")
	requireValue(t, 1, value(mfs, "steadywatch_incidents_unmeasured_total",
		map[string]string{"kind": "pod_deleted", "service": "cut", "reason": "start_not_seen"}), "the hidden kill counted unmeasured")
	// Two failures, but the second's start is an estimate: the time
	// between them is no MTBF sample.
	mtbf := series(mfs, "steadywatch_time_between_failures_seconds", map[string]string{"service": "cut"})
	require.True(t, mtbf == nil || mtbf.GetHistogram().GetSampleCount() == 0,
		"no MTBF sample to or from a start nobody saw: %v", mtbf)

	// A verdict whose window covers the cut is inconclusive, naming it.
	doc := fmt.Sprintf(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: cut}
spec:
  service: cut
  namespace: %s
  groups: {control: steadywatch_io_group="control", experimental: steadywatch_io_group="experimental"}
  window: {fixed: {start: %s, end: %s}}
  recovery: {mttr: 60s}
`, ns, watchedFrom.UTC().Format(time.RFC3339Nano), restoreAt.Add(time.Second).UTC().Format(time.RFC3339Nano))
	hs, err := hypothesis.Parse([]byte(doc), "cut.yaml")
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "the window's end", func() (bool, error) { return time.Now().After(restoreAt.Add(time.Second)), nil })
	v, err := judge.Judge(t.Context(), &hs[0], time.Now())
	require.NoError(t, err)
	require.Equal(t, verdict.Inconclusive, v.Result, v.Reason)
	require.Len(t, v.Recovery, 1)
	require.Equal(t, verdict.Inconclusive, v.Recovery[0].Result)
	require.Contains(t, v.Recovery[0].Reason, "watch was broken")
	require.NotContains(t, v.Reason, "not running", "steadywatch ran throughout: only the cut is a gap")
	var podGap *verdict.Gap
	for i, g := range v.Unwatched {
		if g.Why == verdict.GapBroken && strings.Contains(strings.Join(g.Resources, ","), "pods") {
			podGap = &v.Unwatched[i]
		}
	}
	require.NotNil(t, podGap, "the pods watch's outage is named: %+v", v.Unwatched)
	require.WithinDuration(t, cutAt, podGap.From, 2*time.Second)
	require.False(t, podGap.To.Before(restoreAt), "the outage lasts until the watch was back")
	t.Logf("verdict: %s: %s", v.Result, v.Reason)
	t.Logf("/readyz during the cut: %s", strings.TrimSpace(readyz))
	t.Logf("outage of the pods watch as recorded: %s – %s (cut %s – %s)", podGap.From.Format(time.StampMilli),
		podGap.To.Format(time.StampMilli), cutAt.Format(time.StampMilli), restoreAt.Format(time.StampMilli))
	t.Logf("live kill: start error %+.3fs, MTTR steadywatch %.3fs vs own watch %.3fs: error %+.3fs",
		liveInc.Start.Sub(liveAsked).Seconds(), liveInc.TimeToRecover().Seconds(), liveTruth.Seconds(),
		(liveInc.TimeToRecover() - liveTruth).Seconds())
	t.Logf("hidden kill: start estimate %+.3fs after the cut, recovery %s vs own watch stamped %s received %s: error %+.3fs from the receipt, %+.3fs outside the range",
		cutInc.Start.Sub(cutAt).Seconds(), cutInc.End.Format(time.StampMilli), wholeStamp.Format(time.StampMilli), whole.Format(time.StampMilli),
		cutInc.End.Sub(whole).Seconds(), outside(cutInc.End, wholeStamp, whole).Seconds())
}

// judger judges a hypothesis: verdict.Judge.
type judger interface {
	Judge(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (verdict.Verdict, error)
}

// checkRecoveryBounds judges a hypothesis on the service's recovery over
// [from, until] with an mttr bound just above the true value (truth +
// margin), which must pass, and one just below, which must fail: a bound
// is tested from both sides.
func checkRecoveryBounds(t *testing.T, j judger, name, ns, service string, from, until time.Time, truth, margin time.Duration) {
	t.Helper()
	require.Greater(t, truth, margin, "%s: the true MTTR %s is within the margin %s of 0: no bound below it can fail", name, truth, margin)
	for _, c := range []struct {
		bound time.Duration
		want  verdict.Result
	}{
		{truth + margin, verdict.Pass},
		{truth - margin, verdict.Fail},
	} {
		v := judgeMTTR(t, j, ns, service, from, until, c.bound)
		require.Equal(t, c.want, v.Result, "%s: true MTTR %s, bound %s: %s", name, truth, c.bound, v.Reason)
	}
}

// judgeMTTR judges a hypothesis bounding the service's MTTR over [from,
// until] once the window has ended.
func judgeMTTR(t *testing.T, j judger, ns, service string, from, until time.Time, bound time.Duration) verdict.Verdict {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: bounds}
spec:
  service: %s
  namespace: %s
  groups: {control: steadywatch_io_group="control", experimental: steadywatch_io_group="experimental"}
  window: {fixed: {start: %s, end: %s}}
  recovery: {mttr: %dms}
`, service, ns, from.UTC().Format(time.RFC3339Nano), until.UTC().Format(time.RFC3339Nano), bound.Milliseconds())
	hs, err := hypothesis.Parse([]byte(doc), "bounds.yaml")
	require.NoError(t, err, doc)
	waitFor(t, 10*time.Second, "the window's end", func() (bool, error) { return time.Now().After(until), nil })
	v, err := j.Judge(t.Context(), &hs[0], time.Now())
	require.NoError(t, err)
	return v
}

// outside is how far at lies outside [lo, hi]: 0 inside, negative
// before, positive after.
func outside(at, lo, hi time.Time) time.Duration {
	switch {
	case at.Before(lo):
		return at.Sub(lo)
	case at.After(hi):
		return at.Sub(hi)
	}
	return 0
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
