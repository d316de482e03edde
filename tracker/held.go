package tracker

import (
	"slices"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
)

// ScaleDownHold bounds how long a pod deletion that may be a scale-down
// waits for the evidence that decides it. The pod informer and the
// workload and autoscaler informers deliver independently: on a busy
// machine (CI, 2 cores) a scale-down's pod deletions arrived before the
// workload update that lowered its replicas, and judged at once against the
// old count they made false pod_deleted incidents.
const ScaleDownHold = 5 * time.Second

// heldDeletion is a live pod deletion that left a known workload below its
// desired ready pods with no cause the cluster named: a fault (a chaos
// kill), or a scale-down whose lowered replica count has not arrived yet.
type heldDeletion struct {
	w     *workloadEntry
	ev    chaos.Event
	until time.Time
}

// holdable reports whether a deletion of a pod of w that would open an
// incident waits for evidence first. A deletion the watch missed is dated
// by other evidence, one the cluster gave a reason for (an eviction, a
// preemption, a failed pod) is no scale-down, and one that joins an open
// incident opens nothing.
func holdable(w *workloadEntry, reason string, missed bool) bool {
	return w.known && w.incident == nil && reason == "" && !missed
}

// hold keeps ev, the deletion of a pod of w, until evidence decides it or
// ScaleDownHold passes. The event itself is already recorded: only whether
// it opens an incident waits.
func (t *Tracker) hold(w *workloadEntry, ev chaos.Event) {
	until := t.now().Add(ScaleDownHold)
	t.held = append(t.held, heldDeletion{w: w, ev: ev, until: until})
	if !t.holdArmed {
		t.armHold(until)
	}
}

// armHold wakes the tracker at until to settle what expired by then: an
// incident decided by the bound reaches the store within it even when
// nothing calls the tracker.
func (t *Tracker) armHold(until time.Time) {
	t.holdArmed, t.holdArmedUntil = true, until
	time.AfterFunc(max(until.Sub(t.now()), 0), t.holdExpired)
}

func (t *Tracker) holdExpired() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.holdArmed = false
	t.settle()
	// A deletion held after the timer was armed expires later; with a clock
	// that does not move (a test's), none does, and no timer is left.
	for _, h := range t.held {
		if h.until.After(t.holdArmedUntil) {
			t.armHold(h.until)
			return
		}
	}
}

// settle decides, as incidents, the held deletions whose bound passed:
// no evidence came that the pod was not needed. Every public method calls
// it first, so what it reads or decides follows them.
func (t *Tracker) settle() {
	if len(t.held) == 0 {
		return
	}
	now := t.now()
	var expired []heldDeletion
	t.held = slices.DeleteFunc(t.held, func(h heldDeletion) bool {
		if now.Before(h.until) {
			return false
		}
		expired = append(expired, h)
		return true
	})
	for _, h := range expired {
		t.openHeld(h)
	}
}

// decideHeld decides every deletion held for w: an incident if needed,
// else none (a scale-down).
func (t *Tracker) decideHeld(w *workloadEntry, needed bool) {
	if len(t.held) == 0 {
		return
	}
	var mine []heldDeletion
	t.held = slices.DeleteFunc(t.held, func(h heldDeletion) bool {
		if h.w != w {
			return false
		}
		mine = append(mine, h)
		return true
	})
	for _, h := range mine {
		if needed {
			t.openHeld(h)
			continue
		}
		t.log.Debug("pod deletion was a scale-down: no incident", "event", h.ev)
	}
}

// openHeld opens (or joins) the incident of a held deletion, dated by the
// deletion itself, as it would have been had it not waited; if the
// workload got whole again meanwhile, the incident ends when it did.
func (t *Tracker) openHeld(h heldDeletion) {
	w := h.w
	if w.gone || t.workloads[w.ref] != w {
		// Deleted meanwhile: its pods going away are the deletion's cascade.
		return
	}
	t.openOrJoin(w, h.ev)
	t.checkRecovered(w, t.lastReady(w))
}

// holding reports whether a deletion of a pod of w is held.
func (t *Tracker) holding(w *workloadEntry) bool {
	for _, h := range t.held {
		if h.w == w {
			return true
		}
	}
	return false
}

// replacementSeen decides w's held deletions as incidents: its controller
// created a pod, as it does to replace one, never in a scale-down.
func (t *Tracker) replacementSeen(w *workloadEntry) {
	t.decideHeld(w, true)
}

// workloadUpdated decides w's held deletions by w's update: a lowered
// replica count that the ready pods left still cover was a scale-down;
// any other change (its status counting the lost pod, a scale-up) says the
// pod was needed. An update that changes nothing (a resync) says nothing.
func (t *Tracker) workloadUpdated(w *workloadEntry, prevDesired, prevReady int32) {
	if w.desired == prevDesired && w.statusReady == prevReady || !t.holding(w) {
		return
	}
	t.decideHeld(w, w.desired >= prevDesired || w.readyPods < w.desired)
}

// hpaScaledDown decides the held deletions of the workload an autoscaler
// scaled down to desired: the HPA status is written after the scale, so it
// may arrive before the workload's update does. The deletions of the same
// scale-down that arrive after it, within the bound, are judged by it too.
func (t *Tracker) hpaScaledDown(target chaos.Ref, desired int32) {
	w := t.workloads[target]
	if w == nil {
		return
	}
	w.hpaScaledTo, w.hpaScaledUntil = desired, t.now().Add(ScaleDownHold)
	if t.holding(w) {
		t.decideHeld(w, w.readyPods < desired)
	}
}

// hpaCovers reports whether an autoscaler scaled w down, within the bound,
// to a count its ready pods still cover: a deletion then is that
// scale-down's, and no incident.
func (t *Tracker) hpaCovers(w *workloadEntry) bool {
	return w.hpaScaledTo > 0 && t.now().Before(w.hpaScaledUntil) && w.readyPods >= w.hpaScaledTo
}

// HeldDeletions returns how many pod deletions wait for the evidence that
// decides whether they open an incident; each waits ScaleDownHold at most.
func (t *Tracker) HeldDeletions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	return len(t.held)
}
