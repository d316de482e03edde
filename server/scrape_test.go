package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
)

func TestServeRefusesAHypothesisWhoseStepIsShorterThanTheScrapeInterval(t *testing.T) {
	const file = "../examples/kill-postgres-replica.yaml" // step: 15s
	cfg := config.Verdicts{Hypotheses: []string{file}, PrometheusURL: "http://127.0.0.1:9090", Interval: model.Duration(time.Second)}

	cfg.ScrapeInterval = model.Duration(15 * time.Second)
	_, err := newVerdictLoop(cfg, nil, nil, nil, verdict.NewBoard(), slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err, "a step equal to the scrape interval")

	cfg.ScrapeInterval = model.Duration(15*time.Second + time.Millisecond)
	_, err = newVerdictLoop(cfg, nil, nil, nil, verdict.NewBoard(), slog.New(slog.DiscardHandler), time.Now)
	require.ErrorContains(t, err, file+":")
	require.ErrorContains(t, err, "spec.step: 15s is shorter than the scrape interval of 15s1ms")
	require.ErrorContains(t, err, "(verdicts.scrape_interval)")
}

// Issue 11 #11: without verdicts.scrape_interval serve learns the
// intervals from Prometheus at start, once: a step below them is refused,
// one at them starts, and a Prometheus that cannot tell is warned about.
func TestServeLearnsTheScrapeIntervalFromPrometheus(t *testing.T) {
	const file = "../examples/kill-postgres-replica.yaml" // step: 15s, no job matcher
	var doc atomic.Value                                  // string: the configuration; "" answers 404
	doc.Store("")
	srv := promtest.StartConfigServer(t, func() string { yaml, _ := doc.Load().(string); return yaml })
	asked := &srv.Asked
	cfg := config.Verdicts{Hypotheses: []string{file}, PrometheusURL: srv.URL, Interval: model.Duration(time.Second)}
	start := func() (string, error) {
		var logs bytes.Buffer
		l, err := newVerdictLoop(cfg, nil, nil, nil, verdict.NewBoard(), slog.New(slog.NewTextHandler(&logs, nil)), time.Now)
		if err == nil {
			err = l.checkIntervals(t.Context())
		}
		return logs.String(), err
	}
	const jobs = "global: {scrape_interval: 1m, evaluation_interval: 1m}\nscrape_configs: [{job_name: postgres, scrape_interval: %s}, {job_name: app}]\n"

	doc.Store(fmt.Sprintf(jobs, "15s"))
	_, err := start()
	require.NoError(t, err, "a step equal to the shortest interval")
	require.Equal(t, int32(1), asked.Load())

	doc.Store(fmt.Sprintf(jobs, "15s1ms"))
	_, err = start()
	require.ErrorContains(t, err, file+":")
	require.ErrorContains(t, err, "verdicts.hypotheses: ")
	require.ErrorContains(t, err, "spec.step: 15s is shorter than the scrape interval of 15s1ms (job postgres, the shortest of all for a selector that names no known job, learnt from Prometheus)")
	require.ErrorContains(t, err, "(verdicts.prometheus_url; verdicts.scrape_interval overrides)")
	require.Equal(t, int32(2), asked.Load())

	cfg.ScrapeInterval = model.Duration(15 * time.Second)
	_, err = start()
	require.NoError(t, err, "verdicts.scrape_interval wins")
	require.Equal(t, int32(2), asked.Load(), "and Prometheus is not asked")

	cfg.ScrapeInterval = 0
	doc.Store("") // 404, as Thanos or Mimir
	logs, err := start()
	require.NoError(t, err)
	require.Contains(t, logs, `level=WARN msg="the scrape interval is unknown: the hypotheses' steps are not checked against it" err="Prometheus /api/v1/status/config: client_error: client error: 404"`)
}
