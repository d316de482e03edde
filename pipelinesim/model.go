package pipelinesim

import (
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Label and annotation conventions of the demo's manifests. The sim reads
// them from the cluster; the demo's pipeline sets them.
const (
	// GroupLabel names a pod's group (control, experimental). Prometheus'
	// Kubernetes discovery turns it into the steadywatch_io_group label the
	// hypotheses match, so the sim's series carry that name.
	GroupLabel = "steadywatch.io/group"
	// ComponentLabel names a pod's part of the pipeline: one of the
	// Component* values. Pods without it are not the pipeline's.
	ComponentLabel = "app.kubernetes.io/component"
	// CPUUsageAnnotation is kwok's fake CPU usage of a pod (e.g. "90m"),
	// which metrics-server reports and the HPA acts on: the testbed's
	// stand-in for a CPU attack or a CPU hog.
	CPUUsageAnnotation = "kwok.x-k8s.io/usage-cpu"

	// ComponentAPI is the Flask API Deployment's pods (behind its HPA).
	ComponentAPI = "api"
	// ComponentPrimary is the Postgres primary StatefulSet's pod. A
	// promotion moves this label to the promoted pod.
	ComponentPrimary = "primary"
	// ComponentReplica is the Postgres read replica StatefulSet's pods.
	ComponentReplica = "replica"
	// ComponentWorker is the Spark workers' pods.
	ComponentWorker = "worker"

	// groupLabelName is GroupLabel as Prometheus' discovery sanitises it.
	groupLabelName = "steadywatch_io_group"
)

// DefaultGroups are the demo's two copies of the pipeline.
var DefaultGroups = []string{"control", "experimental"}

// DefaultBuckets are prometheus_flask_exporter's default latency buckets.
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Model holds the constants of the traffic model. Zero fields take
// DefaultModel's values.
type Model struct {
	// OfferedLoad is what clients send each group, in requests per second.
	OfferedLoad float64
	// ReplicaCapacity is what one ready API replica serves, in requests
	// per second.
	ReplicaCapacity float64
	// BaseLatency is the mean time of a request on an idle, unstarved replica.
	BaseLatency time.Duration
	// CPUTarget is the CPU utilisation (usage / request) above which a
	// replica is starved: its requests take usage/CPUTarget times longer.
	CPUTarget float64
	// CommitsPerRequest is the Postgres commits of each successful request.
	CommitsPerRequest float64
	// CatchUp is how many seconds of replication lag a healthy replica
	// replays per second.
	CatchUp float64
	// Buckets are the latency histogram's upper bounds in seconds.
	Buckets []float64
	// TasksPerWorker is the Spark tasks a ready worker finishes per second.
	TasksPerWorker float64
	// InFlightTasks is the Spark tasks a worker runs at once, which fail
	// when it stops serving.
	InFlightTasks float64
	// DBRetryBudget is how long a request waits for a primary that does
	// not serve (the app's connection pool retrying with backoff) before
	// it fails. A request arriving at t succeeds when the primary serves
	// again at e if e − t ≤ DBRetryBudget: a 200 with its commits, counted
	// at e, its time the wait e − t plus its service time. If not, it is a
	// 500 at t + DBRetryBudget, its time the whole budget. Until then it
	// counts nowhere. It waits whatever becomes of the replica that took it.
	DBRetryBudget time.Duration
}

// DefaultModel is the demo's model: three replicas serve the offered load
// at two thirds of their capacity, so losing one saturates the rest.
var DefaultModel = Model{
	OfferedLoad:       100,
	ReplicaCapacity:   50,
	BaseLatency:       10 * time.Millisecond,
	CPUTarget:         0.5,
	CommitsPerRequest: 1,
	CatchUp:           10,
	Buckets:           DefaultBuckets,
	TasksPerWorker:    1,
	InFlightTasks:     4,
	DBRetryBudget:     time.Second,
}

func (m Model) withDefaults() Model {
	d := DefaultModel
	if m.OfferedLoad > 0 {
		d.OfferedLoad = m.OfferedLoad
	}
	if m.ReplicaCapacity > 0 {
		d.ReplicaCapacity = m.ReplicaCapacity
	}
	if m.BaseLatency > 0 {
		d.BaseLatency = m.BaseLatency
	}
	if m.CPUTarget > 0 {
		d.CPUTarget = m.CPUTarget
	}
	if m.CommitsPerRequest > 0 {
		d.CommitsPerRequest = m.CommitsPerRequest
	}
	if m.CatchUp > 0 {
		d.CatchUp = m.CatchUp
	}
	if m.TasksPerWorker > 0 {
		d.TasksPerWorker = m.TasksPerWorker
	}
	if m.InFlightTasks > 0 {
		d.InFlightTasks = m.InFlightTasks
	}
	if m.DBRetryBudget > 0 {
		d.DBRetryBudget = m.DBRetryBudget
	}
	if len(m.Buckets) > 0 {
		d.Buckets = slices.Clone(m.Buckets)
	}
	return d
}

// maxUtilisation caps the queueing slowdown 1/(1-ρ) of a saturated API at 20.
const maxUtilisation = 0.95

// Rates is a group's traffic as the cluster's state makes it, per second.
type Rates struct {
	// ReadyAPI is the API replicas that are Ready on a Ready node.
	ReadyAPI int
	// PrimaryReady is whether the Postgres primary is Ready on a Ready node.
	PrimaryReady bool
	// OK (200, served at once), Waiting (taken while the primary is down:
	// each waits for it, see Model.DBRetryBudget, then is a 200 or a 500)
	// and Unavailable (503: no ready API endpoint) are requests per second.
	OK, Waiting, Unavailable float64
	// Commits is Postgres commits per second.
	Commits float64
	// ReadyWorkers is the Spark workers that serve; their tasks complete
	// (SparkCompleted) while the primary serves and fail (SparkFailed,
	// writing their results) while it does not, per second.
	ReadyWorkers                int
	SparkCompleted, SparkFailed float64
	// MeanLatency is each ready API replica's mean request time in
	// seconds; requests are split evenly among the replicas and their
	// times are exponentially distributed around it.
	MeanLatency []float64
	// Postgres is whether each Postgres pod, by name, serves.
	Postgres map[string]bool
}

// apiPod is what the model needs of an API replica.
type apiPod struct {
	cpuUtilisation float64 // usage / request, 0 if not known
}

// groupState is what the model reads of one group's pods.
type groupState struct {
	api          []apiPod // ready ones only
	primaryReady bool
	// postgres maps each Postgres pod's name to its role and readiness.
	postgres map[string]pgPod
	// workers is the names of the Spark workers that serve.
	workers map[string]bool
}

type pgPod struct {
	role  string
	ready bool
}

// rates is the model: see the package comment.
func (m Model) rates(g groupState) Rates {
	r := Rates{ReadyAPI: len(g.api), PrimaryReady: g.primaryReady, Postgres: map[string]bool{}, ReadyWorkers: len(g.workers)}
	for name, p := range g.postgres {
		r.Postgres[name] = p.ready
	}
	tasks := float64(len(g.workers)) * m.TasksPerWorker
	if g.primaryReady {
		r.SparkCompleted = tasks
	} else {
		r.SparkFailed = tasks
	}
	n := float64(len(g.api))
	if n == 0 {
		r.Unavailable = m.OfferedLoad
		return r
	}
	capacity := n * m.ReplicaCapacity
	served := math.Min(m.OfferedLoad, capacity)
	if g.primaryReady {
		r.OK = served
		r.Commits = served * m.CommitsPerRequest
	} else {
		r.Waiting = served
	}
	slowdown := 1 / (1 - math.Min(served/capacity, maxUtilisation))
	for _, p := range g.api {
		starved := math.Max(1, p.cpuUtilisation/m.CPUTarget)
		r.MeanLatency = append(r.MeanLatency, m.BaseLatency.Seconds()*slowdown*starved)
	}
	return r
}

// podReady is whether p serves: Ready, not being deleted, and on a node
// that is not known to be NotReady (the node lifecycle controller marks
// such pods NotReady only after a grace period; traffic stops at once).
func podReady(p *corev1.Pod, nodeReady func(string) bool) bool {
	if p.DeletionTimestamp != nil || (p.Spec.NodeName != "" && !nodeReady(p.Spec.NodeName)) {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// cpuUtilisation is p's kwok CPU usage over its CPU request, 0 if either
// is unknown.
func cpuUtilisation(p *corev1.Pod) float64 {
	v, ok := p.Annotations[CPUUsageAnnotation]
	if !ok {
		return 0
	}
	usage, err := resource.ParseQuantity(v)
	if err != nil {
		return 0
	}
	var request int64
	for _, c := range p.Spec.Containers {
		request += c.Resources.Requests.Cpu().MilliValue()
	}
	if request == 0 {
		return 0
	}
	return float64(usage.MilliValue()) / float64(request)
}

func nodeIsReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
