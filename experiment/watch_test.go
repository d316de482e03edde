package experiment_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/internal/testenv/syncbuf"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/steadywatch/steadywatch/experiment"
)

// discovery serves the group versions it is told to, as the API server
// does once a CRD is established.
type discovery struct {
	mu     sync.Mutex
	served map[string][]string
}

func (d *discovery) serve(gv string, resources ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.served == nil {
		d.served = map[string][]string{}
	}
	d.served[gv] = resources
}

func (d *discovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rs, ok := d.served[gv]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{}, gv)
	}
	l := &metav1.APIResourceList{GroupVersion: gv}
	for _, r := range rs {
		l.APIResources = append(l.APIResources, metav1.APIResource{Name: r, Namespaced: true})
	}
	return l, nil
}

// reports records what the watcher told, in order.
type reports struct {
	mu sync.Mutex
	xs []experiment.Experiment
}

func (r *reports) add(x experiment.Experiment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.xs = append(r.xs, x)
}

func (r *reports) get() []experiment.Experiment {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]experiment.Experiment(nil), r.xs...)
}

// syncBuffer is a log destination the code's goroutines and the test share.
type syncBuffer = syncbuf.Buffer

// fakeClient holds obj as a resource of gvr: created through the client,
// since the fake's own guess of a resource from a kind (podchaoses) is not
// the tools' (podchaos).
func fakeClient(t *testing.T, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) *dynamicfake.FakeDynamicClient {
	t.Helper()
	kinds := map[schema.GroupVersionResource]string{}
	for _, r := range experiment.Resources {
		kinds[r.GroupVersionResource] = r.Kind + "List"
	}
	c := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds)
	if obj != nil {
		_, err := c.Resource(gvr).Namespace(obj.GetNamespace()).Create(t.Context(), obj, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	return c
}

func run(t *testing.T, o experiment.Options) (*experiment.Watcher, *reports, *syncBuffer) {
	t.Helper()
	rep, logs := &reports{}, &syncBuffer{}
	o.OnChange = rep.add
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w, err := experiment.New(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return w, rep, logs
}

const waitTime = 10 * time.Second

// runningKill is a PodChaos applied to one pod and not recovered yet;
// runningEngine the status of a Litmus engine whose experiment runs.
var (
	runningKill = podKill + `
status:
	experiment:
		desiredPhase: Run
		containerRecords:
		- id: shop/web-a
			selectorKey: .
			phase: Injected
			injectedCount: 1
			recoveredCount: 0
			events:
			- {type: Succeeded, operation: Apply, timestamp: "2026-03-01T10:00:02Z"}
`
	runningEngine = `
status:
	engineStatus: initialized
	experiments:
	- name: pod-delete
		runner: web-chaos-runner
		experimentPod: pod-delete-8lf2tk-xv9nq
		status: Running
		verdict: Awaited
		lastUpdateTime: "2026-03-01T10:00:10Z"
`
)

func TestWatcherWithoutTheToolsReportsNothingAndSaysSoOnce(t *testing.T) {
	w, rep, logs := run(t, experiment.Options{Client: fakeClient(t, schema.GroupVersionResource{}, nil), Discovery: &discovery{}, Rediscover: 5 * time.Millisecond})
	require.Eventually(t, func() bool { return w.Discoveries() >= 3 }, waitTime, time.Millisecond)
	require.Empty(t, rep.get())
	require.Empty(t, w.Watching())
	require.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
	require.Contains(t, logs.String(), `level=INFO msg="chaos tool resources not served; looking again later" resources=chaosengines.litmuschaos.io,chaosresults.litmuschaos.io,podchaos.chaos-mesh.org,networkchaos.chaos-mesh.org,stresschaos.chaos-mesh.org,iochaos.chaos-mesh.org,timechaos.chaos-mesh.org`)
}

func TestWatcherWatchesAToolInstalledLater(t *testing.T) {
	kill := object(t, runningKill)
	gvr := experiment.Resources[2].GroupVersionResource
	client := fakeClient(t, gvr, kill)
	disc := &discovery{}
	w, rep, _ := run(t, experiment.Options{Client: client, Discovery: disc, Rediscover: 5 * time.Millisecond, Cluster: "eu-1"})
	require.Eventually(t, func() bool { return w.Discoveries() >= 2 }, waitTime, time.Millisecond)
	require.Empty(t, rep.get(), "not served yet")

	disc.serve("chaos-mesh.org/v1alpha1", "podchaos", "networkchaos", "stresschaos", "iochaos", "timechaos")
	want := experiment.Experiment{
		Cluster: "eu-1", Tool: experiment.ChaosMesh, Kind: "PodChaos", Namespace: "shop", Name: "kill-web", UID: "3f1e-podchaos",
		Fault: "pod-kill", Target: "mode=one namespaces=shop labels=app=web,tier=front",
		Start: at("2026-03-01T10:00:02Z"), Result: experiment.Injected, Detail: "1 target",
		Labels: map[string]string{"team": "shop", "fault": "pod-kill"},
	}
	require.Eventually(t, func() bool { return len(rep.get()) == 1 }, waitTime, time.Millisecond)
	require.Equal(t, want, rep.get()[0])
	require.Len(t, w.Watching(), 5)

	// A change that tells nothing new (an annotation) is not reported: the
	// next report is the relabelling that follows it, then the recovery.
	kill.SetAnnotations(map[string]string{"owner": "sre"})
	_, err := client.Resource(gvr).Namespace("shop").Update(t.Context(), kill, metav1.UpdateOptions{})
	require.NoError(t, err)
	kill.SetLabels(map[string]string{"team": "payments"})
	_, err = client.Resource(gvr).Namespace("shop").Update(t.Context(), kill, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rep.get()) >= 2 }, waitTime, time.Millisecond)
	want.Labels = map[string]string{"team": "payments"}
	require.Equal(t, want, rep.get()[1], "new labels are news: a window may select the run by them")
	records := []any{map[string]any{
		"id": "shop/web-a", "selectorKey": ".", "phase": "Not Injected", "injectedCount": int64(1), "recoveredCount": int64(1),
		"events": []any{
			map[string]any{"type": "Succeeded", "operation": "Apply", "timestamp": "2026-03-01T10:00:02Z"},
			map[string]any{"type": "Succeeded", "operation": "Recover", "timestamp": "2026-03-01T10:00:32Z"},
		},
	}}
	require.NoError(t, unstructured.SetNestedSlice(kill.Object, records, "status", "experiment", "containerRecords"))
	require.NoError(t, unstructured.SetNestedField(kill.Object, "Stop", "status", "experiment", "desiredPhase"))
	require.NoError(t, unstructured.SetNestedSlice(kill.Object, []any{map[string]any{"type": "AllRecovered", "status": "True"}}, "status", "conditions"))
	_, err = client.Resource(gvr).Namespace("shop").Update(t.Context(), kill, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rep.get()) >= 3 }, waitTime, time.Millisecond)
	want.End, want.Result = at("2026-03-01T10:00:32Z"), experiment.Recovered
	require.Equal(t, want, rep.get()[2])
}

