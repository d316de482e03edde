package exporter

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
	"github.com/steadywatch/steadywatch/verdict"
)

// Verdicts keeps the latest verdict of each hypothesis and exports it:
//
//	steadywatch_hypothesis_verdict{hypothesis,verdict}                1 for the current verdict, 0 for the others
//	steadywatch_hypothesis_running{hypothesis}                        1 while the experiment window is open (provisional verdict)
//	steadywatch_hypothesis_score{hypothesis}                          0–100, NaN if nothing could be judged
//	steadywatch_hypothesis_abort{hypothesis}                          1 while a hard bound is violated and the hypothesis aborts on it
//	steadywatch_hypothesis_verdict_timestamp_seconds{hypothesis}      time of the verdict
//	steadywatch_hypothesis_metric_result{hypothesis,metric,result}    1 for each metric's current result
//	steadywatch_steady_state_value{hypothesis,metric,group}           each group's value over the window
//	steadywatch_hypothesis_effect{hypothesis,metric,bound}            estimate, ci_low, ci_high, allowed
//	steadywatch_hypothesis_superiority_ratio{hypothesis,metric}       P(experimental sample > control sample), ties half; value metrics only
//	steadywatch_hypothesis_p_value{hypothesis,metric}                 the test's p-value
//	steadywatch_verdicts_total{hypothesis,verdict}                    verdicts issued
//
// Label values are bounded by the hypothesis files: one series set per
// hypothesis and metric.
type Verdicts struct {
	mu     sync.Mutex
	latest map[string]verdict.Verdict
	total  *prometheus.CounterVec
}

var (
	verdictDesc      = contractprom.Desc(contract.HypothesisVerdict)
	runningDesc      = contractprom.Desc(contract.HypothesisRunning)
	scoreDesc        = contractprom.Desc(contract.HypothesisScore)
	abortDesc        = contractprom.Desc(contract.HypothesisAbort)
	verdictTimeDesc  = contractprom.Desc(contract.HypothesisVerdictTimestamp)
	metricResultDesc = contractprom.Desc(contract.HypothesisMetricResult)
	steadyStateDesc  = contractprom.Desc(contract.SteadyStateValue)
	effectDesc       = contractprom.Desc(contract.HypothesisEffect)
	superiorityDesc  = contractprom.Desc(contract.HypothesisSuperiorityRatio)
	pValueDesc       = contractprom.Desc(contract.HypothesisPValue)
)

var metricResults = []verdict.Result{verdict.Pass, verdict.High, verdict.Low, verdict.Fail, verdict.Inconclusive}

// NewVerdicts returns an empty Verdicts registered with reg (if not nil).
func NewVerdicts(reg prometheus.Registerer) *Verdicts {
	v := &Verdicts{
		latest: map[string]verdict.Verdict{},
		total:  prometheus.NewCounterVec(contractprom.CounterOpts(contract.VerdictsTotal), contract.VerdictsTotal.Labels),
	}
	if reg != nil {
		reg.MustRegister(v, v.total)
	}
	return v
}

// Record makes vd the current verdict of its hypothesis.
func (v *Verdicts) Record(vd verdict.Verdict) {
	v.mu.Lock()
	v.latest[vd.Hypothesis] = vd
	v.mu.Unlock()
	v.total.WithLabelValues(vd.Hypothesis, string(vd.Result)).Inc()
}

// Keep forgets the verdicts of hypotheses not in names (after a reload
// dropped them), so their series disappear.
func (v *Verdicts) Keep(names []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for name := range v.latest {
		if !slices.Contains(names, name) {
			delete(v.latest, name)
			for _, r := range verdict.Results {
				v.total.DeleteLabelValues(name, string(r))
			}
		}
	}
}

// Latest returns the current verdicts, by hypothesis name.
func (v *Verdicts) Latest() []verdict.Verdict {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]verdict.Verdict, 0, len(v.latest))
	for _, name := range slices.Sorted(maps.Keys(v.latest)) {
		out = append(out, v.latest[name])
	}
	return out
}

// Get returns the current verdict of a hypothesis.
func (v *Verdicts) Get(name string) (verdict.Verdict, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vd, ok := v.latest[name]
	return vd, ok
}

// Describe implements prometheus.Collector.
func (v *Verdicts) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		verdictDesc, runningDesc, scoreDesc, abortDesc, verdictTimeDesc,
		metricResultDesc, steadyStateDesc, effectDesc, superiorityDesc, pValueDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (v *Verdicts) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	for _, vd := range v.Latest() {
		h := vd.Hypothesis
		for _, r := range verdict.Results {
			gauge(verdictDesc, flag(vd.Result == r), h, string(r))
		}
		gauge(runningDesc, flag(vd.Running), h)
		gauge(scoreDesc, vd.Score, h)
		gauge(abortDesc, flag(vd.Abort), h)
		gauge(verdictTimeDesc, float64(vd.At.UnixNano())/1e9, h)
		for _, m := range vd.Metrics {
			for _, r := range metricResults {
				gauge(metricResultDesc, flag(m.Result == r), h, m.Name, string(r))
			}
			if m.Control.Samples > 0 {
				gauge(steadyStateDesc, m.Control.Value, h, m.Name, contract.GroupControl)
			}
			if m.Experimental.Samples > 0 {
				gauge(steadyStateDesc, m.Experimental.Value, h, m.Name, contract.GroupExperimental)
			}
			if e := m.Effect; e != nil {
				gauge(effectDesc, e.Estimate, h, m.Name, contract.BoundEstimate)
				gauge(effectDesc, e.Low, h, m.Name, contract.BoundCILow)
				gauge(effectDesc, e.High, h, m.Name, contract.BoundCIHigh)
				gauge(effectDesc, e.Allowed, h, m.Name, contract.BoundAllowed)
				if e.Superiority != nil {
					gauge(superiorityDesc, *e.Superiority, h, m.Name)
				}
			}
			gauge(pValueDesc, m.PValue, h, m.Name)
		}
	}
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
