package watcher

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

func newTestWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := New(testOptions(fake.NewClientset(), &sink{}))
	require.NoError(t, err)
	return w
}

func TestSubjects(t *testing.T) {
	allowList := DefaultSubjects()
	allowList.Services = map[string]struct{}{"web": {}, "db": {}}
	custom := DefaultSubjects()
	custom.ControlValue, custom.ExperimentalValue = "baseline", "canary"

	for _, tc := range []struct {
		name     string
		subjects Subjects
		labels   map[string]string
		fallback map[string]string
		want     chaos.Subject
	}{
		{"the service and control group come from the labels", DefaultSubjects(), labelsOf("web", "control"), nil, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control}},
		{"the experimental group comes from the labels", DefaultSubjects(), labelsOf("web", "experimental"), nil, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}},
		{"any other group value is no group", DefaultSubjects(), labelsOf("web", "other"), nil, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.NoGroup}},
		{"a missing group label is no group", DefaultSubjects(), labelsOf("web", ""), nil, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.NoGroup}},
		{"no labels at all is no service and no group", DefaultSubjects(), nil, nil, chaos.Subject{Namespace: "shop", Group: chaos.NoGroup}},
		{"a service missing from the labels comes from the template", DefaultSubjects(), labelsOf("", "control"), labelsOf("web", "experimental"), chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control}},
		{"a group missing from the labels comes from the template", DefaultSubjects(), labelsOf("web", ""), labelsOf("tmpl", "experimental"), chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}},
		{"the object's own labels win over the template", DefaultSubjects(), labelsOf("web", "control"), labelsOf("tmpl", "experimental"), chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control}},
		{"the group values can be configured", custom, labelsOf("web", "canary"), nil, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental}},
		{"the default values mean nothing once others are configured", custom, labelsOf("web", "experimental"), nil, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.NoGroup}},
		{"an allowed service is kept", allowList, labelsOf("db", "control"), nil, chaos.Subject{Namespace: "shop", Service: "db", Group: chaos.Control}},
		{"a service outside the allow-list is other", allowList, labelsOf("search", "control"), nil, chaos.Subject{Namespace: "shop", Service: OtherService, Group: chaos.Control}},
		{"no service stays none even with an allow-list", allowList, labelsOf("", "control"), nil, chaos.Subject{Namespace: "shop", Group: chaos.Control}},
		{"a service too long for a label value is cut", DefaultSubjects(), labelsOf(strings.Repeat("s", 100), ""), nil, chaos.Subject{Namespace: "shop", Service: strings.Repeat("s", 63), Group: chaos.NoGroup}},
		{"a service is never cut inside a character", DefaultSubjects(), labelsOf(strings.Repeat("s", 62)+"é", ""), nil, chaos.Subject{Namespace: "shop", Service: strings.Repeat("s", 62), Group: chaos.NoGroup}},
		{"a service that is not UTF-8 is made valid", DefaultSubjects(), labelsOf("we\xffb", ""), nil, chaos.Subject{Namespace: "shop", Service: "we_b", Group: chaos.NoGroup}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.subjects.subject("shop", tc.labels, tc.fallback))
		})
	}
}

