//go:build !testbedbuildonly

package testbed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Well-known kwok names used by fake nodes.
const (
	// KwokNodeAnnotation marks a node as managed by this testbed's kwok.
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	// KwokTaintKey keeps ordinary pods off fake nodes unless they tolerate it.
	KwokTaintKey = "kwok.x-k8s.io/node"
	// KwokNodeLabel is the label (value "kwok") that fake nodes carry, for nodeSelectors.
	KwokNodeLabel = "type"
)

// New builds (if needed) and starts a testbed for a test and stops it in
// t.Cleanup. It skips the test when STEADYWATCH_SKIP_TESTBED=1 and fails it
// with the reason when the testbed cannot be built or started.
func New(t testing.TB, opts Options) *Testbed {
	t.Helper()
	SkipIfDisabled(t)
	if opts.Log == nil {
		opts.Log = TestLogger(t)
	}
	if !opts.Binaries.complete() {
		bins, err := Ensure(t.Context(), opts.Build, opts.Log)
		if err != nil {
			t.Fatalf("testbed: building binaries failed (pre-build with `go run ./cmd/testbed build`): %v", err)
		}
		opts.Binaries = bins
	}
	tb, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("testbed: start failed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// The component logs go away with the state dir; keep the part
			// most likely to explain the failure.
			for _, p := range tb.processes() {
				t.Logf("testbed: last lines of %s log:\n%s", p.name, p.logTail(logTailLines))
			}
		}
		if err := tb.Stop(); err != nil {
			t.Errorf("testbed: %v", err)
		}
	})
	return tb
}

// SkipIfDisabled skips t when STEADYWATCH_SKIP_TESTBED=1.
func SkipIfDisabled(t testing.TB) {
	t.Helper()
	if os.Getenv("STEADYWATCH_SKIP_TESTBED") == "1" {
		t.Skip("STEADYWATCH_SKIP_TESTBED=1: skipping test that needs the Kubernetes testbed")
	}
}

// TestLogger returns a logger that writes to the test log, at debug level if
// STEADYWATCH_TESTBED_LOG=debug. Records logged after the test has finished
// (a component dying during shutdown) are dropped, since testing panics on them.
func TestLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	level := slog.LevelInfo
	if strings.EqualFold(os.Getenv("STEADYWATCH_TESTBED_LOG"), "debug") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})).With("src", "testbed")
}

type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	return w.t.Output().Write(p)
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// WaitFor polls cond every 50ms until it returns true, returns an error, or
// timeout (or ctx) expires.
func (tb *Testbed) WaitFor(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, cond)
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return fmt.Errorf("condition not met within %s: %w", timeout, err)
	}
	return err
}

// CreateNode creates a kwok fake node (32 CPUs, 256Gi, 110 pods), labelled
// type=kwok plus labels and tainted kwok.x-k8s.io/node=fake:NoSchedule, and
// waits until kwok reports it Ready. Pods need a nodeSelector or affinity
// for it and a toleration for the taint.
func (tb *Testbed) CreateNode(ctx context.Context, name string, labels map[string]string) (*corev1.Node, error) {
	l := map[string]string{KwokNodeLabel: "kwok", corev1.LabelHostname: name}
	maps.Copy(l, labels)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: l,
			Annotations: map[string]string{
				KwokNodeAnnotation: "fake",
				// Where kwok serves this node's fake kubelet resource metrics.
				"metrics.k8s.io/resource-metrics-path": "/metrics/nodes/" + name + "/metrics/resource",
			},
		},
		Spec: corev1.NodeSpec{
			Taints: []corev1.Taint{{Key: KwokTaintKey, Value: "fake", Effect: corev1.TaintEffectNoSchedule}},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := tb.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating node %s: %w", name, err)
	}
	var ready *corev1.Node
	err := tb.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := tb.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("getting node %s: %w", name, err)
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = n
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for node %s to be Ready: %w", name, err)
	}
	return ready, nil
}

// CreateNamespace creates a namespace and waits for its default
// ServiceAccount, without which the apiserver rejects pods.
func (tb *Testbed) CreateNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := tb.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", name, err)
	}
	err = tb.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		return tb.serviceAccountExists(ctx, name)
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for default ServiceAccount in %s: %w", name, err)
	}
	return ns, nil
}
