// Package demo_test runs the main job, the demo of the seeds' four chaos
// experiments (cmd/steadywatch-demo), as a user does: built, run with -once on its own
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/demo"
	"github.com/steadywatch/steadywatch/verdict"
)

// scaled is d at the demo's default time scale, as its hypotheses have it.
func scaled(d time.Duration) time.Duration { return d / demo.DefaultTimeScale }

var experiments = []string{"kill-postgres-replica", "host-failure", "cpu-autoscaling", "resource-exhaustion"}

// buildDemo builds cmd/steadywatch-demo into dir.
func buildDemo(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	if os.Getenv("STEADYWATCH_SKIP_TESTBED") == "1" {
		t.Skip("STEADYWATCH_SKIP_TESTBED=1: the demo needs the testbed")
	}
	bin := filepath.Join(dir, "steadywatch-demo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/steadywatch/steadywatch/cmd/steadywatch-demo")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// buildSteadywatch builds cmd/steadywatch and cmd/steadywatch-demo into
// dir, side by side as `go install` puts them, and returns steadywatch.
func buildSteadywatch(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	buildDemo(ctx, t, dir)
	bin := filepath.Join(dir, "steadywatch")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/steadywatch/steadywatch/cmd/steadywatch")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// runDemo builds cmd/steadywatch-demo and runs it with args and -once, and returns the
// results it wrote.
func runDemo(t *testing.T, args ...string) (map[string]demo.Result, string) {
	t.Helper()
	if out := os.Getenv("STEADYWATCH_DEMO_CHECK_OUT"); out != "" {
		// Check the output of a run made by hand (`demo -once -out DIR`,
		// with the same args) instead of running one.
		return readResults(t, out), out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildDemo(ctx, t, dir)
	outDir := filepath.Join(dir, "out")
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"-once", "-out", outDir}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	err := cmd.Run()
	t.Logf("demo %v took %s; its output:\n%s", args, time.Since(start).Round(time.Second), stdout.String())
	require.NoError(t, err, "the demo failed")
	require.LessOrEqual(t, time.Since(start), 7*time.Minute, "a guard against a wait that hangs; the normal run's 5-minute goal is checked on its progress.log")

	return readResults(t, outDir), outDir
}

// readResults reads and checks the output folder of a finished run.
func readResults(t *testing.T, outDir string) map[string]demo.Result {
	t.Helper()
	root, err := os.OpenRoot(outDir)
	require.NoError(t, err)
	defer root.Close()
	progress, err := root.ReadFile("progress.log")
	require.NoError(t, err)
	require.Contains(t, string(progress), "done", "progress.log says how far the run got")

	results := map[string]demo.Result{}
	for _, name := range experiments {
		data, err := root.ReadFile(filepath.Join("verdicts", name+".json"))
		require.NoError(t, err, "the verdict of %s", name)
		var r demo.Result
		require.NoError(t, json.Unmarshal(data, &r), "verdicts/%s.json", name)
		require.Equal(t, name, r.Experiment)
		require.False(t, r.Verdict.Running, "%s: the demo took a verdict that was still running", name)
		require.NotEmpty(t, r.Changes, "%s: the adaptations are listed", name)
		results[name] = r
	}
	for _, f := range []string{"generated", "hypotheses/ADAPTED.md", "report.md", "report.html", "report.json"} {
		_, err := root.Stat(f)
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
	results, outDir := runDemo(t)
	// The goal for the whole run after the first build, by the
	// demo's own account of it.
	took, err := time.ParseDuration(strings.TrimPrefix(regexp.MustCompile(`done in \S+$`).FindString(lastLine(t, outDir)), "done in "))
	require.NoError(t, err, "progress.log's last line: %s", lastLine(t, outDir))
	require.LessOrEqual(t, took, 5*time.Minute, "the whole run in 5 minutes (docs/benchmarks.md)")
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
	// both Postgres pods serving again (the new clone copies for 1m,
	// scaled, before it is Ready), within the resolution of its 250 ms
	// poll (each end).
	kill := results["kill-postgres-replica"]
	mttr := expectation(t, kill, "mttr")
	serving := noteSeconds(t, kill, `serving again (\S+) after the kill`)
	require.InDelta(t, serving, mttr.Observed, 0.75, "MTTR against the demo's own watch")
	require.GreaterOrEqual(t, mttr.Observed, scaled(time.Minute).Seconds(), "the clone is not Ready before its base backup")
	require.Equal(t, verdict.Pass, expectation(t, kill, "alert/PostgresReplicaDown").Result)
	// The promoted primary reports a lag of 0, as postgres_exporter does:
	// the lag has samples throughout, with no replica for 3 s.
	lag := metric(t, kill, "postgres-replication-lag")
	require.Equal(t, verdict.Pass, lag.Result, lag.Reason)
	require.Empty(t, lag.SampleGaps)

	// 2. Host failure: the evicted pods' replacements were Ready within the
	// bound, measured from their eviction (5m, scaled, after the failure).
	host := results["host-failure"]
	repl := expectation(t, host, "replacement_ready")
	require.Equal(t, verdict.Pass, repl.Result, repl.Reason)
	evicted := noteSeconds(t, host, `\) evicted (\S+) after the failure`)
	require.Regexp(t, `its pods \(postgres-experimental-\d, spark-worker-experimental-\S+\) evicted`, strings.Join(host.Notes, "\n"),
		"the failed node ran a Postgres pod and a Spark worker: one of each per zone")
	rescheduled := noteSeconds(t, host, `rescheduled and Ready (\S+) after the failure`)
	require.InDelta(t, rescheduled-evicted, repl.Observed, 0.75, "replacement time against the demo's own watch")
	require.GreaterOrEqual(t, repl.Observed, scaled(time.Minute).Seconds(), "the new clone is not Ready before its base backup")
	require.Equal(t, verdict.Pass, expectation(t, host, "alert/KubeNodeNotReady").Result)

	// 3. CPU autoscaling: the HPA reached more replicas and came back.
	cpu := results["cpu-autoscaling"]
	reach := expectation(t, cpu, "hpa/scale-app-experimental")
	require.Equal(t, verdict.Pass, reach.Result, reach.Reason)
	back := expectation(t, cpu, "hpa/scale-app-experimental/baseline")
	require.Equal(t, verdict.Pass, back.Result, back.Reason)
	// The return against the demo's own watch: steadywatch dates it by
	// the HPA's scale-down, the demo by the Deployment back at 3 replicas
	// with the added pod gone, polled every 250 ms and rounded to 100 ms.
	// The demo cannot see it before the HPA scaled down (less its
	// rounding), and sees it within a poll, the pod's removal and the HPA
	// status's whole-second lastScaleTime after.
	own := noteSeconds(t, cpu, `back to 3 replicas (\S+) after the attack`)
	t.Logf("the HPA back at its baseline: steadywatch %.3f s, the demo's own watch %.1f s after the attack", back.Observed, own)
	require.GreaterOrEqual(t, own-back.Observed, -0.35, "the demo saw the Deployment back before steadywatch's HPA scale-down")
	require.LessOrEqual(t, own-back.Observed, 1.5, "steadywatch's return against the demo's own watch")

	// 4. Resource exhaustion: the team's alert reached steadywatch through
	// Alertmanager, within the bound.
	hog := results["resource-exhaustion"]
	alert := expectation(t, hog, "alert/ScaleAppHighLatency")
	require.Equal(t, verdict.Pass, alert.Result, alert.Reason)
	require.False(t, math.IsNaN(alert.Observed))
	require.Greater(t, alert.Observed, 0.0)

	// The run's report: the node's own failure detected by KubeNodeNotReady
	// (its node label joins it), the kill by PostgresReplicaDown.
	report, err := os.ReadFile(filepath.Join(outDir, "report.md"))
	require.NoError(t, err)
	require.Regexp(t, `\| \(no service\) \| chaos \(node_not_ready\) \| after \d+s \| after \d+s \| KubeNodeNotReady \|`, string(report))
	require.Regexp(t, `\| postgres \| chaos \(pod_deleted\) \| after \d+s \| after \d+s \| PostgresReplicaDown \|`, string(report))
}

func TestDemoBrokenRunsFailForTheirDefect(t *testing.T) {
	results, _ := runDemo(t, "-broken")
	for _, name := range experiments {
		r := results[name]
		require.NotEmpty(t, r.Broken, "%s: the defect is written down", name)
		require.NotEqual(t, verdict.Pass, r.Verdict.Result, "%s (%s) passed: %s", name, r.Broken, r.Verdict.Reason)
	}
	cases := []struct {
		experiment, expectation string
		// reason is what the expectation's and the verdict's reasons say.
		reason, verdictReason string
	}{
		// The replacement never scheduled: not recovered within 2m, scaled.
		{"kill-postgres-replica", "replacement_ready", `not recovered within ` + regexp.QuoteMeta(scaled(2*time.Minute).String()) + `: pod_deleted StatefulSet/pipeline/postgres-experimental .*\(still open\)`, `not recovered within`},
		// The evicted pods had nowhere to go until the node came back.
		{"host-failure", "replacement_ready", `not recovered within ` + regexp.QuoteMeta(scaled(5*time.Minute).String()) + `: node_not_ready StatefulSet/pipeline/postgres-experimental .*from its first eviction`, `not recovered within`},
		// The HPA capped at 3 never reached 4.
		{"cpu-autoscaling", "hpa/scale-app-experimental", `scale-app-experimental`, `hpa/scale-app-experimental`},
		// No rule, no alert.
		{"resource-exhaustion", "alert/ScaleAppHighLatency", `ScaleAppHighLatency`, `ScaleAppHighLatency`},
	}
	for _, c := range cases {
		r := results[c.experiment]
		x := expectation(t, r, c.expectation)
		require.Equal(t, verdict.Fail, x.Result, "%s %s: %s", c.experiment, c.expectation, x.Reason)
		require.Regexp(t, c.reason, x.Reason)
		require.Equal(t, verdict.Fail, r.Verdict.Result, "%s: %s", c.experiment, r.Verdict.Reason)
		require.Regexp(t, c.verdictReason, r.Verdict.Reason, "%s: the verdict's reason says what failed", c.experiment)
	}
	// The defect is the only difference: the failed node ran one Postgres
	// pod (the primary served on), as in the normal run.
	require.Regexp(t, `its pods \(postgres-experimental-\d, spark-worker-experimental-\S+\) evicted`,
		strings.Join(results["host-failure"].Notes, "\n"))
	// The kill's replacement outlasted its bound by at least the second the
	// demo waited beyond it.
	kill := expectation(t, results["kill-postgres-replica"], "replacement_ready")
	require.Greater(t, kill.Observed, scaled(2*time.Minute).Seconds(), strconv.FormatFloat(kill.Observed, 'f', -1, 64))
}

// proc is a process as /proc shows it: its start time tells it from a later
// process that reuses its PID.
type proc struct {
	pid, start string
	cmd        string
}

// descendants lists the processes below pid.
func descendants(t *testing.T, pid int) []proc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	parent := map[string]string{}
	info := map[string]proc{}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		p, ppid, ok := readProc(e.Name())
		if ok {
			parent[e.Name()], info[e.Name()] = ppid, p
		}
	}
	var out []proc
	for child := range parent {
		for p := parent[child]; p != ""; p = parent[p] {
			if p == strconv.Itoa(pid) {
				out = append(out, info[child])
				break
			}
		}
	}
	return out
}

// readProc reads a process's start time, parent and command line.
func readProc(pid string) (proc, string, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return proc{}, "", false
	}
	// pid (comm) state ppid ... starttime is field 22; comm may hold spaces.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 20 {
		return proc{}, "", false
	}
	cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
	return proc{pid: pid, start: fields[19], cmd: string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))}, fields[1], true
}

