package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/verdict"
)

// toolHypotheses judge the web service of namespace tool-window over the
// runs of a Litmus ChaosEngine and of a Chaos Mesh PodChaos: the window is
// each run's, 10 s before its start to 5 s after its end. The Litmus one
// holds the experimental group to 90 % of its replicas ready (it will not:
// its replacement is kept unschedulable), the Chaos Mesh one to 60 % (one
// pod of three down for a moment keeps 67 %).
const toolHypotheses = `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata:
  name: web-under-litmus
spec:
  service: web
  namespace: tool-window
  groups:
    control: group="control"
    experimental: group="experimental"
  window:
    experiment: {tool: litmus, name: web-chaos, before: 10s, after: 5s}
  step: 1s
  metrics:
    - name: ready-ratio
      query: 'min(steadywatch_workload_ready_ratio{namespace="tool-window", service="web", {{ .Group }} })'
      direction: lowerIsWorse
      allowedEffect: 20%
      slo: {min: 0.9}
---
apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata:
  name: web-under-chaos-mesh
spec:
  service: web
  namespace: tool-window
  groups:
    control: group="control"
    experimental: group="experimental"
  window:
    experiment: {tool: chaos-mesh, name: kill-web, before: 10s, after: 5s}
  step: 1s
  metrics:
    - name: ready-ratio
      query: 'min(steadywatch_workload_ready_ratio{namespace="tool-window", service="web", {{ .Group }} })'
      direction: lowerIsWorse
      allowedEffect: 20%
      slo: {min: 0.6}
`

