package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/exporter"
)

// Issue 15 #6: the election has a client of its own: the informers'
// requests, throttled by kubernetes.qps, never delay a renewal, and a
// renewal that hangs gives up in time for other tries within
// renew_deadline.
func TestTheElectionHasAClientOfItsOwn(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "/leases/hung"):
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case strings.Contains(r.URL.Path, "/leases/"):
			_ = json.NewEncoder(w).Encode(coordv1.Lease{
				TypeMeta: metav1.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"}, ObjectMeta: metav1.ObjectMeta{Name: "steadywatch"},
			})
		default:
			_ = json.NewEncoder(w).Encode(corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}})
		}
	}))
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.Kubernetes.QPS, cfg.Kubernetes.Burst = 0.1, 1 // a request every 10 s
	cfg.Kubernetes.LeaderElection.RenewDeadline = model.Duration(2 * time.Second)
	cfg.Kubernetes.LeaderElection.RetryPeriod = model.Duration(time.Second)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	k8s, err := connect(Options{Config: cfg, RESTConfig: &rest.Config{Host: srv.URL}, Logger: log, Now: time.Now},
		reg, exporter.NewMetrics(reg), newCoverageRecorder(nil, log, time.Now))
	require.NoError(t, err)

	// The informers spend the burst: their next request waits 10 s.
	_, err = k8s.client.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	start := time.Now()
	_, err = k8s.election.CoordinationV1().Leases("steadywatch").Get(t.Context(), "steadywatch", metav1.GetOptions{})
	require.NoError(t, err)
	require.Less(t, time.Since(start), 2*time.Second, "the renewal waited for the informers' rate limit")

	// A request that hangs is cut at the retry period, not at
	// kubernetes.timeout (30 s).
	start = time.Now()
	_, err = k8s.election.CoordinationV1().Leases("steadywatch").Get(context.Background(), "hung", metav1.GetOptions{})
	require.Error(t, err)
	took := time.Since(start)
	require.GreaterOrEqual(t, took, time.Second)
	require.Less(t, took, 2*time.Second, "a hung renewal outlived the retry period")
}
