package verdict_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
)

// prebuilt answers each query with the matrix it answered the first time,
// so that a benchmark measures the judge, not the fake building its data.
type prebuilt struct {
	v1.API
	mu      sync.Mutex
	answers map[string]model.Matrix
}

func (p *prebuilt) QueryRange(_ context.Context, q string, _ v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.answers[q]
	if !ok {
		panic("prebuilt: no answer to " + q)
	}
	return m, nil, nil, nil
}

// BenchmarkJudge judges a hypothesis of 8 metrics over an hour at 15 s
// (241 samples a group) against a fake Prometheus with the answers built
// beforehand: the judge's own cost, queries excluded.
func BenchmarkJudge(b *testing.B) {
	for _, tc := range []struct {
		name   string
		values int // value metrics; the rest of 8 are ratios
	}{
		{"8-values", 8},
		{"6-values-2-ratios", 6},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var spec strings.Builder
			spec.WriteString("  metrics:")
			f := newFakeProm()
			for i := range 8 {
				name := fmt.Sprintf("m%d", i)
				if i < tc.values {
					fmt.Fprintf(&spec, "\n    - name: %s\n      query: %s{ {{ .Group }} }\n      direction: higherIsWorse\n      allowedEffect: 20%%\n      slo: {max: 1}", name, name)
					aa(f, name, uint64(i), 1.05)
					continue
				}
				fmt.Fprintf(&spec, "\n    - name: %s\n      ratio:\n        errors: sum(rate(%s_errors{ {{ .Group }} }[1m]))\n        total: sum(rate(%s_requests{ {{ .Group }} }[1m]))\n      direction: higherIsWorse\n      allowedEffect: 50%%\n      slo: {max: 0.01}", name, name, name)
				for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
					f.set(name+"_requests", g, lognormal(uint64(i), nSamples, 20, 0.1))
					f.set(name+"_errors", g, lognormal(uint64(i)+1, nSamples, 0.02, 0.5))
				}
			}
			spec.WriteString("\n")
			h := hyp(b, fixedWindow, spec.String())
			p := &prebuilt{answers: map[string]model.Matrix{}}
			r := v1.Range{Start: base, End: winEnd, Step: step}
			for i := range h.Metrics {
				m := &h.Metrics[i]
				for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
					qs := []string{m.Query(g)}
					if m.Ratio != nil {
						sel := h.Groups.Selector(g)
						qs = []string{m.Ratio.Errors.Expand(sel), m.Ratio.Total.Expand(sel)}
					}
					for _, q := range qs {
						v, _, _, err := f.QueryRange(b.Context(), q, r)
						require.NoError(b, err)
						p.answers[q] = v.(model.Matrix)
					}
				}
			}
			j := newJudge(b, verdict.Options{Prometheus: p})
			v, err := j.Judge(b.Context(), h, after)
			require.NoError(b, err)
			require.Len(b, v.Metrics, 8)
			for _, m := range v.Metrics {
				require.NotEqual(b, verdict.Inconclusive, m.Result, m.Reason)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := j.Judge(b.Context(), h, after); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
