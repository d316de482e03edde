package rules

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/steadywatch/steadywatch/contract"
)

// ReliabilityInterval is how often the reliability group is evaluated: its
// windows are days long, and a 28-day increase over every bucket each
// minute would cost more than it tells.
const ReliabilityInterval = 5 * time.Minute

// ReliabilityWindows are the windows of the MTTD, MTTR and MTBF means and
// 90th percentiles.
var ReliabilityWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour}

// reliabilityMetrics are the histograms summarised per service.
var reliabilityMetrics = []string{contract.DetectionSeconds.Name, contract.RecoverySeconds.Name, contract.TimeBetweenFailuresSeconds.Name}

// reliability records, per cluster and service, the mean and 90th percentile of the
// time to detect, to recover and between failures, e.g.
// service:steadywatch_recovery_seconds:mean7d and …:p90_7d. Groups are
// summed: chaos is mostly in the experimental one, and a service's
// reliability is the reader's question.
func (g *generator) reliability() rulefmt.RuleGroup {
	var rules []rulefmt.Rule
	for _, m := range reliabilityMetrics {
		for _, w := range ReliabilityWindows {
			d := duration(w)
			rules = append(rules,
				rulefmt.Rule{
					Record: fmt.Sprintf("service:%s:mean%s", m, d),
					Expr: fmt.Sprintf("sum by (%[1]s, service) (increase(%[2]s_sum[%[3]s]))\n/\nsum by (%[1]s, service) (increase(%[2]s_count[%[3]s]))",
						contract.LabelCluster, m, d),
				},
				rulefmt.Rule{
					Record: fmt.Sprintf("service:%s:p90_%s", m, d),
					Expr:   fmt.Sprintf("histogram_quantile(0.9, sum by (%s, le, service) (increase(%s_bucket[%s])))", contract.LabelCluster, m, d),
				})
		}
	}
	return rulefmt.RuleGroup{
		Name:     "steadywatch.reliability",
		Interval: model.Duration(ReliabilityInterval),
		Rules:    g.check(rules...),
	}
}
