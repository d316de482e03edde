package promsource_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
	"github.com/steadywatch/steadywatch/verdict/verdicttest"
)

// The fixed window of the test hypotheses: an hour at 15 s, 241 samples a
// series (both ends included).
var (
	base     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	after    = base.Add(time.Hour + time.Minute)
	step     = 15 * time.Second
	nSamples = 241
)

const (
	fixedWindow   = `window: {fixed: {start: 2026-03-01T12:00:00Z, end: 2026-03-01T13:00:00Z}}`
	latencyMetric = `
    - name: latency
      query: latency{ {{ .Group }} }
      direction: higherIsWorse
      allowedEffect: 20%
      critical: true`
	errorRatioMetric = `
    - name: error-ratio
      ratio:
        errors: sum(rate(errors_rate{ {{ .Group }} }[1m]))
        total: sum(rate(requests_rate{ {{ .Group }} }[1m]))
      direction: higherIsWorse
      allowedEffect: 50%
      critical: true`
)

func metrics(ms ...string) string {
	out := "  metrics:"
	for _, m := range ms {
		out += m
	}
	return out + "\n"
}

// fakeAPI is a Prometheus HTTP API whose range queries a
// verdicttest.Source answers (its errors as they are), so that what
// promsource makes of Prometheus's answers and errors is tested on the
// data the judge's own tests use.
type fakeAPI struct {
	v1.API
	*verdicttest.Source
}

func newFakeAPI() *fakeAPI { return &fakeAPI{Source: verdicttest.NewSource(base, step)} }

func (f *fakeAPI) QueryRange(ctx context.Context, q string, r v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	a, err := f.Samples(ctx, verdict.RangeQuery{Expr: q, Start: r.Start, End: r.End, Step: r.Step})
	if err != nil {
		return nil, nil, nil, err
	}
	m := model.Matrix{}
	for _, s := range a.Series {
		ss := &model.SampleStream{Metric: model.Metric{"series": model.LabelValue(s.Labels)}}
		for _, p := range s.Points {
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(p.T.UnixNano()), Value: model.SampleValue(p.V)})
		}
		m = append(m, ss)
	}
	return m, a.Warnings, nil, nil
}

// aa registers the same lognormal distribution, from different seeds, for
// both groups of name, the experiment's scaled by factor.
func aa(f *fakeAPI, name string, seed uint64, factor float64) {
	f.Set(name, chaos.Control, verdicttest.Lognormal(seed, nSamples, 0.1, 0.3))
	exp := verdicttest.Lognormal(seed+1, nSamples, 0.1, 0.3)
	for i := range exp {
		exp[i] *= factor
	}
	f.Set(name, chaos.Experimental, exp)
}

// newJudge is a judge of the samples of api, as serve and the verdict
// command build theirs.
func newJudge(t testing.TB, o promsource.Options, vo verdict.Options) *verdict.Judge {
	t.Helper()
	j, err := promsource.NewJudge(o, vo)
	require.NoError(t, err)
	return j
}
