// Package tracker turns the states the watcher observes into chaos events
// and incidents (fault start → recovery), and measures MTTR and MTBF.
package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/internal/timex"
)

// Recorder receives what the tracker concludes; the exporter implements it.
// It is called with the tracker's lock held and must not call back into it.
type Recorder interface {
	Event(e chaos.Event)
	// Recovered is called once per incident, when it first recovers: an
	// incident reopened by a fault dated before that recovery (reopen) is
	// not handed over again, so what counts incidents counts each once.
	Recovered(inc chaos.Incident)
	TimeBetweenFailures(s chaos.Subject, d time.Duration)
}

// Tracker keeps the minimal state needed to decide when faults start and end.
// Its methods are safe for concurrent use by the informers' handlers.
type Tracker struct {
	log   *slog.Logger
	store Store
	rec   Recorder
	now   func() time.Time
	// started is when this tracker began watching: events the cluster dated
	// before it were not seen happening and are marked missed.
	started time.Time

	mu        sync.Mutex
	pods      map[string]*podEntry
	workloads map[chaos.Ref]*workloadEntry
	nodes     map[string]*nodeEntry
	hpas      map[chaos.Ref]*hpaEntry
	open      map[string]*chaos.Incident
	// lastFailure is the latest failure per service and group, for MTBF.
	lastFailure map[serviceGroup]failure
	lastEvent   time.Time
	// pending holds what Restore brought back and the informers have not
	// listed again yet; Reconcile treats what is left as gone.
	pending *pending
	// held are the pod deletions that may be scale-downs, oldest first,
	// waiting for the evidence that decides them (held.go).
	held []heldDeletion
	// holdArmed is set while a timer will settle the held deletions that
	// expire by holdArmedUntil.
	holdArmed      bool
	holdArmedUntil time.Time
	// reopened holds, for each incident reopened after it was recovered
	// (reopen), the end it was first given: its recovery is no earlier, and
	// the Recorder already has it.
	reopened map[string]time.Time
}

// failure is a failure's start, and whether that start is an estimate.
type failure struct {
	start  time.Time
	missed bool
}

type serviceGroup struct {
	service string
	group   chaos.Group
}

type podEntry struct {
	ref      chaos.Ref
	subject  chaos.Subject
	workload *workloadEntry
	node     string
	created  time.Time
	// condReady is the pod's own Ready condition; ready is whether it
	// serves: condReady on a node that is not down. Only ready pods are
	// counted in workload.readyPods.
	condReady   bool
	ready       bool
	terminating bool
	reported    bool // pod_deleted already emitted
	// crashes is the count of container crashes seen or inferred: the
	// restarts plus one while a container is down. Those it had when first
	// seen are history, not events.
	crashes int32
}

type workloadEntry struct {
	ref     chaos.Ref
	subject chaos.Subject
	// known is set once the workload itself was seen, so desired is valid.
	known       bool
	desired     int32
	statusReady int32
	readyPods   int32
	pods        int32
	lastReadyAt time.Time
	// recheck is set for a restored workload first listed below its
	// desired replicas, for Reconcile to judge.
	recheck bool
	// available is set once the workload had all desired replicas ready since
	// its last scale-up; only then does losing one count as degradation.
	available bool
	// brokeAt, while an incident opened by a deletion the watch missed is
	// dated by the time the watch broke (its replacement not listed yet),
	// is that time: the replacement's creation, once listed, dates it better.
	brokeAt time.Time
	// podsShowAll is set once the pods in view were seen covering every
	// desired replica (the pod selector does not hide some): from then on
	// the pods are the ground truth and a status report never ends an
	// incident they contradict.
	podsShowAll bool
	// gone is set once the workload was deleted, or found missing by a
	// full list: its pods going away then are the deletion's cascade, not
	// a fault, and nothing would ever report it recovered.
	gone bool
	// hpaScaledTo, until hpaScaledUntil, is the count an autoscaler just
	// scaled the workload down to, while its own update may lag (held.go).
	hpaScaledTo    int32
	hpaScaledUntil time.Time
	incident       *chaos.Incident
	// recovered is the workload's last incident, if its recovery was
	// learnt late (a watch that resumed after an outage), until another
	// opens: a fault dated no later than that recovery belongs to it
	// (reopen).
	recovered *chaos.Incident
}

