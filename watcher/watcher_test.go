package watcher

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/testclock"
	"github.com/steadywatch/steadywatch/tracker"
)

func TestNewRejectsIncompleteOptions(t *testing.T) {
	client := fake.NewClientset()
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"a watcher without a client is refused", func(o *Options) { o.Client = nil }, "watcher: no Kubernetes client"},
		{"a watcher without a sink is refused", func(o *Options) { o.Sink = nil }, "watcher: no sink"},
		{"a watcher without a service label is refused", func(o *Options) { o.Subjects.ServiceLabel = "" }, "watcher: service and group label keys must be set"},
		{"a watcher without a group label is refused", func(o *Options) { o.Subjects.GroupLabel = "" }, "watcher: service and group label keys must be set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(client, &sink{})
			tc.edit(&o)
			_, err := New(o)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestWaitForAPI(t *testing.T) {
	t.Run("a cluster that answers is waited for no longer", func(t *testing.T) {
		w, err := New(testOptions(fake.NewClientset(), &sink{}))
		require.NoError(t, err)
		require.NoError(t, w.WaitForAPI(t.Context()))
	})

	t.Run("a cluster that never answers is waited for until asked to stop, with backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			client := fake.NewClientset()
			var attempts atomic.Int32
			client.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
				attempts.Add(1)
				return true, nil, errors.New("connection refused")
			})
			w, err := New(testOptions(client, &sink{}))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()

			err = w.WaitForAPI(ctx)
			require.EqualError(t, err, "kubernetes API at https://10.0.0.1:6443 unreachable: connection refused")
			// 0.5s, 1s, 2s, 4s between the attempts: the fifth is at 7.5s,
			// the sixth would be at 15.5s.
			require.Equal(t, int32(5), attempts.Load())
		})
	})
}

func TestTheWatcherTellsEachPodsWorkload(t *testing.T) {
	jobPod := readyPod("migrate-x7k2p", "Job", "migrate", "")
	r := startWatcher(t,
		deployment("web", 3, 3, true),
		readyPod("web-7d9f8b6c5-abcde", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5"),
		readyPod("db-0", "StatefulSet", "db", ""),
		readyPod("debug", "", "", ""),
		readyPod("batch-5f6d7-qwert", "ReplicaSet", "batch-5f6d7", "other-hash"),
		jobPod,
	)
	for _, tc := range []struct {
		name string
		pod  string
		want chaos.Ref
	}{
		{"a ReplicaSet's pod belongs to the Deployment named by the ReplicaSet less its template hash", "web-7d9f8b6c5-abcde", chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}},
		{"a StatefulSet's pod belongs to the StatefulSet", "db-0", chaos.Ref{Kind: "StatefulSet", Namespace: "shop", Name: "db"}},
		{"a bare pod belongs to no workload", "debug", chaos.Ref{}},
		{"a ReplicaSet's pod whose name does not end in its template hash belongs to no Deployment", "batch-5f6d7-qwert", chaos.Ref{}},
		{"a Job's pod belongs to no workload", "migrate-x7k2p", chaos.Ref{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := r.sink.podCall(t, "PodChanged", tc.pod, nil)
			require.Equal(t, tc.want, p.Workload)
		})
	}

	t.Run("the listed pod is handed over with what the tracker reads", func(t *testing.T) {
		p := r.sink.podCall(t, "PodChanged", "web-7d9f8b6c5-abcde", nil)
		require.Equal(t, tracker.Pod{
			UID:      "uid-web-7d9f8b6c5-abcde",
			Ref:      chaos.Ref{Kind: "Pod", Namespace: "shop", Name: "web-7d9f8b6c5-abcde"},
			Subject:  chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control},
			Workload: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"},
			Node:     "node-1",
			Created:  t0.Add(-time.Hour),
			Ready:    true,
			ReadyAt:  chaos.Timestamp{Cluster: t0.Add(-59 * time.Minute), Observed: t0},
		}, p)
	})

	t.Run("reconciling follows the first list of everything", func(t *testing.T) {
		calls := r.sink.Calls()
		i := slices.IndexFunc(calls, func(c call) bool { return c.Method == "Reconcile" })
		require.Equal(t, 6, i, "five pods and a Deployment listed before")
		require.Equal(t, map[string]bool{
			"pods": true, "nodes": true, "deployments": true, "statefulsets": true, "daemonsets": true, "horizontalpodautoscalers": true,
		}, r.w.ResourcesSynced())
	})
}

