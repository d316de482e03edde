package verdict_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/verdict"
)

// prebuilt answers each query with the answer the fake gave the first
// time, so that a benchmark measures the judge, not the fake building its
// data.
type prebuilt struct {
	mu      sync.Mutex
	answers map[string]verdict.Answer
}

func (p *prebuilt) Samples(_ context.Context, q verdict.RangeQuery) (verdict.Answer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.answers[q.Expr]
	if !ok {
		panic("prebuilt: no answer to " + q.Expr)
	}
	return a, nil
}

// BenchmarkJudge judges a hypothesis of 8 metrics over an hour at 15 s
// (241 samples a group) against a fake sample source with the answers built
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
			f := newSource()
			for i := range 8 {
				name := fmt.Sprintf("m%d", i)
				if i < tc.values {
					fmt.Fprintf(&spec, "\n    - name: %s\n      query: %s{ {{ .Group }} }\n      direction: higherIsWorse\n      allowedEffect: 20%%\n      slo: {max: 1}", name, name)
					aa(f, name, uint64(i), 1.05)
					continue
				}
				fmt.Fprintf(&spec, "\n    - name: %s\n      ratio:\n        errors: sum(rate(%s_errors{ {{ .Group }} }[1m]))\n        total: sum(rate(%s_requests{ {{ .Group }} }[1m]))\n      direction: higherIsWorse\n      allowedEffect: 50%%\n      slo: {max: 0.01}", name, name, name)
				for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
					f.Set(name+"_requests", g, lognormal(uint64(i), nSamples, 20, 0.1))
					f.Set(name+"_errors", g, lognormal(uint64(i)+1, nSamples, 0.02, 0.5))
				}
			}
			spec.WriteString("\n")
			h := hyp(b, fixedWindow, spec.String())
			p := &prebuilt{answers: map[string]verdict.Answer{}}
			for i := range h.Metrics {
				m := &h.Metrics[i]
				for _, g := range []chaos.Group{chaos.Control, chaos.Experimental} {
					qs := []string{m.Query(g)}
					if m.Ratio != nil {
						sel := h.Groups.Selector(g)
						qs = []string{m.Ratio.Errors.Expand(sel), m.Ratio.Total.Expand(sel)}
					}
					for _, q := range qs {
						a, err := f.Samples(b.Context(), verdict.RangeQuery{Expr: q, Start: base, End: winEnd, Step: step})
						require.NoError(b, err)
						p.answers[q] = a
					}
				}
			}
			j := newJudge(b, verdict.Options{Samples: p})
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