type nodeEntry struct {
	subject chaos.Subject
	ready   bool
	// seen is when the watcher last saw the node's state, to tell a
	// transition's cluster time from an impossible one.
	seen     time.Time
	incident *chaos.Incident
}

type hpaEntry struct {
	subject  chaos.Subject
	desired  int32
	incident *chaos.Incident
}

// Options configure a Tracker.
type Options struct {
	Logger   *slog.Logger
	Store    Store
	Recorder Recorder
	// Now defaults to time.Now.
	Now func() time.Time
}

// New returns a Tracker with no state.
func New(o Options) *Tracker {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	if o.Recorder == nil {
		o.Recorder = nopRecorder{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{
		log:         o.Logger,
		store:       o.Store,
		rec:         o.Recorder,
		now:         o.Now,
		started:     o.Now(),
		pods:        map[string]*podEntry{},
		workloads:   map[chaos.Ref]*workloadEntry{},
		nodes:       map[string]*nodeEntry{},
		hpas:        map[chaos.Ref]*hpaEntry{},
		open:        map[string]*chaos.Incident{},
		lastFailure: map[serviceGroup]failure{},
		reopened:    map[string]time.Time{},
	}
}

type nopRecorder struct{}

func (nopRecorder) Event(chaos.Event)                                {}
func (nopRecorder) Recovered(chaos.Incident)                         {}
func (nopRecorder) TimeBetweenFailures(chaos.Subject, time.Duration) {}

// PodChanged records a pod as listed or updated.
func (t *Tracker) PodChanged(p Pod) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	e := t.pods[p.UID]
	first := e == nil
	if first {
		e = &podEntry{ref: p.Ref, created: p.Created, crashes: crashes(&p)}
		if p.Workload.Name != "" {
			e.workload = t.workload(p.Workload, p.Subject)
			e.workload.pods++
			e.workload.notePodsInView()
			t.replacementListed(e.workload, p.Created)
			if !p.terminating() && !p.Failed {
				t.replacementSeen(e.workload)
			}
		}
		t.pods[p.UID] = e
	}
	t.listed(podKey, p.UID)
	e.subject = p.Subject
	e.node = p.Node
	if p.terminating() || p.Failed {
		t.setReady(e, false, time.Time{})
		switch {
		case e.terminating:
		case p.Failed && !p.terminating() && first:
			// Failed before it was first seen: evicted pods linger for
			// days, and would be reported again at every start.
			e.terminating, e.reported = true, true
		case p.Failed && !p.terminating():
			e.terminating = true
			reason := p.Reason
			if reason == "" {
				reason = "failed"
			}
			t.podDeleted(e, lossTime(&p, t.now()), reason)
		default:
			e.terminating = true
			t.podDeleted(e, p.Deleting, p.Reason)
		}
		return
	}
	e.condReady = p.Ready
	t.setReady(e, p.Ready && t.nodeUp(e.node), p.ReadyAt.Plausible(time.Time{}).Best())
	if n := crashes(&p); e.crashes < 0 {
		e.crashes = n
	} else if n > e.crashes {
		t.containersCrashed(e, &p, n-e.crashes)
		e.crashes = n
	}
}

// crashes counts the container crashes p shows: each restart followed one,
// and a container down now is one more.
func crashes(p *Pod) int32 {
	n := p.Restarts
	if p.Down != ContainerUp {
		n++
	}
	return n
}

// lossTime dates a pod's failure by its readiness drop, if the pod says
// when it became not ready; else by when the watcher saw it.
func lossTime(p *Pod, now time.Time) chaos.Timestamp {
	if !p.Ready && p.ReadyAt != (chaos.Timestamp{}) {
		return p.ReadyAt.Plausible(time.Time{})
	}
	return chaos.Timestamp{Observed: now}
}

// containersCrashed records n container crashes of pod e, the latest as
// p shows it; those the watcher did not see one by one are marked missed.
func (t *Tracker) containersCrashed(e *podEntry, p *Pod, n int32) {
	reason := p.Down.String()
	if reason == "" {
		reason = "restarted"
	}
	at := lossTime(p, t.now())
	for i := n; i > 0; i-- {
		ev := chaos.Event{
			Kind: chaos.ContainerRestarted, Subject: e.subject, Object: e.ref, Node: e.node,
			At: at, Reason: reason, Missed: i > 1 || t.before(at),
		}
		if e.workload != nil {
			ev.Workload = e.workload.ref
		}
		t.emit(ev)
		if w := e.workload; w != nil && !w.gone && (!w.known || w.readyPods < w.desired) {
			t.openOrJoin(w, ev)
		}
	}
}

// nodeUp reports whether a pod on the named node can serve: the node is
// not known to be down.
func (t *Tracker) nodeUp(name string) bool {
	n := t.nodes[name]
	return n == nil || n.ready
}

// PodGone records a pod that left the cluster. missed is set when the
// watcher learnt of it from a relist rather than a watch event.
func (t *Tracker) PodGone(p Pod, missed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	e := t.pods[p.UID]
	if e == nil {
		// Created and deleted between two lists: nothing depended on it.
		return
	}
	t.setReady(e, false, time.Time{})
	if !e.reported {
		at := p.Deleting
		if at == (chaos.Timestamp{}) {
			at = chaos.Timestamp{Observed: t.now()}
		}
		byBreak := false
		if missed {
			at.Observed = time.Time{} // the observation time says nothing about when it happened
			if at.Cluster.IsZero() {
				at.Cluster = t.missedDeletion(e, p)
				byBreak = at.Cluster.Equal(p.SeenUntil)
			}
		}
		t.podDeletedMarked(e, at, p.Reason, missed)
		if w := e.workload; byBreak && w != nil && w.incident != nil && w.incident.Missed && w.brokeAt.IsZero() {
			w.brokeAt = p.SeenUntil
		}
	}
	t.forgetPod(p.UID, e)
}

// missedDeletion dates the deletion of a pod the watch did not see go and
// whose deletion request it never saw: by the newest pod of its workload
// created since the pod was last in view (its replacement), else by the
// time the watch broke, else by now. The event is marked missed either
// way; the relist's own time, used before, made MTTRs of 0 (issue 11, #9).
func (t *Tracker) missedDeletion(e *podEntry, p Pod) time.Time {
	var replaced time.Time
	if w := e.workload; w != nil && !p.SeenUntil.IsZero() {
		// Creation times are whole seconds: one in the second the pod was
		// last seen may be after it.
		since := p.SeenUntil.Truncate(time.Second)
		for _, o := range t.pods {
			if o != e && o.workload == w && !o.created.Before(since) && o.created.After(e.created) &&
				o.created.After(replaced) {
				replaced = o.created
			}
		}
	}
	now := t.now()
	switch {
	case !replaced.IsZero() && !replaced.After(now):
		return replaced
	case !p.SeenUntil.IsZero() && !p.SeenUntil.After(now):
		return p.SeenUntil
	}
	return now
}

// replacementListed dates an incident opened by a deletion the watch
// missed, and dated by the break for want of better, by the creation of the
// first pod of the workload created since: the replacement the controller
// made once the pod was gone. client-go hands over a relist's tombstones
// before the pods it lists, so the replacement comes after the deletion.
func (t *Tracker) replacementListed(w *workloadEntry, created time.Time) {
	inc := w.incident
	if inc == nil || w.brokeAt.IsZero() || created.Before(w.brokeAt.Truncate(time.Second)) || created.After(t.now()) {
		return
	}
	// Creation times are whole seconds: never before the break.
	inc.Start = timex.Max(created, w.brokeAt)
	w.brokeAt = time.Time{}
	t.save(inc)
}

func (t *Tracker) forgetPod(uid string, e *podEntry) {
	delete(t.pods, uid)
	if w := e.workload; w != nil {
		w.pods--
		t.gcWorkload(w)
	}
}

func (t *Tracker) setReady(e *podEntry, ready bool, at time.Time) {
	if e.ready == ready {
		return
	}
	e.ready = ready
	w := e.workload
	if !ready {
		if w != nil {
			w.readyPods--
		}
		return
	}
	if w != nil {
		w.readyPods++
		if at.After(w.lastReadyAt) {
			w.lastReadyAt = at
		}
		t.checkRecovered(w, at)
	}
}

func (t *Tracker) podDeleted(e *podEntry, at chaos.Timestamp, reason string) {
	t.podDeletedMarked(e, at, reason, false)
}

func (t *Tracker) podDeletedMarked(e *podEntry, at chaos.Timestamp, reason string, missed bool) {
	e.reported = true
	named := reason
	if reason == "" {
		reason = "deleted"
	}
	ev := chaos.Event{
		Kind: chaos.PodDeleted, Subject: e.subject, Object: e.ref, Node: e.node,
		// A deletion the watch delivered late (resumed after an outage
		// without a relist) was not seen happening either.
		At: at, Reason: reason, Missed: missed || t.before(at) || at.SeenLate(),
	}
	if e.workload != nil {
		ev.Workload = e.workload.ref
	}
	t.emit(ev)
	n := t.nodes[e.node]
	evicted := n != nil && n.incident != nil
	if evicted {
		n.incident.Evicted++
		n.incident.Events++
		t.save(n.incident)
	}
	if w := e.workload; w != nil && !w.gone && (!w.known || w.readyPods < w.desired) {
		if holdable(w, named, missed) {
			if !t.hpaCovers(w) {
				t.hold(w, ev)
			}
			return
		}
		t.openOrJoin(w, ev)
		// The node's failure is the service's incident too: it counts the
		// pods evicted from that node, whose replacements it waits for.
		if inc := w.incident; evicted && inc != nil && inc.Kind == chaos.NodeNotReady {
			inc.Evicted++
			t.save(inc)
		}
	}
}

// WorkloadChanged records a Deployment's or StatefulSet's replica counts.
// settled reports whether the workload's controller considers its rollout
// complete; a workload first seen below its desired replicas only counts as
// degraded if it is settled.
func (t *Tracker) WorkloadChanged(wl Workload, settled bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	// A workload restored from the inventory and listed again for the first
	// time is found in a state nobody saw it reach, as one seen first is.
	relisted := t.pending != nil && t.pending.has(workloadKey, wl.Ref.String())
	t.listed(workloadKey, wl.Ref.String())
	w := t.workload(wl.Ref, wl.Subject)
	w.subject = wl.Subject
	first := !w.known
	w.known, w.gone = true, false
	prevDesired, prevReady := w.desired, w.statusReady
	w.desired, w.statusReady = wl.Desired, wl.Ready
	w.notePodsInView()
	if !first {
		t.workloadUpdated(w, prevDesired, prevReady)
	}
	now := t.now()
	if w.incident != nil && w.readyPods >= w.desired {
		t.recover(w, t.lastReady(w))
	}
	if wl.Ready >= wl.Desired {
		if w.incident != nil && !w.podsShowAll {
			// The controller says it is whole and the pods in view never
			// showed the whole workload (the pod selector excludes some):
			// its status is all there is to go by.
			t.recover(w, now)
		}
		// Otherwise a status that says whole while the pods in view do not
		// lags them: a StatefulSet counts a terminating pod that is still
		// Ready, so during a graceful deletion it reports the set whole
		// while its replacement has not even been created. The pods decide.
		if w.incident == nil {
			w.available = true
		}
		return
	}
	switch {
	case relisted:
		// Whether a restored workload found below its desired replicas is
		// degraded, or its status lags what its pods show, is decided in
		// Reconcile, once every pod has been listed too.
		w.recheck = true
		return
	case w.readyPods >= wl.Desired:
		// The pods in view are all ready: the controller's status lags them
		// (a late report of a fault that already ended). Pods are the ground
		// truth; a workload whose pods the selector hides has none in view
		// and is judged by its status alone.
		return
	case first && !settled:
		return
	case !first && wl.Desired > prevDesired:
		// Scaling up: below desired while the new replicas start is not a fault.
		w.available = false
		return
	case !first && !w.available:
		return
	}
	w.available = false
	if w.incident != nil {
		// The open incident (a pod deletion) explains the degradation: it
		// is that fault's effect, not a second one.
		return
	}
	ev := chaos.Event{
		Kind: chaos.WorkloadDegraded, Subject: w.subject, Object: w.ref, Workload: w.ref,
		At: chaos.Timestamp{Observed: now}, Reason: fmt.Sprintf("%d/%d ready", wl.Ready, wl.Desired),
		Missed: first || relisted,
	}
	t.emit(ev)
	t.openOrJoin(w, ev)
}

// WorkloadGone records a deleted Deployment or StatefulSet. Its open
// incident ends without a recovery.
func (t *Tracker) WorkloadGone(ref chaos.Ref) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	w := t.workloads[ref]
	if w == nil {
		return
	}
	if w.incident != nil {
		t.end(w.incident, t.now(), false)
		w.incident = nil
	}
	// Its pods' deletions held till now are the deletion's cascade.
	t.decideHeld(w, false)
	w.brokeAt, w.recovered = time.Time{}, nil
	w.known, w.gone = false, true
	t.gcWorkload(w)
}

