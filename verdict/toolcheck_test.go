package verdict

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/experiment"
)

// Every combination of one or two faults' results, of both tools, with
// every result steadywatch may come to: a fault the tool says was not
// applied never leaves a pass, nothing but that changes a result, and
// the note is there exactly when the tool's results say something else.
func TestToolCheckNeverPassesAFaultTheToolSaysWasNotApplied(t *testing.T) {
	results := map[experiment.Tool][]string{
		experiment.Litmus: {
			experiment.LitmusPass, experiment.LitmusFail, experiment.LitmusAwaited,
			experiment.LitmusStopped, experiment.LitmusError,
		},
		experiment.ChaosMesh: {"", experiment.Injected, experiment.Recovered, experiment.Failed},
	}
	// The oracle, written from the tools' documentation rather than from
	// notApplied.
	notApplied := map[string]bool{
		string(experiment.Litmus) + "/" + experiment.LitmusStopped: true,
		string(experiment.Litmus) + "/" + experiment.LitmusError:   true,
		string(experiment.ChaosMesh) + "/":                         true,
		string(experiment.ChaosMesh) + "/" + experiment.Failed:     true,
	}
	cases := 0
	for tool, rs := range results {
		var runs [][]string
		for _, a := range rs {
			runs = append(runs, []string{a})
			for _, b := range rs {
				runs = append(runs, []string{a, b})
			}
		}
		for _, run := range runs {
			for _, judged := range []Result{Pass, Fail, Inconclusive} {
				v := Verdict{Result: judged, Reason: "judged"}
				anyNotApplied, differs := false, false
				for i, r := range run {
					v.Experiments = append(v.Experiments, Experiment{Tool: tool, Kind: "K", Namespace: "ns", Name: "n", Fault: string(rune('a' + i)), Result: r})
					anyNotApplied = anyNotApplied || notApplied[string(tool)+"/"+r]
					differs = differs || tool == experiment.Litmus &&
						(r == experiment.LitmusPass && judged == Fail || r == experiment.LitmusFail && judged == Pass)
				}
				toolCheck(&v)
				cases++
				want := judged
				if anyNotApplied && judged == Pass {
					want = Inconclusive
				}
				require.Equal(t, want, v.Result, "%s %v judged %s", tool, run, judged)
				require.Equal(t, anyNotApplied || differs, v.ToolDisagrees != "", "%s %v judged %s: %q", tool, run, judged, v.ToolDisagrees)
				if want == judged {
					require.Equal(t, "judged", v.Reason, "the reason stands with the result")
				}
			}
		}
	}
	require.Equal(t, 3*(5+25+4+16), cases)
}

// A Litmus run that ended with its verdict still Awaited never gave one
// (its experiment pod died, or the engine was removed): no evidence the
// fault ran, so no pass. While it runs, Awaited is just not done yet.
func TestALitmusRunEndedStillAwaitedPassesNothing(t *testing.T) {
	start := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		end   time.Time
		judge Result
		want  Result
	}{
		{"ended, judged pass", start.Add(time.Minute), Pass, Inconclusive},
		{"ended, judged fail", start.Add(time.Minute), Fail, Fail},
		{"running, judged pass", time.Time{}, Pass, Pass},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Verdict{Result: c.judge, Reason: "judged", Experiments: []Experiment{{
				Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "ns", Name: "n", Fault: "pod-delete",
				Start: start, End: c.end, Result: experiment.LitmusAwaited,
			}}}
			toolCheck(&v)
			require.Equal(t, c.want, v.Result, v.Reason)
			require.Equal(t, !c.end.IsZero(), v.ToolDisagrees != "", v.ToolDisagrees)
		})
	}
}