func TestPodConversion(t *testing.T) {
	w := newTestWatcher(t)
	withDisruption := func(status corev1.ConditionStatus, reason string) *corev1.Pod {
		p := readyPod("web-1", "StatefulSet", "web", "")
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: status, Reason: reason})
		return p
	}
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		wantReason string
	}{
		{"an eviction through the API", withDisruption(corev1.ConditionTrue, "EvictionByEvictionAPI"), "eviction_api"},
		{"a deletion by the taint manager", withDisruption(corev1.ConditionTrue, "DeletionByTaintManager"), "taint_manager"},
		{"a preemption by the scheduler", withDisruption(corev1.ConditionTrue, corev1.PodReasonPreemptionByScheduler), "preemption"},
		{"a termination by the kubelet", withDisruption(corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet), "kubelet"},
		{"a collection by the pod garbage collector", withDisruption(corev1.ConditionTrue, "DeletionByPodGC"), "pod_gc"},
		{"a reason steadywatch does not know", withDisruption(corev1.ConditionTrue, "SomethingNew"), "other"},
		{"a disruption condition that is false gives no reason", withDisruption(corev1.ConditionFalse, "EvictionByEvictionAPI"), ""},
		{"a pod without a disruption condition gives no reason", readyPod("web-1", "StatefulSet", "web", ""), ""},
	} {
		t.Run(tc.name+" is reported as "+tc.wantReason, func(t *testing.T) {
			require.Equal(t, tc.wantReason, w.pod(tc.pod).Reason)
		})
	}

	t.Run("the deletion was requested a grace period before the deletionTimestamp", func(t *testing.T) {
		p := readyPod("web-1", "StatefulSet", "web", "")
		p.DeletionTimestamp = new(metav1.NewTime(t0.Add(20 * time.Second)))
		p.DeletionGracePeriodSeconds = new(int64(30))
		require.Equal(t, chaos.Timestamp{Cluster: t0.Add(-10 * time.Second), Observed: t0}, w.pod(p).Deleting)
	})

	t.Run("without a grace period the deletionTimestamp is the request", func(t *testing.T) {
		p := readyPod("web-1", "StatefulSet", "web", "")
		p.DeletionTimestamp = new(metav1.NewTime(t0.Add(-time.Second)))
		require.Equal(t, chaos.Timestamp{Cluster: t0.Add(-time.Second), Observed: t0}, w.pod(p).Deleting)
	})

	t.Run("a pod not being deleted has no deletion time", func(t *testing.T) {
		require.Zero(t, w.pod(readyPod("web-1", "StatefulSet", "web", "")).Deleting)
	})

	t.Run("a pod without a Ready condition is not ready", func(t *testing.T) {
		p := readyPod("web-1", "StatefulSet", "web", "")
		p.Status.Conditions = nil
		got := w.pod(p)
		require.False(t, got.Ready)
		require.Zero(t, got.ReadyAt)
	})

	t.Run("a pod whose Ready condition is false is not ready since its transition", func(t *testing.T) {
		p := readyPod("web-1", "StatefulSet", "web", "")
		p.Status.Conditions[1].Status = corev1.ConditionFalse
		got := w.pod(p)
		require.False(t, got.Ready)
		require.Equal(t, chaos.Timestamp{Cluster: t0.Add(-59 * time.Minute), Observed: t0}, got.ReadyAt)
	})

	t.Run("a pod's subject comes from its own labels", func(t *testing.T) {
		p := readyPod("web-1", "StatefulSet", "web", "")
		require.Equal(t, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Control}, w.pod(p).Subject)
	})
}

func TestPodWorkload(t *testing.T) {
	notController := readyPod("web-7d9f8b6c5-abcde", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5")
	notController.OwnerReferences[0].Controller = nil
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want chaos.Ref
	}{
		{"a ReplicaSet named after its template hash names its Deployment", readyPod("web-7d9f8b6c5-abcde", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5"), chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}},
		{"a Deployment whose name has dashes keeps them", readyPod("my-web-app-7d9f-x", "ReplicaSet", "my-web-app-7d9f", "7d9f"), chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "my-web-app"}},
		{"a ReplicaSet pod without a template hash has no Deployment", readyPod("rs-x", "ReplicaSet", "rs", ""), chaos.Ref{}},
		{"a ReplicaSet not named after the hash has no Deployment", readyPod("rs-x", "ReplicaSet", "rs", "7d9f"), chaos.Ref{}},
		{"a StatefulSet names itself", readyPod("db-0", "StatefulSet", "db", ""), chaos.Ref{Kind: "StatefulSet", Namespace: "shop", Name: "db"}},
		{"a DaemonSet names itself", readyPod("agent-x", "DaemonSet", "agent", ""), chaos.Ref{Kind: "DaemonSet", Namespace: "shop", Name: "agent"}},
		{"an owner that is not the controller is ignored", notController, chaos.Ref{}},
		{"a bare pod has no workload", readyPod("debug", "", "", ""), chaos.Ref{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, podWorkload(tc.pod))
		})
	}
}

func TestNodeConversion(t *testing.T) {
	w := newTestWatcher(t)
	for _, tc := range []struct {
		name   string
		status corev1.ConditionStatus
		want   bool
	}{
		{"a node whose Ready condition is true is ready", corev1.ConditionTrue, true},
		{"a node whose Ready condition is false is not ready", corev1.ConditionFalse, false},
		{"a node whose kubelet stopped reporting (Unknown) is not ready", corev1.ConditionUnknown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := w.node(node("node-1", tc.status, t0.Add(-time.Minute)))
			require.Equal(t, tc.want, got.Ready)
			require.Equal(t, chaos.Timestamp{Cluster: t0.Add(-time.Minute), Observed: t0}, got.Since)
			require.Equal(t, "KubeletReady", got.Reason)
		})
	}
	t.Run("a node that has not reported yet is taken as ready", func(t *testing.T) {
		n := node("node-1", corev1.ConditionFalse, t0)
		n.Status.Conditions = nil
		require.Equal(t, tracker.Node{Name: "node-1", Subject: chaos.Subject{Group: chaos.NoGroup}, Ready: true}, w.node(n))
	})
}

