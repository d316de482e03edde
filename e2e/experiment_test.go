package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/steadywatch/steadywatch/experiment"
)

// experimentLog keeps what the experiment watcher told and logged.
type experimentLog struct {
	mu   sync.Mutex
	told []experiment.Experiment
	logs bytes.Buffer
}

func (l *experimentLog) add(x experiment.Experiment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.told = append(l.told, x)
}

func (l *experimentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.logs.Write(p)
}

// latest is the last report of the experiment of that tool, kind and name.
func (l *experimentLog) latest(tool experiment.Tool, kind, name string) (experiment.Experiment, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range slices.Backward(l.told) {
		if x.Tool == tool && x.Kind == kind && x.Name == name {
			return x, true
		}
	}
	return experiment.Experiment{}, false
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs creates the CustomResourceDefinitions of a file, as the
// tool's installer does, and waits until the API server serves them.
func installCRDs(t *testing.T, dyn dynamic.Interface, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	for doc := range strings.SplitSeq(string(data), "\n---") {
		if strings.TrimSpace(doc) == "" || strings.TrimSpace(doc) == "---" {
			continue
		}
		crd := &unstructured.Unstructured{}
		j, err := yaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err)
		require.NoError(t, crd.UnmarshalJSON(j))
		_, err = dyn.Resource(crdGVR).Create(t.Context(), crd, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err, crd.GetName())
		}
		waitFor(t, time.Minute, crd.GetName()+" established", func() (bool, error) {
			got, err := dyn.Resource(crdGVR).Get(t.Context(), crd.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conditions {
				c, _ := c.(map[string]any)
				if c["type"] == "Established" && c["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
	}
}

// update writes an object whole, as the tools' controllers do: none of
// these CRDs has a status subresource.
func update(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns, name string, change func(map[string]any)) {
	t.Helper()
	obj, err := dyn.Resource(gvr).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	change(obj.Object)
	_, err = dyn.Resource(gvr).Namespace(ns).Update(t.Context(), obj, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func create(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	j, err := yaml.YAMLToJSON([]byte(doc))
	require.NoError(t, err)
	require.NoError(t, obj.UnmarshalJSON(j))
	got, err := dyn.Resource(gvr).Namespace(obj.GetNamespace()).Create(t.Context(), obj, metav1.CreateOptions{})
	require.NoError(t, err)
	return got
}

// stamp is a time as the controllers write it: metav1.Now, to the second.
func stamp() time.Time { return time.Now().Truncate(time.Second).UTC() }

func TestExperimentsOfLitmusAndChaosMeshAreReadFromTheirOwnObjects(t *testing.T) {
	b := needBed(t)
	dyn := dynamic.NewForConfigOrDie(b.RESTConfig())
	const ns = "chaos-tools"
	namespace(t, ns)

	// The premise: no chaos tool installed yet.
	for _, gv := range []string{"litmuschaos.io/v1alpha1", "chaos-mesh.org/v1alpha1"} {
		_, err := b.Client().Discovery().ServerResourcesForGroupVersion(gv)
		require.Truef(t, apierrors.IsNotFound(err), "%s served before the test installs it: %v", gv, err)
	}

	rec := &experimentLog{}
	w, err := experiment.New(experiment.Options{
		Client: dyn, Discovery: b.Client().Discovery(), Rediscover: 200 * time.Millisecond, OnChange: rec.add,
		Logger: slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	t.Run("without the tools' CRDs the watcher reports nothing and no error", func(t *testing.T) {
		waitFor(t, 30*time.Second, "three discoveries", func() (bool, error) { return w.Discoveries() >= 3, nil })
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Empty(t, rec.told)
		require.Empty(t, w.Watching())
		require.Equal(t, 1, strings.Count(rec.logs.String(), "\n"), rec.logs.String())
		require.Contains(t, rec.logs.String(), "level=INFO")
	})

	installCRDs(t, dyn, filepath.Join("testdata", "chaos-crds", "litmus", "chaos_crds.yaml"))
	installCRDs(t, dyn, filepath.Join("testdata", "chaos-crds", "chaos-mesh", "crds.yaml"))
	waitFor(t, 30*time.Second, "the watcher to find the tools' resources", func() (bool, error) {
		return len(w.Watching()) == len(experiment.Resources), nil
	})

	t.Run("a Litmus ChaosEngine and its ChaosResult", func(t *testing.T) {
		engines, results := experiment.ChaosEngines.GroupVersionResource, experiment.ChaosResults.GroupVersionResource
		// As a user writes it (chaos-operator's docs' pod-delete engine).
		eng := create(t, dyn, engines, `
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata:
  name: web-chaos
  namespace: chaos-tools
spec:
  engineState: active
  appinfo:
    appns: chaos-tools
    applabel: app=web
    appkind: deployment
  chaosServiceAccount: pod-delete-sa
  experiments:
  - name: pod-delete
    spec:
      components:
        env:
        - name: TOTAL_CHAOS_DURATION
          value: "30"
`)
		// chaos-runner starts the experiment.
		running := stamp()
		update(t, dyn, engines, ns, "web-chaos", func(o map[string]any) {
			o["status"] = map[string]any{"engineStatus": "initialized", "experiments": []any{map[string]any{
				"name": "pod-delete", "runner": "web-chaos-runner", "experimentPod": "pod-delete-8lf2tk-xv9nq",
				"status": "Running", "verdict": "Awaited", "lastUpdateTime": running.Format(time.RFC3339),
			}}}
		})
		// The experiment pod creates its ChaosResult at its start of test.
		before := stamp()
		res := create(t, dyn, results, `
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosResult
metadata:
  name: web-chaos-pod-delete
  namespace: chaos-tools
  labels:
    name: web-chaos-pod-delete
spec:
  engine: web-chaos
  experiment: pod-delete
status:
  experimentStatus:
    phase: Running
    verdict: Awaited
    probeSuccessPercentage: Awaited
`)
		after := time.Now()
		waitFor(t, 30*time.Second, "the running Litmus experiment", func() (bool, error) {
			x, ok := rec.latest(experiment.Litmus, "ChaosEngine", "web-chaos")
			return ok && x.Detail == "phase Running; probe success Awaited; engine initialized", nil
		})
		x, _ := rec.latest(experiment.Litmus, "ChaosEngine", "web-chaos")
		require.Equal(t, string(eng.GetUID()), x.UID)
		require.Equal(t, "pod-delete", x.Fault)
		require.Equal(t, "appns=chaos-tools applabel=app=web appkind=deployment", x.Target)
		require.Equal(t, res.GetCreationTimestamp().UTC(), x.Start, "the result's creation")
		require.False(t, x.Start.Before(before), "start %s before the result was created (%s)", x.Start, before)
		require.False(t, x.Start.After(after), "start %s after the result was created (%s)", x.Start, after)
		require.True(t, x.Running())
		require.Equal(t, "Awaited", x.Result)

		// The pod completes its result, then the runner the engine.
		update(t, dyn, results, ns, "web-chaos-pod-delete", func(o map[string]any) {
			o["status"] = map[string]any{"experimentStatus": map[string]any{
				"phase": "Completed", "verdict": "Pass", "probeSuccessPercentage": "100",
			}, "history": map[string]any{"passedRuns": int64(1), "failedRuns": int64(0), "stoppedRuns": int64(0)}}
		})
		end := stamp().Add(time.Second)
		update(t, dyn, engines, ns, "web-chaos", func(o map[string]any) {
			o["status"] = map[string]any{"engineStatus": "completed", "experiments": []any{map[string]any{
				"name": "pod-delete", "runner": "web-chaos-runner", "experimentPod": "pod-delete-8lf2tk-xv9nq",
				"status": "Completed", "verdict": "Pass", "lastUpdateTime": end.Format(time.RFC3339),
			}}}
		})
		waitFor(t, 30*time.Second, "the ended Litmus experiment", func() (bool, error) {
			x, ok := rec.latest(experiment.Litmus, "ChaosEngine", "web-chaos")
			return ok && !x.Running(), nil
		})
		x, _ = rec.latest(experiment.Litmus, "ChaosEngine", "web-chaos")
		require.Equal(t, end, x.End, "the runner's last update")
		require.Equal(t, res.GetCreationTimestamp().UTC(), x.Start)
		require.Equal(t, "Pass", x.Result)
		require.Equal(t, "phase Completed; probe success 100%; engine completed", x.Detail)
	})

	t.Run("a Chaos Mesh PodChaos", func(t *testing.T) {
		gvr := experiment.Resources[2].GroupVersionResource
		pc := create(t, dyn, gvr, `
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata:
  name: kill-web
  namespace: chaos-tools
spec:
  action: pod-kill
  mode: one
  selector:
    namespaces: [chaos-tools]
    labelSelectors:
      app: web
`)
		setStatus := func(desired string, conditions map[string]string, record map[string]any) {
			update(t, dyn, gvr, ns, "kill-web", func(o map[string]any) {
				var cs []any
				for typ, status := range conditions {
					cs = append(cs, map[string]any{"type": typ, "status": status})
				}
				o["status"] = map[string]any{
					"conditions": cs,
					"experiment": map[string]any{"desiredPhase": desired, "containerRecords": []any{record}},
				}
			})
		}
		record := map[string]any{
			"id": "chaos-tools/web-7d9c5b6f4-x2v8q", "selectorKey": ".", "phase": "Not Injected",
			"injectedCount": int64(0), "recoveredCount": int64(0),
		}
		event := func(op string, at time.Time) map[string]any {
			return map[string]any{"type": "Succeeded", "operation": op, "timestamp": at.Format(time.RFC3339)}
		}
		// Selected, not injected: not started, so not told.
		setStatus("Run", map[string]string{"Selected": "True", "AllInjected": "False", "AllRecovered": "True", "Paused": "False"}, record)
		applied := stamp()
		record["phase"], record["injectedCount"], record["events"] = "Injected", int64(1), []any{event("Apply", applied)}
		setStatus("Run", map[string]string{"Selected": "True", "AllInjected": "True", "AllRecovered": "False", "Paused": "False"}, record)
		waitFor(t, 30*time.Second, "the injected PodChaos", func() (bool, error) {
			_, ok := rec.latest(experiment.ChaosMesh, "PodChaos", "kill-web")
			return ok, nil
		})
		x, _ := rec.latest(experiment.ChaosMesh, "PodChaos", "kill-web")
		require.Equal(t, experiment.Experiment{
			Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: ns, Name: "kill-web", UID: string(pc.GetUID()),
			Fault: "pod-kill", Target: "mode=one namespaces=chaos-tools labels=app=web",
			Start: applied, Result: experiment.Injected, Detail: "1 target",
		}, x)

		// A one-shot action: the desiredphase controller stops it, the
		// records controller recovers it, the condition controller says so.
		setStatus("Stop", map[string]string{"Selected": "True", "AllInjected": "True", "AllRecovered": "False", "Paused": "False"}, record)
		recovered := stamp().Add(time.Second)
		record["phase"], record["recoveredCount"] = "Not Injected", int64(1)
		record["events"] = []any{event("Apply", applied), event("Recover", recovered)}
		setStatus("Stop", map[string]string{"Selected": "True", "AllInjected": "False", "AllRecovered": "True", "Paused": "False"}, record)
		waitFor(t, 30*time.Second, "the recovered PodChaos", func() (bool, error) {
			x, ok := rec.latest(experiment.ChaosMesh, "PodChaos", "kill-web")
			return ok && !x.Running(), nil
		})
		x, _ = rec.latest(experiment.ChaosMesh, "PodChaos", "kill-web")
		require.Equal(t, applied, x.Start)
		require.Equal(t, recovered, x.End)
		require.Equal(t, experiment.Recovered, x.Result)
	})

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.NotContains(t, rec.logs.String(), "level=WARN")
	require.NotContains(t, rec.logs.String(), "level=ERROR")
}
