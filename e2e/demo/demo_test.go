// Package demo_test runs the main job, the demo of the seeds' four chaos
// experiments (cmd/demo), as a user does: built, run with -once on its own
// control plane, Prometheus and Alertmanager, its verdicts read from the
// JSON it writes. A normal run must pass every experiment for the reasons
// the seeds give; a broken run (-broken) must fail each for the defect it
// was given.
package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/demo"
	"github.com/steadywatch/steadywatch/verdict"
)

var experiments = []string{"kill-postgres-replica", "host-failure", "cpu-autoscaling", "resource-exhaustion"}

// runDemo builds cmd/demo and runs it with args and -once, and returns the
// results it wrote.
func runDemo(t *testing.T, args ...string) map[string]demo.Result {
	t.Helper()
	if os.Getenv("STEADYWATCH_SKIP_TESTBED") == "1" {
		t.Skip("STEADYWATCH_SKIP_TESTBED=1: the demo needs the testbed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/steadywatch/steadywatch/cmd/demo")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	outDir := filepath.Join(dir, "out")
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"-once", "-out", outDir}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	err = cmd.Run()
	t.Logf("demo %v took %s; its output:\n%s", args, time.Since(start).Round(time.Second), stdout.String())
	require.NoError(t, err, "the demo failed")
	require.LessOrEqual(t, time.Since(start), 7*time.Minute, "the whole run after the first build should take at most 5 minutes (7 with -race builds and CI's load)")

	progress, err := os.ReadFile(filepath.Join(outDir, "progress.log"))
	require.NoError(t, err)
	require.Contains(t, string(progress), "done", "progress.log says how far the run got")

	results := map[string]demo.Result{}
	for _, name := range experiments {
		data, err := os.ReadFile(filepath.Join(outDir, "verdicts", name+".json"))
		require.NoError(t, err, "the verdict of %s", name)
		var r demo.Result
		require.NoError(t, json.Unmarshal(data, &r), "verdicts/%s.json", name)
		require.Equal(t, name, r.Experiment)
		require.False(t, r.Verdict.Running, "%s: the demo took a verdict that was still running", name)
		require.NotEmpty(t, r.Changes, "%s: the adaptations are listed", name)
		results[name] = r
	}
	for _, f := range []string{"generated", "hypotheses/ADAPTED.md", "report.md", "report.html", "report.json"} {
		_, err := os.Stat(filepath.Join(outDir, f))
		require.NoError(t, err, "the output folder has %s", f)
	}
	return results
}