func TestHPAConversion(t *testing.T) {
	w := newTestWatcher(t)
	t.Run("an autoscaler never scaled is dated when seen", func(t *testing.T) {
		h := hpa("web", "web", 3, t0)
		h.Status.LastScaleTime = nil
		require.Equal(t, chaos.Timestamp{Observed: t0}, w.hpa(h).ScaledAt)
	})
	t.Run("an autoscaler's own labels win over its workload's", func(t *testing.T) {
		w.workloads.set(chaos.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}, chaos.Subject{Namespace: "shop", Service: "web", Group: chaos.Experimental})
		h := hpa("web", "web", 3, t0)
		h.Labels = labelsOf("frontend", "control")
		require.Equal(t, chaos.Subject{Namespace: "shop", Service: "frontend", Group: chaos.Control}, w.hpa(h).Subject)
	})
	t.Run("an autoscaler lacking a group takes only the group from its workload", func(t *testing.T) {
		h := hpa("web", "web", 3, t0)
		h.Labels = labelsOf("frontend", "")
		require.Equal(t, chaos.Subject{Namespace: "shop", Service: "frontend", Group: chaos.Experimental}, w.hpa(h).Subject)
	})
	t.Run("an autoscaler of an unknown workload has only its own labels", func(t *testing.T) {
		h := hpa("api", "api", 3, t0)
		require.Equal(t, chaos.Subject{Namespace: "shop", Group: chaos.NoGroup}, w.hpa(h).Subject)
	})
}

// fullPod is a pod as the API server sends it, with everything the
// watcher does not read.
func fullPod() *corev1.Pod {
	p := readyPod("web-7d9f8b6c5-abcde", "ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5")
	p.ResourceVersion = "4711"
	p.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2025-03-01T00:00:00Z"}
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate}}
	p.Finalizers = []string{"example.com/keep"}
	p.OwnerReferences = append([]metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "not-the-controller", UID: "uid-cm"}}, p.OwnerReferences...)
	p.DeletionTimestamp = new(metav1.NewTime(t0.Add(30 * time.Second)))
	p.DeletionGracePeriodSeconds = new(int64(30))
	p.Spec.Volumes = []corev1.Volume{{Name: "data"}}
	p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	p.Status.PodIP = "10.1.2.3"
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 2}}
	p.Status.Conditions = append(p.Status.Conditions,
		corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
		corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: metav1.NewTime(t0)},
	)
	return p
}

func TestTransformsKeepOnlyWhatIsRead(t *testing.T) {
	w := newTestWatcher(t)

	t.Run("a pod is cached as its identity and the tracker's view of it", func(t *testing.T) {
		full := fullPod()
		got, err := w.transformPod(full)
		require.NoError(t, err)
		obj, ok := got.(*podObject)
		require.True(t, ok, "cached as %T", got)
		require.Equal(t, "4711", obj.GetResourceVersion())
		require.Equal(t, full.UID, obj.GetUID())
		require.Equal(t, w.pod(full), obj.pod, "the tracker is handed what the full pod says")
		key, err := cache.MetaNamespaceKeyFunc(got)
		require.NoError(t, err)
		require.Equal(t, "shop/"+full.Name, key, "the informer keys it as it keys the pod")
		require.Equal(t, obj, obj.DeepCopyObject())
	})

	t.Run("a Deployment keeps its replicas, template labels and Progressing condition", func(t *testing.T) {
		full := deployment("web", 3, 2, true)
		full.Labels = labelsOf("", "experimental")
		full.Annotations = map[string]string{"deployment.kubernetes.io/revision": "7"}
		full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		full.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		full.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "nginx"}}
		full.Status.AvailableReplicas = 2
		got, err := transformDeployment(full)
		require.NoError(t, err)
		require.Equal(t, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: full.UID, Generation: 2, Labels: full.Labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: new(int32(3)),
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: full.Spec.Template.Labels}},
			},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, ReadyReplicas: 2, Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			}},
		}, got)
		wantWL, wantSettled := w.deployment(full)
		gotWL, gotSettled := w.deployment(got.(*appsv1.Deployment))
		require.Equal(t, wantWL, gotWL)
		require.Equal(t, wantSettled, gotSettled)
	})

	t.Run("a StatefulSet keeps its replicas, template labels and revisions", func(t *testing.T) {
		full := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{
				Name: "db", Namespace: "shop", Generation: 3, ResourceVersion: "9",
				Annotations: map[string]string{"a": "b"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "helm"}},
			},
			Spec: appsv1.StatefulSetSpec{
				Replicas: new(int32(3)), ServiceName: "db",
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labelsOf("db", "control")}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pg"}}}},
			},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, ReadyReplicas: 3, Replicas: 3, CurrentRevision: "db-1", UpdateRevision: "db-1"},
		}
		got, err := transformStatefulSet(full)
		require.NoError(t, err)
		require.Equal(t, &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", Generation: 3, ResourceVersion: "9"},
			Spec: appsv1.StatefulSetSpec{
				Replicas: new(int32(3)),
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labelsOf("db", "control")}},
			},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, ReadyReplicas: 3, CurrentRevision: "db-1", UpdateRevision: "db-1"},
		}, got)
		wantWL, wantSettled := w.statefulSet(full)
		gotWL, gotSettled := w.statefulSet(got.(*appsv1.StatefulSet))
		require.Equal(t, wantWL, gotWL)
		require.True(t, wantSettled)
		require.Equal(t, wantSettled, gotSettled)
	})

	t.Run("a node keeps its labels and Ready condition", func(t *testing.T) {
		full := node("node-1", corev1.ConditionFalse, t0)
		full.Annotations = map[string]string{"node.alpha.kubernetes.io/ttl": "0"}
		full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
		full.Spec.PodCIDR = "10.1.0.0/24"
		full.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
		full.Status.Conditions[1].Message = "container runtime is down"
		got, err := transformNode(full)
		require.NoError(t, err)
		require.Equal(t, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: full.UID, Labels: full.Labels},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletReady", LastTransitionTime: metav1.NewTime(t0)},
			}},
		}, got)
		require.Equal(t, w.node(full), w.node(got.(*corev1.Node)))
	})

	t.Run("an autoscaler keeps its target, bounds and replica counts", func(t *testing.T) {
		full := hpa("web", "web", 4, t0)
		full.Annotations = map[string]string{"a": "b"}
		full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}}
		full.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType}}
		full.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue}}
		got, err := transformHPA(full)
		require.NoError(t, err)
		require.Equal(t, &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: full.UID},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: full.Spec.ScaleTargetRef, MinReplicas: new(int32(2)), MaxReplicas: 10,
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 4, DesiredReplicas: 4, LastScaleTime: full.Status.LastScaleTime},
		}, got)
		require.Equal(t, w.hpa(full), w.hpa(got.(*autoscalingv2.HorizontalPodAutoscaler)))
	})

	t.Run("what is not the transform's type passes through", func(t *testing.T) {
		tomb := cacheTombstone("shop/web", fullPod())
		for _, transform := range []func(any) (any, error){w.transformPod, transformDeployment, transformStatefulSet, transformNode, transformHPA} {
			got, err := transform(tomb)
			require.NoError(t, err)
			require.Equal(t, tomb, got)
		}
	})
}