func TestTheWatcherFollowsAPodThroughItsDeletion(t *testing.T) {
	pod := readyPod("web-7d9f8b6c5-abcde", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5")
	r := startWatcher(t, pod)
	r.sink.podCall(t, "PodChanged", pod.Name, nil)
	ctx := t.Context()

	// The eviction API marks the pod, then the deletion sets its
	// deletionTimestamp a grace period ahead.
	evicted := pod.DeepCopy()
	evicted.Status.Conditions = append(evicted.Status.Conditions, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI",
	})
	evicted.DeletionTimestamp = new(metav1.NewTime(t0.Add(30 * time.Second)))
	evicted.DeletionGracePeriodSeconds = new(int64(30))
	_, err := r.client.CoreV1().Pods("shop").Update(ctx, evicted, metav1.UpdateOptions{})
	require.NoError(t, err)

	p := r.sink.podCall(t, "PodChanged", pod.Name, func(p tracker.Pod) bool { return p.Reason != "" })
	require.Equal(t, chaos.Timestamp{Cluster: t0, Observed: t0}, p.Deleting, "requested a grace period before the deletionTimestamp")
	require.Equal(t, "eviction_api", p.Reason)

	require.NoError(t, r.client.CoreV1().Pods("shop").Delete(ctx, pod.Name, metav1.DeleteOptions{}))
	c := r.sink.waitFor(t, "PodGone", func(c call) bool { return c.Method == "PodGone" })
	require.False(t, c.Missed, "a deletion seen by the watch is not missed")
	require.Equal(t, pod.Name, c.Pod.Ref.Name)
	require.Equal(t, p.Deleting, c.Pod.Deleting)
}

