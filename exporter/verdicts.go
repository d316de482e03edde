package exporter

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
	"github.com/steadywatch/steadywatch/verdict"
)

// VerdictCollector publishes the verdicts on a verdict.Board, read at
// scrape time:
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
//	steadywatch_hypothesis_cohens_effect_size{hypothesis,metric}      Cohen's h of the error ratios; ratio metrics only
//	steadywatch_hypothesis_p_value{hypothesis,metric}                 the test's p-value
//	steadywatch_verdicts_total{hypothesis,verdict}                    verdicts issued
//
// Label values are bounded by the hypothesis files: one series set per
// hypothesis and metric; a hypothesis the board no longer keeps leaves no
// series.
type VerdictCollector struct {
	board *verdict.Board
}

var (
	verdictDesc       = contractprom.Desc(contract.HypothesisVerdict)
	runningDesc       = contractprom.Desc(contract.HypothesisRunning)
	scoreDesc         = contractprom.Desc(contract.HypothesisScore)
	abortDesc         = contractprom.Desc(contract.HypothesisAbort)
	verdictTimeDesc   = contractprom.Desc(contract.HypothesisVerdictTimestamp)
	metricResultDesc  = contractprom.Desc(contract.HypothesisMetricResult)
	steadyStateDesc   = contractprom.Desc(contract.SteadyStateValue)
	effectDesc        = contractprom.Desc(contract.HypothesisEffect)
	superiorityDesc   = contractprom.Desc(contract.HypothesisSuperiorityRatio)
	cohensHDesc       = contractprom.Desc(contract.HypothesisCohensEffectSize)
	pValueDesc        = contractprom.Desc(contract.HypothesisPValue)
	verdictsTotalDesc = contractprom.Desc(contract.VerdictsTotal)
)

var metricResults = []verdict.Result{verdict.Pass, verdict.High, verdict.Low, verdict.Fail, verdict.Inconclusive}

// NewVerdictCollector returns a collector of the verdicts on board.
func NewVerdictCollector(board *verdict.Board) *VerdictCollector {
	return &VerdictCollector{board: board}
}

// Describe implements prometheus.Collector.
func (c *VerdictCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		verdictDesc, runningDesc, scoreDesc, abortDesc, verdictTimeDesc,
		metricResultDesc, steadyStateDesc, effectDesc, superiorityDesc, cohensHDesc, pValueDesc, verdictsTotalDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *VerdictCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	for _, vd := range c.board.Latest() {
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
				if e.CohensH != nil {
					gauge(cohensHDesc, *e.CohensH, h, m.Name)
				}
			}
			gauge(pValueDesc, m.PValue, h, m.Name)
		}
	}
	for h, counts := range c.board.Issued() {
		for r, n := range counts {
			ch <- prometheus.MustNewConstMetric(verdictsTotalDesc, prometheus.CounterValue, float64(n), h, string(r))
		}
	}
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
