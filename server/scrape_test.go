package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/verdict"
)

func TestServeRefusesAHypothesisWhoseStepIsShorterThanTheScrapeInterval(t *testing.T) {
	const file = "../examples/kill-postgres-replica.yaml" // step: 15s
	cfg := config.Verdicts{Hypotheses: []string{file}, PrometheusURL: "http://127.0.0.1:9090", Interval: model.Duration(time.Second)}

	cfg.ScrapeInterval = model.Duration(15 * time.Second)
	_, err := newVerdictLoop(cfg, config.LeaderElection{}, nil, nil, nil, verdict.NewBoard(), slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err, "a step equal to the scrape interval")

	cfg.ScrapeInterval = model.Duration(15*time.Second + time.Millisecond)
	_, err = newVerdictLoop(cfg, config.LeaderElection{}, nil, nil, nil, verdict.NewBoard(), slog.New(slog.DiscardHandler), time.Now)
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
		l, err := newVerdictLoop(cfg, config.LeaderElection{}, nil, nil, nil, verdict.NewBoard(), slog.New(slog.NewTextHandler(&logs, nil)), time.Now)
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

// Issue 15 #4: every replica, follower or leader, checks the steps
// against Prometheus before it is ready: a configuration that is wrong
// stops the rollout at its first replica, and ends serve with the error.
func TestEveryReplicaChecksTheStepsBeforeItIsReady(t *testing.T) {
	const file = "../examples/kill-postgres-replica.yaml" // step: 15s
	var doc atomic.Value
	srv := promtest.StartConfigServer(t, func() string { yaml, _ := doc.Load().(string); return yaml })
	cfg := config.Default()
	cfg.Verdicts = config.Verdicts{Hypotheses: []string{file}, PrometheusURL: srv.URL, Interval: model.Duration(time.Second)}
	const jobs = "global: {scrape_interval: 1m, evaluation_interval: 1m}\nscrape_configs: [{job_name: postgres, scrape_interval: %s}]\n"
	follower := newLeadership(prometheus.NewRegistry())

	for _, tc := range []struct {
		interval string
		wantErr  string
	}{
		{"15s", ""},
		{"15s1ms", "spec.step: 15s is shorter than the scrape interval of 15s1ms"},
	} {
		t.Run("a scrape interval of "+tc.interval, func(t *testing.T) {
			doc.Store(fmt.Sprintf(jobs, tc.interval))
			var failed atomic.Value
			loop, err := newVerdicts(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Now: time.Now},
				nil, nil, nil, verdict.NewBoard())(nil, cfg)
			require.NoError(t, err)
			steps := newStepCheck(loop, func(err error) { failed.Store(err) })
			isReady := ready(cluster{}, nil, follower, steps)
			ok, why := isReady()
			require.False(t, ok, "a follower is ready before its steps are checked")
			require.Equal(t, "the hypotheses' steps are being checked against the scrape intervals of Prometheus at "+srv.URL, why)

			asked := srv.Asked.Load()
			go steps.run(t.Context())
			if tc.wantErr == "" {
				waitfor.True(t, 15*time.Second, "the follower to be ready", func() bool { ok, _ := isReady(); return ok })
				require.Nil(t, failed.Load())
			} else {
				waitfor.True(t, 15*time.Second, "serve to fail", func() bool { return failed.Load() != nil })
				err, _ := failed.Load().(error)
				require.ErrorContains(t, err, tc.wantErr)
				var cerr *ConfigError
				require.ErrorAs(t, err, &cerr)
				ok, _ := isReady()
				require.False(t, ok)
			}
			require.Equal(t, asked+1, srv.Asked.Load(), "the follower asked Prometheus")
		})
	}
}
