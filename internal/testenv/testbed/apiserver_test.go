package testbed

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kube-apiserver goes away and comes back on the same URL with the same
// certificates and etcd: what was stored is still there, the testbed's own
// client works again without being rebuilt, and the other components
// (controller-manager, scheduler, kwok) reconnect and run new pods.
func TestAPIServerStopsAndStartsOnItsOwnPortKeepingItsObjects(t *testing.T) {
	SkipIfDisabled(t)
	ctx := t.Context()
	tb := New(t, Options{})
	c := tb.Client()
	url := tb.APIServerURL()

	before := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	_, err := c.CoreV1().ConfigMaps("default").Create(ctx, before, metav1.CreateOptions{})
	require.NoError(t, err)
	old := tb.apiServerProcess()
	require.NotNil(t, old)
	require.ErrorIs(t, tb.StartAPIServer(ctx), ErrAPIServerRunning, "a running apiserver is not started twice")

	t0 := time.Now()
	require.NoError(t, tb.StopAPIServer(ctx))
	t.Logf("StopAPIServer took %s", time.Since(t0).Round(time.Millisecond))
	require.Less(t, time.Since(t0), stopGrace, "it shuts down on SIGTERM with clients still watching, not killed after the grace")
	require.True(t, old.exited(), "the old process has exited when StopAPIServer returns")
	require.ErrorIs(t, syscall.Kill(old.pid(), 0), syscall.ESRCH, "the old process is gone")
	_, err = c.Discovery().ServerVersion()
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "nothing answers while it is stopped")
	require.ErrorIs(t, tb.StopAPIServer(ctx), errAPIServerStopped)
	require.Len(t, tb.processes(), 4, "etcd, controller-manager, scheduler and kwok keep running")

	t0 = time.Now()
	require.NoError(t, tb.StartAPIServer(ctx))
	t.Logf("StartAPIServer to /readyz 200 took %s", time.Since(t0).Round(time.Millisecond))
	ok, why := tb.health.probe(ctx, url+"/readyz")
	require.True(t, ok, "ready when StartAPIServer returns: %s", why)
	require.Equal(t, url, tb.APIServerURL(), "same URL")
	require.NotEqual(t, old.pid(), tb.apiServerProcess().pid(), "a new process")
	got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "before", metav1.GetOptions{})
	require.NoError(t, err, "the testbed's client works again and the object persisted in etcd")
	require.Equal(t, before.Data, got.Data)
	_, err = os.Stat(filepath.Join(tb.Dir(), "logs", KubeAPIServer+".1.log"))
	require.NoError(t, err, "the first run's log is kept")

	t0 = time.Now()
	require.NoError(t, tb.RestartAPIServer(ctx))
	t.Logf("RestartAPIServer took %s", time.Since(t0).Round(time.Millisecond))
	require.Equal(t, url, tb.APIServerURL())
	require.Len(t, tb.processes(), 5)

	// The rest of the control plane reconnected: a node and a Deployment
	// created now get running, ready pods.
	_, err = tb.CreateNode(ctx, "kwok-node-0", nil)
	require.NoError(t, err)
	_, err = c.AppsV1().Deployments("default").Create(ctx, webDeployment(2), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, tb.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		return countRunningReady(pods.Items) == 2, nil
	}), "pods of a Deployment created after the restart are scheduled and run")

	require.NoError(t, tb.Stop())
	require.ErrorContains(t, tb.StartAPIServer(ctx), "testbed is stopped")
	require.ErrorContains(t, tb.StopAPIServer(ctx), "testbed is stopped")
	require.NoError(t, tb.Stop(), "Stop stays idempotent")
}

// A component that dies under the testbed is reported on Crashed with its
// exit and its log; one the testbed stopped itself (StopAPIServer, Stop)
// is not.
func TestAComponentThatExitsByItselfIsReportedAndAStopIsNot(t *testing.T) {
	SkipIfDisabled(t)
	ctx := t.Context()
	tb := New(t, Options{})
	require.NoError(t, tb.RestartAPIServer(ctx))
	select {
	case err := <-tb.Crashed():
		t.Fatalf("a restart of the kube-apiserver is not a crash: %v", err)
	default:
	}

	var kwok *process
	for _, p := range tb.processes() {
		if p.name == Kwok {
			kwok = p
		}
	}
	require.NotNil(t, kwok)
	require.NoError(t, syscall.Kill(kwok.pid(), syscall.SIGKILL))
	select {
	case err := <-tb.Crashed():
		require.ErrorContains(t, err, "kwok exited by itself (signal: killed)")
		require.ErrorContains(t, err, filepath.Join(tb.Dir(), "logs", "kwok.log"))
	case <-time.After(10 * time.Second):
		t.Fatal("kwok's death was not reported within 10 s")
	}
	require.NoError(t, tb.Stop())
	select {
	case err := <-tb.Crashed():
		t.Fatalf("Stop is not a crash: %v", err)
	default:
	}
}
