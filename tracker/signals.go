package tracker

import (
	"time"

	"github.com/steadywatch/steadywatch/chaos"
)

// The watcher converts Kubernetes objects into these states, so the tracker
// never sees an API type. Each carries only what incident logic needs.

// Pod is a pod's state as far as incidents are concerned.
type Pod struct {
	UID     string
	Ref     chaos.Ref
	Subject chaos.Subject
	// Workload is the owning Deployment or StatefulSet; zero for bare pods.
	Workload chaos.Ref
	Node     string
	Created  time.Time
	Ready    bool
	// Failed is set once the pod's phase is Failed (a kubelet eviction for
	// node pressure leaves the pod there, Failed, with reason Evicted).
	Failed bool
	// Down is why a container of the pod is not running, if one is not.
	Down ContainerDown
	// Restarts is the sum of its containers' restart counts.
	Restarts int32
	// ReadyAt is when the Ready condition last changed.
	ReadyAt chaos.Timestamp
	// Deleting is non-zero once deletion was requested; its cluster time is
	// the request time (deletionTimestamp minus the grace period).
	Deleting chaos.Timestamp
	// Reason is why the pod is being removed, from its DisruptionTarget
	// condition: "eviction_api", "taint_manager", "preemption", "kubelet";
	// "deleted" when the cluster gave no reason.
	Reason string
	// SeenUntil, on a deletion the watch missed (a relist's tombstone), is
	// when the watch last broke: the pod was in view until then.
	SeenUntil time.Time
}

// ContainerDown is why a pod's container is not running: a closed set, so
// the watcher's cache holds a byte rather than a string per pod.
type ContainerDown uint8

// The reasons a container is down.
const (
	ContainerUp ContainerDown = iota
	ContainerOOMKilled
	ContainerError
	ContainerCrashLoop
)

// String is the kubelet's reason: OOMKilled, Error, CrashLoopBackOff.
func (d ContainerDown) String() string {
	switch d {
	case ContainerOOMKilled:
		return "OOMKilled"
	case ContainerError:
		return "Error"
	case ContainerCrashLoop:
		return "CrashLoopBackOff"
	}
	return ""
}

func (p *Pod) terminating() bool {
	return !p.Deleting.Cluster.IsZero() || !p.Deleting.Observed.IsZero()
}

// Workload is a Deployment's or StatefulSet's availability.
type Workload struct {
	Ref     chaos.Ref
	Subject chaos.Subject
	Desired int32
	// Ready is status.readyReplicas as the controller reports it.
	Ready int32
}

// Node is a node's readiness.
type Node struct {
	Name    string
	Subject chaos.Subject
	Ready   bool
	// Since is the Ready condition's last transition.
	Since  chaos.Timestamp
	Reason string
}

// HPA is a HorizontalPodAutoscaler's scaling state.
type HPA struct {
	Ref     chaos.Ref
	Subject chaos.Subject
	// Target is the workload it scales (spec.scaleTargetRef).
	Target chaos.Ref
	// Desired is status.desiredReplicas; 0 until the controller first computes it.
	Desired int32
	// ScaledAt is status.lastScaleTime.
	ScaledAt chaos.Timestamp
}
