package dashboards_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/dashboards"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// examples are the hypothesis files shipped at the top of the repository.
func examples(t *testing.T) []hypothesis.Hypothesis {
	t.Helper()
	hs, err := hypothesis.Load(filepath.Join("..", "examples"))
	require.NoError(t, err)
	require.NotEmpty(t, hs)
	return hs
}

// extra are hypotheses exercising what the examples do not: both
// directions, an SLO with both bounds, all event kinds.
func extra(t *testing.T) []hypothesis.Hypothesis {
	t.Helper()
	hs, err := hypothesis.Load(filepath.Join("testdata", "extra-hypotheses.yaml"))
	require.NoError(t, err)
	return hs
}

// goldenOptions are the fixed inputs of the golden files: the examples and
// a configuration with a service allow-list.
func goldenOptions(t *testing.T) dashboards.Options {
	t.Helper()
	cfg := config.Default()
	cfg.Watch.Services = []string{"postgres", "scale-app"}
	return dashboards.Options{
		Config:     cfg,
		Hypotheses: examples(t),
		Namespace:  "monitoring",
		Folder:     "steadywatch",
	}
}

// cases are the inputs every generated dashboard is checked with.
func cases(t *testing.T) map[string]dashboards.Options {
	t.Helper()
	return map[string]dashboards.Options{
		"examples with a service allow-list": goldenOptions(t),
		"examples and extra hypotheses with the default configuration": {
			Config: config.Default(), Hypotheses: append(examples(t), extra(t)...),
		},
		"no hypotheses": {Config: config.Default()},
	}
}

// dashboardFiles are the JSON files Generate writes.
var dashboardFiles = []string{dashboards.ExperimentJSON, dashboards.ReliabilityJSON, dashboards.WeeklyJSON}

// decode parses JSON the way the schema validator expects it (numbers as
// json.Number).
func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v map[string]any
	require.NoError(t, dec.Decode(&v))
	return v
}

// panels returns the dashboard's panels, those inside rows included, rows
// left out.
func panels(d map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(ps []any)
	walk = func(ps []any) {
		for _, p := range ps {
			m := p.(map[string]any)
			if m["type"] == "row" {
				if inner, ok := m["panels"].([]any); ok {
					walk(inner)
				}
				continue
			}
			out = append(out, m)
		}
	}
	if ps, ok := d["panels"].([]any); ok {
		walk(ps)
	}
	return out
}
