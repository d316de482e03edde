package verdict

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// ExperimentSource reads the runs of the chaos tools' experiments that
// steadywatch recorded; store.Store implements it.
type ExperimentSource interface {
	Experiments(ctx context.Context, f experiment.Filter) ([]experiment.Experiment, error)
}

// Experiment is one fault of the chaos tool's run a verdict's window was
// taken from (hypothesis spec.window.experiment), as the tool's objects
// told it when it was judged.
type Experiment struct {
	Tool experiment.Tool `json:"tool"`
	// Kind is the tool's object kind: ChaosEngine, PodChaos…
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Fault is the Litmus experiment of the engine or the Chaos Mesh
	// action.
	Fault string    `json:"fault"`
	Start time.Time `json:"start"`
	// End is left out while the fault runs.
	End time.Time `json:"end,omitzero"`
	// Result is the tool's own: Litmus's Pass, Fail, Awaited, Stopped or
	// Error; Chaos Mesh's injected, recovered or failed, or empty before
	// it injected anything.
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
}

func experimentOf(e *experiment.Experiment) Experiment {
	return Experiment{
		Tool: e.Tool, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, UID: e.UID, Fault: e.Fault,
		Start: e.Start, End: e.End, Result: e.Result, Detail: e.Detail,
	}
}

// String names the fault and what the tool says of it: "litmus
// ChaosEngine shop/kill-web pod-delete: Pass (phase Completed)".
func (e *Experiment) String() string {
	s := fmt.Sprintf("%s %s %s/%s %s: ", e.Tool, e.Kind, e.Namespace, e.Name, e.Fault)
	if e.Result == "" {
		s += "no result"
	} else {
		s += e.Result
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// notApplied reports whether the tool says its fault was not applied, or
// not as it should have been: Litmus's Error (the experiment failed
// before or while injecting), Stopped (aborted, or ended without a
// verdict) and Awaited on a run that ended; Chaos Mesh's failed (an apply or recover of a target failed)
// and no result (nothing injected yet, ended or not). Judging the window
// of a fault that did not happen would pass a hypothesis on a steady state
// no chaos disturbed.
func (e *Experiment) notApplied() bool {
	switch e.Tool {
	case experiment.Litmus:
		// Awaited once the run ended: it never gave a verdict (its
		// experiment pod died, the engine was removed).
		return e.Result == experiment.LitmusError || e.Result == experiment.LitmusStopped ||
			e.Result == experiment.LitmusAwaited && !e.End.IsZero()
	case experiment.ChaosMesh:
		return e.Result == experiment.Failed || e.Result == ""
	}
	return false
}

// experimentWindow resolves h's experiment window at at: the latest run of
// the experiment, read through the judge's ExperimentSource. why, if set,
// is why it cannot be, in words that say what to check.
func (j *Judge) experimentWindow(ctx context.Context, h *hypothesis.Hypothesis, at time.Time) (
	s hypothesis.Span, run []experiment.Experiment, running bool, why string, err error,
) {
	ew := h.Window.Experiment
	if j.experiments == nil {
		return s, nil, false, fmt.Sprintf("no store: the window is the latest run of %s, and there is no store of the experiments steadywatch recorded: "+
			"give steadywatch verdict --store or --data-dir (serve judges with its own)", ew), nil
	}
	exps, err := j.experiments.Experiments(ctx, experiment.Filter{
		Tool: ew.Tool, Namespace: ew.Namespace, Name: ew.Name, Selector: ew.Selector, Since: at.Add(-ew.Lookback), Until: at.Add(time.Nanosecond),
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return s, nil, false, "", ctxErr
		}
		return s, nil, false, fmt.Sprintf("reading the runs of %s: %v", ew, err), nil
	}
	run, ok := ew.Run(at, exps)
	if !ok {
		check := "are the tool, name and namespace those of the experiment?"
		if ew.Selector != nil {
			check = fmt.Sprintf("does kubectl get %s -n %s -l '%s' list the experiment's object?", toolResources(ew.Tool), ew.Namespace, ew.Selector)
		}
		return s, nil, false, fmt.Sprintf("no run of %s started in the %s before %s: is serve watching namespace %s (watch.namespaces), "+
			"are %s's CRDs installed, and %s",
			ew, hypothesis.FormatDuration(ew.Lookback), at.UTC().Format(time.RFC3339), ew.Namespace, ew.Tool, check), nil
	}
	s, running = ew.Span(at, run)
	return s, run, running, "", nil
}

// toolResources names the tool's experiment kinds as kubectl get takes
// them: chaosengine, or podchaos,networkchaos….
func toolResources(t experiment.Tool) string {
	if t == experiment.Litmus {
		return "chaosengine"
	}
	return strings.ToLower(strings.Join(experiment.ChaosMeshKinds, ","))
}

// toolCheck sets what the chaos tool's own results say against v's
// result: v.ToolDisagrees when they differ, and a pass made inconclusive
// when the tool says its fault was not applied — a window without the
// chaos proves nothing. A failure stays a failure, with the note.
func toolCheck(v *Verdict) {
	var notApplied, disagree []string
	for i := range v.Experiments {
		e := &v.Experiments[i]
		switch {
		case e.notApplied():
			notApplied = append(notApplied, e.String())
		case e.Tool == experiment.Litmus && e.Result == experiment.LitmusPass && v.Result == Fail,
			e.Tool == experiment.Litmus && e.Result == experiment.LitmusFail && v.Result == Pass:
			disagree = append(disagree, e.String())
		}
	}
	var notes []string
	if len(notApplied) > 0 {
		notes = append(notes, "the chaos tool says its fault was not applied as it should have been: "+strings.Join(notApplied, "; "))
	}
	if len(disagree) > 0 {
		notes = append(notes, fmt.Sprintf("the chaos tool's verdict differs from steadywatch's %s: %s", v.Result, strings.Join(disagree, "; ")))
	}
	v.ToolDisagrees = strings.Join(notes, "; and ")
	if len(notApplied) > 0 && v.Result == Pass {
		v.Result = Inconclusive
		v.Reason = fmt.Sprintf("the steady state held (%s), but %s: without the fault the window shows nothing of it", v.Reason, notes[0])
	}
}
