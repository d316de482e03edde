package costcurve

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	serviceLabel = "app.kubernetes.io/name"
	groupLabel   = "steadywatch.io/group"
	// podsPerNode, podsPerDeployment, podsPerHPA and podsPerStatefulSet
	// scale the cluster with its pods.
	podsPerNode        = 20
	podsPerDeployment  = 200
	podsPerHPA         = 500
	statefulSets       = 3
	podsPerStatefulSet = 100 // a StatefulSet has pods/100 replicas
)

// services are the Deployments' services, taken in turn: the same set
// at every size, so what grows with the cluster is not its services.
var services = []string{"checkout", "cart", "search", "payments"}

var namespaces = []string{"shop", "shop-backend"}

// cluster is the layout of a cluster of n pods: pods [0, deployed) are the
// Deployments', then the StatefulSets', then the DaemonSet's, one per
// node. Its objects are made for one list each and not kept, so that
// what the process holds once synced is steadywatch's.
type cluster struct {
	pods, nodes, stsReplicas, deployed, deployments, hpas int
	created                                               time.Time
}

func newCluster(pods int) cluster {
	c := cluster{pods: pods, created: time.Now().Add(-time.Hour)}
	if pods == 0 {
		return c
	}
	c.nodes = max(1, pods/podsPerNode)
	c.stsReplicas = pods / podsPerStatefulSet
	c.deployed = pods - c.nodes - statefulSets*c.stsReplicas
	c.deployments = (c.deployed + podsPerDeployment - 1) / podsPerDeployment
	c.hpas = min(c.deployments, pods/podsPerHPA)
	return c
}

// workloads is how many workloads the cluster has.
func (c cluster) workloads() int {
	if c.pods == 0 {
		return 0
	}
	return c.deployments + statefulSets + 1
}

// The i-th Deployment's subject is the same every len(services)
// Deployments: its service, namespace and group.
func (c cluster) deploymentName(d int) string {
	return fmt.Sprintf("%s-%d", services[d%len(services)], d)
}
func (c cluster) namespace(d int) string { return namespaces[d%len(namespaces)] }

func (c cluster) group(d int) string {
	if d%len(services) < len(services)/2 {
		return "control"
	}
	return "experimental"
}

func (c cluster) replicas(d int) int32 {
	return int32(min(podsPerDeployment, c.deployed-d*podsPerDeployment)) //nolint:gosec // at most podsPerDeployment
}

const templateHash = "7d9f8b6c5"

// pod is the i-th pod of the layout in its gen-th incarnation (the one
// that replaced the pod deleted gen times), ready or still starting.
func (c cluster) pod(i, gen int, ready bool) *corev1.Pod {
	var ns, name, service, group, ownerKind, owner string
	labels := map[string]string{}
	switch {
	case i < c.deployed:
		d := i / podsPerDeployment
		ns, service, group = c.namespace(d), services[d%len(services)], c.group(d)
		ownerKind, owner = "ReplicaSet", c.deploymentName(d)+"-"+templateHash
		name = owner + "-" + strconv.Itoa(i)
		labels["pod-template-hash"] = templateHash
	case i < c.deployed+statefulSets*c.stsReplicas:
		k := i - c.deployed
		ns, service, group = "data", "db", "control"
		ownerKind, owner = "StatefulSet", fmt.Sprintf("db-%d", k/c.stsReplicas)
		name = fmt.Sprintf("%s-%d", owner, k%c.stsReplicas)
		labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(k % c.stsReplicas)
	default:
		ns, service, group = "kube-system", "node-agent", ""
		ownerKind, owner = "DaemonSet", "node-agent"
		name = fmt.Sprintf("node-agent-%d", i)
	}
	if gen > 0 {
		name += "-g" + strconv.Itoa(gen)
	}
	labels[serviceLabel] = service
	if group != "" {
		labels[groupLabel] = group
	}
	// Each string is its own copy, as a decoded object's are: a shared
	// constant would understate what the informer keeps per pod.
	for k, v := range labels {
		labels[k] = strings.Clone(v)
	}
	node := c.nodeName(i % c.nodes)
	created := metav1.NewTime(c.created.Add(time.Duration(gen) * time.Second))
	readyStatus := corev1.ConditionFalse
	if ready {
		readyStatus = corev1.ConditionTrue
	}
	cpu, mem := resource.MustParse("100m"), resource.MustParse("128Mi")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: strings.Clone(ns), UID: types.UID(fmt.Sprintf("uid-%d-%d", i, gen)),
			ResourceVersion: "1", CreationTimestamp: created, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: ownerKind, Name: owner, UID: types.UID("uid-" + owner), Controller: new(true),
			}},
		},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/" + service + ":1.4.2",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "SERVICE", Value: service}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
			}},
			ServiceAccountName: "default",
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: "10.1.0.1", QOSClass: corev1.PodQOSBurstable,
			StartTime: &created,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: created},
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: created},
				{Type: corev1.ContainersReady, Status: readyStatus, LastTransitionTime: created},
				{Type: corev1.PodReady, Status: readyStatus, LastTransitionTime: created},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: ready, Image: "registry.example/" + service + ":1.4.2",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: created}},
			}},
		},
	}
}

func (c cluster) nodeName(k int) string { return fmt.Sprintf("node-%05d", k) }

func (c cluster) podList() *corev1.PodList {
	l := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: make([]corev1.Pod, c.pods)}
	for i := range c.pods {
		l.Items[i] = *c.pod(i, 0, true)
	}
	return l
}