// lastReady is when the workload's latest pod became ready: when it got
// back to its desired ready replicas.
func (t *Tracker) lastReady(w *workloadEntry) time.Time {
	if w.lastReadyAt.IsZero() {
		return t.now()
	}
	return w.lastReadyAt
}

func (w *workloadEntry) notePodsInView() {
	if w.known && w.pods >= w.desired {
		w.podsShowAll = true
	}
}

func (t *Tracker) checkRecovered(w *workloadEntry, at time.Time) {
	if w.incident != nil && w.known && w.readyPods >= w.desired {
		t.recover(w, at)
	}
}

func (t *Tracker) recover(w *workloadEntry, at time.Time) {
	t.end(w.incident, at, true)
	w.recovered = nil
	// A recovery seen live was followed by whatever the pods watch
	// delivers after it: the watch keeps the API server's order. One
	// learnt late came in a burst whose order says less (reopen).
	if (chaos.Timestamp{Cluster: w.incident.End.Truncate(time.Second), Observed: t.now()}).SeenLate() {
		w.recovered = w.incident
	}
	w.incident, w.brokeAt = nil, time.Time{}
	w.available = true
}

func (t *Tracker) workload(ref chaos.Ref, s chaos.Subject) *workloadEntry {
	w := t.workloads[ref]
	if w == nil {
		w = &workloadEntry{ref: ref, subject: s}
		t.workloads[ref] = w
	}
	return w
}