func TestWatcherJoinsALitmusEngineWithItsResult(t *testing.T) {
	eng := object(t, engine(runningEngine))
	client := fakeClient(t, experiment.ChaosEngines.GroupVersionResource, eng)
	disc := &discovery{}
	disc.serve("litmuschaos.io/v1alpha1", "chaosengines", "chaosexperiments", "chaosresults")
	_, rep, _ := run(t, experiment.Options{Client: client, Discovery: disc, Rediscover: time.Hour})
	web := experiment.Experiment{
		Tool: experiment.Litmus, Kind: "ChaosEngine", Namespace: "shop", Name: "web-chaos", UID: "0b6f2d1e-engine",
		Fault: "pod-delete", Target: "appns=shop applabel=app=web appkind=deployment",
		Start: at("2026-03-01T10:00:00Z"), Result: "Awaited", Detail: "no ChaosResult yet; engine initialized",
		Labels: map[string]string{"team": "shop", "app.kubernetes.io/part-of": "checkout"},
	}
	require.Eventually(t, func() bool { return len(rep.get()) == 1 }, waitTime, time.Millisecond)
	require.Equal(t, web, rep.get()[0])

	res := object(t, result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult))
	_, err := client.Resource(experiment.ChaosResults.GroupVersionResource).Namespace("shop").Create(t.Context(), res, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rep.get()) == 2 }, waitTime, time.Millisecond)
	web.Start, web.Result, web.Detail = at("2026-03-01T10:00:12Z"), "Pass", "phase Completed; probe success 100%; engine initialized"
	require.Equal(t, web, rep.get()[1])
}

// With namespaces named (the chart's namespaced RBAC grants no more), the
// watcher lists and watches only those, and a Litmus engine there is still
// joined with its result.
func TestWatcherWatchesOnlyTheNamespacesNamed(t *testing.T) {
	shop, other := object(t, runningKill), object(t, runningKill)
	other.SetNamespace("other")
	gvr := experiment.Resources[2].GroupVersionResource
	client := fakeClient(t, gvr, shop)
	_, err := client.Resource(gvr).Namespace("other").Create(t.Context(), other, metav1.CreateOptions{})
	require.NoError(t, err)
	eng := object(t, engine(runningEngine))
	_, err = client.Resource(experiment.ChaosEngines.GroupVersionResource).Namespace("shop").Create(t.Context(), eng, metav1.CreateOptions{})
	require.NoError(t, err)
	// As namespaced RBAC would: no list or watch across namespaces.
	forbidden := func(a k8stesting.Action) (bool, error) {
		if a.GetNamespace() == metav1.NamespaceAll {
			return true, apierrors.NewForbidden(a.GetResource().GroupResource(), "", errors.New("cluster-wide"))
		}
		return false, nil
	}
	client.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		handled, err := forbidden(a)
		return handled, nil, err
	})
	client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		handled, err := forbidden(a)
		return handled, nil, err
	})
	disc := &discovery{}
	disc.serve("chaos-mesh.org/v1alpha1", "podchaos", "networkchaos", "stresschaos", "iochaos", "timechaos")
	disc.serve("litmuschaos.io/v1alpha1", "chaosengines", "chaosexperiments", "chaosresults")
	_, rep, _ := run(t, experiment.Options{Client: client, Discovery: disc, Rediscover: time.Hour, Namespaces: []string{"shop", "empty"}})
	require.Eventually(t, func() bool { return len(rep.get()) == 2 }, waitTime, time.Millisecond)
	res := object(t, result("web-chaos-pod-delete", "pod-delete", "2026-03-01T10:00:12Z", greenResult))
	_, err = client.Resource(experiment.ChaosResults.GroupVersionResource).Namespace("shop").Create(t.Context(), res, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rep.get()) == 3 }, waitTime, time.Millisecond)
	for _, x := range rep.get() {
		require.Equal(t, "shop", x.Namespace, "%+v", x)
	}
	require.Equal(t, "Pass", rep.get()[2].Result, "the engine joined with its result")
}
