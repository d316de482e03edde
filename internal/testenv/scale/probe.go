package scale

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// SettleQuiet is how long the pods must go without an update for the
// cluster to count as settled.
const SettleQuiet = 15 * time.Second

// Probe is a plain watch on a namespace's pods that notes when each pod's
// deletion (deletionTimestamp set, or the pod gone) was delivered: what
// the control plane took, which no watcher can beat.
type Probe struct {
	mu      sync.Mutex
	last    time.Time            // latest event of any kind
	deletes map[string]time.Time // pod UID -> delivery of its deletion
	w       watch.Interface
	done    chan struct{}
}

// StartProbe starts a probe on ns's pods, stopped at t's cleanup.
func StartProbe(t testing.TB, c kubernetes.Interface, ns string) *Probe {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{Limit: 1})
	require.NoError(t, err)
	w, err := c.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	p := &Probe{last: time.Now(), deletes: map[string]time.Time{}, w: w, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ev := range w.ResultChan() {
			now := time.Now()
			pod, ok := ev.Object.(*corev1.Pod)
			p.mu.Lock()
			p.last = now
			if ok && (ev.Type == watch.Deleted || pod.DeletionTimestamp != nil) {
				if _, seen := p.deletes[string(pod.UID)]; !seen {
					p.deletes[string(pod.UID)] = now
				}
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

// Settle waits until no pod changed for SettleQuiet, for at most 5
// minutes, and reports whether the pods settled: a testbed whose fake
// kubelets cannot keep up keeps changing pods, and is measured as it is.
func (p *Probe) Settle(t testing.TB) bool {
	t.Helper()
	t0 := time.Now()
	for time.Since(t0) < 5*time.Minute {
		quiet := p.QuietFor()
		if quiet >= SettleQuiet {
			t.Logf("pods settled after %s", time.Since(t0).Round(time.Second))
			return true
		}
		time.Sleep(SettleQuiet - quiet)
	}
	t.Logf("pods still changing after %s: measuring anyway", time.Since(t0).Round(time.Second))
	return false
}

// QuietFor is how long ago the last pod change was delivered.
func (p *Probe) QuietFor() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.last)
}

// Deleted returns when the probe saw the deletion of pod uid, waiting for
// it until deadline.
func (p *Probe) Deleted(uid string, deadline time.Time) (time.Time, bool) {
	for {
		p.mu.Lock()
		at, ok := p.deletes[uid]
		p.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return at, ok
		}
		time.Sleep(time.Millisecond)
	}
}

// Stop ends the watch; it is safe to call more than once.
func (p *Probe) Stop() {
	p.w.Stop()
	<-p.done
}
