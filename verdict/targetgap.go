package verdict

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/tracker"
)

// deletionSlack is how long before a target's failed scrapes the deletion
// of its pod may be and still explain them: a deleted pod's server may go
// on answering through its termination grace period (30 s by default)
// before it stops.
const deletionSlack = 30 * time.Second

// podLabels and namespaceLabels are where a scrape target's up series
// usually carries its pod's name and namespace (relabelled from
// __meta_kubernetes_pod_name and __meta_kubernetes_namespace).
var (
	podLabels       = []string{"pod", "kubernetes_pod_name", "pod_name"}
	namespaceLabels = []string{"namespace", "kubernetes_namespace"}
)

// downTargetGaps finds the stretches of [start, end] in which a scrape
// target that fed a family the group's query reads failed its scrapes,
// while the query answered: an aggregate over the family's series (avg,
// max, sum by pod) answers from the targets left, and the family has raw
// samples from them, so neither the answer nor rawGaps shows that one
// target went missing — a pod starved by a resource-exhaustion fault that
// no longer answers its scrapes drops out of its group's average, and the
// average of the pods still answering passes. Prometheus's own up series
// says which targets failed (see hypothesis.RawSeries.DownTargets); those
// stretches are held to the allowance the answer's samples are.
//
// A target whose pod the watch saw deleted (within deletionSlack before
// the stretch, or in it) is explained: a killed pod stops answering, and
// that is the fault, not a hole in what shows it. That needs the pod's
// name on the up series; without it, and without a store, no stretch is
// explained, and the reason says how to add the label. A gap already found
// for the same time (the answer's or the family's) is not said again; a
// check that fails is a gap over the whole window.
func (j *Judge) downTargetGaps(ctx context.Context, h *hypothesis.Hypothesis, m *hypothesis.Metric, g chaos.Group,
	answered []time.Time, known []SampleGap, start, end time.Time, running bool,
) (gaps []SampleGap, warnings []string, err error) {
	if len(answered) == 0 || h.Step <= 0 {
		return nil, nil, nil
	}
	within := max(h.Step, j.scrape)
	span := end.Sub(start) + answerLookback(h, m)
	var grid []time.Time
	for t := start; !t.After(end); t = t.Add(h.Step) {
		grid = append(grid, t)
	}
	d := deletions{j: j, h: h, since: start.Add(-span), until: end}
	for _, r := range m.RawSeries(g, within) {
		a, err := j.source.Samples(ctx, RangeQuery{Expr: r.DownTargets(within, span), Start: start, End: end, Step: h.Step})
		for _, w := range a.Warnings {
			if !slices.Contains(warnings, w) {
				warnings = append(warnings, w)
			}
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, nil, ctxErr
			}
			gaps = append(gaps, SampleGap{Group: g, From: start, To: end, Series: r.Selector, Reason: fmt.Sprintf(
				"could not check that the scrape targets of %s (read by metric %s's query) answered their scrapes in the %s group, %s: %v",
				r.Selector, m.Name, g, interval(start, end), err)})
			continue
		}
		for _, ss := range a.Series {
			down := map[int64]bool{}
			for _, p := range ss.Points {
				down[p.T.UnixMilli()] = true
			}
			present := make([]time.Time, 0, len(grid))
			for _, t := range grid {
				if !down[t.UnixMilli()] {
					present = append(present, t)
				}
			}
			target, pod, ns := describeTarget(ss.Labels)
			subject := fmt.Sprintf("scrape target %s failed its scrapes (up == 0)", target)
			then := fmt.Sprintf("; the query answered from the other targets of %s (read by metric %s's query), so an aggregate over them left this one out", r.Selector, m.Name)
			var found []SampleGap
			if len(present) == 0 && len(down) > 0 {
				found = []SampleGap{{Group: g, From: start, To: end, Series: target, Reason: fmt.Sprintf(
					"%s in the %s group all through %s%s", subject, g, interval(start, end), then)}}
			} else {
				found = j.gapsOf(h, g, present, start, end, running, subject, then, target)
			}
			for _, gap := range found {
				if slices.ContainsFunc(known, func(k SampleGap) bool { return overlap(k, gap) }) ||
					slices.ContainsFunc(gaps, func(k SampleGap) bool { return k.Series == gap.Series && overlap(k, gap) }) {
					continue
				}
				why, err := d.explain(ctx, pod, ns, gap.From.Add(-within-deletionSlack), gap.To)
				if err != nil {
					return nil, nil, err
				}
				if why == "" {
					continue
				}
				gap.Reason += why
				gaps = append(gaps, gap)
			}
		}
	}
	return gaps, warnings, nil
}

// describeTarget names a scrape target from its up series' labels, with
// its pod and namespace where they carry them.
func describeTarget(series string) (name, pod, ns string) {
	ls, err := parser.NewParser(parser.Options{}).ParseMetric(series)
	if err != nil {
		return series, "", ""
	}
	ls = ls.DropReserved(func(name string) bool { return name == model.MetricNameLabel })
	first := func(names []string) string {
		for _, n := range names {
			if v := ls.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	return ls.String(), first(podLabels), first(namespaceLabels)
}

// deletions are the pod deletions the watch recorded for the
// hypothesis's service, read once.
type deletions struct {
	j            *Judge
	h            *hypothesis.Hypothesis
	since, until time.Time
	read         bool
	events       []chaos.Event
}

// explain returns "" if the watch saw pod (in ns, if known) deleted in
// [from, to], or else why not, to end a gap's reason with; err is only
// ctx's or the store's.
func (d *deletions) explain(ctx context.Context, pod, ns string, from, to time.Time) (string, error) {
	switch {
	case pod == "":
		return fmt.Sprintf(" (its up series has no pod label, so steadywatch cannot tell a deleted pod's target from a hung one: relabel %s to pod in the scrape config)",
			"__meta_kubernetes_pod_name"), nil
	case d.j.store == nil:
		return fmt.Sprintf(" (pod %s; without a store, steadywatch cannot tell whether it was deleted)", pod), nil
	}
	if !d.read {
		evs, err := d.j.store.Events(ctx, tracker.Filter{Service: d.h.Service, Since: d.since, Until: d.until.Add(time.Nanosecond)})
		if err != nil {
			return "", fmt.Errorf("verdict: reading the pod deletions of service %s: %w", d.h.Service, err)
		}
		d.events, d.read = evs, true
	}
	for _, e := range d.events {
		at := e.At.Best()
		if e.Kind == chaos.PodDeleted && e.Object.Name == pod && (ns == "" || e.Object.Namespace == ns) &&
			!at.Before(from) && !at.After(to) {
			return "", nil
		}
	}
	return fmt.Sprintf(" (no deletion of pod %s was seen then: a hung or starved pod, or a broken scrape)", pod), nil
}
