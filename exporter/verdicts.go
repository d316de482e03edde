package exporter

import (
	"github.com/prometheus/client_golang/prometheus"

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
	verdictDesc = prometheus.NewDesc("steadywatch_hypothesis_verdict",
		"The current verdict of each hypothesis: 1 for it, 0 for the other verdicts.",
		[]string{"hypothesis", "verdict"}, nil)
	runningDesc = prometheus.NewDesc("steadywatch_hypothesis_running",
		"1 while the hypothesis's experiment window is open and its verdict provisional.",
		[]string{"hypothesis"}, nil)
	scoreDesc = prometheus.NewDesc("steadywatch_hypothesis_score",
		"Weighted share of the judged metrics that passed, 0-100; NaN if none could be judged.",
		[]string{"hypothesis"}, nil)
	abortDesc = prometheus.NewDesc("steadywatch_hypothesis_abort",
		"1 while a hard bound (SLO) of the hypothesis is violated during its experiment and it asks to abort.",
		[]string{"hypothesis"}, nil)
	verdictTimeDesc = prometheus.NewDesc("steadywatch_hypothesis_verdict_timestamp_seconds",
		"Time of the hypothesis's current verdict.",
		[]string{"hypothesis"}, nil)
	metricResultDesc = prometheus.NewDesc("steadywatch_hypothesis_metric_result",
		"The current result of each steady-state metric of a hypothesis: 1 for it, 0 for the others.",
		[]string{"hypothesis", "metric", "result"}, nil)
	steadyStateDesc = prometheus.NewDesc("steadywatch_steady_state_value",
		"Each group's value of a steady-state metric over the experiment window: the median of its samples, or errors/total for a ratio.",
		[]string{"hypothesis", "metric", "group"}, nil)
	effectDesc = prometheus.NewDesc("steadywatch_hypothesis_effect",
		"The experimental group's shift from the control for a metric (estimate and confidence interval) and the largest shift allowed, in the metric's unit.",
		[]string{"hypothesis", "metric", "bound"}, nil)
	superiorityDesc = prometheus.NewDesc("steadywatch_hypothesis_superiority_ratio",
		"The standardized effect of a value metric: the probability that an experimental sample exceeds a control sample, ties counting half (0.5: no effect); absent for ratios.",
		[]string{"hypothesis", "metric"}, nil)
	pValueDesc = prometheus.NewDesc("steadywatch_hypothesis_p_value",
		"p-value of the two-sample or count test comparing the groups for a metric.",
		[]string{"hypothesis", "metric"}, nil)
	verdictsTotalDesc = prometheus.NewDesc("steadywatch_verdicts_total",
		"Verdicts issued, by hypothesis and verdict; a hypothesis judged continuously counts every judgement.",
		[]string{"hypothesis", "verdict"}, nil)
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
		metricResultDesc, steadyStateDesc, effectDesc, superiorityDesc, pValueDesc, verdictsTotalDesc,
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
				gauge(steadyStateDesc, m.Control.Value, h, m.Name, "control")
			}
			if m.Experimental.Samples > 0 {
				gauge(steadyStateDesc, m.Experimental.Value, h, m.Name, "experimental")
			}
			if e := m.Effect; e != nil {
				gauge(effectDesc, e.Estimate, h, m.Name, "estimate")
				gauge(effectDesc, e.Low, h, m.Name, "ci_low")
				gauge(effectDesc, e.High, h, m.Name, "ci_high")
				gauge(effectDesc, e.Allowed, h, m.Name, "allowed")
				if e.Superiority != nil {
					gauge(superiorityDesc, *e.Superiority, h, m.Name)
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
