package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/tracker"
)

// setCPUUsage sets kwok's fake CPU usage of every pod of app, which
// metrics-server reports and the real HPA controller acts on.
func setCPUUsage(t *testing.T, c kubernetes.Interface, ns, app, usage string) {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"kwok.x-k8s.io/usage-cpu":%q}}}`, usage)
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		_, err := c.CoreV1().Pods(ns).Patch(t.Context(), p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
	}
}

func hpaScalingActive(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func TestARealHPAScalingUpAndBackIsRecordedWithItsReplicaCounts(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	const ns = "autoscaling"
	namespace(t, ns)
	node(t, "autoscaling-1", map[string]string{"pool": ns})
	createDeployment(t, c, scale.Deployment(ns, "api", "api", "experimental", ns, 3))
	minReplicas, zero, fifty := int32(3), int32(0), int32(50)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    6,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &fifty},
				},
			}},
			// Scale down as soon as usage drops instead of after 5 minutes.
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &zero},
			},
		},
	}
	_, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(t.Context(), hpa, metav1.CreateOptions{})
	require.NoError(t, err)
	sw := startSteadywatch(t, ns, t.TempDir())

	waitFor(t, 120*time.Second, "the HPA to read CPU metrics", func() (bool, error) {
		h, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(t.Context(), "api", metav1.GetOptions{})
		return err == nil && hpaScalingActive(h) && h.Status.DesiredReplicas == 3, err
	})

	setCPUUsage(t, c, ns, "api", "90m") // 90% of the 100m request
	up := map[string]string{"kind": "hpa_scaled_up", "service": "api", "group": "experimental"}
	waitFor(t, 90*time.Second, "hpa_scaled_up", func() (bool, error) {
		return value(scrape(t, sw.url), "steadywatch_chaos_events_total", up) >= 1, nil
	})
	waitFor(t, 60*time.Second, "6 replicas", func() (bool, error) {
		h, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(t.Context(), "api", metav1.GetOptions{})
		return err == nil && h.Status.DesiredReplicas == 6, err
	})
	open := openIncident(t, sw, chaos.HPAScaledUp)
	require.Equal(t, int32(3), open.Baseline)

	setCPUUsage(t, c, ns, "api", "10m")
	down := map[string]string{"kind": "hpa_scaled_down", "service": "api", "group": "experimental"}
	waitFor(t, 90*time.Second, "hpa_scaled_down", func() (bool, error) {
		return value(scrape(t, sw.url), "steadywatch_chaos_events_total", down) >= 1, nil
	})
	waitFor(t, 30*time.Second, "time back to baseline", func() (bool, error) {
		return value(scrape(t, sw.url), "steadywatch_recovery_seconds",
			map[string]string{"kind": "hpa_scaled_up", "service": "api"}) == 1, nil
	})

	events, err := sw.Store.Events(t.Context(), tracker.Filter{Service: "api"})
	require.NoError(t, err)
	var scaling [][2]int32
	for _, e := range events {
		if e.Kind == chaos.HPAScaledUp || e.Kind == chaos.HPAScaledDown {
			require.Equal(t, chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: ns, Name: "api"}, e.Object)
			scaling = append(scaling, [2]int32{e.FromReplicas, e.ToReplicas})
		}
	}
	t.Logf("scaling events (from, to): %v", scaling)
	require.Equal(t, [][2]int32{{3, 6}, {6, 3}}, scaling, "scaled 3→6 then back 6→3")

	// The scale-down removed three pods while the Deployment wanted three:
	// events, but no incident for the workload. Their deletions may reach
	// steadywatch before the Deployment's update does: listed only once it
	// saw all three and decided those it held.
	waitDeletionsDecided(t, sw, "api", 3)
	incidents, err := sw.Store.List(t.Context(), tracker.Filter{Service: "api"})
	require.NoError(t, err)
	require.Len(t, incidents, 1, "only the scaling incident: %+v", incidents)
	require.Equal(t, chaos.HPAScaledUp, incidents[0].Kind)
	require.False(t, incidents[0].Open())
}
