package experiment

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Litmus's verdicts (ChaosResult status.experimentStatus.verdict).
const (
	LitmusPass    = "Pass"
	LitmusFail    = "Fail"
	LitmusAwaited = "Awaited"
	LitmusStopped = "Stopped"
	LitmusError   = "Error"
)

// ended lists the status values with which chaos-runner or chaos-operator
// close an engine's experiment (chaos-operator's ExperimentStatus
// constants); Running and "Waiting for Job Creation" are not among them.
var ended = map[string]bool{
	"Completed":                 true,
	"Forcefully Aborted":        true,
	"ChaosExperiment Not Found": true,
	"Skipped":                   true,
}

// FromLitmus returns an Experiment for each experiment a ChaosEngine has
// begun (each entry of its status.experiments, which chaos-runner adds
// when it starts one), joined with its ChaosResult from results: the one
// whose spec names the engine and the experiment, or else the one named
// <engine>-<experiment> as the experiment pod names it.
//
// Start is the ChaosResult's creation, which the experiment pod creates
// at its start of test; but a ChaosResult outlives its engine and the pod
// of a later engine of the same name patches it rather than creating a new
// one, so a ChaosResult created before the engine says nothing of this run,
// and Start is then the engine's creation, as it is before the pod has
// written any ChaosResult. Start is thus the truth or a few seconds early,
// never late.
//
// End is the lastUpdateTime of the engine's experiment once chaos-runner
// has closed it (status Completed, Forcefully Aborted…) or the engine is
// completed or stopped: the ChaosResult carries no time of its own, and
// the pod completes it before the runner records the end, so End is zero
// until the runner has.
//
// Result is the ChaosResult's verdict (the engine's while there is none); an
// experiment aborted with its verdict still Awaited is Stopped.
func FromLitmus(engine *unstructured.Unstructured, results []*unstructured.Unstructured) ([]Experiment, error) {
	fail := func(obj *unstructured.Unstructured, err error) error {
		return fmt.Errorf("litmus %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	e := root(engine.Object)
	target, err := litmusTarget(e)
	if err != nil {
		return nil, fail(engine, err)
	}
	engineStatus, err := e.str("status", "engineStatus")
	if err != nil {
		return nil, fail(engine, err)
	}
	entries, err := e.list("status", "experiments")
	if err != nil {
		return nil, fail(engine, err)
	}
	created := engine.GetCreationTimestamp().UTC()
	var out []Experiment
	for _, entry := range entries {
		x := Experiment{
			Tool: Litmus, Kind: engine.GetKind(), Namespace: engine.GetNamespace(), Name: engine.GetName(),
			UID: string(engine.GetUID()), Target: target, Start: created, Labels: engine.GetLabels(),
		}
		var status, verdict string
		var updated time.Time
		if x.Fault, err = entry.str("name"); err == nil && x.Fault == "" {
			err = &fieldError{entry.join("name"), "missing"}
		}
		if err == nil {
			status, err = entry.str("status")
		}
		if err == nil {
			verdict, err = entry.str("verdict")
		}
		if err == nil {
			updated, err = entry.time("lastUpdateTime")
		}
		if err != nil {
			return nil, fail(engine, err)
		}
		over := ended[status] || engineStatus == "completed" || engineStatus == "stopped"
		if over {
			if updated.IsZero() {
				return nil, fail(engine, &fieldError{entry.join("lastUpdateTime"), "missing for a " + status + " experiment"})
			}
			x.End = updated
		}

		var detail []string
		res := litmusResult(engine, x.Fault, results)
		if res == nil {
			x.Result = verdict
			detail = append(detail, "no ChaosResult yet")
		} else {
			r := root(res.Object)
			if rc := res.GetCreationTimestamp().UTC(); !rc.Before(created) {
				x.Start = rc
			}
			var phase, score, step, code string
			x.Result, err = r.str("status", "experimentStatus", "verdict")
			if err == nil {
				phase, err = r.str("status", "experimentStatus", "phase")
			}
			if err == nil {
				score, err = r.text("status", "experimentStatus", "probeSuccessPercentage")
			}
			if err == nil {
				step, err = r.str("status", "experimentStatus", "failureOutput", "failedStep")
			}
			if err == nil {
				code, err = r.str("status", "experimentStatus", "failureOutput", "errorCode")
			}
			if err == nil && step == "" {
				step, err = r.str("status", "experimentStatus", "failStep")
			}
			if err != nil {
				return nil, fail(res, err)
			}
			if phase != "" {
				detail = append(detail, "phase "+phase)
			}
			if score != "" {
				if score != LitmusAwaited && !strings.HasSuffix(score, "%") {
					score += "%"
				}
				detail = append(detail, "probe success "+score)
			}
			if step != "" {
				if code != "" {
					step += " (" + code + ")"
				}
				detail = append(detail, "failed step: "+step)
			}
		}
		if x.Result == "" {
			x.Result = LitmusAwaited
		}
		if over && x.Result == LitmusAwaited {
			x.Result = verdict
			if x.Result == "" || x.Result == LitmusAwaited {
				x.Result = LitmusStopped
			}
		}
		if status != "" && status != "Running" && status != "Completed" {
			detail = append(detail, status)
		}
		if engineStatus != "" {
			detail = append(detail, "engine "+engineStatus)
		}
		x.Detail = strings.Join(detail, "; ")
		out = append(out, x)
	}
	return out, nil
}

// litmusResult finds the engine's ChaosResult of one experiment.
func litmusResult(engine *unstructured.Unstructured, fault string, results []*unstructured.Unstructured) *unstructured.Unstructured {
	var byName *unstructured.Unstructured
	for _, r := range results {
		if r.GetNamespace() != engine.GetNamespace() {
			continue
		}
		spec := root(r.Object)
		eng, err1 := spec.str("spec", "engine")
		exp, err2 := spec.str("spec", "experiment")
		if err1 == nil && err2 == nil && eng == engine.GetName() && exp == fault {
			return r
		}
		if eng == "" && r.GetName() == engine.GetName()+"-"+fault {
			byName = r
		}
	}
	return byName
}

// litmusTarget reads the engine's application: spec.appinfo, and the
// spec.selectors of chaos-operator 3.
func litmusTarget(e node) (string, error) {
	var w words
	for _, k := range []string{"appns", "applabel", "appkind"} {
		v, err := e.str("spec", "appinfo", k)
		if err != nil {
			return "", err
		}
		w.add(k, v)
	}
	workloads, err := e.list("spec", "selectors", "workloads")
	if err != nil {
		return "", err
	}
	for _, wl := range workloads {
		var parts []string
		for _, k := range []string{"kind", "namespace", "names", "labels"} {
			v, err := wl.str(k)
			if err != nil {
				return "", err
			}
			if v != "" {
				parts = append(parts, k+":"+v)
			}
		}
		w.add("workload", strings.Join(parts, ","))
	}
	pods, err := e.list("spec", "selectors", "pods")
	if err != nil {
		return "", err
	}
	for _, p := range pods {
		ns, err := p.str("namespace")
		if err != nil {
			return "", err
		}
		names, err := p.str("names")
		if err != nil {
			return "", err
		}
		w.add("pods", ns+"/"+names)
	}
	return w.String(), nil
}