func TestTheWatcherFollowsWorkloadsNodesAndAutoscalers(t *testing.T) {
	db := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", Generation: 4, Labels: labelsOf("postgres", "")},
		Spec: appsv1.StatefulSetSpec{
			Replicas: new(int32(3)),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labelsOf("db", "control")}},
		},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 4, ReadyReplicas: 2, CurrentRevision: "db-1", UpdateRevision: "db-2"},
	}
	r := startWatcher(t,
		deployment("web", 3, 2, false),
		db,
		node("node-1", corev1.ConditionTrue, t0.Add(-time.Hour)),
		hpa("web", "web", 3, t0.Add(-time.Hour)),
	)
	ctx := t.Context()

	t.Run("a Deployment is handed over with its replicas and whether its rollout finished", func(t *testing.T) {
		c := r.sink.waitFor(t, "the Deployment", func(c call) bool { return c.Method == "WorkloadChanged" && c.Workload.Ref.Name == "web" })
		require.Equal(t, tracker.Workload{
			Ref:     chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"},
			Subject: chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental},
			Desired: 3, Ready: 2,
		}, c.Workload)
		require.False(t, c.Settled)

		_, err := r.client.AppsV1().Deployments("shop").Update(ctx, deployment("web", 3, 3, true), metav1.UpdateOptions{})
		require.NoError(t, err)
		c = r.sink.waitFor(t, "the settled Deployment", func(c call) bool { return c.Method == "WorkloadChanged" && c.Settled })
		require.Equal(t, int32(3), c.Workload.Ready)
	})

	t.Run("a StatefulSet takes what its own labels lack from its pod template", func(t *testing.T) {
		c := r.sink.waitFor(t, "the StatefulSet", func(c call) bool { return c.Method == "WorkloadChanged" && c.Workload.Ref.Name == "db" })
		require.Equal(t, tracker.Workload{
			Ref:     chaos.Ref{Kind: "StatefulSet", Namespace: "shop", Name: "db"},
			Subject: chaos.Subject{Namespace: "shop", Service: "postgres", Group: chaos.Control},
			Desired: 3, Ready: 2,
		}, c.Workload)
		require.False(t, c.Settled, "a StatefulSet between revisions is rolling out")

		done := db.DeepCopy()
		done.Status.CurrentRevision = "db-2"
		_, err := r.client.AppsV1().StatefulSets("shop").Update(ctx, done, metav1.UpdateOptions{})
		require.NoError(t, err)
		r.sink.waitFor(t, "the settled StatefulSet", func(c call) bool { return c.Method == "WorkloadChanged" && c.Workload.Ref.Name == "db" && c.Settled })
	})

	t.Run("a node whose kubelet went silent is not ready", func(t *testing.T) {
		r.sink.waitFor(t, "the ready node", func(c call) bool { return c.Method == "NodeChanged" && c.Node.Ready })
		silent := node("node-1", corev1.ConditionUnknown, t0.Add(-2*time.Second))
		silent.Status.Conditions[1].Reason = "NodeStatusUnknown"
		_, err := r.client.CoreV1().Nodes().Update(ctx, silent, metav1.UpdateOptions{})
		require.NoError(t, err)
		c := r.sink.waitFor(t, "the silent node", func(c call) bool { return c.Method == "NodeChanged" && !c.Node.Ready })
		require.Equal(t, tracker.Node{
			Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: false,
			Since: chaos.Timestamp{Cluster: t0.Add(-2 * time.Second), Observed: t0}, Reason: "NodeStatusUnknown",
		}, c.Node)
	})

	t.Run("an autoscaler without labels takes the subject of the workload it scales", func(t *testing.T) {
		scaled := hpa("web", "web", 6, t0.Add(-time.Second))
		_, err := r.client.AutoscalingV2().HorizontalPodAutoscalers("shop").Update(ctx, scaled, metav1.UpdateOptions{})
		require.NoError(t, err)
		c := r.sink.waitFor(t, "the scaled autoscaler", func(c call) bool { return c.Method == "HPAChanged" && c.HPA.Desired == 6 })
		require.Equal(t, tracker.HPA{
			Ref:     chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"},
			Subject: chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental},
			Target:  chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"},
			Desired: 6, ScaledAt: chaos.Timestamp{Cluster: t0.Add(-time.Second), Observed: t0},
		}, c.HPA)
	})

	t.Run("deleted objects are reported gone", func(t *testing.T) {
		require.NoError(t, r.client.AutoscalingV2().HorizontalPodAutoscalers("shop").Delete(ctx, "web", metav1.DeleteOptions{}))
		require.NoError(t, r.client.AppsV1().Deployments("shop").Delete(ctx, "web", metav1.DeleteOptions{}))
		require.NoError(t, r.client.AppsV1().StatefulSets("shop").Delete(ctx, "db", metav1.DeleteOptions{}))
		require.NoError(t, r.client.CoreV1().Nodes().Delete(ctx, "node-1", metav1.DeleteOptions{}))
		r.sink.waitFor(t, "the autoscaler gone", func(c call) bool {
			return c.Method == "HPAGone" && c.Ref == chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
		})
		r.sink.waitFor(t, "the Deployment gone", func(c call) bool {
			return c.Method == "WorkloadGone" && c.Ref == chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}
		})
		r.sink.waitFor(t, "the StatefulSet gone", func(c call) bool {
			return c.Method == "WorkloadGone" && c.Ref == chaos.Ref{Kind: "StatefulSet", Namespace: "shop", Name: "db"}
		})
		r.sink.waitFor(t, "the node gone", func(c call) bool { return c.Method == "NodeGone" && c.Name == "node-1" })
		_, known := r.w.workloads.get(chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"})
		require.False(t, known, "a deleted workload lends its subject to no autoscaler")
	})
}

