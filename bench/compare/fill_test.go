package compare

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

// The cluster of issue 16: 20 Deployments of `replicas` pods, 3
// StatefulSets of 30, an HPA on each Deployment, replicas+1 nodes; at the
// default 500 replicas, 10,090 pods on 501 nodes.
const (
	fillNamespace    = "compare"
	emptyNamespace   = "empty"
	fillDeployments  = 20
	fillStatefulSets = 3
	fillPerSet       = 30
)

// shape is the cluster a fill makes.
type shape struct {
	replicas int32 // per Deployment
}

func (s shape) nodes() int { return int(s.replicas) + 1 }
func (s shape) pods() int {
	return fillDeployments*int(s.replicas) + fillStatefulSets*fillPerSet
}

// filled is what the fill left.
type filled struct {
	pods, nodes int
	// readied is how many pods kwok left NotReady after a node-lease
	// hiccup and the fill marked Ready, as a kubelet would.
	readied int
	took    time.Duration
}

// fill creates the namespaces, nodes and workloads and waits until every
// pod is ready.
func fill(t *testing.T, tb *testbed.Testbed, c kubernetes.Interface, s shape) filled {
	t.Helper()
	ctx := t.Context()
	t0 := time.Now()
	for _, ns := range []string{fillNamespace, emptyNamespace} {
		_, err := tb.CreateNamespace(ctx, ns)
		require.NoError(t, err)
	}
	require.NoError(t, scale.Parallel(s.nodes(), 16, func(i int) error {
		_, err := tb.CreateNode(ctx, fmt.Sprintf("compare-%03d", i), map[string]string{"pool": fillNamespace})
		return err
	}))
	t.Logf("%d nodes ready after %s", s.nodes(), time.Since(t0).Round(time.Second))
	groups := []string{"control", "experimental"}
	require.NoError(t, scale.Parallel(fillDeployments, 8, func(i int) error {
		name := fmt.Sprintf("svc-%02d", i)
		d := scale.Deployment(fillNamespace, name, name, groups[i%2], fillNamespace, s.replicas)
		// The default 300 s not-ready toleration: a node slow to renew its
		// lease under this load must not set off an eviction storm.
		d.Spec.Template.Spec.Tolerations = d.Spec.Template.Spec.Tolerations[:1]
		if _, err := c.AppsV1().Deployments(fillNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return err
		}
		_, err := c.AutoscalingV2().HorizontalPodAutoscalers(fillNamespace).Create(ctx, hpa(name, s.replicas), metav1.CreateOptions{})
		return err
	}))
	require.NoError(t, scale.Parallel(fillStatefulSets, 3, func(i int) error {
		name := fmt.Sprintf("db-%d", i)
		ss := scale.StatefulSet(fillNamespace, name, name, groups[i%2], fillNamespace, fillPerSet)
		ss.Spec.Template.Spec.Tolerations = ss.Spec.Template.Spec.Tolerations[:1]
		_, err := c.AppsV1().StatefulSets(fillNamespace).Create(ctx, ss, metav1.CreateOptions{})
		return err
	}))

	// Wait on the workloads' status (23 objects) rather than list 10,000
	// pods. Once every pod exists and the ready count has not reached a
	// new high for 20 s, mark Ready the running pods kwok left NotReady.
	// Nodes that keep missing their lease renewals (a loaded machine) keep
	// taking pods with them: after 40 minutes the cluster is measured as
	// it is, and the log says how far it got.
	want := s.pods()
	readied, best, lastRise := 0, -1, time.Now()
	deadline := time.Now().Add(40 * time.Minute)
	for {
		created, ready, err := workloadReplicas(ctx, c)
		require.NoError(t, err)
		if ready >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("%d of %d pods ready after %s: measuring anyway", ready, want, time.Since(t0).Round(time.Second))
			break
		}
		if ready > best {
			best, lastRise = ready, time.Now()
		}
		if created >= want && time.Since(lastRise) > 20*time.Second {
			n, err := scale.ReadyAgain(ctx, c, fillNamespace)
			require.NoError(t, err)
			if n > 0 {
				t.Logf("marked Ready %d running pods left NotReady (%d of %d ready)", n, ready, want)
			}
			readied += n
			lastRise = time.Now()
		}
		time.Sleep(2 * time.Second)
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	pods, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	f := filled{pods: len(pods.Items), nodes: len(nodes.Items), readied: readied, took: time.Since(t0)}
	t.Logf("filled: %d pods (%d wanted) on %d nodes in %s; %d marked Ready by the fill", f.pods, want, f.nodes, f.took.Round(time.Second), readied)
	return f
}

// workloadReplicas sums the fill's Deployments' and StatefulSets' pods
// created and ready.
func workloadReplicas(ctx context.Context, c kubernetes.Interface) (created, ready int, err error) {
	ds, err := c.AppsV1().Deployments(fillNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	for _, d := range ds.Items {
		created += int(d.Status.Replicas)
		ready += int(d.Status.ReadyReplicas)
	}
	ss, err := c.AppsV1().StatefulSets(fillNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	for _, s := range ss.Items {
		created += int(s.Status.Replicas)
		ready += int(s.Status.ReadyReplicas)
	}
	return created, ready, nil
}

// hpa keeps Deployment name at its size (minimum = maximum), so that the
// HPAs are watched objects without scaling anything.
func hpa(name string, replicas int32) *autoscalingv2.HorizontalPodAutoscaler {
	util := int32(80)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fillNamespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &replicas,
			MaxReplicas:    replicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util},
				},
			}},
		},
	}
}