func (t *Tracker) gcWorkload(w *workloadEntry) {
	if !w.known && w.pods <= 0 && w.incident == nil {
		delete(t.workloads, w.ref)
	}
}

// NodeChanged records a node's readiness.
func (t *Tracker) NodeChanged(n Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	t.listed(nodeKey, n.Name)
	e := t.nodes[n.Name]
	if e == nil {
		// A node first seen not ready is only a fault if it went down before
		// we started watching (a node joining starts not ready).
		e = &nodeEntry{ready: n.Ready || t.before(n.Since)}
		t.nodes[n.Name] = e
	}
	e.subject = n.Subject
	since := n.Since.Plausible(e.seen)
	at := since.Best()
	if !e.seen.IsZero() && !since.Observed.IsZero() {
		// A transition seen live is timed by the watch: the Ready
		// condition is stamped by the kubelet's clock (kwok: the node's
		// creation), which can be wrong and still look plausible.
		at = since.Observed
	}
	switch {
	case e.ready && !n.Ready:
		ev := chaos.Event{
			Kind: chaos.NodeNotReady, Subject: n.Subject, Object: chaos.Ref{Kind: "Node", Name: n.Name},
			Node: n.Name, At: since, Reason: n.Reason, Missed: t.before(since),
		}
		t.emit(ev)
		e.incident = t.openIncident(chaos.NodeNotReady, n.Subject, ev.Object, at, ev.Missed)
		e.ready = false
		t.nodeDown(ev, at)
	case !e.ready && n.Ready:
		if e.incident != nil {
			t.end(e.incident, at, true)
			e.incident = nil
		}
		e.ready = true
		t.nodeBack(n.Name, at)
	}
	e.ready = n.Ready
	if !n.Since.Observed.IsZero() {
		e.seen = n.Since.Observed
	}
}