func expectation(t *testing.T, r demo.Result, name string) verdict.Expectation {
	t.Helper()
	for _, x := range r.Verdict.Recovery {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("%s: no recovery expectation %s in %+v", r.Experiment, name, r.Verdict.Recovery)
	return verdict.Expectation{}
}

func metric(t *testing.T, r demo.Result, name string) verdict.Metric {
	t.Helper()
	for _, m := range r.Verdict.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("%s: no metric %s", r.Experiment, name)
	return verdict.Metric{}
}

// noteSeconds is the duration the demo's own watch of the cluster measured
// in the note matching re (its first group, a Go duration).
func noteSeconds(t *testing.T, r demo.Result, re string) float64 {
	t.Helper()
	rx := regexp.MustCompile(re)
	for _, n := range r.Notes {
		if m := rx.FindStringSubmatch(n); m != nil {
			d, err := time.ParseDuration(m[1])
			require.NoError(t, err, n)
			return d.Seconds()
		}
	}
	t.Fatalf("%s: no note matching %q in %q", r.Experiment, re, r.Notes)
	return 0
}

func TestDemoPassesTheSeedsExperiments(t *testing.T) {
	results := runDemo(t)
	for _, name := range experiments {
		r := results[name]
		require.Equal(t, verdict.Pass, r.Verdict.Result, "%s: %s", name, r.Verdict.Reason)
		// Judged against the control group, not on SLO bounds alone.
		compared := 0
		for _, m := range r.Verdict.Metrics {
			if m.Control.Samples > 0 && m.Experimental.Samples > 0 {
				compared++
			}
		}
		require.NotZero(t, compared, "%s: no metric compared experimental with control", name)
	}

	// 1. The kill: steadywatch's MTTR is the time the demo's own watch saw
	// both Postgres pods serving again (the new clone copies for 1m/20 = 3s
	// before it is Ready), within the resolution of its 250 ms poll (each end).
	kill := results["kill-postgres-replica"]
	mttr := expectation(t, kill, "mttr")
	serving := noteSeconds(t, kill, `serving again (\S+) after the kill`)
	require.InDelta(t, serving, mttr.Observed, 0.75, "MTTR against the demo's own watch")
	require.GreaterOrEqual(t, mttr.Observed, 3.0, "the clone is not Ready before its base backup")
	require.Equal(t, verdict.Pass, expectation(t, kill, "alert/PostgresReplicaDown").Result)
	// The promoted primary reports a lag of 0, as postgres_exporter does:
	// the lag has samples throughout, with no replica for 3 s.
	lag := metric(t, kill, "postgres-replication-lag")
	require.Equal(t, verdict.Pass, lag.Result, lag.Reason)
	require.Empty(t, lag.SampleGaps)

	// 2. Host failure: the evicted pods' replacements were Ready within the
	// bound, measured from their eviction (5m/20 = 15s after the failure).
	host := results["host-failure"]
	repl := expectation(t, host, "replacement_ready")
	require.Equal(t, verdict.Pass, repl.Result, repl.Reason)
	evicted := noteSeconds(t, host, `evicted (\S+) after the failure`)
	rescheduled := noteSeconds(t, host, `rescheduled and Ready (\S+) after the failure`)
	require.InDelta(t, rescheduled-evicted, repl.Observed, 0.75, "replacement time against the demo's own watch")
	require.GreaterOrEqual(t, repl.Observed, 3.0, "the new clone is not Ready before its base backup")
	require.Equal(t, verdict.Pass, expectation(t, host, "alert/KubeNodeNotReady").Result)

	// 3. CPU autoscaling: the HPA reached more replicas and came back.
	cpu := results["cpu-autoscaling"]
	reach := expectation(t, cpu, "hpa/scale-app-experimental")
	require.Equal(t, verdict.Pass, reach.Result, reach.Reason)
	require.Equal(t, verdict.Pass, expectation(t, cpu, "hpa/scale-app-experimental/baseline").Result)

	// 4. Resource exhaustion: the team's alert reached steadywatch through
	// Alertmanager, within the bound.
	hog := results["resource-exhaustion"]
	alert := expectation(t, hog, "alert/ScaleAppHighLatency")
	require.Equal(t, verdict.Pass, alert.Result, alert.Reason)
	require.False(t, math.IsNaN(alert.Observed))
	require.Greater(t, alert.Observed, 0.0)
}

func TestDemoBrokenRunsFailForTheirDefect(t *testing.T) {
	results := runDemo(t, "-broken")
	for _, name := range experiments {
		r := results[name]
		require.NotEmpty(t, r.Broken, "%s: the defect is written down", name)
		require.NotEqual(t, verdict.Pass, r.Verdict.Result, "%s (%s) passed: %s", name, r.Broken, r.Verdict.Reason)
	}
	cases := []struct {
		experiment, expectation string
		reason                  string
	}{
		// The replacement never scheduled: not recovered within 2m/20.
		{"kill-postgres-replica", "replacement_ready", `not recovered within 6s`},
		// The evicted pods had nowhere to go until the node came back.
		{"host-failure", "replacement_ready", `not recovered within 15s`},
		// The HPA capped at 3 never reached 4.
		{"cpu-autoscaling", "hpa/scale-app-experimental", `scale-app-experimental`},
		// No rule, no alert.
		{"resource-exhaustion", "alert/ScaleAppHighLatency", `ScaleAppHighLatency`},
	}
	for _, c := range cases {
		r := results[c.experiment]
		x := expectation(t, r, c.expectation)
		require.Equal(t, verdict.Fail, x.Result, "%s %s: %s", c.experiment, c.expectation, x.Reason)
		require.Regexp(t, c.reason, x.Reason)
		require.Equal(t, verdict.Fail, r.Verdict.Result, "%s: %s", c.experiment, r.Verdict.Reason)
		require.Contains(t, r.Verdict.Reason, strings.SplitN(c.expectation, "/", 2)[0], "%s: the verdict's reason names what failed", c.experiment)
	}
	// The kill's replacement outlasted its bound by at least the second the
	// demo waited beyond it.
	kill := expectation(t, results["kill-postgres-replica"], "replacement_ready")
	require.Greater(t, kill.Observed, 6.0, strconv.FormatFloat(kill.Observed, 'f', -1, 64))
}
