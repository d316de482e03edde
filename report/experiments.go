package report

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/verdict"
)

// Experiment is one hypothesis's verdicts over a range, from the store's
// history of verdicts (the verdicts that changed the one before: another
// result, the window closing, the verdict becoming final).
type Experiment struct {
	Hypothesis string `json:"hypothesis"`
	// Result is the verdict in force at the range's end: the last one in
	// the range, else the one in force at its start. At, Score (nil when
	// none of the metrics could be judged), Reason, Running and Final are
	// that verdict's; At may be before the range.
	Result  verdict.Result `json:"result"`
	At      time.Time      `json:"at"`
	Score   *float64       `json:"score"`
	Reason  string         `json:"reason"`
	Running bool           `json:"running"`
	Final   bool           `json:"final"`
	// DecidedBy, on a verdict judged after its window that is not final
	// yet, is when the last of its recovery expectations that may still be
	// met is decided (verdict.Verdict.DecidedBy); null otherwise.
	DecidedBy *time.Time `json:"decided_by"`
	// Counts are how many times in the range the result became pass, fail
	// or inconclusive: a verdict counts when its result differs from the
	// one before it (or none was before), not when only the window closed
	// or the verdict became final.
	Counts Counts `json:"counts"`
	// Verdicts counts the history's verdicts in the range, those counts
	// and the others.
	Verdicts int `json:"verdicts"`
	// Previous is the result in force at the end of the previous range
	// (which ends where this one starts); "" if there was none.
	Previous verdict.Result `json:"previous"`
	// Changed is set when Result is not Previous, a first verdict included.
	Changed bool `json:"changed"`
	// Runs are the faults of the chaos tool's run whose window the verdict
	// in force judged (hypothesis spec.window.experiment), as the tool
	// told them then; none for a window of the hypothesis's own.
	Runs []verdict.Experiment `json:"runs,omitempty"`
	// ToolDisagrees is that verdict's: where the chaos tool's own result
	// differs from steadywatch's.
	ToolDisagrees string `json:"tool_disagrees,omitempty"`
}

// RunsText names the runs in one line, "none" without any.
func (e *Experiment) RunsText() string {
	if len(e.Runs) == 0 {
		return "none"
	}
	s := make([]string, len(e.Runs))
	for i := range e.Runs {
		s[i] = e.Runs[i].String()
	}
	return strings.Join(s, "; ")
}

// toolPart is the part of a stored verdict's evidence the report shows.
type toolPart struct {
	Experiments   []verdict.Experiment  `json:"experiments"`
	ToolDisagrees string                `json:"tool_disagrees"`
	Recovery      []verdict.Expectation `json:"recovery"`
	SettledBy     time.Time             `json:"settled_by"`
}

// Counts count the changes to each result.
type Counts struct {
	Pass         int `json:"pass"`
	Fail         int `json:"fail"`
	Inconclusive int `json:"inconclusive"`
}

func (c *Counts) add(r verdict.Result) {
	switch r {
	case verdict.Pass:
		c.Pass++
	case verdict.Fail:
		c.Fail++
	case verdict.Inconclusive:
		c.Inconclusive++
	}
}

