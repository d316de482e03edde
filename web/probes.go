package web

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths every Server serves: the probes, which are never authenticated,
// and the metrics.
const (
	HealthPath  = "/healthz"
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// Readiness tells whether the service can answer for the cluster yet, and
// if not, why.
type Readiness func() (ready bool, reason string)

// Handler serves /metrics from g, /healthz (the process is alive) and
// /readyz (the informers have synced).
func Handler(g prometheus.Gatherer, ready Readiness) *http.ServeMux {
	return probes(MetricsHandler(g), ready)
}

// MetricsHandler serves g in the text format, or OpenMetrics to a scraper
// asking for it; a collector that fails leaves out its own metrics only.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// probes serves /metrics from metrics, unless nil, and the probes.
func probes(metrics http.Handler, ready Readiness) *http.ServeMux {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET "+MetricsPath, metrics)
	}
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+ReadyPath, func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := ready()
		if !ok {
			http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
