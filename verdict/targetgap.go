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

// podLabels, namespaceLabels and nodeLabels are where a scrape target's up
// series usually carries its pod's name, namespace and node (relabelled
// from __meta_kubernetes_pod_name, __meta_kubernetes_namespace and
// __meta_kubernetes_pod_node_name).
var (
	podLabels       = []string{"pod", "kubernetes_pod_name", "pod_name"}
	namespaceLabels = []string{"namespace", "kubernetes_namespace"}
	nodeLabels      = []string{"node", "kubernetes_node", "node_name"}
)

// scrapeTarget is a target as its up series names it.
type scrapeTarget struct{ name, job, instance, pod, namespace, node string }

// key is what Prometheus tells a target by: its job and instance.
func (t scrapeTarget) key() string { return t.job + "\x00" + t.instance }

// downTargetGaps finds the stretches of [start, end] in which a scrape
// target that fed a family the group's query reads failed its scrapes,
// while the query answered: an aggregate over the family's series (avg,
// max, sum by pod) answers from the targets left, and the family has raw
// samples from them, so neither the answer nor rawGaps shows that one
// target went missing — a pod starved by a resource-exhaustion fault that
// no longer answers its scrapes drops out of its group's average, and the
// average of the pods still answering passes. Prometheus's own up series
// says which targets failed, and the family's samples in the window and
// the lookback before it which of them fed it (see
// hypothesis.RawSeries.Targets and FailedScrapes: the first asked once at
// the window's end, so that a long window costs one pass over its
// samples, not one a step); their failed stretches are held to the
// allowance the answer's samples are.
//
// A target whose pod the watch saw deleted, or whose node it saw go
// NotReady (within deletionSlack before the stretch, or in it), is
// explained: a killed pod, or the pods of a failed host, stop answering,
// and that is the fault, not a hole in what shows it. That needs the pod's
// name (or its node's) on the up series; without them, and without a
// store, no stretch is explained, and the reason says how to add the
// labels. A gap already found
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
	failed := map[string]Answer{} // by query: the same for every family at one offset
	for _, r := range m.RawSeries(g, within) {
		fed, err := j.source.Samples(ctx, RangeQuery{Expr: r.Targets(span), Start: end, End: end, Step: h.Step})
		var a Answer
		if err == nil {
			q := r.FailedScrapes(within)
			var ok bool
			if a, ok = failed[q]; !ok {
				if a, err = j.source.Samples(ctx, RangeQuery{Expr: q, Start: start, End: end, Step: h.Step}); err == nil {
					failed[q] = a
				}
			}
		}
		warnings = addWarnings(warnings, fed.Warnings, a.Warnings)
		if err != nil {
			gap, err := unchecked(ctx, g, start, end, r.Selector,
				fmt.Sprintf("the scrape targets of %s (read by metric %s's query) answered their scrapes", r.Selector, m.Name), err)
			if err != nil {
				return nil, nil, err
			}
			gaps = append(gaps, gap)
			continue
		}
		fedBy := map[string]bool{}
		for _, ss := range fed.Series {
			fedBy[describeTarget(ss.Labels).key()] = true
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
			target := describeTarget(ss.Labels)
			if !fedBy[target.key()] {
				continue // a target of another family, or group
			}
			subject := fmt.Sprintf("scrape target %s failed its scrapes (up == 0)", target.name)
			then := fmt.Sprintf("; the query answered from the other targets of %s (read by metric %s's query), so an aggregate over them left this one out", r.Selector, m.Name)
			var found []SampleGap
			if len(present) == 0 && len(down) > 0 {
				found = []SampleGap{{Group: g, From: start, To: end, Series: target.name, Reason: fmt.Sprintf(
					"%s in the %s group all through %s%s", subject, g, interval(start, end), then)}}
			} else {
				found = j.gapsOf(h, g, present, start, end, running, subject, then, target.name)
			}
			for _, gap := range found {
				if slices.ContainsFunc(known, func(k SampleGap) bool { return overlap(k, gap) }) ||
					slices.ContainsFunc(gaps, func(k SampleGap) bool { return k.Series == gap.Series && overlap(k, gap) }) {
					continue
				}
				why, err := d.explain(ctx, target, gap.From.Add(-within-deletionSlack), gap.To)
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
// its pod, namespace and node where they carry them.
func describeTarget(series string) scrapeTarget {
	ls, err := parser.NewParser(parser.Options{}).ParseMetric(series)
	if err != nil {
		return scrapeTarget{name: series}
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
	return scrapeTarget{
		name: ls.String(), job: ls.Get("job"), instance: ls.Get("instance"),
		pod: first(podLabels), namespace: first(namespaceLabels), node: first(nodeLabels),
	}
}

// deletions are the pod deletions and node failures the watch recorded
// for the hypothesis's service, read once.
type deletions struct {
	j            *Judge
	h            *hypothesis.Hypothesis
	since, until time.Time
	read         bool
	events       []chaos.Event
}

// explain returns "" if the watch saw the target's pod (in its namespace,
// if known) deleted, or its node go NotReady, in [from, to], or else why
// not, to end a gap's reason with; err is only ctx's or the store's.
func (d *deletions) explain(ctx context.Context, t scrapeTarget, from, to time.Time) (string, error) {
	switch {
	case t.pod == "" && t.node == "":
		return " (its up series has no pod or node label, so steadywatch cannot tell a deleted pod's target, or one on a failed node, from a hung one: relabel __meta_kubernetes_pod_name to pod, and __meta_kubernetes_pod_node_name to node, in the scrape config)", nil
	case d.j.store == nil:
		return fmt.Sprintf(" (%s; without a store, steadywatch cannot tell whether it was deleted or its node failed)", t.what()), nil
	}
	if !d.read {
		evs, err := d.j.store.Events(ctx, tracker.Filter{Service: d.h.Service, Since: d.since, Until: d.until.Add(time.Nanosecond)})
		if err != nil {
			return "", fmt.Errorf("verdict: reading the pod deletions of service %s: %w", d.h.Service, err)
		}
		d.events, d.read = evs, true
	}
	for _, e := range d.events {
		if at := e.At.Best(); at.Before(from) || at.After(to) {
			continue
		}
		switch {
		case e.Kind == chaos.PodDeleted && t.pod != "" && e.Object.Name == t.pod && (t.namespace == "" || e.Object.Namespace == t.namespace),
			e.Kind == chaos.NodeNotReady && t.node != "" && e.Node == t.node:
			return "", nil
		}
	}
	switch {
	case t.pod == "":
		return fmt.Sprintf(" (node %s was not seen NotReady then: a hung or starved pod, or a broken scrape)", t.node), nil
	case t.node == "":
		return fmt.Sprintf(" (pod %s was not seen deleted then: a hung or starved pod, or a broken scrape)", t.pod), nil
	}
	return fmt.Sprintf(" (neither was pod %s seen deleted then nor its node %s NotReady: a hung or starved pod, or a broken scrape)", t.pod, t.node), nil
}

// what names the target's pod, or its node's.
func (t scrapeTarget) what() string {
	switch {
	case t.pod != "" && t.node != "":
		return fmt.Sprintf("pod %s (on node %s)", t.pod, t.node)
	case t.pod != "":
		return "pod " + t.pod
	}
	return "the pod on node " + t.node
}