// nodeDown takes the pods on the node that went down (ev) out of service
// and gives the fault to every workload it left below its desired ready
// replicas: one incident per workload, from the node going down to the
// workload being whole again, which the evictions that follow join.
func (t *Tracker) nodeDown(ev chaos.Event, at time.Time) {
	affected := map[*workloadEntry]bool{}
	for _, p := range t.pods {
		if p.node != ev.Node || p.terminating {
			continue
		}
		t.setReady(p, false, time.Time{})
		if p.workload != nil {
			affected[p.workload] = true
		}
	}
	ws := make([]*workloadEntry, 0, len(affected))
	for w := range affected {
		ws = append(ws, w)
	}
	// A stable order, so events and incidents are recorded alike each run.
	slices.SortFunc(ws, func(a, b *workloadEntry) int { return strings.Compare(a.ref.String(), b.ref.String()) })
	for _, w := range ws {
		if w.gone || !w.known || w.readyPods >= w.desired {
			continue
		}
		wev := ev
		wev.Subject, wev.Workload = w.subject, w.ref
		t.emit(wev)
		if w.incident != nil {
			t.openOrJoin(w, wev)
			continue
		}
		w.incident, w.recovered = t.openIncident(chaos.NodeNotReady, w.subject, w.ref, at, wev.Missed), nil
	}
}