func TestTheWatcherFeedsARealTracker(t *testing.T) {
	rec := &countingRecorder{}
	clock := testclock.New(t0)
	tr := tracker.New(tracker.Options{Recorder: rec, Now: clock.Now})
	r := startWatcherWith(t, tr, deployment("web", 2, 2, true),
		readyPod("web-7d9f8b6c5-aaaaa", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5"),
		readyPod("web-7d9f8b6c5-bbbbb", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5"))
	require.Equal(t, []tracker.WorkloadStatus{{
		Ref:     chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"},
		Subject: chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental},
		Desired: 2, Ready: 2,
	}}, tr.Workloads(), "everything listed was handed over before the watcher reported synced")

	// Deleted outright (grace period zero): the watch only sees it gone.
	require.NoError(t, r.client.CoreV1().Pods("shop").Delete(t.Context(), "web-7d9f8b6c5-aaaaa", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return rec.events.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	// No controller replaces it here, and the Deployment's status stays: the
	// deletion may be a scale-down until tracker.ScaleDownHold passes.
	clock.Advance(tracker.ScaleDownHold)
	open := tr.OpenIncidents()
	require.Len(t, open, 1)
	require.Equal(t, chaos.PodDeleted, open[0].Kind)
	require.Equal(t, t0, open[0].Start, "dated when the watcher saw it go")
}

type countingRecorder struct {
	events atomic.Int32
}

func (r *countingRecorder) Event(chaos.Event)                                { r.events.Add(1) }
func (r *countingRecorder) Recovered(chaos.Incident)                         {}
func (r *countingRecorder) TimeBetweenFailures(chaos.Subject, time.Duration) {}

func TestAWatcherStoppedBeforeItsInformersSyncedDoesNotReconcile(t *testing.T) {
	client := fake.NewClientset(readyPod("debug", "", "", ""))
	var lists atomic.Int32
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists.Add(1)
		return true, nil, errors.New("etcdserver: request timed out")
	})
	s := &sink{}
	var mu sync.Mutex
	var watchErrors []string
	o := testOptions(client, s)
	o.OnWatchError = func(resource string, _ error) {
		mu.Lock()
		defer mu.Unlock()
		watchErrors = append(watchErrors, resource)
	}
	w, err := New(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(watchErrors) > 0
	}, 10*time.Second, 5*time.Millisecond, "the failed list is reported")
	require.Eventually(t, func() bool {
		synced := w.ResourcesSynced()
		return synced["nodes"] && !synced["pods"]
	}, 10*time.Second, 5*time.Millisecond, "every resource but pods syncs")
	cancel()
	require.NoError(t, <-done)

	require.False(t, w.Synced())
	require.False(t, w.ListedOnce(), "a watcher that never listed everything never did")
	for _, c := range s.Calls() {
		require.NotEqual(t, "Reconcile", c.Method, "nothing may be taken for deleted before every informer listed")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, watchErrors, "pods")
}

// blockingSink holds every PodChanged until released, as a tracker busy
// with a large first list would.
type blockingSink struct {
	sink
	release chan struct{}
}

func (s *blockingSink) PodChanged(p tracker.Pod) {
	<-s.release
	s.sink.PodChanged(p)
}

func TestReconcilingWaitsForTheHandlersNotJustTheInformers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &blockingSink{release: make(chan struct{})}
		client := fake.NewClientset(readyPod("web-1", "StatefulSet", "web", ""), readyPod("web-2", "StatefulSet", "web", ""))
		o := testOptions(client, s)
		// Without a resync period, client-go's reflectors wait on a channel
		// made outside the bubble, which synctest cannot tell is idle.
		o.Resync = 24 * time.Hour
		// OnSynced runs once the sink reconciled, and only then.
		var onSynced []string
		o.OnSynced = func() {
			calls := s.Calls()
			onSynced = append(onSynced, calls[len(calls)-1].Method)
		}
		w, err := New(o)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		release := sync.OnceFunc(func() { close(s.release) })
		defer func() {
			release()
			cancel()
			require.NoError(t, <-done)
		}()

		// Every informer's store holds its first list long before the
		// tracker has been handed the pods.
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Empty(t, s.Calls(), "the tracker was handed nothing yet, so nothing was reconciled")
		require.False(t, w.Synced())
		require.False(t, w.ListedOnce())
		require.False(t, w.ResourcesSynced()["pods"])
		require.Empty(t, onSynced, "not synced yet")

		release()
		time.Sleep(time.Second)
		synctest.Wait()
		calls := s.Calls()
		require.Len(t, calls, 3)
		require.Equal(t, "Reconcile", calls[2].Method, "reconciled once the pods were handed over")
		require.True(t, w.Synced())
		require.True(t, w.ListedOnce())
		require.Equal(t, []string{"Reconcile"}, onSynced, "OnSynced ran once, after the sink reconciled")
		cancel()
		require.NoError(t, <-done)
		require.False(t, w.Synced(), "not synced once stopped")
		require.True(t, w.ListedOnce(), "but it did list everything")
		done <- nil // for the deferred stop
	})
}

