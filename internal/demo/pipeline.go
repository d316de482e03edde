package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/pipelinesim"
)

// Namespace is where the demo deploys both copies of the pipeline, as the
// example hypotheses expect.
const Namespace = "pipeline"

// Labels of the demo's manifests.
const (
	// serviceLabel is what steadywatch's default config reads a pod's
	// service from.
	serviceLabel = "app.kubernetes.io/name"
	// poolLabel and roleLabel place pods on the demo's nodes: each group
	// has its own nodes, an API node and a data node in each zone.
	poolLabel = "steadywatch.io/demo-pool"
	roleLabel = "steadywatch.io/demo-node-role"
	zoneLabel = corev1.LabelTopologyZone
)

// Services of the pipeline, as the example hypotheses name them.
const (
	apiService      = "scale-app"
	postgresService = "postgres"
	sparkService    = "spark"
)

// Zones are the two zones the nodes of each group are spread over.
var Zones = []string{"zone-a", "zone-b"}

// pipeline sizes: the seeds' 30 Flask replicas scaled to 3 (HPA 3 to 9),
// a Postgres primary and one read replica, two Spark workers.
const (
	apiReplicas      = 3
	apiMaxReplicas   = 9
	apiCPURequest    = "100m"
	apiIdleCPU       = "20m"
	postgresReplicas = 2
	sparkWorkers     = 2
	// hpaTarget is the seeds' kubectl autoscale --cpu-percent=50.
	hpaTarget = 50
)

// apiName, postgresName and sparkName are the group's workloads' names.
func apiName(group string) string      { return apiService + "-" + group }
func postgresName(group string) string { return postgresService + "-" + group }
func sparkName(group string) string    { return sparkService + "-worker-" + group }

// nodeName is the name of a group's node of a role in a zone.
func nodeName(group, role, zone string) string { return group + "-" + role + "-" + zone }

// pipeline is one group's copy of the seeds' pipeline.
type pipeline struct {
	group string
	// evictAfter is how long pods stay on a NotReady node before the taint
	// manager evicts them: Kubernetes' default 5 minutes, scaled.
	evictAfter time.Duration
	// scaleDownWindow is the HPA's scale-down stabilisation: the default
	// 5 minutes, scaled.
	scaleDownWindow time.Duration
}

// nodes returns the group's nodes and their labels: in each zone an API
// node and a data node (Postgres and Spark), as the seeds' pipeline ran
// its Flask pods apart from its data.
func (p pipeline) nodes() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, z := range Zones {
		for _, role := range []string{"api", "data"} {
			out[nodeName(p.group, role, z)] = map[string]string{poolLabel: p.group, roleLabel: role, zoneLabel: z}
		}
	}
	return out
}

func (p pipeline) labels(service, name, component string) map[string]string {
	return map[string]string{
		"app": name, serviceLabel: service, pipelinesim.GroupLabel: p.group, pipelinesim.ComponentLabel: component,
	}
}

// podSpec is a pod of the group on nodes of role, spread over the zones.
func (p pipeline) podSpec(role string, labels map[string]string, cpu string) corev1.PodSpec {
	evict := int64(p.evictAfter.Seconds())
	// One pod per zone as far as it goes: a zone's loss leaves the other
	// zone's pods serving.
	spread := corev1.TopologySpreadConstraint{
		MaxSkew: 1, TopologyKey: zoneLabel, WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": labels["app"]}},
	}
	if role == "data" {
		// The Postgres primary and its replica, and the two Spark workers,
		// never share a zone (an HA operator's required anti-affinity): a
		// zone's loss takes one of each. Nodes the pod cannot go to
		// (cordoned, failed: taints it does not tolerate) are no zone to
		// spread over, so a lost zone's pods go to the other one.
		honor := corev1.NodeInclusionPolicyHonor
		spread.WhenUnsatisfiable, spread.NodeTaintsPolicy = corev1.DoNotSchedule, &honor
	}
	return corev1.PodSpec{
		NodeSelector: map[string]string{poolLabel: p.group, roleLabel: role},
		Tolerations: []corev1.Toleration{
			{Key: testbed.KwokTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &evict},
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &evict},
		},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{spread},
		Containers: []corev1.Container{{
			Name: labels[serviceLabel], Image: "fake",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("64Mi"),
			}},
		}},
	}
}

func (p pipeline) api() *appsv1.Deployment {
	name := apiName(p.group)
	labels := p.labels(apiService, name, pipelinesim.ComponentAPI)
	replicas := int32(apiReplicas)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				// kwok reports this CPU usage to metrics-server, which the HPA reads.
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{pipelinesim.CPUUsageAnnotation: apiIdleCPU}},
				Spec:       p.podSpec("api", labels, apiCPURequest),
			},
		},
	}
}

// hpa is the seeds' `kubectl autoscale deployment scale-app-<group>
// --cpu-percent=50 --min=3 --max=9`, its scale-down stabilisation scaled.
func (p pipeline) hpa() *autoscalingv2.HorizontalPodAutoscaler {
	minReplicas, target := int32(apiReplicas), int32(hpaTarget)
	window := int32(p.scaleDownWindow.Seconds())
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: apiName(p.group), Namespace: Namespace, Labels: p.labels(apiService, apiName(p.group), pipelinesim.ComponentAPI)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: apiName(p.group)},
			MinReplicas:    &minReplicas,
			MaxReplicas:    apiMaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window},
			},
		},
	}
}

