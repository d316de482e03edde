package promsource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// configServer answers /api/v1/status/config with the configuration doc,
// as Prometheus does, and every other path with 404.
func configServer(t *testing.T, doc string) *promtest.ConfigServer {
	t.Helper()
	return promtest.StartConfigServer(t, func() string { return doc })
}

// severalJobs is a configuration as Prometheus shows it, with a job that
// keeps the global interval and one that sets none (another server's).
const severalJobs = `global:
  scrape_interval: 30s
  scrape_timeout: 10s
  evaluation_interval: 20s
scrape_configs:
- job_name: api
  honor_timestamps: true
  scrape_interval: 15s
  static_configs:
  - targets: [api:8080]
- job_name: node
  scrape_interval: 1m
  static_configs:
  - targets: [node:9100]
- job_name: blackbox
  static_configs:
  - targets: [bb:9115]
remote_write:
- url: http://example.com/write
`

func learn(t *testing.T, url string) (hypothesis.Intervals, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return promsource.Intervals(ctx, promsource.Options{URL: url})
}

func TestIntervalsAreLearntFromPrometheusConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want hypothesis.Intervals
	}{
		{"several jobs, one on the global interval", severalJobs, hypothesis.Intervals{
			Global: 30 * time.Second, Evaluation: 20 * time.Second, From: promsource.LearntFrom,
			Jobs: map[string]time.Duration{"api": 15 * time.Second, "node": time.Minute, "blackbox": 30 * time.Second},
		}},
		{"Prometheus's defaults for what is not given", "scrape_configs: [{job_name: a}]\n", hypothesis.Intervals{
			Global: time.Minute, Evaluation: time.Minute, From: promsource.LearntFrom,
			Jobs: map[string]time.Duration{"a": time.Minute},
		}},
		{"no scrape configs", "global: {scrape_interval: 5s}\n", hypothesis.Intervals{
			Global: 5 * time.Second, Evaluation: time.Minute, From: promsource.LearntFrom, Jobs: map[string]time.Duration{},
		}},
		{
			"scrape_config_files hide jobs", "global: {scrape_interval: 5s}\nscrape_config_files: [/etc/prometheus/jobs/*.yml]\nscrape_configs: [{job_name: a}]\n",
			hypothesis.Intervals{
				Global: 5 * time.Second, Evaluation: time.Minute, From: promsource.LearntFrom,
				Jobs: map[string]time.Duration{"a": 5 * time.Second}, Partial: true,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iv, err := learn(t, configServer(t, tc.doc).URL)
			require.NoError(t, err)
			require.Equal(t, tc.want, iv)
		})
	}
}

// The learnt intervals refuse a step below the one of the series queried,
// from both sides.
func TestALearntIntervalRefusesAShorterStep(t *testing.T) {
	iv, err := learn(t, configServer(t, severalJobs).URL)
	require.NoError(t, err)
	hyp := func(step, matchers string) *hypothesis.Hypothesis {
		t.Helper()
		hs, err := hypothesis.Parse([]byte(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: h}
spec:
  service: web
  groups: {control: 'g="c"', experimental: 'g="e"'}
  window: {fixed: {start: 2026-11-21T10:00:00Z, end: 2026-11-21T10:30:00Z}}
  step: `+step+`
  metrics:
    - name: m
      query: 'rate(x{`+matchers+` {{ .Group }} }[5m])'
      slo: {max: 1}
`), "h.yaml")
		require.NoError(t, err)
		return &hs[0]
	}
	for _, tc := range []struct {
		step, matchers, want string
	}{
		{"1m", `job="node",`, ""},
		{"59s", `job="node",`, "h.yaml:8: spec.step: 59s is shorter than the scrape interval of 1m (job node, learnt from Prometheus)"},
		{"30s", `job="blackbox",`, ""},
		{"29s", `job="blackbox",`, "h.yaml:8: spec.step: 29s is shorter than the scrape interval of 30s (job blackbox, learnt from Prometheus)"},
		{"15s", ``, ""},
		{"14s", ``, "h.yaml:8: spec.step: 14s is shorter than the scrape interval of 15s (job api, the shortest of all"},
		{"15s", `job="pushed",`, ""},
		{"14s", `job="pushed",`, "of 15s (job api, the shortest of all"},
	} {
		err := hyp(tc.step, tc.matchers).CheckIntervals(iv)
		if tc.want == "" {
			require.NoError(t, err, "step %s, %s", tc.step, tc.matchers)
			continue
		}
		require.ErrorContains(t, err, tc.want, "step %s, %s", tc.step, tc.matchers)
	}
	// A recorded series: the evaluation interval, shorter than every job's.
	iv.Evaluation = 10 * time.Second
	require.NoError(t, hyp("10s", "").CheckIntervals(iv))
	require.ErrorContains(t, hyp("9s", "").CheckIntervals(iv), "spec.step: 9s is shorter than the evaluation interval of 10s (evaluation_interval, the shortest of all")
}

// What is not a Prometheus configuration is an error naming the endpoint.
func TestIntervalsErrorsNameTheEndpoint(t *testing.T) {
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, http.StatusText(code), code)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) })

	for _, tc := range []struct {
		name, url, want string
		timeout         time.Duration
	}{
		{"a server without the endpoint (Thanos, Mimir)", status(http.StatusNotFound), "client error: 404", 0},
		{"a proxy that forbids it", status(http.StatusForbidden), "client error: 403", 0},
		{"malformed YAML", configServer(t, "global: [scrape_interval: 1s\n").URL, "the configuration does not parse: yaml: ", 0},
		{"a malformed interval", configServer(t, "global: {scrape_interval: soon}\n").URL, `the configuration does not parse: not a valid duration string: "soon"`, 0},
		{"a job without a name", configServer(t, "scrape_configs: [{job_name: a}, {scrape_interval: 1s}]\n").URL, "scrape_configs[1].job_name: is empty", 0},
		{"a server that does not answer in time", slow.URL, "context deadline exceeded", 200 * time.Millisecond},
		{"nothing listening", "http://127.0.0.1:1", "connection refused", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			if tc.timeout > 0 {
				ctx, cancel = context.WithTimeout(t.Context(), tc.timeout)
			}
			defer cancel()
			began := time.Now()
			_, err := promsource.Intervals(ctx, promsource.Options{URL: tc.url})
			require.ErrorContains(t, err, "Prometheus /api/v1/status/config: ")
			require.ErrorContains(t, err, tc.want)
			require.Less(t, time.Since(began), 5*time.Second, "one attempt, bounded by the context")
		})
	}
}

// A real Prometheus shows its configuration: the harness's scrapes itself
// every second.
func TestIntervalsOfARealPrometheus(t *testing.T) {
	p := promtest.StartPrometheus(t, promtest.PrometheusOptions{Config: promtest.DefaultPrometheusConfig +
		"  - job_name: slow\n    scrape_interval: 5s\n    static_configs:\n      - targets: [127.0.0.1:1]\n"})
	iv, err := learn(t, p.URL())
	require.NoError(t, err)
	require.Equal(t, hypothesis.Intervals{
		Global: time.Second, Evaluation: time.Second, From: promsource.LearntFrom,
		Jobs: map[string]time.Duration{"prometheus": time.Second, "slow": 5 * time.Second},
	}, iv)
}
