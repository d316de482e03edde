package watcher

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// t0 is the watcher's clock: every observation is made at t0.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	serviceLabel = "app.kubernetes.io/name"
	groupLabel   = "steadywatch.io/group"
)

// call is one call the watcher made to its Sink.
type call struct {
	Method   string
	Pod      tracker.Pod
	Missed   bool
	Workload tracker.Workload
	Settled  bool
	Ref      chaos.Ref
	Node     tracker.Node
	Name     string
	HPA      tracker.HPA
}

// sink records what the watcher hands the tracker.
type sink struct {
	mu    sync.Mutex
	calls []call
}

func (s *sink) add(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *sink) PodChanged(p tracker.Pod) { s.add(call{Method: "PodChanged", Pod: p}) }
func (s *sink) PodGone(p tracker.Pod, missed bool) {
	s.add(call{Method: "PodGone", Pod: p, Missed: missed})
}

func (s *sink) WorkloadChanged(w tracker.Workload, settled bool) {
	s.add(call{Method: "WorkloadChanged", Workload: w, Settled: settled})
}
func (s *sink) WorkloadGone(ref chaos.Ref) { s.add(call{Method: "WorkloadGone", Ref: ref}) }
func (s *sink) NodeChanged(n tracker.Node) { s.add(call{Method: "NodeChanged", Node: n}) }
func (s *sink) NodeGone(name string)       { s.add(call{Method: "NodeGone", Name: name}) }
func (s *sink) HPAChanged(h tracker.HPA)   { s.add(call{Method: "HPAChanged", HPA: h}) }
func (s *sink) HPAGone(ref chaos.Ref)      { s.add(call{Method: "HPAGone", Ref: ref}) }
func (s *sink) Reconcile()                 { s.add(call{Method: "Reconcile"}) }

func (s *sink) Calls() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// waitFor waits for a call that match accepts and returns the latest such.
func (s *sink) waitFor(t *testing.T, what string, match func(c call) bool) call {
	t.Helper()
	var found call
	require.Eventually(t, func() bool {
		calls := s.Calls()
		for _, c := range slices.Backward(calls) {
			if match(c) {
				found = c
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "waiting for %s", what)
	return found
}

func (s *sink) podCall(t *testing.T, method, name string, match func(p tracker.Pod) bool) tracker.Pod {
	t.Helper()
	return s.waitFor(t, method+" of pod "+name, func(c call) bool {
		return c.Method == method && c.Pod.Ref.Name == name && (match == nil || match(c.Pod))
	}).Pod
}

func testOptions(client *fake.Clientset, s Sink) Options {
	subjects := DefaultSubjects()
	return Options{
		Client: client, Address: "https://10.0.0.1:6443", Sink: s, Subjects: subjects,
		Now: func() time.Time { return t0 },
	}
}

// running is a watcher started on a fake clientset.
type running struct {
	client *fake.Clientset
	sink   *sink
	w      *Watcher
}

// startWatcher runs a watcher over a fake cluster holding objs, recording
// what it hands its sink, and returns once every informer has synced and
// is watching.
func startWatcher(t *testing.T, objs ...runtime.Object) *running {
	t.Helper()
	s := &sink{}
	r := startWatcherWith(t, s, objs...)
	r.sink = s
	return r
}

// startWatcherWith is startWatcher handing what it sees to s.
func startWatcherWith(t *testing.T, s Sink, objs ...runtime.Object) *running {
	t.Helper()
	client := fake.NewClientset(objs...)
	watching := map[string]bool{}
	var mu sync.Mutex
	// The fake clientset drops what happens between an informer's list
	// and its watch: only act once every watch is in place.
	client.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		wa, ok := action.(k8stesting.WatchActionImpl)
		if !ok {
			return false, nil, nil
		}
		wi, err := client.Tracker().Watch(wa.GetResource(), wa.GetNamespace(), wa.ListOptions)
		mu.Lock()
		watching[wa.GetResource().Resource] = true
		mu.Unlock()
		return true, wi, err
	})
	r := &running{client: client}
	var err error
	r.w, err = New(testOptions(client, s))
	require.NoError(t, err)
	require.NoError(t, r.w.WaitForAPI(t.Context()))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.False(t, r.w.Synced(), "a stopped watcher is not synced")
	})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, res := range Resources {
			if !watching[res] {
				return false
			}
		}
		return r.w.Synced()
	}, 10*time.Second, 5*time.Millisecond, "waiting for the informers to sync and watch")
	return r
}

func labelsOf(service, group string) map[string]string {
	l := map[string]string{}
	if service != "" {
		l[serviceLabel] = service
	}
	if group != "" {
		l[groupLabel] = group
	}
	return l
}

func deployment(name string, desired, ready int32, settled bool) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name), Generation: 2},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(desired),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labelsOf(name, "experimental")}},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, ReadyReplicas: ready},
	}
	reason := "ReplicaSetUpdated"
	if settled {
		reason = "NewReplicaSetAvailable"
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reason},
	}
	return d
}

// readyPod is a ready pod of the controller kind/name, with the labels
// a Deployment's pods carry when kind is ReplicaSet and hash is set.
func readyPod(name, kind, owner, hash string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
			Labels:            labelsOf("web", "control"),
		},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-59 * time.Minute))},
			},
		},
	}
	if hash != "" {
		p.Labels["pod-template-hash"] = hash
	}
	if kind != "" {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: owner, UID: "uid-owner", Controller: new(true)}}
	}
	return p
}

func node(name string, status corev1.ConditionStatus, since time.Time) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeReady, Status: status, Reason: "KubeletReady", LastTransitionTime: metav1.NewTime(since)},
		}},
	}
}

func hpa(name, target string, desired int32, scaled time.Time) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    new(int32(2)), MaxReplicas: 10,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: desired, DesiredReplicas: desired, LastScaleTime: new(metav1.NewTime(scaled)),
		},
	}
}

func cacheTombstone(key string, obj any) cache.DeletedFinalStateUnknown {
	return cache.DeletedFinalStateUnknown{Key: key, Obj: obj}
}
