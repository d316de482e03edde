package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/tracker"
)

// TestAKilledDaemonSetPodIsOneIncidentUntilItsReplacementIsReady kills a
// DaemonSet's pod (a node agent: one pod a node, replaced on the same
// node) and checks steadywatch's incident against the test's own watch.
func TestAKilledDaemonSetPodIsOneIncidentUntilItsReplacementIsReady(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "daemonset"
	namespace(t, ns)
	for _, n := range []string{"daemonset-1", "daemonset-2"} {
		node(t, n, map[string]string{"pool": ns})
	}
	labels := map[string]string{"app": "agent", serviceLabel: "agent", groupLabel: "experimental"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"pool": ns},
					Tolerations: []corev1.Toleration{
						{Key: testbed.KwokTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
					},
					Containers: []corev1.Container{{Name: "agent", Image: "fake"}},
				},
			},
		},
	}
	_, err := c.AppsV1().DaemonSets(ns).Create(t.Context(), ds, metav1.CreateOptions{})
	require.NoError(t, err)
	waitFor(t, 60*time.Second, "the DaemonSet ready on both nodes", func() (bool, error) {
		got, err := c.AppsV1().DaemonSets(ns).Get(t.Context(), "agent", metav1.GetOptions{})
		return err == nil && got.Status.DesiredNumberScheduled == 2 && got.Status.NumberReady == 2, nil
	})
	own := watchReady(t, c, ns, "agent", 2)
	sw := startSteadywatch(t, ns, t.TempDir())

	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=agent"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	before := time.Now()
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}))
	after := time.Now()
	var whole time.Time
	waitFor(t, 60*time.Second, "the DaemonSet whole again (own watch)", func() (bool, error) {
		var ok bool
		whole, ok = own.wholeSince(after)
		return ok, nil
	})
	var incs []chaos.Incident
	waitFor(t, 30*time.Second, "steadywatch's incident closed", func() (bool, error) {
		incs, err = sw.Store.List(t.Context(), tracker.Filter{Service: "agent"})
		return len(incs) > 0 && !incs[0].Open(), err
	})
	require.Len(t, incs, 1, "one fault, one incident: %v", incs)
	inc := incs[0]
	require.Equal(t, chaos.PodDeleted, inc.Kind)
	require.Equal(t, chaos.Ref{Kind: "DaemonSet", Namespace: ns, Name: "agent"}, inc.Object)
	require.Equal(t, chaos.Subject{Namespace: ns, Service: "agent", Group: chaos.Experimental}, inc.Subject)
	const tolerance = 100 * time.Millisecond
	require.WithinRange(t, inc.Start, before.Add(-tolerance), after.Add(tolerance))
	// The own watch and steadywatch's each receive the Ready transition a
	// few ms after it happened: within the tolerance of each other.
	require.WithinDuration(t, whole, inc.End, tolerance, "recovered when the replacement was ready (own watch %s, steadywatch %s)", whole, inc.End)
	t.Logf("DaemonSet pod kill: MTTR steadywatch %s, own watch %s (from the DELETE call)", inc.TimeToRecover().Round(time.Millisecond), whole.Sub(before).Round(time.Millisecond))
}
