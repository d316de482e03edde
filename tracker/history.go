package tracker

import (
	"github.com/steadywatch/steadywatch/chaos"
)

// RestoreHistory continues from a previous run's incidents: the open ones
// are attached to the objects they are about, so that they close when those
// recover (or end, if the objects are gone), and MTBF continues from the
// latest failure of each service and group. Call it after Restore and before
// the informers start; incidents is what the store kept, in any order.
func (t *Tracker) RestoreHistory(incidents []chaos.Incident) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	for i := range incidents {
		inc := incidents[i]
		if inc.Kind.IsFailure() {
			key := serviceGroup{inc.Subject.Service, inc.Subject.Group}
			if prev, ok := t.lastFailure[key]; !ok || inc.Start.After(prev.start) {
				t.lastFailure[key] = failure{inc.Start, inc.Missed}
			}
		}
		if !inc.Open() {
			continue
		}
		open := &inc
		switch {
		case inc.Kind == chaos.PodDeleted || inc.Kind == chaos.WorkloadDegraded ||
			inc.Kind == chaos.NodeNotReady && inc.Object.Kind != "Node":
			// A workload's own fault, or its share of a node's.
			w := t.workload(inc.Object, inc.Subject)
			w.incident = open
			w.available = false
		case inc.Kind == chaos.NodeNotReady:
			e := t.nodes[inc.Object.Name]
			if e == nil {
				e = &nodeEntry{subject: inc.Subject}
				t.nodes[inc.Object.Name] = e
			}
			e.ready, e.incident = false, open
		case inc.Kind == chaos.HPAScaledUp:
			e := t.hpas[inc.Object]
			if e == nil {
				// Scaled up at least once from the baseline; the informer's
				// first sight of the HPA sets the current count.
				e = &hpaEntry{subject: inc.Subject}
				t.hpas[inc.Object] = e
			}
			e.incident = open
		default:
			continue
		}
		t.open[inc.ID] = open
	}
}
