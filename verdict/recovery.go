package verdict

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/tracker"
)

// AlertDelay is how long after an alert starts it may take to be stored:
// Alertmanager's default group_wait (30 s) plus the webhook. An expected
// alert that has not been seen fails only this long after its deadline, so
// a verdict issued right at the deadline does not fail an alert still on
// its way.
const AlertDelay = 45 * time.Second

// recovery judges h's recovery expectations for the window w at at. err is
// only ctx's.
func (j *Judge) recovery(ctx context.Context, h *hypothesis.Hypothesis, w hypothesis.Span, at time.Time) ([]Expectation, error) {
	r := &h.Recovery
	if r.MTTR == 0 && len(r.Alerts) == 0 && r.HPA == nil && r.ReplacementReady == 0 {
		return nil, nil
	}
	ctx, span := j.tracer.Start(ctx, "verdict.recovery", trace.WithAttributes(attribute.String("hypothesis", h.Name)))
	defer span.End()
	rc := recoveryCheck{j: j, h: h, w: w, at: at}
	var out []Expectation
	if r.MTTR > 0 {
		x, err := rc.incidents(ctx, "mttr", r.MTTR, func(_ context.Context, inc *chaos.Incident) (time.Time, bool, error) {
			return inc.Start, inc.Kind.IsFailure(), nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if r.ReplacementReady > 0 {
		x, err := rc.incidents(ctx, "replacement_ready", r.ReplacementReady, rc.replacementFrom)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	for _, a := range r.Alerts {
		x, err := rc.alert(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if r.HPA != nil {
		xs, err := rc.hpa(ctx, r.HPA)
		if err != nil {
			return nil, err
		}
		out = append(out, xs...)
	}
	return out, nil
}

type recoveryCheck struct {
	j  *Judge
	h  *hypothesis.Hypothesis
	w  hypothesis.Span
	at time.Time
	// listed caches the incidents in the chaos span.
	listed    []chaos.Incident
	listedErr error
	listedOK  bool
}

func expectation(name string, bound time.Duration) Expectation {
	return Expectation{Name: name, Result: Inconclusive, Observed: math.NaN(), Bound: bound.Seconds()}
}

// storeFailed turns a store error into ctx's error, if ctx ended, or an
// inconclusive reason.
func storeFailed(ctx context.Context, x *Expectation, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	x.Reason = fmt.Sprintf("reading the %s: %v", what, err)
	return nil
}

// experimental reports whether s is the hypothesis's service's
// experimental group (in its namespace, if it names one).
func (rc *recoveryCheck) experimental(s chaos.Subject) bool {
	return s.Group == chaos.Experimental && (rc.h.Namespace == "" || s.Namespace == rc.h.Namespace)
}

// incidentsInSpan lists the incidents of the service's experimental group
// that started within the chaos span (and by the time of judgement).
func (rc *recoveryCheck) incidentsInSpan(ctx context.Context) ([]chaos.Incident, error) {
	if rc.listedOK {
		return rc.listed, rc.listedErr
	}
	until := rc.w.ChaosEnd
	if rc.at.Before(until) {
		until = rc.at
	}
	all, err := rc.j.store.List(ctx, tracker.Filter{Service: rc.h.Service, Since: rc.w.ChaosStart, Until: until.Add(time.Nanosecond)})
	for _, inc := range all {
		if rc.experimental(inc.Subject) {
			rc.listed = append(rc.listed, inc)
		}
	}
	rc.listedErr, rc.listedOK = err, true
	return rc.listed, err
}

// replacementFrom is when the pods whose replacements an incident waits
// for were deleted: a pod_deleted incident's start; for a node's failure
// with evictions (they join the node's incident of the service, which ends
// once their replacements are Ready), the first eviction of the service's
// experimental pods on record within it — the zero time if there is none.
// Other incidents have no replacement to wait for.
func (rc *recoveryCheck) replacementFrom(ctx context.Context, inc *chaos.Incident) (time.Time, bool, error) {
	switch {
	case inc.Kind == chaos.PodDeleted:
		return inc.Start, true, nil
	case inc.Kind != chaos.NodeNotReady || inc.Evicted == 0:
		return time.Time{}, false, nil
	}
	until := rc.at
	if !inc.Open() && inc.End.Before(until) {
		until = inc.End
	}
	events, err := rc.j.store.Events(ctx, tracker.Filter{Service: rc.h.Service, Since: inc.Start, Until: until.Add(time.Nanosecond)})
	if err != nil {
		return time.Time{}, true, err
	}
	for _, e := range events {
		if e.Kind == chaos.PodDeleted && !e.Missed && e.Subject == inc.Subject {
			return e.At.Best(), true, nil
		}
	}
	return time.Time{}, true, nil
}

// incidents checks that each incident from counts recovered within bound
// of the time from gives: MTTR (its start), or a deleted pod's replacement
// becoming Ready (a pod_deleted incident ends when its workload is ready
// again). from returns the zero time for an incident that counts but whose
// start of the measure is not on record.
func (rc *recoveryCheck) incidents(ctx context.Context, name string, bound time.Duration,
	from func(context.Context, *chaos.Incident) (time.Time, bool, error),
) (Expectation, error) {
	x := expectation(name, bound)
	if rc.j.store == nil {
		x.Reason = noStore("incidents")
		return x, nil
	}
	settle, _ := rc.j.gapAllowance(rc.h.Step)
	all, err := rc.incidentsInSpan(ctx)
	if err != nil {
		return x, storeFailed(ctx, &x, "incidents", err)
	}
	var (
		n                int
		slowest          time.Duration
		slowestInc       string
		failed, pendings []string
		decidedBy        time.Time // of the pendings
		settledBy        time.Time // of the recoveries too recent to be sure of
		estimated        []string
		unrecorded       []string
	)
	for i := range all {
		inc := &all[i]
		start, counts, err := from(ctx, inc)
		if err != nil {
			return x, storeFailed(ctx, &x, "chaos events", err)
		}
		if !counts {
			continue
		}
		n++
		what := fmt.Sprintf("%s %s at %s", inc.Kind, inc.Object, inc.Start.UTC().Format(time.RFC3339))
		if inc.Missed {
			// Its start was inferred (a relist, a restart): the time it took
			// is an estimate, no evidence either way (issue 11, #9).
			estimated = append(estimated, what)
			continue
		}
		if start.IsZero() {
			unrecorded = append(unrecorded, what)
			continue
		}
		if !start.Equal(inc.Start) {
			what += ", from its first eviction at " + start.UTC().Format(time.RFC3339)
		}
		took := inc.End.Sub(start)
		if !inc.Open() && !inc.End.After(rc.at) {
			// A fault learnt late, dated before this recovery, would
			// reopen the incident (the tracker's reopen): a recovery is
			// sure once the watch's events of its time have had as long
			// to arrive as the window's last ones (Verdict.SettledBy).
			if by := inc.End.Add(settle); rc.at.Before(by) && by.After(settledBy) {
				settledBy = by
			}
		}
		if inc.Open() || inc.End.After(rc.at) {
			took = rc.at.Sub(start)
			if took <= bound {
				pendings = append(pendings, fmt.Sprintf("%s open for %s", what, took))
				// Open past its bound, it fails; closed within, it passes.
				if by := start.Add(bound + time.Nanosecond); by.After(decidedBy) {
					decidedBy = by
				}
				continue
			}
			what += " (still open)"
		}
		if took > slowest || slowestInc == "" {
			slowest, slowestInc = took, what
		}
		if took > bound {
			failed = append(failed, fmt.Sprintf("%s took %s", what, took))
		}
	}
	if slowestInc != "" {
		x.Observed = slowest.Seconds()
	}
	switch {
	case n == 0:
		x.Reason = fmt.Sprintf("no incident of service %s%s in the experimental group between %s and %s",
			rc.h.Service, inNamespace(rc.h.Namespace), rc.w.ChaosStart.UTC().Format(time.RFC3339), rc.w.ChaosEnd.UTC().Format(time.RFC3339))
	case len(failed) > 0:
		x.Result = Fail
		x.Reason = fmt.Sprintf("%d of %d incidents not recovered within %s: %s", len(failed), n, bound, joinFirst(failed, 3))
	case len(pendings) > 0:
		x.Reason = fmt.Sprintf("%d of %d incidents not recovered yet, within %s so far: %s", len(pendings), n, bound, joinFirst(pendings, 3))
		x.DecidedBy = decidedBy
	case len(estimated) > 0:
		x.Reason = fmt.Sprintf("%d of %d incidents started while steadywatch was not watching; how long they took is unknown: %s",
			len(estimated), n, joinFirst(estimated, 3))
	case len(unrecorded) > 0:
		x.Reason = fmt.Sprintf("%d of %d incidents have evicted pods whose eviction is not on record; when they were deleted is unknown: %s",
			len(unrecorded), n, joinFirst(unrecorded, 3))
	default:
		x.Result = Pass
		x.Reason = fmt.Sprintf("all %d incidents recovered within %s (slowest %s: %s)", n, bound, slowest, slowestInc)
		x.DecidedBy = settledBy
	}
	return x, nil
}

// noStore says that what a recovery expectation is measured on is not
// there, and how to give it: serve judges with its own store; the verdict
// command needs to be told where one is.
func noStore(what string) string {
	return "no store of " + what + " to measure it on: give steadywatch verdict --store or --data-dir (serve judges with its own)"
}

func joinFirst(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, "; ")
	}
	return strings.Join(s[:n], "; ") + fmt.Sprintf(" and %d more", len(s)-n)
}

// alert checks that an alert named a.Name, with labels that satisfy
// a.Matchers, started within a.Within of the chaos start. Without matchers
// any alert of that name counts: the hypothesis names the alert, and its
// labels are the rule's to choose.
func (rc *recoveryCheck) alert(ctx context.Context, a hypothesis.AlertExpectation) (Expectation, error) {
	x := expectation("alert/"+a.String(), a.Within)
	if rc.j.alerts == nil {
		x.Reason = noStore("alerts")
		return x, nil
	}
	deadline := rc.w.ChaosStart.Add(a.Within)
	until := deadline
	if rc.at.Before(until) {
		until = rc.at
	}
	alerts, err := rc.j.alerts.Alerts(ctx, alert.Filter{
		Labels: map[string]string{"alertname": a.Name},
		Since:  rc.w.ChaosStart, Until: until.Add(time.Nanosecond),
	})
	if err != nil {
		return x, storeFailed(ctx, &x, "alerts", err)
	}
	var first *alert.Alert
	others := 0
	for i, al := range alerts {
		if !a.Matches(al.Labels) {
			others++
			continue
		}
		if first == nil || al.StartsAt.Before(first.StartsAt) {
			first = &alerts[i]
		}
	}
	if first != nil {
		took := first.StartsAt.Sub(rc.w.ChaosStart)
		x.Result, x.Observed = Pass, took.Seconds()
		x.Reason = fmt.Sprintf("%s started %s after the chaos start (within %s)", a, took, a.Within)
		return x, nil
	}
	// Alerts of the name that the matchers ruled out are worth saying:
	// a matcher with a typo looks like an alert that never fired.
	unmatched := ""
	if others > 0 {
		unmatched = fmt.Sprintf(" (%d %s alerts with other labels did)", others, a.Name)
	}
	if rc.at.Before(deadline.Add(AlertDelay)) {
		x.Reason = fmt.Sprintf("%s has not started yet%s; it may until %s (and take %s to arrive)",
			a, unmatched, deadline.UTC().Format(time.RFC3339), AlertDelay)
		x.DecidedBy = deadline.Add(AlertDelay)
		return x, nil
	}
	x.Result = Fail
	x.Reason = fmt.Sprintf("%s did not start within %s of the chaos start%s", a, a.Within, unmatched)
	return x, nil
}

// hpa checks that the HPA reached MinReplicas within Within of the chaos
// start ("hpa/NAME") and, if BaselineWithin is set, that it was back at its
// baseline — the first scale-up's FromReplicas, or the Baseline of the
// HPA's scaling incident — within BaselineWithin of the chaos end, and
// still there then ("hpa/NAME/baseline"): back and up again within it has
// not returned, so a return is decided only once BaselineWithin has
// passed. Both are measured on the hpa_scaled_up and
// hpa_scaled_down events the watcher recorded since the chaos start.
func (rc *recoveryCheck) hpa(ctx context.Context, e *hypothesis.HPAExpectation) ([]Expectation, error) {
	up := expectation("hpa/"+e.Name, e.Within)
	back := expectation("hpa/"+e.Name+"/baseline", e.BaselineWithin)
	out := []Expectation{up}
	if e.BaselineWithin > 0 {
		out = append(out, back)
	}
	if rc.j.store == nil {
		for i := range out {
			out[i].Reason = noStore("chaos events")
		}
		return out, nil
	}
	upBy := rc.w.ChaosStart.Add(e.Within)
	backBy := rc.w.ChaosEnd.Add(e.BaselineWithin)
	until := upBy
	if backBy.After(until) {
		until = backBy
	}
	if rc.at.Before(until) {
		until = rc.at
	}
	all, err := rc.j.store.Events(ctx, tracker.Filter{Service: rc.h.Service, Since: rc.w.ChaosStart, Until: until.Add(time.Nanosecond)})
	if err != nil {
		for i := range out {
			if err := storeFailed(ctx, &out[i], "chaos events", err); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var events []chaos.Event
	for _, ev := range all {
		if (ev.Kind == chaos.HPAScaledUp || ev.Kind == chaos.HPAScaledDown) && ev.Object.Name == e.Name &&
			(rc.h.Namespace == "" || ev.Object.Namespace == rc.h.Namespace) {
			events = append(events, ev)
		}
	}

	// Scaling up.
	reached := int32(0)
	var firstUp *chaos.Event
	for i := range events {
		ev := &events[i]
		if ev.Kind != chaos.HPAScaledUp || ev.At.Best().After(upBy) {
			continue
		}
		if firstUp == nil {
			firstUp = ev
		}
		reached = max(reached, ev.ToReplicas)
		if ev.ToReplicas >= e.MinReplicas && up.Result != Pass {
			took := ev.At.Best().Sub(rc.w.ChaosStart)
			up.Result, up.Observed = Pass, took.Seconds()
			up.Reason = fmt.Sprintf("%s scaled %d→%d replicas %s after the chaos start (at least %d within %s)",
				e.Name, ev.FromReplicas, ev.ToReplicas, took, e.MinReplicas, e.Within)
		}
	}
	if up.Result != Pass {
		switch {
		case rc.at.Before(upBy):
			up.Reason = fmt.Sprintf("%s has not reached %d replicas yet (at most %d so far); it may until %s",
				e.Name, e.MinReplicas, reached, upBy.UTC().Format(time.RFC3339))
			up.DecidedBy = upBy
		case firstUp == nil:
			up.Result = Fail
			up.Reason = fmt.Sprintf("%s did not scale up within %s of the chaos start", e.Name, e.Within)
		default:
			up.Result = Fail
			up.Reason = fmt.Sprintf("%s reached only %d replicas within %s of the chaos start, fewer than %d",
				e.Name, reached, e.Within, e.MinReplicas)
		}
	}
	out[0] = up
	if e.BaselineWithin == 0 {
		return out, nil
	}

	// Back to the baseline.
	baseline := int32(-1)
	var incEnd time.Time // the end of the scaling incident the baseline came from
	if firstUp != nil {
		baseline = firstUp.FromReplicas
	} else {
		incs, err := rc.j.store.List(ctx, tracker.Filter{
			Service: rc.h.Service, Kinds: []chaos.Kind{chaos.HPAScaledUp},
			Since: rc.w.Start.Add(-rc.h.Baseline), Until: rc.w.ChaosEnd.Add(time.Nanosecond),
		})
		if err != nil {
			if err := storeFailed(ctx, &back, "incidents", err); err != nil {
				return nil, err
			}
			out[1] = back
			return out, nil
		}
		for _, inc := range incs {
			if inc.Object.Name == e.Name && (rc.h.Namespace == "" || inc.Object.Namespace == rc.h.Namespace) {
				baseline, incEnd = inc.Baseline, inc.End
			}
		}
	}
	if baseline < 0 {
		back.Reason = fmt.Sprintf("%s did not scale up: there is no baseline to return to", e.Name)
		if rc.at.Before(upBy) {
			// It may still scale up, and then return.
			back.Reason = fmt.Sprintf("%s has not scaled up yet: there is no baseline to return to so far", e.Name)
			back.DecidedBy = backBy
		}
		out[1] = back
		return out, nil
	}
	current, returned := int32(-1), time.Time{}
	if firstUp == nil && !incEnd.IsZero() && !incEnd.After(rc.at) {
		// Scaled up before the chaos; its incident says when it came back.
		current, returned = baseline, incEnd
	}
	for i := range events {
		ev := &events[i]
		t := ev.At.Best()
		if t.After(backBy) || t.After(rc.at) {
			break
		}
		current = ev.ToReplicas
		switch {
		case current <= baseline && returned.IsZero():
			returned = t
		case current > baseline:
			returned = time.Time{}
		}
	}
	switch {
	case !returned.IsZero() && rc.at.Before(backBy):
		// Back, but a scale-up before backBy would undo it: passing now
		// could turn into a failure judged later.
		took := max(returned.Sub(rc.w.ChaosEnd), 0)
		back.Reason = fmt.Sprintf("%s is back at %d replicas (baseline %d) %s after the chaos end; it must stay there until %s",
			e.Name, current, baseline, took, backBy.UTC().Format(time.RFC3339))
		back.DecidedBy = backBy
	case !returned.IsZero():
		took := max(returned.Sub(rc.w.ChaosEnd), 0)
		back.Result, back.Observed = Pass, took.Seconds()
		back.Reason = fmt.Sprintf("%s was back at %d replicas (baseline %d) %s after the chaos end (within %s)",
			e.Name, current, baseline, took, e.BaselineWithin)
	case rc.at.Before(backBy):
		back.Reason = fmt.Sprintf("%s is not back at its baseline of %d replicas yet; it may until %s",
			e.Name, baseline, backBy.UTC().Format(time.RFC3339))
		back.DecidedBy = backBy
	default:
		back.Result = Fail
		back.Reason = fmt.Sprintf("%s was not back at its baseline of %d replicas %s after the chaos end",
			e.Name, baseline, e.BaselineWithin)
		if current >= 0 {
			back.Reason += fmt.Sprintf(" (at %d)", current)
		}
	}
	out[1] = back
	return out, nil
}
