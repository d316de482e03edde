package experiment

import (
	"maps"
	"reflect"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// Tool is the chaos tool that ran an experiment.
type Tool string

// The tools whose experiments are recorded.
const (
	Litmus    Tool = "litmus"
	ChaosMesh Tool = "chaos-mesh"
)

// Chaos Mesh results: Chaos Mesh gives no verdict of its own, only whether
// its fault is in place.
const (
	// Injected: the fault was applied to at least one target and is not
	// all recovered yet.
	Injected = "injected"
	// Recovered: every target was recovered after the fault was applied.
	Recovered = "recovered"
	// Failed: the latest apply or recover of a target failed.
	Failed = "failed"
)

// Experiment is one run of a chaos tool, as the tool's objects tell it.
type Experiment struct {
	// Cluster names the cluster the objects were read in; empty outside a
	// multi-cluster setup.
	Cluster string
	Tool    Tool
	// Kind is the tool's object kind: ChaosEngine, PodChaos, NetworkChaos…
	Kind      string
	Namespace string
	Name      string
	UID       string
	// Fault is what the experiment does: the Litmus experiment of the
	// engine (pod-delete) or the Chaos Mesh action (pod-kill, delay…). A
	// ChaosEngine listing several experiments is one Experiment each.
	Fault string
	// Target is the tool's selector of what it attacks, readable and in a
	// fixed order ("mode=one namespaces=shop labels=app=web").
	Target string
	// Start is when the fault began (how each tool tells it: see FromLitmus and
	// FromChaosMesh); End is when it was over, zero while it runs.
	Start, End time.Time
	// Result is the tool's own verdict: Litmus's Pass, Fail, Awaited,
	// Stopped or Error; for Chaos Mesh Injected, Recovered or Failed, or
	// empty before the first injection.
	Result string
	// Detail says more about Result: Litmus's phase, probe success and
	// failed step; Chaos Mesh's targets and failure messages.
	Detail string
	// Labels are the object's metadata.labels (the ChaosEngine's, not its
	// ChaosResults'), nil when it has none: a hypothesis window may select
	// experiments by them (Filter.Selector).
	Labels map[string]string
}

// Filter selects recorded experiments (store.Store.Experiments): those of
// Tool, Namespace and Name where set, that ran at some time in [Since,
// Until) (zero bounds are open): begun before Until, and running or ended
// at or after Since; and whose Labels Selector matches, if set.
type Filter struct {
	Tool            Tool
	Namespace, Name string
	Since, Until    time.Time
	Selector        labels.Selector
}

// Running reports whether the experiment has not ended.
func (e Experiment) Running() bool { return e.End.IsZero() }

// Key identifies the experiment across its updates: one object's UID and
// fault (a ChaosEngine runs several faults under one UID).
func (e Experiment) Key() string {
	return strings.Join([]string{e.Cluster, string(e.Tool), e.Namespace, e.Name, e.UID, e.Fault}, "/")
}

// same reports whether two readings of an experiment tell the same.
func (e Experiment) same(o Experiment) bool {
	a, b := e, o
	a.Start, a.End, a.Labels, b.Start, b.End, b.Labels = time.Time{}, time.Time{}, nil, time.Time{}, time.Time{}, nil
	return reflect.DeepEqual(a, b) && e.Start.Equal(o.Start) && e.End.Equal(o.End) && maps.Equal(e.Labels, o.Labels)
}
