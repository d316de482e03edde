// Package chaos holds steadywatch's domain vocabulary: the chaos events the
// watcher observes and the incidents built from them. It imports neither
// Kubernetes nor Prometheus types, so every other layer can depend on it.
package chaos

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Kind is what happened. The set is closed: it is used as a metric label.
type Kind string

// The chaos event kinds steadywatch recognises.
const (
	PodDeleted       Kind = "pod_deleted"
	NodeNotReady     Kind = "node_not_ready"
	HPAScaledUp      Kind = "hpa_scaled_up"
	HPAScaledDown    Kind = "hpa_scaled_down"
	WorkloadDegraded Kind = "workload_degraded"
	// ContainerRestarted is a container of a workload's pod killed or
	// crashed (OOMKilled, an error exit, a crash loop): resource exhaustion.
	ContainerRestarted Kind = "container_restarted"
)

// Kinds lists every Kind, in a stable order, for pre-declaring metric series.
var Kinds = []Kind{PodDeleted, NodeNotReady, HPAScaledUp, HPAScaledDown, WorkloadDegraded, ContainerRestarted}

// IsFailure reports whether an incident of this kind counts as a failure for
// MTBF. HPA scaling is the system adapting, not failing, so it has a
// time-to-baseline (recorded as recovery) but no place in MTBF.
func (k Kind) IsFailure() bool {
	return k == PodDeleted || k == NodeNotReady || k == WorkloadDegraded || k == ContainerRestarted
}

// Group is the experiment arm an object belongs to.
type Group string

// The experiment arms.
const (
	Control      Group = "control"
	Experimental Group = "experimental"
	NoGroup      Group = "none"
)

// Groups lists every Group in a stable order.
var Groups = []Group{Control, Experimental, NoGroup}

// Subject identifies what an event or incident is about, as it is exported.
type Subject struct {
	Namespace string
	Service   string
	Group     Group
}

