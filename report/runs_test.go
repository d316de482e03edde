package report_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/report"
)

// Each chaos SEV names the chaos tool's run it started in: a run recorded
// in the SEV's namespace whose start and end (both included; now while it
// runs) hold the SEV's start.
func TestEachChaosSEVNamesTheChaosToolRunItStartedIn(t *testing.T) {
	w12 := report.ISOWeek(2026, 12, berlin)
	start := time.Date(2026, 3, 17, 9, 0, 0, 0, berlin)
	end := start.Add(5 * time.Minute)
	inc := func(id, ns string, at time.Time) chaos.Incident {
		return chaos.Incident{
			ID: id, Kind: chaos.PodDeleted, Subject: chaos.Subject{Namespace: ns, Service: "web", Group: chaos.Experimental},
			Object: chaos.Ref{Kind: "Deployment", Namespace: ns, Name: "web"}, Start: at, End: at.Add(time.Second), Events: 1,
		}
	}
	incidents := []chaos.Incident{
		inc("at-start", "shop", start),
		inc("at-end", "shop", end),
		inc("before", "shop", start.Add(-time.Nanosecond)),
		inc("after", "shop", end.Add(time.Nanosecond)),
		inc("elsewhere", "billing", start.Add(time.Minute)),
		inc("running", "queue", start.Add(time.Hour)),
	}
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), fixture{incidents: incidents})
	for _, e := range []experiment.Experiment{
		{
			Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "kill-web", UID: "u-1", Fault: "pod-delete",
			Start: start, End: end, Result: "Pass",
		},
		{
			Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "queue", Name: "kill-queue", UID: "u-2", Fault: "pod-kill",
			Start: start.Add(30 * time.Minute), Result: experiment.Injected,
		},
	} {
		require.NoError(t, s.SaveExperiment(t.Context(), e))
	}

	r, err := report.Weekly(t.Context(), s, report.Options{Range: w12, Now: func() time.Time { return w12.To }})
	require.NoError(t, err)
	got := map[string]string{}
	for _, sev := range r.SEVs {
		got[sev.ID] = sev.Run
	}
	require.Equal(t, map[string]string{
		"at-start":  "litmus ChaosEngine shop/kill-web pod-delete",
		"at-end":    "litmus ChaosEngine shop/kill-web pod-delete",
		"before":    "",
		"after":     "",
		"elsewhere": "",
		"running":   "chaos-mesh PodChaos queue/kill-queue pod-kill",
	}, got)

	var md strings.Builder
	require.NoError(t, report.WriteMarkdown(&md, r))
	require.Contains(t, md.String(), "| chaos (pod_deleted; during litmus ChaosEngine shop/kill-web pod-delete) |")
	require.Contains(t, md.String(), fmt.Sprintf("| %s | SEV2 | web | chaos (pod_deleted) |", start.Add(time.Minute).Format("2006-01-02 15:04 MST")))
	var html strings.Builder
	require.NoError(t, report.WriteHTML(&html, r))
	require.Contains(t, html.String(), "during litmus ChaosEngine shop/kill-web pod-delete")
}
