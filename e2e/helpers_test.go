package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/internal/testenv/scale"
	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
	"github.com/steadywatch/steadywatch/server"
)

// instance is a steadywatch serve running in the test process.
type instance struct {
	*server.Server
	url  string
	stop func()
}

// startSteadywatch runs `steadywatch serve` in-process against the testbed,
// watching namespace ns, and waits until it is ready.
func startSteadywatch(t testing.TB, ns, dataDir string, configure ...func(*config.Config)) *instance {
	t.Helper()
	return startSteadywatchVia(t, needBed(t).RESTConfig(), ns, dataDir, configure...)
}

// startSteadywatchVia is startSteadywatch talking to the API server as rc
// says (through a proxy, say).
func startSteadywatchVia(t testing.TB, rc *rest.Config, ns, dataDir string, configure ...func(*config.Config)) *instance {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Watch.Namespaces = []string{ns}
	cfg.Watch.CheckpointInterval = model.Duration(time.Second)
	for _, f := range configure {
		f(&cfg)
	}
	// A test that set an address (one a Prometheus already scrapes) gets
	// it; the others a free port.
	addr := "127.0.0.1:0"
	if cfg.Listen != config.DefaultListen {
		addr = cfg.Listen
	}
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", addr)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *server.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{
			Config: cfg, Logger: testbed.TestLogger(t), RESTConfig: rc, Listener: lis,
			Started: func(s *server.Server) { started <- s },
		})
	}()
	var inst *instance
	select {
	case s := <-started:
		inst = &instance{Server: s, url: "http://" + s.Addr.String()}
	case err := <-done:
		cancel()
		t.Fatalf("steadywatch exited before serving: %v", err)
	}
	var once sync.Once
	inst.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err, "steadywatch serve returned an error")
			case <-time.After(30 * time.Second):
				t.Error("steadywatch did not shut down within 30s")
			}
		})
	}
	t.Cleanup(inst.stop)
	waitFor(t, 60*time.Second, "steadywatch /readyz", func() (bool, error) {
		code, _, err := httpGet(inst.url + "/readyz")
		return code == http.StatusOK, err
	})
	return inst
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url) //nolint:gosec,noctx // test URL on 127.0.0.1
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// scrape reads /metrics.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := httpGet(url + "/metrics")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return mfs
}

// series finds the metric of family name whose labels include want.
func series(mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value, or a histogram's count; NaN if absent.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	m := series(mfs, name, want)
	switch {
	case m == nil:
		return math.NaN()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return math.NaN()
}

// sum of all series of name whose labels include want.
func sum(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	total := 0.0
next:
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		total += m.GetCounter().GetValue()
	}
	return total
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) {
			ok, err := cond()
			last = err
			return ok && err == nil, nil
		})
	if err != nil {
		t.Fatalf("waiting for %s: not within %s (last error: %v)", what, timeout, last)
	}
}

func namespace(t *testing.T, name string) {
	t.Helper()
	b := needBed(t)
	_, err := b.CreateNamespace(t.Context(), name)
	require.NoError(t, err)
}

func node(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	b := needBed(t)
	_, err := b.CreateNode(t.Context(), name, labels)
	require.NoError(t, err)
}

const (
	serviceLabel = scale.ServiceLabel
	groupLabel   = scale.GroupLabel
)

func createDeployment(t *testing.T, c kubernetes.Interface, d *appsv1.Deployment) {
	t.Helper()
	_, err := c.AppsV1().Deployments(d.Namespace).Create(t.Context(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // retried until the deadline
		}
		return got.Status.ReadyReplicas == *d.Spec.Replicas && got.Status.ObservedGeneration == got.Generation, nil
	})
	if err != nil {
		t.Fatalf("deployment %s/%s not ready within 60s: %v\n%s", d.Namespace, d.Name, err, describePods(c, d.Namespace))
	}
}

// describePods says where each pod of ns stands and how the nodes are,
// for a test that waited for them in vain.
func describePods(c kubernetes.Interface, ns string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "listing pods: " + err.Error()
	}
	for _, p := range pods.Items {
		ready, _ := podReady(&p)
		fmt.Fprintf(&b, "pod %s: phase %s, node %q, ready %t", p.Name, p.Status.Phase, p.Spec.NodeName, ready)
		for _, cond := range p.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Message != "" {
				fmt.Fprintf(&b, ", %s: %s", cond.Type, cond.Message)
			}
		}
		b.WriteString("\n")
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return b.String() + "listing nodes: " + err.Error()
	}
	for _, n := range nodes.Items {
		status := "unknown"
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				status = fmt.Sprintf("%s since %s (%s)", cond.Status, cond.LastTransitionTime.Format(time.RFC3339), cond.Reason)
			}
		}
		var taints []string
		for _, tn := range n.Spec.Taints {
			taints = append(taints, tn.Key+":"+string(tn.Effect))
		}
		fmt.Fprintf(&b, "node %s: Ready %s, taints %v\n", n.Name, status, taints)
	}
	return b.String()
}

func podReady(p *corev1.Pod) (bool, time.Time) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}

// clamp puts t into the whole second [sec, sec+1s) that the API server's
// timestamp sec stands for.
func clamp(t, sec time.Time) time.Time {
	switch {
	case t.Before(sec):
		return sec
	case !t.Before(sec.Add(time.Second)):
		return sec.Add(time.Second - time.Nanosecond)
	}
	return t
}

// requireValue compares a scraped value; metric values are floats.
func requireValue(t testing.TB, want, got float64, msgAndArgs ...any) {
	t.Helper()
	require.InDelta(t, want, got, 1e-9, msgAndArgs...)
}

// postgresDB starts Debian's PostgreSQL for t (skipping t under
// pgtest.SkipEnv), creates database name in it and returns its DSN.
func postgresDB(t *testing.T, name string) string {
	t.Helper()
	if os.Getenv(pgtest.SkipEnv) == "1" {
		t.Skipf("%s=1", pgtest.SkipEnv)
	}
	pg, err := pgtest.Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, pg.Stop()) })
	require.NoError(t, pg.CreateDatabase(t.Context(), name))
	return pg.DSN(name)
}