// nodeBack puts the pods on the node that is ready again back in service
// if their own condition says ready: the node lifecycle controller marks
// them not ready only after its grace period, so a short outage leaves
// them ready all along.
func (t *Tracker) nodeBack(name string, at time.Time) {
	for _, p := range t.pods {
		if p.node == name && p.condReady && !p.terminating {
			t.setReady(p, true, at)
		}
	}
}

// NodeGone records a deleted node; an open incident ends without recovery.
func (t *Tracker) NodeGone(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	if e := t.nodes[name]; e != nil && e.incident != nil {
		t.end(e.incident, t.now(), false)
	}
	delete(t.nodes, name)
}

// HPAChanged records an autoscaler's desired replicas.
func (t *Tracker) HPAChanged(h HPA) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	t.listed(hpaKey, h.Ref.String())
	e := t.hpas[h.Ref]
	if e == nil {
		t.hpas[h.Ref] = &hpaEntry{subject: h.Subject, desired: h.Desired}
		return
	}
	e.subject = h.Subject
	from := e.desired
	if h.Desired == 0 || from == h.Desired {
		return
	}
	e.desired = h.Desired
	if from == 0 {
		// The controller's first computation, not a scaling; or the first
		// sight of an HPA whose scale-up a previous run saw: if it is back at
		// its baseline, that happened while nobody watched.
		if inc := e.incident; inc != nil && h.Desired <= inc.Baseline {
			t.end(inc, h.ScaledAt.Best(), true)
			e.incident = nil
		}
		return
	}
	kind := chaos.HPAScaledUp
	if h.Desired < from {
		kind = chaos.HPAScaledDown
	}
	ev := chaos.Event{
		Kind: kind, Subject: h.Subject, Object: h.Ref, At: h.ScaledAt,
		FromReplicas: from, ToReplicas: h.Desired, Missed: t.before(h.ScaledAt),
	}
	t.emit(ev)
	if kind == chaos.HPAScaledDown && h.Target.Name != "" {
		t.hpaScaledDown(h.Target, h.Desired)
	}
	switch {
	case e.incident == nil && kind == chaos.HPAScaledUp:
		e.incident = t.openIncident(chaos.HPAScaledUp, h.Subject, h.Ref, h.ScaledAt.Best(), ev.Missed)
		e.incident.Baseline = from
		t.save(e.incident)
	case e.incident != nil && h.Desired <= e.incident.Baseline:
		t.end(e.incident, h.ScaledAt.Best(), true)
		e.incident = nil
	case e.incident != nil:
		e.incident.Events++
		t.save(e.incident)
	}
}

// HPAGone records a deleted autoscaler.
func (t *Tracker) HPAGone(ref chaos.Ref) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	if e := t.hpas[ref]; e != nil && e.incident != nil {
		t.end(e.incident, t.now(), false)
	}
	delete(t.hpas, ref)
}

// before reports whether the cluster dated ts before this tracker started.
func (t *Tracker) before(ts chaos.Timestamp) bool {
	return !ts.Cluster.IsZero() && ts.Cluster.Add(time.Second).Before(t.started)
}

func (t *Tracker) openOrJoin(w *workloadEntry, ev chaos.Event) {
	start := ev.At.Best()
	if w.incident == nil && w.recovered != nil && !start.After(w.recovered.End) {
		t.reopen(w)
	}
	if inc := w.incident; inc != nil {
		inc.Events++
		// A pod deletion or a container crash is the cause of the
		// degradation it brings, so it names the incident whichever the
		// watcher happened to see first.
		if (ev.Kind == chaos.PodDeleted || ev.Kind == chaos.ContainerRestarted) && inc.Kind == chaos.WorkloadDegraded {
			inc.Kind = ev.Kind
			if start.Before(inc.Start) {
				inc.Start = start
				inc.Missed = inc.Missed || ev.Missed // the start is now the estimate
			}
		}
		t.save(inc)
		return
	}
	w.recovered = nil
	w.incident = t.openIncident(ev.Kind, w.subject, w.ref, start, ev.Missed)
}

