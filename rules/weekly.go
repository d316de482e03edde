package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/steadywatch/steadywatch/contract"
)

// WeeklyGroup is the name of the group of the weekly review's recording
// rules.
const WeeklyGroup = "steadywatch.weekly"

// WeeklyInterval is both how often the weekly group is evaluated and the
// window of each increase it records, so that consecutive samples tile
// time: sum_over_time of a record over any range is the counter's increase
// over that range, to within one interval at each end. The two must stay
// equal, or sum_over_time counts some of the time twice or not at all.
const WeeklyInterval = 5 * time.Minute

// weeklyBirthLookback is how long a series must have been absent before
// a sample of it counts as its birth (see increment).
const weeklyBirthLookback = time.Hour

// Names of the weekly records. Each is the increase of a counter (or a
// histogram's _sum or _count) over WeeklyInterval, by the labels its
// level names; the weekly review dashboard sums them over $__range.
var (
	increase = ":increase" + duration(WeeklyInterval)

	WeeklyAlertsReceived     = "alertname_service_severity_status:" + strings.TrimSuffix(contract.AlertsReceived.Name, "_total") + increase
	WeeklyIncidentsRecovered = "kind_service:" + contract.Namespace + "_incidents_recovered" + increase
	WeeklyRecoveryCount      = "kind_service:" + contract.RecoverySeconds.Name + "_count" + increase
	WeeklyRecoverySum        = "kind_service:" + contract.RecoverySeconds.Name + "_sum" + increase
	WeeklyDetectionCount     = "kind_service:" + contract.DetectionSeconds.Name + "_count" + increase
	WeeklyDetectionSum       = "kind_service:" + contract.DetectionSeconds.Name + "_sum" + increase
	WeeklyUndetected         = "kind_service:" + strings.TrimSuffix(contract.IncidentsUndetected.Name, "_total") + increase
	WeeklyBetweenCount       = "service:" + contract.TimeBetweenFailuresSeconds.Name + "_count" + increase
	WeeklyBetweenSum         = "service:" + contract.TimeBetweenFailuresSeconds.Name + "_sum" + increase
	WeeklyWebhookRequests    = "code:" + strings.TrimSuffix(contract.WebhookRequests.Name, "_total") + increase
	WeeklyAlertsRejected     = "reason:" + strings.TrimSuffix(contract.AlertsRejected.Name, "_total") + increase
)

// increment is the increase of the counters sel over WeeklyInterval, per
// series. increase() cannot see the increment that creates a series (it
// starts at 1: the first alert of a name, the first incident of a kind and
// service since steadywatch started), so a series that had no sample in
// the hour before the window counts whole — if Prometheus was scraping its
// target then (up), so that a Prometheus that starts afresh does not count
// everything steadywatch counted before in its first window. An hour
// rather than the window: a failed scrape marks the series stale, and a
// series back after one must not count its whole past again. The set
// operators match on the labels without the metric name, so a new series
// is not counted by both sides of the or. The join on up cannot be by
// cluster too: with honor_labels, up has only the target's labels.
func increment(sel string) string {
	return fmt.Sprintf("(\n    %[1]s unless last_over_time(%[1]s[%[2]s] offset %[3]s)\n    and on (job, instance) last_over_time(up[%[2]s] offset %[3]s)\n  )\n  or\n  increase(%[1]s[%[3]s])",
		sel, duration(weeklyBirthLookback), duration(WeeklyInterval))
}

// weekly records the figures of the weekly review that steadywatch's
// metrics hold: alert notifications, chaos failures recovered and
// undetected, and the sums and counts behind MTTD, MTTR and MTBF, by the
// labels the review breaks them down by and by cluster (absent with one). docs/reports.md says which of the
// report's figures they are, and which Prometheus cannot compute.
func (g *generator) weekly() rulefmt.RuleGroup {
	failures := make([]string, len(failureKinds))
	for i, k := range failureKinds {
		failures[i] = string(k)
	}
	failure := matchers(contract.LabelKind, "=~"+strings.Join(failures, "|"))
	record := func(name, by string, sels ...string) rulefmt.Rule {
		parts := make([]string, len(sels))
		for i, s := range sels {
			parts[i] = increment(s)
		}
		return rulefmt.Rule{
			Record: name,
			Expr:   fmt.Sprintf("sum by (%s, %s) (\n  %s\n)", contract.LabelCluster, by, strings.Join(parts, "\n  or\n  ")),
		}
	}
	const kindService = contract.LabelKind + ", " + contract.LabelService
	rules := []rulefmt.Rule{
		record(WeeklyAlertsReceived, strings.Join(contract.AlertsReceived.Labels, ", "), contract.AlertsReceived.Name),
		// Recovered with a measured time and without: the latter carry a
		// reason label, so the union keeps both.
		record(WeeklyIncidentsRecovered, kindService,
			contract.RecoverySeconds.Name+"_count"+failure, contract.IncidentsUnmeasured.Name+failure),
		record(WeeklyRecoveryCount, kindService, contract.RecoverySeconds.Name+"_count"+failure),
		record(WeeklyRecoverySum, kindService, contract.RecoverySeconds.Name+"_sum"+failure),
		record(WeeklyDetectionCount, kindService, contract.DetectionSeconds.Name+"_count"),
		record(WeeklyDetectionSum, kindService, contract.DetectionSeconds.Name+"_sum"),
		record(WeeklyUndetected, kindService, contract.IncidentsUndetected.Name),
		record(WeeklyBetweenCount, contract.LabelService, contract.TimeBetweenFailuresSeconds.Name+"_count"),
		record(WeeklyBetweenSum, contract.LabelService, contract.TimeBetweenFailuresSeconds.Name+"_sum"),
		record(WeeklyWebhookRequests, contract.LabelCode, contract.WebhookRequests.Name),
		record(WeeklyAlertsRejected, contract.LabelReason, contract.AlertsRejected.Name),
	}
	return rulefmt.RuleGroup{
		Name:     WeeklyGroup,
		Interval: model.Duration(WeeklyInterval),
		Rules:    g.check(rules...),
	}
}