func (c cluster) nodeList() *corev1.NodeList {
	l := &corev1.NodeList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: make([]corev1.Node, c.nodes)}
	for k := range c.nodes {
		name := c.nodeName(k)
		l.Items[k] = corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1",
				Labels: map[string]string{"kubernetes.io/hostname": name},
			},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastTransitionTime: metav1.NewTime(c.created)},
			}},
		}
	}
	return l
}

func templateLabels(service, group string) corev1.PodTemplateSpec {
	l := map[string]string{serviceLabel: service}
	if group != "" {
		l[groupLabel] = group
	}
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}}
}

func (c cluster) deploymentList() *appsv1.DeploymentList {
	l := &appsv1.DeploymentList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: make([]appsv1.Deployment, c.deployments)}
	for d := range c.deployments {
		name, n := c.deploymentName(d), c.replicas(d)
		l.Items[d] = appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.namespace(d), UID: types.UID("uid-" + name), ResourceVersion: "1", Generation: 1},
			Spec:       appsv1.DeploymentSpec{Replicas: new(n), Template: templateLabels(services[d%len(services)], c.group(d))},
			Status: appsv1.DeploymentStatus{
				ObservedGeneration: 1, Replicas: n, ReadyReplicas: n, AvailableReplicas: n, UpdatedReplicas: n,
				Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
				},
			},
		}
	}
	return l
}

func (c cluster) statefulSetList() *appsv1.StatefulSetList {
	l := &appsv1.StatefulSetList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	if c.pods == 0 {
		return l
	}
	n := int32(c.stsReplicas) //nolint:gosec // a million pods at most
	for k := range statefulSets {
		name := fmt.Sprintf("db-%d", k)
		l.Items = append(l.Items, appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "data", UID: types.UID("uid-" + name), ResourceVersion: "1", Generation: 1},
			Spec:       appsv1.StatefulSetSpec{Replicas: new(n), Template: templateLabels("db", "control")},
			Status: appsv1.StatefulSetStatus{
				ObservedGeneration: 1, Replicas: n, ReadyReplicas: n, CurrentRevision: name + "-1", UpdateRevision: name + "-1",
			},
		})
	}
	return l
}

func (c cluster) daemonSetList() *appsv1.DaemonSetList {
	l := &appsv1.DaemonSetList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	if c.pods == 0 {
		return l
	}
	n := int32(c.nodes) //nolint:gosec // a million pods at most
	l.Items = []appsv1.DaemonSet{{
		ObjectMeta: metav1.ObjectMeta{Name: "node-agent", Namespace: "kube-system", UID: "uid-node-agent", ResourceVersion: "1", Generation: 1},
		Spec:       appsv1.DaemonSetSpec{Template: templateLabels("node-agent", "")},
		Status: appsv1.DaemonSetStatus{
			ObservedGeneration: 1, DesiredNumberScheduled: n, CurrentNumberScheduled: n, NumberReady: n, UpdatedNumberScheduled: n,
		},
	}}
	return l
}

func (c cluster) hpaList() *autoscalingv2.HorizontalPodAutoscalerList {
	l := &autoscalingv2.HorizontalPodAutoscalerList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for d := range c.hpas {
		target := c.deploymentName(d)
		l.Items = append(l.Items, autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: target, Namespace: c.namespace(d), UID: types.UID("uid-hpa-" + target), ResourceVersion: "1"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
				MinReplicas:    new(int32(2)), MaxReplicas: 2 * c.replicas(d),
			},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: c.replicas(d), DesiredReplicas: c.replicas(d)},
		})
	}
	return l
}

// fakeAPI is a fake clientset whose lists are made by the cluster when
// asked and whose watches are fake watchers the benchmark sends events
// into: no object tracker holds the cluster's objects, so what the
// process holds is the informers' and the tracker's.
type fakeAPI struct {
	*fake.Clientset
	mu      sync.Mutex
	watches map[string]*watch.FakeWatcher
	podsUp  chan struct{}
}

// newFakeAPI serves c. Its lists are made now, so that the time to sync
// is not the time to make them, and handed out once: the informers' copy
// is all that is left of them once listed (a relist makes them anew).
func newFakeAPI(c cluster) *fakeAPI {
	f := &fakeAPI{Clientset: fake.NewClientset(), watches: map[string]*watch.FakeWatcher{}, podsUp: make(chan struct{})}
	make := map[string]func() runtime.Object{
		"pods":                     func() runtime.Object { return c.podList() },
		"nodes":                    func() runtime.Object { return c.nodeList() },
		"deployments":              func() runtime.Object { return c.deploymentList() },
		"statefulsets":             func() runtime.Object { return c.statefulSetList() },
		"daemonsets":               func() runtime.Object { return c.daemonSetList() },
		"horizontalpodautoscalers": func() runtime.Object { return c.hpaList() },
	}
	made := map[string]runtime.Object{}
	for resource, list := range make {
		made[resource] = list()
		f.PrependReactor("list", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
			f.mu.Lock()
			l, ok := made[resource]
			delete(made, resource)
			f.mu.Unlock()
			if !ok {
				l = list()
			}
			return true, l, nil
		})
	}
	f.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		resource := a.GetResource().Resource
		w := watch.NewFake()
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, again := f.watches[resource]; !again && resource == "pods" {
			close(f.podsUp)
		}
		f.watches[resource] = w
		return true, w, nil
	})
	return f
}

// podWatch is the pod informer's watch, once it is open.
func (f *fakeAPI) podWatch() *watch.FakeWatcher {
	<-f.podsUp
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches["pods"]
}
