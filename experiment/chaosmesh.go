package experiment

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ChaosMeshKinds are the Chaos Mesh kinds read as experiments.
var ChaosMeshKinds = []string{"PodChaos", "NetworkChaos", "StressChaos", "IOChaos", "TimeChaos"}

// FromChaosMesh reads a Chaos Mesh experiment (PodChaos, NetworkChaos,
// StressChaos, IOChaos, TimeChaos) from its status, which Chaos Mesh's
// controllers write per target in status.experiment.containerRecords, each
// with a list of Apply and Recover events, Succeeded or Failed.
//
// Start is the first successful Apply of any target (the first Apply
// attempt if none succeeded), zero before any: the experiment has not
// started. The controller keeps only the latest events of a record
// (maxEvents, 10 by default), so the start of a fault re-applied many
// times may be a later apply than the first.
//
// End is the last successful Recover once the condition AllRecovered holds
// with desiredPhase Stop and not Paused: AllRecovered alone holds as soon as
// the targets are selected, before any injection, and a pause recovers
// the targets until it is lifted.
//
// Result is Failed when the latest event of a target is a failure (the
// controller retries, so an earlier failure that a retry overcame is
// none), Recovered once ended, Injected once applied, and empty before.
func FromChaosMesh(obj *unstructured.Unstructured) (Experiment, error) {
	fail := func(err error) error {
		return fmt.Errorf("chaos-mesh %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	x := Experiment{
		Tool: ChaosMesh, Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: string(obj.GetUID()),
		Labels: obj.GetLabels(),
	}
	o := root(obj.Object)
	var err error
	if x.Fault, err = chaosMeshFault(o, x.Kind); err != nil {
		return Experiment{}, fail(err)
	}
	if x.Target, err = chaosMeshTarget(o); err != nil {
		return Experiment{}, fail(err)
	}
	conditions := map[string]string{}
	items, err := o.list("status", "conditions")
	if err != nil {
		return Experiment{}, fail(err)
	}
	for _, c := range items {
		typ, err := c.str("type")
		if err != nil {
			return Experiment{}, fail(err)
		}
		status, err := c.str("status")
		if err != nil {
			return Experiment{}, fail(err)
		}
		conditions[typ] = status
	}
	desired, err := o.str("status", "experiment", "desiredPhase")
	if err != nil {
		return Experiment{}, fail(err)
	}
	records, err := o.list("status", "experiment", "containerRecords")
	if err != nil {
		return Experiment{}, fail(err)
	}

	var firstApply, firstAttempt, lastRecover time.Time
	var failures []string
	for _, r := range records {
		id, err := r.str("id")
		if err != nil {
			return Experiment{}, fail(err)
		}
		events, err := r.list("events")
		if err != nil {
			return Experiment{}, fail(err)
		}
		for i, ev := range events {
			typ, err := ev.str("type")
			if err != nil {
				return Experiment{}, fail(err)
			}
			op, err := ev.str("operation")
			if err != nil {
				return Experiment{}, fail(err)
			}
			at, err := ev.time("timestamp")
			if err != nil {
				return Experiment{}, fail(err)
			}
			if at.IsZero() {
				return Experiment{}, fail(&fieldError{ev.join("timestamp"), "missing"})
			}
			if op == "Apply" && (firstAttempt.IsZero() || at.Before(firstAttempt)) {
				firstAttempt = at
			}
			if op == "Apply" && typ == "Succeeded" && (firstApply.IsZero() || at.Before(firstApply)) {
				firstApply = at
			}
			if op == "Recover" && typ == "Succeeded" && at.After(lastRecover) {
				lastRecover = at
			}
			if typ == "Failed" && i == len(events)-1 {
				msg, err := ev.str("message")
				if err != nil {
					return Experiment{}, fail(err)
				}
				failures = append(failures, fmt.Sprintf("%s failed on %s: %s", op, id, msg))
			}
		}
	}

	var detail []string
	switch len(records) {
	case 0:
		detail = append(detail, "no target selected yet")
	case 1:
		detail = append(detail, "1 target")
	default:
		detail = append(detail, strconv.Itoa(len(records))+" targets")
	}
	x.Start = firstApply
	if x.Start.IsZero() {
		x.Start = firstAttempt
	}
	paused := conditions["Paused"] == "True"
	switch {
	case len(failures) > 0:
		x.Result = Failed
		detail = append(detail, failures...)
	case firstApply.IsZero():
		if len(records) > 0 {
			detail = append(detail, "not injected yet")
		}
	case conditions["AllRecovered"] == "True" && desired != "Run" && !paused && !lastRecover.IsZero():
		if lastRecover.Before(x.Start) {
			return Experiment{}, fail(&fieldError{"status.experiment.containerRecords", fmt.Sprintf(
				"all recovered, last at %s, before the first apply at %s", lastRecover.Format(time.RFC3339), x.Start.Format(time.RFC3339))})
		}
		x.Result, x.End = Recovered, lastRecover
	default:
		x.Result = Injected
	}
	if paused {
		detail = append(detail, "paused")
	}
	x.Detail = strings.Join(detail, "; ")
	return x, nil
}

// chaosMeshFault names what the experiment does: its action, or for the
// kinds without one their stressors or time offset.
func chaosMeshFault(o node, kind string) (string, error) {
	switch kind {
	case "PodChaos", "NetworkChaos", "IOChaos":
		return o.str("spec", "action")
	case "StressChaos":
		stressors, _, err := o.object("spec", "stressors")
		if err != nil {
			return "", err
		}
		return "stress:" + strings.Join(stressors, ","), nil
	case "TimeChaos":
		return "time-offset", nil
	}
	return "", fmt.Errorf("not an experiment kind (%s)", strings.Join(ChaosMeshKinds, ", "))
}

// chaosMeshTarget reads spec.mode (and value) and spec.selector, in the
// order of Chaos Mesh's SelectorSpec, and the containers of container
// kinds.
func chaosMeshTarget(o node) (string, error) {
	var w words
	for _, k := range []string{"mode", "value"} {
		v, err := o.str("spec", k)
		if err != nil {
			return "", err
		}
		w.add(k, v)
	}
	for _, f := range []struct{ key, name string }{{"namespaces", "namespaces"}, {"nodes", "nodes"}} {
		l, err := o.strings("spec", "selector", f.key)
		if err != nil {
			return "", err
		}
		w.add(f.name, strings.Join(l, ","))
	}
	namespaces, pods, err := o.object("spec", "selector", "pods")
	if err != nil {
		return "", err
	}
	var names []string
	for _, ns := range namespaces {
		l, err := pods[ns].strings()
		if err != nil {
			return "", err
		}
		for _, p := range l {
			names = append(names, ns+"/"+p)
		}
	}
	w.add("pods", strings.Join(names, ","))
	for _, f := range []struct{ key, name string }{
		{"labelSelectors", "labels"},
		{"annotationSelectors", "annotations"},
		{"fieldSelectors", "fields"},
		{"nodeSelectors", "nodeLabels"},
	} {
		v, err := o.pairs("spec", "selector", f.key)
		if err != nil {
			return "", err
		}
		w.add(f.name, v)
	}
	phases, err := o.strings("spec", "selector", "podPhaseSelectors")
	if err != nil {
		return "", err
	}
	w.add("phases", strings.Join(phases, ","))
	containers, err := o.strings("spec", "containerNames")
	if err != nil {
		return "", err
	}
	w.add("containers", strings.Join(containers, ","))
	return w.String(), nil
}
