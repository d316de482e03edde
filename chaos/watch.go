package chaos

import "time"

// WatchedResources names the resources steadywatch watches, as its metrics
// and watch coverage name them.
var WatchedResources = []string{"pods", "nodes", "horizontalpodautoscalers", "deployments", "statefulsets", "daemonsets"}

// How a WatchSpan ended.
const (
	// SpanOpen: steadywatch still watched at To, its latest heartbeat;
	// what came after is not recorded (yet).
	SpanOpen = ""
	// SpanBroken: the watch broke at To (Err says how).
	SpanBroken = "broken"
	// SpanStopped: steadywatch stopped watching at To.
	SpanStopped = "stopped"
)

// WatchSpan is a time one steadywatch process (Session) was watching one
// resource ("pods", "nodes", …) without a break: whatever happened to that
// resource between From and To, it saw. Outside every span it may have
// missed faults, so nothing measured there is evidence.
type WatchSpan struct {
	Session  string
	Resource string
	From, To time.Time
	// Ended says how the span ended: SpanOpen, SpanBroken or SpanStopped.
	Ended string
	// Err is why the watch broke, for a SpanBroken span.
	Err string
}

// WatchHealth is the state of the watch of one resource.
type WatchHealth struct {
	Resource string
	// Up is false while a list or watch of the resource is failing.
	Up bool
	// BrokenSince is when the current outage began; zero while up.
	BrokenSince time.Time
	// LastErr is the latest failure, while broken.
	LastErr string
	// LastContact is when the API server last answered a list or watch of
	// the resource, or sent an event or bookmark on it; zero before.
	LastContact time.Time
	// Relists counts lists after the first of each informer.
	Relists uint64
}