// TestAChaosToolsRunBoundsTheVerdictsWindow runs serve on real parts with
// hypotheses whose windows are a Litmus and a Chaos Mesh run: serve's
// leader records the runs from the tools' objects (written as their
// controllers write them, in the tools' real CRDs), the judge takes each
// window from the recorded run, the steady state from a real Prometheus
// scraping serve, and the verdict names the run and where the tool's own
// result disagrees with it.
func TestAChaosToolsRunBoundsTheVerdictsWindow(t *testing.T) {
	b := needBed(t)
	c := b.Client()
	dyn := dynamic.NewForConfigOrDie(b.RESTConfig())
	const ns = "tool-window"
	namespace(t, ns)
	nodes := []string{"tool-window-1", "tool-window-2"}
	for _, n := range nodes {
		node(t, n, map[string]string{"pool": ns})
	}
	createDeployment(t, c, scale.Deployment(ns, "web-experimental", "web", "experimental", ns, 3))
	createDeployment(t, c, scale.Deployment(ns, "web-control", "web", "control", ns, 3))
	// The tools are installed before serve starts, so that its first
	// discovery finds them.
	installCRDs(t, dyn, filepath.Join("testdata", "chaos-crds", "litmus", "chaos_crds.yaml"))
	installCRDs(t, dyn, filepath.Join("testdata", "chaos-crds", "chaos-mesh", "crds.yaml"))

	swAddr := freeAddr(t)
	hypotheses := filepath.Join(t.TempDir(), "tools.yaml")
	require.NoError(t, os.WriteFile(hypotheses, []byte(toolHypotheses), 0o600))
	prom := promtest.StartPrometheus(t, promtest.PrometheusOptions{
		Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: steadywatch
    static_configs:
      - targets: [%q]
`, swAddr),
	})
	sw := startSteadywatch(t, ns, t.TempDir(), func(cfg *config.Config) {
		cfg.Listen = swAddr
		cfg.Verdicts = config.Verdicts{
			Hypotheses: []string{hypotheses}, PrometheusURL: prom.URL(), Interval: model.Duration(time.Second),
		}
	})
	current := func(name string) (verdict.Verdict, bool) { return servedVerdict(t, sw.url, name) }
	// No run recorded yet: inconclusive, saying what to check.
	waitFor(t, 30*time.Second, "a first verdict", func() (bool, error) {
		_, ok := current("web-under-litmus")
		return ok, nil
	})
	v, _ := current("web-under-litmus")
	require.Equal(t, verdict.Inconclusive, v.Result)
	require.Contains(t, v.Reason, "web-chaos")
	steady := func() {
		t.Helper()
		waitFor(t, 90*time.Second, "12 s of steady state of both groups in Prometheus", func() (bool, error) {
			val, _, _, err := prom.API().Query(t.Context(),
				`min(count_over_time((min by (group) (steadywatch_workload_ready_ratio{namespace="tool-window",service="web"}) == 1)[12s:1s]))`, time.Now())
			if err != nil {
				return false, err
			}
			vec, ok := val.(model.Vector)
			return ok && len(vec) == 1 && vec[0].Value >= 12, nil
		})
	}
	steady()

	t.Run("a Litmus run that says Pass while the comparison fails", func(t *testing.T) {
		engines, results := experiment.ChaosEngines.GroupVersionResource, experiment.ChaosResults.GroupVersionResource
		eng := create(t, dyn, engines, `
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata:
  name: web-chaos
  namespace: tool-window
spec:
  engineState: active
  appinfo: {appns: tool-window, applabel: app=web-experimental, appkind: deployment}
  chaosServiceAccount: pod-delete-sa
  experiments:
  - name: pod-delete
`)
		update(t, dyn, engines, ns, "web-chaos", func(o map[string]any) {
			o["status"] = map[string]any{"engineStatus": "initialized", "experiments": []any{map[string]any{
				"name": "pod-delete", "runner": "web-chaos-runner", "status": "Running", "verdict": "Awaited",
				"lastUpdateTime": stamp().Format(time.RFC3339),
			}}}
		})
		res := create(t, dyn, results, `
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosResult
metadata:
  name: web-chaos-pod-delete
  namespace: tool-window
spec: {engine: web-chaos, experiment: pod-delete}
status:
  experimentStatus: {phase: Running, verdict: Awaited, probeSuccessPercentage: Awaited}
`)
		start := res.GetCreationTimestamp().UTC()
		// The fault: an experimental pod deleted, its replacement kept
		// unschedulable until Prometheus has 3 degraded samples.
		killOne(t, c, ns, nodes)
		waitFor(t, 60*time.Second, "3 degraded samples in Prometheus", func() (bool, error) {
			val, _, _, err := prom.API().Query(t.Context(),
				`sum_over_time((min(steadywatch_workload_ready_ratio{namespace="tool-window",group="experimental"}) < bool 0.9)[30s:1s])`, time.Now())
			if err != nil {
				return false, err
			}
			vec, ok := val.(model.Vector)
			return ok && len(vec) == 1 && vec[0].Value >= 3, nil
		})
		v, ok := current("web-under-litmus")
		require.True(t, ok)
		require.True(t, v.Running, "judged while the run goes on: %s", v.Reason)
		for _, n := range nodes {
			setUnschedulable(t, c, n, false)
		}
		waitReady(t, c, ns, "web-experimental", 3)
		// The experiment pod says Pass (its probes saw nothing), the runner
		// completes the engine.
		update(t, dyn, results, ns, "web-chaos-pod-delete", func(o map[string]any) {
			o["status"] = map[string]any{"experimentStatus": map[string]any{
				"phase": "Completed", "verdict": "Pass", "probeSuccessPercentage": "100",
			}}
		})
		end := stamp().Add(time.Second)
		update(t, dyn, engines, ns, "web-chaos", func(o map[string]any) {
			o["status"] = map[string]any{"engineStatus": "completed", "experiments": []any{map[string]any{
				"name": "pod-delete", "runner": "web-chaos-runner", "status": "Completed", "verdict": "Pass",
				"lastUpdateTime": end.Format(time.RFC3339),
			}}}
		})
		waitFor(t, 90*time.Second, "the verdict after the run's window", func() (bool, error) {
			v, _ := current("web-under-litmus")
			return !v.Running && len(v.Experiments) == 1 && !v.Experiments[0].End.IsZero() && v.Window.End.Before(v.At), nil
		})
		v, _ = current("web-under-litmus")
		require.Equal(t, start.Add(-10*time.Second), v.Window.Start.UTC(), "the run's start − before")
		require.Equal(t, end.Add(5*time.Second), v.Window.End.UTC(), "the run's end + after")
		require.Equal(t, start, v.Window.ChaosStart.UTC())
		require.Equal(t, end, v.Window.ChaosEnd.UTC())
		x := v.Experiments[0]
		require.Equal(t, experiment.Litmus, x.Tool)
		require.Equal(t, string(eng.GetUID()), x.UID)
		require.Equal(t, "pod-delete", x.Fault)
		require.Equal(t, "Pass", x.Result)
		require.Equal(t, verdict.Fail, v.Result, v.Reason)
		require.Equal(t, verdict.Fail, v.Metrics[0].SLO, v.Metrics[0].Reason)
		require.Contains(t, v.ToolDisagrees, "Pass", "Litmus passed what steadywatch fails")
	})

	steady()

	t.Run("a Chaos Mesh PodChaos, recovered, that passes", func(t *testing.T) {
		gvr := experiment.Resources[2].GroupVersionResource
		pc := create(t, dyn, gvr, `
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata:
  name: kill-web
  namespace: tool-window
spec:
  action: pod-kill
  mode: one
  selector:
    namespaces: [tool-window]
    labelSelectors: {app: web-experimental}
`)
		status := func(desired string, injected bool, record map[string]any) {
			update(t, dyn, gvr, ns, "kill-web", func(o map[string]any) {
				o["status"] = map[string]any{
					"conditions": []any{
						map[string]any{"type": "Selected", "status": "True"},
						map[string]any{"type": "AllInjected", "status": map[bool]string{true: "True", false: "False"}[injected]},
						map[string]any{"type": "AllRecovered", "status": map[bool]string{true: "False", false: "True"}[injected]},
						map[string]any{"type": "Paused", "status": "False"},
					},
					"experiment": map[string]any{"desiredPhase": desired, "containerRecords": []any{record}},
				}
			})
		}
		event := func(op string, at time.Time) map[string]any {
			return map[string]any{"type": "Succeeded", "operation": op, "timestamp": at.Format(time.RFC3339)}
		}
		victim := killOne(t, c, ns, nil)
		applied := stamp()
		record := map[string]any{
			"id": ns + "/" + victim, "selectorKey": ".", "phase": "Injected", "injectedCount": int64(1),
			"recoveredCount": int64(0), "events": []any{event("Apply", applied)},
		}
		status("Run", true, record)
		waitReady(t, c, ns, "web-experimental", 3)
		recovered := stamp().Add(time.Second)
		record["phase"], record["recoveredCount"] = "Not Injected", int64(1)
		record["events"] = []any{event("Apply", applied), event("Recover", recovered)}
		status("Stop", false, record)
		waitFor(t, 90*time.Second, "the verdict after the run's window", func() (bool, error) {
			v, _ := current("web-under-chaos-mesh")
			return !v.Running && len(v.Experiments) == 1 && !v.Experiments[0].End.IsZero() && v.Window.End.Before(v.At), nil
		})
		v, _ := current("web-under-chaos-mesh")
		require.Equal(t, applied.Add(-10*time.Second), v.Window.Start.UTC(), "the Apply's time − before")
		require.Equal(t, recovered.Add(5*time.Second), v.Window.End.UTC(), "the Recover's time + after")
		x := v.Experiments[0]
		require.Equal(t, experiment.ChaosMesh, x.Tool)
		require.Equal(t, string(pc.GetUID()), x.UID)
		require.Equal(t, experiment.Recovered, x.Result)
		require.Equal(t, verdict.Pass, v.Result, v.Reason)
		require.Empty(t, v.ToolDisagrees)
		require.Empty(t, v.Metrics[0].SampleGaps, v.Metrics[0].Reason)
	})

	// Both runs are served by the API, joined to the faults observed in
	// them: the pod deletions.
	code, body, err := httpGet(sw.url + "/api/v1/experiments?namespace=" + ns)
	require.NoError(t, err)
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `"web-chaos"`)
	require.Contains(t, body, `"kill-web"`)
}

// killOne deletes one pod of web-experimental in ns and returns its name;
// with nodes, they are made unschedulable first, so that its replacement
// waits.
func killOne(t *testing.T, c kubernetes.Interface, ns string, nodes []string) string {
	t.Helper()
	for _, n := range nodes {
		setUnschedulable(t, c, n, true)
	}
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web-experimental"})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	name := pods.Items[0].Name
	require.NoError(t, c.CoreV1().Pods(ns).Delete(t.Context(), name, metav1.DeleteOptions{}))
	return name
}

// waitReady waits for a Deployment to have n replicas ready.
func waitReady(t *testing.T, c kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	waitFor(t, 90*time.Second, name+" ready", func() (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.ReadyReplicas == n && d.Status.UpdatedReplicas == n && d.Status.Replicas == n, nil
	})
}