// Ref names a Kubernetes object without importing Kubernetes types.
// Kind is "Deployment", "StatefulSet", "DaemonSet", "Node", "HorizontalPodAutoscaler" or "Pod".
type Ref struct {
	Kind      string
	Namespace string
	Name      string
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Timestamp is when something happened, as well as steadywatch can tell.
//
// The API server stores most timestamps with whole-second precision, while the
// watcher sees changes within milliseconds. Cluster is the time the cluster
// recorded (zero if it recorded none), Observed when the watcher saw it.
type Timestamp struct {
	Cluster  time.Time
	Observed time.Time
}

// clusterResolution is the precision of metav1.Time as stored by the API server.
const clusterResolution = time.Second

// LateObservation is how long after the cluster's second has ended a watch
// may still deliver a change live: its delivery delay, tens of
// milliseconds (hundreds on a loaded API server).
const LateObservation = 500 * time.Millisecond

// Best is the most precise estimate of when the thing happened: the
// observation refines the cluster's whole-second timestamp when it falls
// within that second (a live watch); one that falls just after it, within
// LateObservation, was the watch's delivery delay, and the thing happened
// by the second's end — dated there, it is off by at most that delay, as
// an observation within the second is (dated at the second's start, it
// would be off by up to a second). Otherwise the event was seen late
// (relist, restart) and the cluster's own time is the better one.
func (t Timestamp) Best() time.Time {
	end := t.Cluster.Add(clusterResolution)
	switch {
	case t.Cluster.IsZero():
		return t.Observed
	case t.Observed.IsZero():
		return t.Cluster
	case !t.Observed.Before(t.Cluster) && t.Observed.Before(end):
		return t.Observed
	case !t.Observed.Before(end) && t.Observed.Before(end.Add(LateObservation)):
		return end.Add(-time.Millisecond)
	default:
		return t.Cluster
	}
}

// SeenLate reports whether the watch delivered the change more than
// LateObservation after the cluster's second had ended: not seen
// happening (a watch that resumed after an outage, a relist) but learnt
// of afterwards, so that Best is the cluster's whole second, an estimate.
func (t Timestamp) SeenLate() bool {
	return !t.Cluster.IsZero() && !t.Observed.IsZero() &&
		!t.Observed.Before(t.Cluster.Add(clusterResolution+LateObservation))
}

// Plausible drops a cluster time that cannot be the time of a change the
// watcher saw happen: one dated before the watcher last saw the previous
// state (prevSeen), or after the watcher saw the change. Kubelets stamp
// node and pod conditions with their own clocks, and kwok dates every node
// transition at the node's creation; the observation is then the better time.
func (t Timestamp) Plausible(prevSeen time.Time) Timestamp {
	if t.Cluster.IsZero() || t.Observed.IsZero() {
		return t
	}
	if t.Cluster.After(t.Observed.Add(clusterResolution)) ||
		!prevSeen.IsZero() && t.Cluster.Add(clusterResolution).Before(prevSeen) {
		t.Cluster = time.Time{}
	}
	return t
}

// Event is one observed chaos event.
type Event struct {
	Kind    Kind
	Subject Subject
	Object  Ref
	// Workload is the Deployment or StatefulSet a pod belongs to, if any.
	Workload Ref
	Node     string
	At       Timestamp
	// Reason says why, where the cluster told: "eviction_api", "taint_manager",
	// "preemption", "kubelet", "deleted" for pods; the condition reason for nodes.
	Reason string
	// FromReplicas and ToReplicas are set for HPA events.
	FromReplicas, ToReplicas int32
	// Missed marks events the watcher did not see happen but inferred from a
	// relist or from the state it found at start.
	Missed bool
}

// LogValue formats the event only when a log record is kept.
func (e Event) LogValue() slog.Value { return slog.StringValue(e.String()) }

func (e Event) String() string {
	s := fmt.Sprintf("%s %s at %s", e.Kind, e.Object, e.At.Best().Format(time.RFC3339Nano))
	if e.Kind == HPAScaledUp || e.Kind == HPAScaledDown {
		s += fmt.Sprintf(" (%d→%d)", e.FromReplicas, e.ToReplicas)
	}
	if e.Missed {
		s += " [missed]"
	}
	return s
}

// Incident is a fault from its start to its recovery.
type Incident struct {
	// Cluster is the cluster the incident happened in (config cluster:),
	// "" for the unnamed one; the store sets it, from the store's cluster.
	Cluster string
	ID      string
	Kind    Kind
	Subject Subject
	// Object is what failed: the workload for pod and workload incidents,
	// the node for node incidents, the HPA for scaling incidents.
	Object Ref
	Start  time.Time
	// End is zero while the incident is open.
	End time.Time
	// Events counts the chaos events folded into this incident.
	Events int
	// Evicted counts pods deleted from a node while it was not ready.
	Evicted int
	// Baseline is the replica count an HPA must return to.
	Baseline int32
	// Missed is set when the fault start was inferred rather than seen.
	Missed bool
	// Detection is how the fault was detected; zero while undecided. The
	// detector sets it once and for all (see tracker.DetectionStore), never
	// the tracker, which owns every other field.
	Detection Detection
}

// Detection is the alert that detected an incident's fault, or the verdict
// that none did in time.
type Detection struct {
	// At is when the fault was detected: the alert's start or its receipt,
	// as the detector is configured. Zero if undetected.
	At time.Time
	// Alert is the detecting alert's alertname, Fingerprint its fingerprint.
	Alert       string
	Fingerprint string
	// Undetected is set when the detection window passed with no alert.
	Undetected bool
}

// Decided reports whether the detection is settled: detected or undetected.
func (d Detection) Decided() bool { return d.Undetected || !d.At.IsZero() }

// Validate reports what makes d unfit to record as an incident's detection.
func (d Detection) Validate() error {
	switch {
	case d.Undetected && (!d.At.IsZero() || d.Alert != "" || d.Fingerprint != ""):
		return errors.New("detection: undetected, yet names a time or an alert")
	case !d.Undetected && d.At.IsZero():
		return errors.New("detection.at: not set")
	case !d.Undetected && d.Fingerprint == "":
		return errors.New("detection.fingerprint: not set")
	}
	return nil
}

// Open reports whether the incident has not recovered yet.
func (i *Incident) Open() bool { return i.End.IsZero() }

// TimeToDetect is Detection.At − Start; ok is false while undecided or if
// the fault went undetected.
func (i *Incident) TimeToDetect() (d time.Duration, ok bool) {
	if i.Detection.Undetected || i.Detection.At.IsZero() {
		return 0, false
	}
	return i.Detection.At.Sub(i.Start), true
}

// TimeToRecover is End − Start, or 0 while open.
func (i *Incident) TimeToRecover() time.Duration {
	if i.Open() {
		return 0
	}
	return i.End.Sub(i.Start)
}