// postgres is the primary and its read replica: one StatefulSet whose pods
// start as clones; the demo's failover controller (failover.go) makes one
// of them the primary and the other a replica.
func (p pipeline) postgres() *appsv1.StatefulSet {
	name := postgresName(p.group)
	labels := p.labels(postgresService, name, componentClone)
	replicas := int32(postgresReplicas)
	spec := p.podSpec("data", labels, "500m")
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			ServiceName:         name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{readinessAnnotation: readinessByFailover}},
				Spec:       spec,
			},
		},
	}
}

// readinessAnnotation marks the pods whose Ready condition the demo's
// failover sets, as Patroni's readiness probe would (its REST API answers
// 503 while the pod clones the primary's data): kwokStages starts them
// Running but not Ready.
const (
	readinessAnnotation = "steadywatch.io/readiness"
	readinessByFailover = "failover"
)

// kwokStages are the testbed's kwok stages the demo adds: pods marked
// with readinessAnnotation start Running with their containers running but
// not ready, where kwok's own pod-ready stage (weight 0, which a weight of
// 1 overrides) makes every pod Ready at once.
const kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running-not-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  weight: 1
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["` + readinessAnnotation + `"]'
      operator: 'In'
      values: ['` + readinessByFailover + `']
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`

func (p pipeline) spark() *appsv1.Deployment {
	name := sparkName(p.group)
	labels := p.labels(sparkService, name, pipelinesim.ComponentWorker)
	replicas := int32(sparkWorkers)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: p.podSpec("data", labels, "1")},
		},
	}
}

// deploy creates the group's nodes and workloads.
func (p pipeline) deploy(ctx context.Context, tb *testbed.Testbed) error {
	nodes := p.nodes()
	for _, n := range slices.Sorted(maps.Keys(nodes)) {
		if _, err := tb.CreateNode(ctx, n, nodes[n]); err != nil {
			return err
		}
	}
	c := tb.Client()
	// A node kwok reports Ready keeps the node lifecycle controller's
	// not-ready taint a moment longer; a zone whose node has it is no zone
	// to spread over (NodeTaintsPolicy Honor), and the data pods would all
	// go to the other.
	if err := tb.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		for name := range nodes {
			n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, t := range n.Spec.Taints {
				if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
					return false, nil
				}
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("waiting for the %s nodes' not-ready taints to go: %w", p.group, err)
	}
	if _, err := c.AppsV1().StatefulSets(Namespace).Create(ctx, p.postgres(), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating %s: %w", postgresName(p.group), err)
	}
	for _, d := range []*appsv1.Deployment{p.api(), p.spark()} {
		if _, err := c.AppsV1().Deployments(Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating %s: %w", d.Name, err)
		}
	}
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(Namespace).Create(ctx, p.hpa(), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the HPA %s: %w", apiName(p.group), err)
	}
	return nil
}

// ready reports whether every pod of the group's pipeline is Ready, with a
// primary, and what is missing if not.
func (p pipeline) ready(ctx context.Context, c kubernetes.Interface) (bool, string, error) {
	pods, err := c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: pipelinesim.GroupLabel + "=" + p.group})
	if err != nil {
		return false, "", err
	}
	want := map[string]int{pipelinesim.ComponentAPI: apiReplicas, "postgres": postgresReplicas, pipelinesim.ComponentWorker: sparkWorkers}
	got := map[string]int{}
	primary := false
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !podReady(pod) {
			continue
		}
		comp := pod.Labels[pipelinesim.ComponentLabel]
		switch comp {
		case pipelinesim.ComponentPrimary:
			primary = true
			got["postgres"]++
		case pipelinesim.ComponentReplica:
			got["postgres"]++
		default:
			got[comp]++
		}
	}
	var missing []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] < want[k] {
			missing = append(missing, fmt.Sprintf("%s %d/%d ready", k, got[k], want[k]))
		}
	}
	if !primary {
		missing = append(missing, "no Postgres primary")
	}
	if len(missing) > 0 {
		return false, fmt.Sprint(missing), nil
	}
	return true, "", nil
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// setLabel sets (or, with value "", removes) a label of a pod.
func setLabel(ctx context.Context, c kubernetes.Interface, pod, key, value string) error {
	v := fmt.Sprintf("%q", value)
	if value == "" {
		v = "null"
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, key, v)
	_, err := c.CoreV1().Pods(Namespace).Patch(ctx, pod, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// setReady sets a pod's Ready and ContainersReady conditions, as a
// kubelet does after its readiness probe.
func setReady(ctx context.Context, c kubernetes.Interface, pod string, ready bool) error {
	status, reason := corev1.ConditionTrue, ""
	if !ready {
		status, reason = corev1.ConditionFalse, "ContainersNotReady"
	}
	now := metav1.Now()
	var conds []map[string]any
	for _, t := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		conds = append(conds, map[string]any{"type": t, "status": status, "reason": reason, "lastTransitionTime": now})
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": conds}})
	if err != nil {
		return err
	}
	_, err = c.CoreV1().Pods(Namespace).Patch(ctx, pod, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// running is whether p's containers run: Running, not being deleted.
func running(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
}

// podsOf lists the running (not terminating) pods with the label selector,
// sorted by name.
func podsOf(ctx context.Context, c kubernetes.Interface, selector string) ([]corev1.Pod, error) {
	list, err := c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
