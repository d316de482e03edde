// Package scale fills the testbed with fake workloads for the benchmarks
// (kwok pods on kwok nodes) and watches the pods settle, for the e2e
// benchmarks and bench/compare alike.
package scale

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

// Labels a workload's pods carry for steadywatch's service and group.
const (
	ServiceLabel = "app.kubernetes.io/name"
	GroupLabel   = "steadywatch.io/group"
)

// Deployment builds a Deployment of fake pods for kwok nodes labelled
// pool=<pool>, in the given service and group.
func Deployment(ns, name, service, group, pool string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name, ServiceLabel: service, GroupLabel: group}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(labels, pool),
		},
	}
}

// StatefulSet builds a StatefulSet of fake pods as Deployment does, its
// pods started in parallel rather than one after another.
func StatefulSet(ns, name, service, group, pool string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": name, ServiceLabel: service, GroupLabel: group}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			ServiceName:         name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template:            podTemplate(labels, pool),
		},
	}
}

func podTemplate(labels map[string]string, pool string) corev1.PodTemplateSpec {
	five := int64(5)
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      labels,
			Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": "10m"},
		},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"pool": pool},
			Tolerations: []corev1.Toleration{
				{Key: testbed.KwokTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
				// Evict quickly from a failed node, as the recipe measured.
				{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &five},
				{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &five},
			},
			Containers: []corev1.Container{{
				Name: "app", Image: "fake",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
				}},
			}},
		},
	}
}

// Parallel calls f(0) … f(n-1) on the given number of workers and returns
// every error.
func Parallel(n, workers int, f func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// ReadyAgain marks Ready the running pods of ns that are not, as their
// kubelet would once its node is back, and returns how many it marked.
//
// Under a fill's load kwok can be late renewing a node's lease; the node
// controller then marks that node's pods not ready, and kwok does not
// always mark them ready again when the lease is renewed. A pod changed
// or deleted since the list is left for the next call. Such pods are
// the testbed's artefact, not a state the benchmark means to measure.
func ReadyAgain(ctx context.Context, c kubernetes.Interface, ns string) (int, error) {
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return 0, err
	}
	var stale []corev1.Pod
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && !Ready(&p) {
			stale = append(stale, p)
		}
	}
	var marked atomic.Int64
	err = Parallel(len(stale), 8, func(i int) error {
		p := &stale[i]
		now := metav1.Now()
		for _, t := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
			setCondition(p, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
		}
		for j := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[j].Ready = true
		}
		_, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		switch {
		case err == nil:
			marked.Add(1)
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			// Changed or gone since the list: the next call sees it as it is.
			err = nil
		}
		return err
	})
	return int(marked.Load()), err
}

// Ready reports whether the pod's Ready condition is true.
func Ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func setCondition(p *corev1.Pod, c corev1.PodCondition) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == c.Type {
			p.Status.Conditions[i] = c
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, c)
}