// experiments reads the hypotheses' verdicts in force at rg's start and
// streams those of rg: its memory grows with the hypotheses, not with
// their verdicts. The hypotheses listed are those with a verdict in force
// at some time in rg.
func experiments(ctx context.Context, src verdict.History, rg Range) ([]Experiment, error) {
	before, err := src.LatestVerdicts(ctx, rg.From)
	if err != nil {
		return nil, err
	}
	type agg struct {
		e    Experiment
		last *verdict.Transition
	}
	all := map[string]*agg{}
	for i := range before {
		t := &before[i]
		all[t.Hypothesis] = &agg{e: Experiment{Hypothesis: t.Hypothesis, Previous: t.Result}, last: t}
	}
	err = src.EachVerdict(ctx, rg.From, rg.To, func(t *verdict.Transition) error {
		a := all[t.Hypothesis]
		if a == nil {
			a = &agg{e: Experiment{Hypothesis: t.Hypothesis}}
			all[t.Hypothesis] = a
		}
		if a.last == nil || a.last.Result != t.Result {
			a.e.Counts.add(t.Result)
		}
		a.e.Verdicts++
		a.last = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Experiment, 0, len(all))
	for _, name := range slices.Sorted(maps.Keys(all)) {
		a := all[name]
		e, t := a.e, a.last
		e.Result, e.At, e.Score, e.Reason, e.Running, e.Final = t.Result, t.At, t.ScoreOrNil(), t.Reason, t.Running, t.Final
		e.Changed = e.Result != e.Previous
		if len(t.Verdict) > 0 {
			var tp toolPart
			if err := json.Unmarshal(t.Verdict, &tp); err != nil {
				return nil, fmt.Errorf("the stored verdict of %s at %s: %w", t.Hypothesis, t.At.UTC().Format(time.RFC3339), err)
			}
			e.Runs, e.ToolDisagrees = tp.Experiments, tp.ToolDisagrees
			if by := (&verdict.Verdict{Recovery: tp.Recovery, SettledBy: tp.SettledBy}).DecidedBy(); !by.IsZero() && !e.Final && !e.Running {
				by = by.UTC()
				e.DecidedBy = &by
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// hasVerdicts reports whether src holds any verdict.
func hasVerdicts(ctx context.Context, src verdict.History) (bool, error) {
	latest, err := src.LatestVerdicts(ctx, time.Time{})
	return len(latest) > 0, err
}

// experiments writes the Markdown section of the experiments.
func (m *md) experiments(r *Report) {
	m.f("\n## Experiments\n\n")
	t, changed := experimentsTable(r, m.time)
	if t == nil {
		m.f("No hypothesis has a verdict in this range.\n")
		return
	}
	m.table(t)
	for _, line := range disagreements(r) {
		m.f("\n%s\n", cell(line))
	}
	if len(changed) == 0 {
		m.f("\nNo verdict changed since %s.\n", r.Previous)
		return
	}
	for i := range changed {
		changed[i] = cell(changed[i])
	}
	m.f("\nChanged since %s: %s.\n", r.Previous, strings.Join(changed, ", "))
}

// experimentRows are the CSV rows of the experiments: figure
// experiment:HYPOTHESIS:FIELD, the service empty; samples are the
// hypothesis's verdicts in the range, or for the previous result 1 if a
// verdict was in force, else 0.
func experimentRows(r *Report, row func(period string, rg Range, figure, value string, samples int)) {
	for i := range r.Experiments {
		e := &r.Experiments[i]
		name := "experiment:" + e.Hypothesis + ":"
		score := ""
		if e.Score != nil {
			score = strconv.FormatFloat(*e.Score, 'f', -1, 64)
		}
		row("current", r.Range, name+"result", string(e.Result), e.Verdicts)
		row("current", r.Range, name+"score", score, e.Verdicts)
		row("current", r.Range, name+"became_pass", strconv.Itoa(e.Counts.Pass), e.Verdicts)
		row("current", r.Range, name+"became_fail", strconv.Itoa(e.Counts.Fail), e.Verdicts)
		row("current", r.Range, name+"became_inconclusive", strconv.Itoa(e.Counts.Inconclusive), e.Verdicts)
		row("current", r.Range, name+"final", strconv.FormatBool(e.Final), e.Verdicts)
		row("current", r.Range, name+"changed", strconv.FormatBool(e.Changed), e.Verdicts)
		if e.DecidedBy != nil {
			row("current", r.Range, name+"decided_by", e.DecidedBy.UTC().Format(time.RFC3339Nano), e.Verdicts)
		}
		if len(e.Runs) > 0 {
			row("current", r.Range, name+"chaos_run", e.RunsText(), e.Verdicts)
		}
		if e.ToolDisagrees != "" {
			row("current", r.Range, name+"tool_disagrees", e.ToolDisagrees, e.Verdicts)
		}
	}
	for i := range r.Experiments {
		e := &r.Experiments[i]
		n := 0
		if e.Previous != "" {
			n = 1
		}
		row("previous", r.Previous, "experiment:"+e.Hypothesis+":result", string(e.Previous), n)
	}
}

// disagreements are the sentences saying where a chaos tool's own result
// differs from the verdict in force, one per hypothesis.
func disagreements(r *Report) []string {
	var out []string
	for i := range r.Experiments {
		if d := r.Experiments[i].ToolDisagrees; d != "" {
			out = append(out, "The chaos tool disagrees with "+r.Experiments[i].Hypothesis+": "+strings.TrimSuffix(d, ".")+".")
		}
	}
	return out
}

// ExperimentSource is a Source that also keeps the chaos tools' runs
// (store.Store does): the report names the run each chaos SEV started in.
type ExperimentSource interface {
	Experiments(ctx context.Context, f experiment.Filter) ([]experiment.Experiment, error)
}

// nameRuns sets each chaos SEV's Run: the latest started run recorded in
// its namespace whose start and end (now while it runs), both included,
// hold the SEV's start.
func nameRuns(ctx context.Context, src ExperimentSource, r *Report, now time.Time) error {
	if !slices.ContainsFunc(r.SEVs, func(s SEV) bool { return s.namespace != "" }) {
		return nil
	}
	runs, err := src.Experiments(ctx, experiment.Filter{Since: r.Range.From, Until: r.Range.To.Add(time.Nanosecond)})
	if err != nil {
		return err
	}
	for i := range r.SEVs {
		s := &r.SEVs[i]
		if s.Kind != KindChaos || s.namespace == "" {
			continue
		}
		var in *experiment.Experiment
		for j := range runs {
			e := &runs[j]
			end := e.End
			if e.Running() {
				end = now
			}
			if e.Namespace != s.namespace || s.Start.Before(e.Start) || s.Start.After(end) {
				continue
			}
			if in == nil || e.Start.After(in.Start) {
				in = e
			}
		}
		if in != nil {
			s.Run = fmt.Sprintf("%s %s %s/%s %s", in.Tool, in.Kind, in.Namespace, in.Name, in.Fault)
		}
	}
	return nil
}
