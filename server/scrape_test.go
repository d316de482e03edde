package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
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