// reopen takes back the recovery of w's last incident, learnt late: a
// fault dated no later than it came after it, so the workload was not
// whole then. A watch that resumes after an outage delivers the changes
// made meanwhile in one burst, each pod's together, so that a replacement's
// Ready, and the recovery it makes, can come before the deletion of a pod
// killed with the first though it happened after; both dated at the API
// server's whole second, they opened two incidents with the same ID, each
// counted (issue 11). One fault is one incident, opened once, handed to
// the Recorder once, recovered when the workload is whole after the last
// of its losses.
func (t *Tracker) reopen(w *workloadEntry) {
	inc := w.recovered
	w.recovered = nil
	t.reopened[inc.ID] = inc.End
	inc.End = time.Time{}
	t.open[inc.ID] = inc
	w.incident = inc
	t.log.Info("incident reopened", "id", inc.ID, "kind", inc.Kind, "service", inc.Subject.Service,
		"group", inc.Subject.Group, "missed", inc.Missed)
}

func (t *Tracker) openIncident(kind chaos.Kind, s chaos.Subject, obj chaos.Ref, start time.Time, missed bool) *chaos.Incident {
	inc := &chaos.Incident{
		ID:   fmt.Sprintf("%s:%s@%d", kind, obj, start.UnixNano()),
		Kind: kind, Subject: s, Object: obj, Start: start, Events: 1, Missed: missed,
	}
	if kind.IsFailure() {
		key := serviceGroup{s.Service, s.Group}
		prev, ok := t.lastFailure[key]
		// A start steadywatch did not see is an estimate: the time from or
		// to it is no sample, as its recovery time is none.
		if ok && start.After(prev.start) && !missed && !prev.missed {
			t.rec.TimeBetweenFailures(s, start.Sub(prev.start))
		}
		if !ok || start.After(prev.start) {
			t.lastFailure[key] = failure{start, missed}
		}
	}
	t.open[inc.ID] = inc
	t.save(inc)
	t.log.Info("incident opened", "id", inc.ID, "kind", kind, "service", s.Service, "group", s.Group, "missed", missed)
	return inc
}

func (t *Tracker) end(inc *chaos.Incident, at time.Time, recovered bool) {
	if at.Before(inc.Start) {
		at = inc.Start // whole-second cluster times can precede a refined start
	}
	first, reopened := t.reopened[inc.ID]
	if reopened {
		delete(t.reopened, inc.ID)
		at = timex.Max(at, first)
	}
	inc.End = at
	delete(t.open, inc.ID)
	t.save(inc)
	if recovered && !reopened {
		t.rec.Recovered(*inc)
	}
	t.log.Info("incident closed", "id", inc.ID, "recovered", recovered, "duration", inc.TimeToRecover())
}

func (t *Tracker) emit(ev chaos.Event) {
	t.lastEvent = t.now()
	t.rec.Event(ev)
	if err := t.store.SaveEvent(context.Background(), ev); err != nil {
		t.log.Error("saving event", "event", ev.String(), "err", err)
	}
	t.log.Debug("chaos event", "event", ev) // formatted only if debug is on
}

func (t *Tracker) save(inc *chaos.Incident) {
	// The memory store cannot fail; durable stores retry internally and
	// report what they could not keep through their own metrics.
	if err := t.store.Save(context.Background(), *inc); err != nil {
		t.log.Error("saving incident", "id", inc.ID, "err", err)
	}
}

// OpenIncidents returns copies of the incidents not yet recovered.
func (t *Tracker) OpenIncidents() []chaos.Incident {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	out := make([]chaos.Incident, 0, len(t.open))
	for _, inc := range t.open {
		out = append(out, *inc)
	}
	return out
}

// WorkloadStatus is a workload's availability, for the ready-ratio gauge.
type WorkloadStatus struct {
	Ref     chaos.Ref
	Subject chaos.Subject
	Desired int32
	Ready   int32
}

// Workloads returns every known workload's availability.
func (t *Tracker) Workloads() []WorkloadStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	out := make([]WorkloadStatus, 0, len(t.workloads))
	for _, w := range t.workloads {
		if w.known {
			out = append(out, WorkloadStatus{Ref: w.ref, Subject: w.subject, Desired: w.desired, Ready: w.statusReady})
		}
	}
	return out
}

// LastEvent is when the latest chaos event was recorded; zero if none.
func (t *Tracker) LastEvent() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.settle()
	return t.lastEvent
}
