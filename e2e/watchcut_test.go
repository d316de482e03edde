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

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
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
	createDeployment(t, c, deployment(ns, "cut", "cut", "experimental", ns, 3))

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

	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=cut"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 3)
	victims := []string{pods.Items[0].Name, pods.Items[1].Name}

	cutAt := time.Now()
	proxy.Cut()
	for _, name := range victims {
		require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), name, metav1.DeleteOptions{}))
	}

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
	waitFor(t, 30*time.Second, "both deletions recorded", func() (bool, error) {
		all, err := sw.Store.Events(t.Context(), tracker.Filter{Service: "cut"})
		deleted = deleted[:0]
		for _, e := range all {
			if e.Kind == chaos.PodDeleted {
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
	incs, err := sw.Store.List(t.Context(), tracker.Filter{Service: "cut"})
	require.NoError(t, err)
	for _, inc := range incs {
		require.True(t, inc.Missed, "an incident the cut hid is marked missed: %+v", inc)
	}

	mfs = scrape(t, sw.url)
	requireValue(t, 1, value(mfs, "steadywatch_watch_up", map[string]string{"resource": "pods"}))
	require.GreaterOrEqual(t, value(mfs, "steadywatch_watch_relists_total", map[string]string{"resource": "pods"}), 1.0)
	require.GreaterOrEqual(t, value(mfs, "steadywatch_chaos_events_missed_total", map[string]string{"kind": "pod_deleted"}), 2.0)
	recovery := series(mfs, "steadywatch_recovery_seconds", map[string]string{"service": "cut"})
	require.Nil(t, recovery, "no MTTR sample, least of all 0 s, from a fault nobody saw: %v", recovery)

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
	judge, err := promsource.NewJudge(promsource.Options{URL: "http://127.0.0.1:1"}, // no metrics to query
		verdict.Options{Store: sw.Store, Alerts: sw.DB, Coverage: sw.Coverage})
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
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