// startDemo starts `steadywatch demo` with args and waits until
// progress.log says it reached its first experiment, with everything up.
// It returns the processes then running under it.
func startDemo(ctx context.Context, t *testing.T, args ...string) (cmd *exec.Cmd, outDir string, started []proc) {
	t.Helper()
	dir := t.TempDir()
	bin := buildSteadywatch(ctx, t, dir)
	outDir = filepath.Join(dir, "out")
	var stdout bytes.Buffer
	cmd = exec.CommandContext(ctx, bin, append([]string{"demo", "-out", outDir}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { t.Logf("its output:\n%s", stdout.String()) })

	progress := filepath.Join(outDir, "progress.log")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		data, _ := os.ReadFile(progress)
		if strings.Contains(string(data), "experiment 1/") {
			started = descendants(t, cmd.Process.Pid)
			break
		}
		require.True(t, time.Now().Before(deadline), "the demo did not reach its first experiment in 5 minutes")
		time.Sleep(200 * time.Millisecond) // polling a file for a condition, with the deadline above
	}
	var names []string
	for _, p := range started {
		names = append(names, p.name())
	}
	t.Logf("running under the demo: %v", names)
	for _, want := range [][]string{{"steadywatch-demo"}, {"etcd"}, {"kube-apiserver"}, {"kwok"}, {"prometheus"}, {"alertmanager", "prometheus-alertmanager"}} {
		require.True(t, slices.ContainsFunc(want, func(w string) bool { return slices.Contains(names, w) }), "%v not among %v", want, names)
	}
	return cmd, outDir, started
}

