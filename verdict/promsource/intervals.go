package promsource

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/hypothesis"
)

// DefaultInterval is Prometheus's own default of the global
// scrape_interval and evaluation_interval.
const DefaultInterval = time.Minute

// LearntFrom is the hypothesis.Intervals.From of the intervals Intervals
// returns.
const LearntFrom = "learnt from Prometheus"

// configEndpoint is what Intervals asks, named by its errors.
const configEndpoint = "Prometheus /api/v1/status/config"

// LearnTimeout bounds the request of KnownIntervals.
const LearnTimeout = 10 * time.Second

// KnownIntervals is Intervals for a caller that goes on without them, in
// one attempt within LearnTimeout (and ctx). ok is false, and a WARN
// logged to o.Logger says that the step is not checked, if Prometheus
// cannot tell: an error, or a configuration that scrapes nothing (its
// series come from remote write or backfilled blocks, at intervals it
// does not know).
func KnownIntervals(ctx context.Context, o Options) (iv hypothesis.Intervals, ok bool) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, LearnTimeout)
	defer cancel()
	iv, err := Intervals(ctx, o)
	switch {
	case err != nil:
		log.Warn("the scrape interval is unknown: the hypotheses' steps are not checked against it", "err", err)
		return hypothesis.Intervals{}, false
	case len(iv.Jobs) == 0 && !iv.Partial:
		log.Warn("the scrape interval is unknown: the hypotheses' steps are not checked against it",
			"err", configEndpoint+": no scrape_configs, so its series come from elsewhere (remote write, backfilled blocks)")
		return hypothesis.Intervals{}, false
	}
	log.Info("intervals learnt from Prometheus", "scrape_interval", iv.Global, "evaluation_interval", iv.Evaluation,
		"jobs", len(iv.Jobs), "scrape_config_files", iv.Partial)
	return iv, true
}

// promConfig is the little of Prometheus's configuration Intervals needs.
type promConfig struct {
	Global struct {
		ScrapeInterval     model.Duration `yaml:"scrape_interval"`
		EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName        string         `yaml:"job_name"`
		ScrapeInterval model.Duration `yaml:"scrape_interval"`
	} `yaml:"scrape_configs"`
	ScrapeConfigFiles []string `yaml:"scrape_config_files"`
}

// Intervals asks Prometheus (o.URL or o.API; no retries, ctx bounds the
// request) for its configuration and returns the intervals it samples at:
// the global scrape_interval, each scrape config's (the global one unless
// it sets its own), and the global evaluation_interval; Prometheus's
// default of 1m for a global one not given. A server that does not answer
// /api/v1/status/config (Thanos, Mimir, a proxy that forbids it) is an
// error naming that endpoint.
func Intervals(ctx context.Context, o Options) (hypothesis.Intervals, error) {
	s, err := New(o)
	if err != nil {
		return hypothesis.Intervals{}, err
	}
	res, err := s.api.Config(ctx)
	if err != nil {
		return hypothesis.Intervals{}, fmt.Errorf("%s: %w", configEndpoint, refused(err))
	}
	iv, err := parseIntervals(res.YAML)
	if err != nil {
		return hypothesis.Intervals{}, fmt.Errorf("%s: %w", configEndpoint, err)
	}
	return iv, nil
}

// parseIntervals reads the intervals of a Prometheus configuration.
func parseIntervals(doc string) (hypothesis.Intervals, error) {
	var c promConfig
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		return hypothesis.Intervals{}, fmt.Errorf("the configuration does not parse: %w", err)
	}
	iv := hypothesis.Intervals{
		Global:     orDefault(c.Global.ScrapeInterval, DefaultInterval),
		Evaluation: orDefault(c.Global.EvaluationInterval, DefaultInterval),
		Jobs:       make(map[string]time.Duration, len(c.ScrapeConfigs)),
		Partial:    len(c.ScrapeConfigFiles) > 0,
		From:       LearntFrom,
	}
	for i, sc := range c.ScrapeConfigs {
		if sc.JobName == "" {
			return hypothesis.Intervals{}, fmt.Errorf("scrape_configs[%d].job_name: is empty", i)
		}
		d := orDefault(sc.ScrapeInterval, iv.Global)
		if have, ok := iv.Jobs[sc.JobName]; ok && have <= d {
			continue // Prometheus refuses a job twice; the least restrictive
		}
		iv.Jobs[sc.JobName] = d
	}
	return iv, nil
}

func orDefault(d model.Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}
