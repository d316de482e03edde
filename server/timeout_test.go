package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/config"
)

// A fake API server: a list answers after listDelay; a watch sends a pod
// event every 50 ms for watchFor, then ends.
func slowAPIServer(t *testing.T, listDelay, watchFor time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("watch") != "true" {
			select {
			case <-time.After(listDelay):
			case <-r.Context().Done():
				return
			}
			_ = json.NewEncoder(w).Encode(corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}})
			return
		}
		flusher := w.(http.Flusher)
		flusher.Flush()
		end := time.After(watchFor)
		for i := 0; ; i++ {
			select {
			case <-end:
				return
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			pod := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d","namespace":"shop","resourceVersion":"%d"}}`, i, i+1)
			fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", pod)
			flusher.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func clientFor(t *testing.T, host string, timeout time.Duration) kubernetes.Interface {
	t.Helper()
	cfg := config.Default()
	cfg.Kubernetes.Timeout = model.Duration(timeout)
	rc, _, err := restConfig(Options{RESTConfig: &rest.Config{Host: host}}, cfg)
	require.NoError(t, err)
	c, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	return c
}

func TestKubernetesTimeoutBoundsRequestsButNotWatches(t *testing.T) {
	t.Run("a list slower than the timeout fails", func(t *testing.T) {
		c := clientFor(t, slowAPIServer(t, 2*time.Second, 0).URL, 200*time.Millisecond)
		start := time.Now()
		_, err := c.CoreV1().Pods("shop").List(t.Context(), metav1.ListOptions{})
		require.Error(t, err)
		require.Less(t, time.Since(start), time.Second, "cut at the timeout, not when the server answers")
	})
	t.Run("a list faster than the timeout succeeds", func(t *testing.T) {
		c := clientFor(t, slowAPIServer(t, 50*time.Millisecond, 0).URL, time.Second)
		_, err := c.CoreV1().Pods("shop").List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
	})
	t.Run("a watch outlives the timeout", func(t *testing.T) {
		c := clientFor(t, slowAPIServer(t, 0, 1500*time.Millisecond).URL, 300*time.Millisecond)
		w, err := c.CoreV1().Pods("shop").Watch(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		defer w.Stop()
		start := time.Now()
		var last time.Duration
		n := 0
		for range w.ResultChan() {
			n++
			last = time.Since(start)
		}
		require.Greater(t, last, time.Second, "events kept coming past the 300 ms timeout (%d events)", n)
	})
}
