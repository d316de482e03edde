package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/exporter"
	"github.com/steadywatch/steadywatch/web"
)

func get(t *testing.T, h http.Handler, path string, header ...string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, string(body)
}

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := exporter.NewMetrics(reg)
	var synced atomic.Bool
	h := web.Handler(reg, func() (bool, string) {
		if synced.Load() {
			return true, ""
		}
		return false, "informers have not synced with the Kubernetes API at https://10.0.0.1:6443"
	})

	t.Run("healthz answers as soon as the process runs", func(t *testing.T) {
		code, _, body := get(t, h, "/healthz")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok\n", body)
	})

	t.Run("readyz says why it is not ready, then that it is", func(t *testing.T) {
		code, _, body := get(t, h, "/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, "not ready: informers have not synced with the Kubernetes API at https://10.0.0.1:6443\n", body)

		synced.Store(true)
		code, _, body = get(t, h, "/readyz")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok\n", body)
	})

	t.Run("metrics serves the registry in the text format", func(t *testing.T) {
		m.WatchError("pods", io.ErrUnexpectedEOF)
		code, header, body := get(t, h, "/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, header.Get("Content-Type"), "text/plain")
		require.Contains(t, body, `steadywatch_watch_errors_total{resource="pods"} 1`)
	})

	t.Run("metrics serves OpenMetrics to a scraper asking for it", func(t *testing.T) {
		code, header, body := get(t, h, "/metrics", "Accept", "application/openmetrics-text;version=1.0.0")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, header.Get("Content-Type"), "application/openmetrics-text")
		require.Contains(t, body, "# EOF")
	})

	t.Run("other methods and paths are refused", func(t *testing.T) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/metrics", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code)

		code, _, _ := get(t, h, "/")
		require.Equal(t, http.StatusNotFound, code)
	})
}