func TestATombstoneIsAMissedDeletion(t *testing.T) {
	s := &sink{}
	w, err := New(testOptions(fake.NewClientset(), s))
	require.NoError(t, err)
	pod := readyPod("web-1", "StatefulSet", "web", "")
	pod.DeletionTimestamp = new(metav1.NewTime(t0.Add(-10 * time.Second)))
	pod.DeletionGracePeriodSeconds = new(int64(30))

	w.podHandler().OnDelete(cacheTombstone("shop/web-1", pod))

	calls := s.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, "PodGone", calls[0].Method)
	require.True(t, calls[0].Missed)
	require.Equal(t, "uid-web-1", calls[0].Pod.UID)
	require.Equal(t, t0.Add(-40*time.Second), calls[0].Pod.Deleting.Cluster)

	w.podHandler().OnDelete(pod)
	require.False(t, s.Calls()[1].Missed, "an object deleted as watched is not missed")
}

func TestTombstonesOfOtherResourcesAreUnwrapped(t *testing.T) {
	s := &sink{}
	w, err := New(testOptions(fake.NewClientset(), s))
	require.NoError(t, err)
	w.nodeHandler().OnDelete(cacheTombstone("node-1", node("node-1", corev1.ConditionTrue, t0)))
	w.hpaHandler().OnDelete(cacheTombstone("shop/web", hpa("web", "web", 3, t0)))
	w.deploymentHandler().OnDelete(cacheTombstone("shop/web", deployment("web", 3, 3, true)))
	w.statefulSetHandler().OnDelete(cacheTombstone("shop/db", &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"}}))
	w.podHandler().OnDelete(cacheTombstone("shop/x", "not a pod"))

	require.Equal(t, []call{
		{Method: "NodeGone", Name: "node-1"},
		{Method: "HPAGone", Ref: chaos.Ref{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}},
		{Method: "WorkloadGone", Ref: chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}},
		{Method: "WorkloadGone", Ref: chaos.Ref{Kind: "StatefulSet", Namespace: "shop", Name: "db"}},
	}, s.Calls())
}

func TestTheWatcherFollowsDaemonSets(t *testing.T) {
	agent := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop", Generation: 3},
		Spec: appsv1.DaemonSetSpec{
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labelsOf("agent", "experimental")}},
		},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 3, DesiredNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 4},
	}
	r := startWatcher(t, agent)
	c := r.sink.waitFor(t, "the DaemonSet", func(c call) bool { return c.Method == "WorkloadChanged" && c.Workload.Ref.Name == "agent" })
	require.Equal(t, tracker.Workload{
		Ref:     chaos.Ref{Kind: "DaemonSet", Namespace: "shop", Name: "agent"},
		Subject: chaos.Subject{Namespace: "shop", Service: "agent", Group: chaos.Experimental},
		Desired: 4, Ready: 3,
	}, c.Workload, "desired is one pod per node it should run on")
	require.True(t, c.Settled)

	rolling := agent.DeepCopy()
	rolling.Status.UpdatedNumberScheduled = 2
	_, err := r.client.AppsV1().DaemonSets("shop").Update(t.Context(), rolling, metav1.UpdateOptions{})
	require.NoError(t, err)
	r.sink.waitFor(t, "the DaemonSet rolling out", func(c call) bool {
		return c.Method == "WorkloadChanged" && c.Workload.Ref.Name == "agent" && !c.Settled
	})
	require.NoError(t, r.client.AppsV1().DaemonSets("shop").Delete(t.Context(), "agent", metav1.DeleteOptions{}))
	r.sink.waitFor(t, "the DaemonSet gone", func(c call) bool {
		return c.Method == "WorkloadGone" && c.Ref == chaos.Ref{Kind: "DaemonSet", Namespace: "shop", Name: "agent"}
	})
}
