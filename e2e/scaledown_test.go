package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/tracker"
)

// serviceIncidents lists service's incidents of kind through the API.
func serviceIncidents(t *testing.T, sw *instance, service string, kind chaos.Kind) []api.Incident {
	t.Helper()
	code, body, err := httpGet(sw.url + api.IncidentsPath + "?service=" + service + "&kind=" + string(kind))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	var list api.IncidentList
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	return list.Incidents
}

// podsOf lists the pods of app, terminating ones included.
func podsOf(t *testing.T, c kubernetes.Interface, ns, app string) []string {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	names := make([]string, 0, len(pods.Items))
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

// waitDeletionsDecided waits until steadywatch saw the pod deletions of
// service (its own count, as the metrics show it) and decided every one it
// held as a possible scale-down: only then are its incidents final.
func waitDeletionsDecided(t *testing.T, sw *instance, service string, deletions float64) {
	t.Helper()
	deleted := map[string]string{"kind": "pod_deleted", "service": service}
	waitFor(t, 60*time.Second, "steadywatch to see the pod deletions", func() (bool, error) {
		return value(scrape(t, sw.url), "steadywatch_chaos_events_total", deleted) >= deletions, nil
	})
	waitFor(t, tracker.ScaleDownHold+10*time.Second, "steadywatch to decide the deletions it held", func() (bool, error) {
		return sw.Tracker.HeldDeletions() == 0, nil
	})
}

// A scale-down deletes pods while the Deployment, until its update reaches
// the watcher, still wants them: on a busy machine the deletions arrive
// first. Scaling 3→1 by hand is two pod_deleted events and no incident;
// killing the last pod afterwards is one, so the listing does show them.
func TestAManualScaleDownIsNoIncident(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "scaledown"
	namespace(t, ns)
	node(t, "scaledown-1", map[string]string{"pool": ns})
	createDeployment(t, c, scale.Deployment(ns, "cart", "cart", "experimental", ns, 3))
	sw := startSteadywatch(t, ns, t.TempDir())
	whole := map[string]string{"workload": "deployment/cart", "service": "cart"}
	waitFor(t, 60*time.Second, "steadywatch to see cart whole", func() (bool, error) {
		return value(scrape(t, sw.url), "steadywatch_workload_ready_ratio", whole) == 1, nil
	})

	_, err := c.AppsV1().Deployments(ns).UpdateScale(t.Context(), "cart", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 1},
	}, metav1.UpdateOptions{})
	require.NoError(t, err)
	var left []string
	waitFor(t, 60*time.Second, "cart down to one pod", func() (bool, error) {
		left = podsOf(t, c, ns, "cart")
		return len(left) == 1, nil
	})
	waitDeletionsDecided(t, sw, "cart", 2)
	require.Empty(t, serviceIncidents(t, sw, "cart", chaos.PodDeleted), "a scale-down is no fault")
	require.Empty(t, serviceIncidents(t, sw, "cart", chaos.WorkloadDegraded), "nor a degradation")
	open := map[string]string{"kind": "pod_deleted", "service": "cart"}
	mfs := scrape(t, sw.url)
	if m := series(mfs, "steadywatch_incidents_open", open); m != nil {
		requireValue(t, 0, m.GetGauge().GetValue(), "no open pod_deleted incident in the metrics")
	}

	// The last pod killed: cart is below its one desired replica.
	before := time.Now()
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), left[0], metav1.DeleteOptions{}))
	after := time.Now()
	var incs []api.Incident
	waitFor(t, tracker.ScaleDownHold+30*time.Second, "the kill's incident", func() (bool, error) {
		incs = serviceIncidents(t, sw, "cart", chaos.PodDeleted)
		return len(incs) > 0, nil
	})
	require.Len(t, incs, 1, "one incident for the kill: %+v", incs)
	require.Equal(t, api.Object{Kind: "Deployment", Namespace: ns, Name: "cart"}, incs[0].Object)
	// The API server stamps the deletion in whole seconds; the watch
	// refines it to when it saw the update.
	require.False(t, incs[0].Start.Before(before.Truncate(time.Second)), "dated by the deletion, not before it: %s", incs[0].Start)
	require.True(t, incs[0].Start.Before(after.Truncate(time.Second).Add(time.Second)),
		"dated by the deletion, not by the decision: %s", incs[0].Start)
}