// name is the process's program name.
func (p proc) name() string { return filepath.Base(strings.Fields(p.cmd + " ?")[0]) }

// requireAllGone fails if a process the demo started still runs.
func requireAllGone(t *testing.T, started []proc) {
	t.Helper()
	for _, p := range started {
		now, _, ok := readProc(p.pid)
		require.False(t, ok && now.start == p.start, "still running after the demo exited: %s %s", p.pid, p.cmd)
	}
}

// lastLine is the last line of progress.log.
func lastLine(t *testing.T, outDir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(outDir, "progress.log"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return lines[len(lines)-1]
}

func TestDemoInterruptedStopsEverythingItStarted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd, outDir, started := startDemo(ctx, t)

	// To steadywatch alone, not its process group: it passes Ctrl-C on.
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 130, exit.ExitCode(), "Ctrl-C exits 130, from the demo through steadywatch demo")
	requireAllGone(t, started)
	require.Regexp(t, `interrupted after \S+ during experiment 1/4`, lastLine(t, outDir), "progress.log says how far it got")
}

// A component that dies mid-run (here Prometheus, killed) ends the demo at
// once with a message naming it, not a wait that times out minutes later
// or a verdict without data; everything else it started is stopped.
func TestDemoACrashedComponentEndsTheRunAndStopsEverything(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd, outDir, started := startDemo(ctx, t, "-once", "-only", "kill-postgres-replica")
	i := slices.IndexFunc(started, func(p proc) bool { return p.name() == "prometheus" })
	require.GreaterOrEqual(t, i, 0)
	pid, err := strconv.Atoi(started[i].pid)
	require.NoError(t, err)
	killed := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

	err = cmd.Wait()
	t.Logf("the demo exited %s after Prometheus was killed", time.Since(killed).Round(time.Millisecond))
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode(), "a failed run exits 1")
	require.Less(t, time.Since(killed), 30*time.Second, "it ends at once, not after a wait's timeout")
	requireAllGone(t, started)
	require.Regexp(t, `failed after \S+ during experiment 1/1: .*: a component the demo started stopped by itself: prometheus exited by itself \(signal: killed\); everything the demo started is stopped$`,
		lastLine(t, outDir), "progress.log says how far it got and why it stopped")
}
