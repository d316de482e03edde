package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/incident"
)

func TestAPodDeletedWhileTheWatcherWasDownIsFoundAndMarkedMissed(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "restart"
	namespace(t, ns)
	node(t, "restart-1", map[string]string{"pool": ns})
	createDeployment(t, c, deployment(ns, "cache", "cache", "experimental", ns, 3))
	dataDir := t.TempDir()

	first := startSteadywatch(t, ns, dataDir)
	requireValue(t, 1, value(scrape(t, first.url), "steadywatch_workload_ready_ratio",
		map[string]string{"workload": "deployment/cache"}))
	first.stop() // graceful: saves what it knew

	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=cache"})
	require.NoError(t, err)
	victim := pods.Items[0]
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), victim.Name, metav1.DeleteOptions{}))
	waitFor(t, 60*time.Second, "the replacement pod ready", func() (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(t.Context(), "cache", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, err = c.CoreV1().Pods(ns).Get(t.Context(), victim.Name, metav1.GetOptions{})
		return d.Status.ReadyReplicas == 3 && err != nil, nil
	})

	second := startSteadywatch(t, ns, dataDir)
	mfs := scrape(t, second.url)
	requireValue(t, 1, value(mfs, "steadywatch_chaos_events_total",
		map[string]string{"kind": "pod_deleted", "namespace": ns, "service": "cache", "group": "experimental"}),
		"the deletion is found once the informers have synced")
	requireValue(t, 1, value(mfs, "steadywatch_chaos_events_missed_total", map[string]string{"kind": "pod_deleted"}))

	all, err := second.Store.Events(t.Context(), incident.Filter{Service: "cache"})
	require.NoError(t, err)
	// Depending on how far the Deployment's status had caught up when the
	// watcher came back, a (missed) workload_degraded may precede it.
	var events []chaos.Event
	for _, e := range all {
		if e.Kind == chaos.PodDeleted {
			events = append(events, e)
		}
	}
	require.Len(t, events, 1, "events: %v", all)
	require.Equal(t, chaos.PodDeleted, events[0].Kind)
	require.Equal(t, victim.Name, events[0].Object.Name)
	require.True(t, events[0].Missed, "marked as missed")

	// Its time comes from the replacement's creation, and the incident is
	// already closed at the replacement's readiness.
	incidents, err := second.Store.List(t.Context(), incident.Filter{Service: "cache"})
	require.NoError(t, err)
	require.Len(t, incidents, 1)
	require.True(t, incidents[0].Missed)
	require.False(t, incidents[0].Open())
	requireValue(t, 1, value(mfs, "steadywatch_recovery_seconds",
		map[string]string{"kind": "pod_deleted", "service": "cache"}))
}
