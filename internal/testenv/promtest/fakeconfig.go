package promtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// ConfigServer is a stand-in for Prometheus's /api/v1/status/config, for
// the tests of what steadywatch learns from it: it answers with the YAML
// doc returns, as Prometheus does, or 404 when that is "" (a Thanos or
// Mimir without the endpoint); every other path is 404. Asked counts the
// configuration requests answered.
type ConfigServer struct {
	URL   string
	Asked atomic.Int32
}

// StartConfigServer starts a ConfigServer, closed when the test ends.
func StartConfigServer(t testing.TB, doc func() string) *ConfigServer {
	t.Helper()
	s := &ConfigServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		yaml := doc()
		if r.URL.Path != "/api/v1/status/config" || yaml == "" {
			http.NotFound(w, r)
			return
		}
		s.Asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]string{"yaml": yaml}})
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}