// Issue 11 #5: what a resource-exhaustion experiment does to a pod —
// containers killed and restarted, crash loops, kubelet evictions — is read
// from its status.
func TestPodConversionReadsContainerFailures(t *testing.T) {
	w := newTestWatcher(t)
	withContainers := func(statuses ...corev1.ContainerStatus) *corev1.Pod {
		p := readyPod("web-1", "StatefulSet", "web", "")
		p.Status.ContainerStatuses = statuses
		return p
	}
	terminated := func(reason string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: 137}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	for _, tc := range []struct {
		name         string
		pod          *corev1.Pod
		wantRestarts int32
		wantDown     tracker.ContainerDown
		wantFailed   bool
	}{
		{"a healthy pod", withContainers(corev1.ContainerStatus{Name: "app", State: running}), 0, tracker.ContainerUp, false},
		{"a container just OOM-killed", withContainers(corev1.ContainerStatus{Name: "app", State: terminated("OOMKilled")}), 0, tracker.ContainerOOMKilled, false},
		{"a container that exited with an error", withContainers(corev1.ContainerStatus{Name: "app", State: terminated("Error")}), 0, tracker.ContainerError, false},
		{"a container in a crash loop, restarts summed over containers", withContainers(
			corev1.ContainerStatus{Name: "side", State: running, RestartCount: 1},
			corev1.ContainerStatus{Name: "app", RestartCount: 4, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, LastTerminationState: terminated("OOMKilled")},
		), 5, tracker.ContainerCrashLoop, false},
		{"a container restarted and running again", withContainers(corev1.ContainerStatus{Name: "app", State: running, RestartCount: 1, LastTerminationState: terminated("OOMKilled")}), 1, tracker.ContainerUp, false},
		{"a pod evicted by the kubelet for pressure", func() *corev1.Pod {
			p := withContainers(corev1.ContainerStatus{Name: "app", State: terminated("ContainerStatusUnknown")})
			p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted"
			return p
		}(), 0, tracker.ContainerError, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := w.pod(tc.pod)
			require.Equal(t, tc.wantRestarts, got.Restarts)
			require.Equal(t, tc.wantDown, got.Down)
			require.Equal(t, tc.wantFailed, got.Failed)
			if tc.wantFailed {
				require.Equal(t, "kubelet", got.Reason, "an eviction for pressure is the kubelet's")
			}
		})
	}
}
