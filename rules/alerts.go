package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// Alert names.
const (
	HypothesisFailed      = contract.AlertNamePrefix + "HypothesisFailed"
	SteadyStateDeviation  = contract.AlertNamePrefix + "SteadyStateDeviation"
	RecoveryTooSlow       = contract.AlertNamePrefix + "RecoveryTooSlow"
	ChaosWithoutDetection = contract.AlertNamePrefix + "ChaosWithoutDetection"
	ErrorBudgetBurn       = contract.AlertNamePrefix + "ErrorBudgetBurn"
	WatcherDown           = contract.AlertNamePrefix + "WatcherDown"
	InformerNotSynced     = contract.AlertNamePrefix + "InformerNotSynced"
)

const (
	undetectedLookback    = time.Hour
	expectedAlertLookback = 10 * time.Minute
	watcherDownFor        = 5 * time.Minute
	informerNotSyncedFor  = 10 * time.Minute
)

// BurnRate is one multi-window alert of the SRE Workbook (chapter 5): the
// error budget burns Factor times too fast over both windows.
type BurnRate struct {
	Severity    string
	Factor      float64
	Long, Short time.Duration
}

// BurnRates are the SRE Workbook's: 2 % of a 30-day budget in an hour or 5 %
// in six pages, 10 % in a day or 10 % in three days makes a ticket.
var BurnRates = []BurnRate{
	{Page, 14.4, time.Hour, 5 * time.Minute},
	{Page, 6, 6 * time.Hour, 30 * time.Minute},
	{Ticket, 3, 24 * time.Hour, 2 * time.Hour},
	{Ticket, 1, 3 * 24 * time.Hour, 6 * time.Hour},
}

// failureKinds are the incidents MTTR is judged on (chaos.Kind.IsFailure).
var failureKinds = func() []chaos.Kind {
	var out []chaos.Kind
	for _, k := range chaos.Kinds {
		if k.IsFailure() {
			out = append(out, k)
		}
	}
	return out
}()

func (g *generator) alert(name, severity, expr string, labels map[string]string, forDur time.Duration, summary, description string) rulefmt.Rule {
	l := map[string]string{
		g.cfg.Alerts.SeverityLabel: severity,
		g.o.SEVLabel:               g.o.SEV[severity],
	}
	maps.Copy(l, labels)
	return rulefmt.Rule{
		Alert:  name,
		Expr:   expr,
		For:    model.Duration(forDur),
		Labels: l,
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": g.o.RunbookURL + "#" + strings.ToLower(name),
		},
	}
}

func (g *generator) alerts(hs []hypothesis.Hypothesis) rulefmt.RuleGroup {
	rules := []rulefmt.Rule{
		g.alert(HypothesisFailed, Ticket,
			fmt.Sprintf("%s%s == 1", contract.HypothesisVerdict.Name, matchers(contract.LabelVerdict, contract.ResultFail)), nil, 0,
			"Hypothesis {{ $labels.hypothesis }} failed.",
			"The verdict of hypothesis {{ $labels.hypothesis }} is fail: the system did not keep its steady state under chaos as the hypothesis expects. `steadywatch verdict` or /api/v1/verdicts/{{ $labels.hypothesis }} gives the evidence."),
	}
	for i := range hs {
		rules = append(rules, g.deviation(&hs[i])...)
	}
	for i := range hs {
		if r, ok := g.recoveryTooSlow(&hs[i]); ok {
			rules = append(rules, r)
		}
	}
	rules = append(rules, g.undetected())
	for i := range hs {
		rules = append(rules, g.expectedAlerts(&hs[i])...)
	}
	for _, s := range sloMetrics(hs) {
		rules = append(rules, g.burnRates(s)...)
	}
	rules = append(rules,
		g.alert(WatcherDown, Page,
			fmt.Sprintf("up%s == 0\nor\nabsent(up%s)", matchers("job", g.o.Job), matchers("job", g.o.Job)),
			nil, watcherDownFor,
			"steadywatch is down.",
			"Prometheus has not scraped steadywatch (job "+g.o.Job+") for "+duration(watcherDownFor)+": chaos goes unrecorded, and hypotheses are neither judged nor aborted on."),
		g.alert(InformerNotSynced, Ticket,
			fmt.Sprintf("%s == 0", contract.InformerSynced.Name), nil, informerNotSyncedFor,
			"steadywatch's {{ $labels.resource }} informers have not synced.",
			"steadywatch {{ $labels.instance }} has not listed the {{ $labels.resource }} resources of the cluster for "+duration(informerNotSyncedFor)+": it sees no chaos on them. Its /readyz says why (often the API server or RBAC)."),
	)
	return rulefmt.RuleGroup{Name: "steadywatch.alerts", Rules: g.check(rules...)}
}

// deviation alerts while an experiment runs and one of its metrics deviates:
// its result is high, low or fail, or the estimated effect is already beyond
// the allowed one in the worse direction (before the interval is conclusive).
// Critical metrics page, the others make a ticket.
func (g *generator) deviation(h *hypothesis.Hypothesis) []rulefmt.Rule {
	var out []rulefmt.Rule
	for _, critical := range []bool{true, false} {
		var names, effects []string
		for j := range h.Metrics {
			m := &h.Metrics[j]
			if m.Critical != critical {
				continue
			}
			names = append(names, m.Name)
			if !m.Compared() {
				continue
			}
			estimate := contract.HypothesisEffect.Name + matchers(contract.LabelHypothesis, h.Name, contract.LabelMetric, m.Name, contract.LabelBound, contract.BoundEstimate)
			allowed := contract.HypothesisEffect.Name + matchers(contract.LabelHypothesis, h.Name, contract.LabelMetric, m.Name, contract.LabelBound, contract.BoundAllowed)
			switch m.Direction {
			case hypothesis.HigherIsWorse:
			case hypothesis.LowerIsWorse:
				estimate = "-" + estimate
			default:
				estimate = "abs(" + estimate + ")"
			}
			effects = append(effects, fmt.Sprintf("    %s\n    > ignoring (bound)\n    %s", estimate, allowed))
		}
		if len(names) == 0 {
			continue
		}
		terms := append([]string{fmt.Sprintf("    %s%s == 1", contract.HypothesisMetricResult.Name,
			matchers(contract.LabelHypothesis, h.Name, contract.LabelMetric, "=~"+strings.Join(names, "|"),
				contract.LabelResult, "=~"+strings.Join([]string{contract.ResultHigh, contract.ResultLow, contract.ResultFail}, "|")))}, effects...)
		expr := fmt.Sprintf("max by (%s, hypothesis, metric) (\n%s\n)\nand on (%s, hypothesis)\n%s%s == 1",
			contract.LabelCluster, strings.Join(terms, "\n  or\n"), contract.LabelCluster, contract.HypothesisRunning.Name, matchers("hypothesis", h.Name))
		severity := Ticket
		if critical {
			severity = Page
		}
		out = append(out, g.alert(SteadyStateDeviation, severity, expr, map[string]string{"hypothesis": h.Name}, 0,
			"{{ $labels.metric }} of hypothesis {{ $labels.hypothesis }} deviates from the steady state.",
			fmt.Sprintf("During the experiment of %s, its metric {{ $labels.metric }} in the experimental group is worse than the control beyond the allowed effect, or outside its SLO. Consider halting the chaos.", h.Name)))
	}
	return out
}

// recoveryTooSlow alerts when an incident of the hypothesis's service in the
// experimental group stays open beyond its MTTR bound. It reads the open
// incidents gauge: "for" sees the count above 0 for that long, which
// overstates when a new incident starts just as an older one recovers.
func (g *generator) recoveryTooSlow(h *hypothesis.Hypothesis) (rulefmt.Rule, bool) {
	if h.Recovery.MTTR <= 0 {
		return rulefmt.Rule{}, false
	}
	kinds := make([]string, len(failureKinds))
	for i, k := range failureKinds {
		kinds[i] = string(k)
	}
	expr := fmt.Sprintf("sum by (%s, kind, service, group) (%s%s) > 0", contract.LabelCluster, contract.IncidentsOpen.Name,
		matchers("service", h.Service, "group", string(chaos.Experimental), "kind", "=~"+strings.Join(kinds, "|")))
	return g.alert(RecoveryTooSlow, Page, expr, map[string]string{"hypothesis": h.Name}, h.Recovery.MTTR,
		"{{ $labels.service }} has not recovered within "+duration(h.Recovery.MTTR)+".",
		fmt.Sprintf("An incident ({{ $labels.kind }}) of %s in the experimental group has been open longer than the MTTR bound of hypothesis %s, %s.",
			h.Service, h.Name, duration(h.Recovery.MTTR))), true
}

// increased is true, per cluster, when the counters sel grew within window,
// ending offset ago: increase() cannot see a series' first increment (it
// starts at 1), so a series that appeared within the window counts too.
func increased(sel string, window, offset time.Duration) string {
	off := ""
	if offset > 0 {
		off = " offset " + duration(offset)
	}
	return fmt.Sprintf("(\n  sum by (%[1]s) (increase(%[2]s[%[3]s]%[4]s)) > 0\n  or\n  sum by (%[1]s) (%[2]s%[4]s unless %[2]s offset %[5]s) > 0\n)",
		contract.LabelCluster, sel, duration(window), off, duration(offset+window))
}

// undetected alerts on failures no alert detected within the configured
// detection window (alerts.detection), as steadywatch counts them.
func (g *generator) undetected() rulefmt.Rule {
	w := undetectedLookback
	expr := fmt.Sprintf("sum by (%[1]s, kind, service, group) (increase(%[2]s[%[3]s])) > 0\nor\nsum by (%[1]s, kind, service, group) (%[2]s unless %[2]s offset %[3]s)",
		contract.LabelCluster, contract.IncidentsUndetected.Name, duration(w))
	within := time.Duration(g.cfg.Alerts.Detection.Window)
	return g.alert(ChaosWithoutDetection, Ticket, expr, nil, 0,
		"A {{ $labels.kind }} failure of {{ $labels.service }} went undetected.",
		"No alert naming {{ $labels.service }} ({{ $labels.group }} group) started within "+duration(within)+
			" of a {{ $labels.kind }} failure in the last "+duration(w)+": the monitoring missed it.")
}

// expectedAlerts alerts when chaos of the hypothesis's service happened and
// an alert the hypothesis expects was not received within its time: chaos
// events between within+grace+10m and within+grace ago, and no firing
// notification of the alert since. Only for windows taken from chaos events:
// a scheduled attack leaves no event to start from.
func (g *generator) expectedAlerts(h *hypothesis.Hypothesis) []rulefmt.Rule {
	if h.Window.Events == nil {
		return nil
	}
	kinds := make([]string, len(h.Window.Events.Kinds))
	for i, k := range h.Window.Events.Kinds {
		kinds[i] = string(k)
	}
	slices.Sort(kinds)
	pairs := []string{"service", h.Service, "group", string(chaos.Experimental), "kind", "=~" + strings.Join(kinds, "|")}
	if h.Namespace != "" {
		pairs = append(pairs, "namespace", h.Namespace)
	}
	events := contract.ChaosEvents.Name + matchers(pairs...)
	grace := time.Duration(g.cfg.Alerts.Detection.Grace)
	var out []rulefmt.Rule
	for _, a := range h.Recovery.Alerts {
		offset := a.Within + grace
		received := contract.AlertsReceived.Name + matchers(contract.LabelAlertname, a.Name, contract.LabelStatus, "firing")
		expr := fmt.Sprintf("%s\nunless\n%s", increased(events, expectedAlertLookback, offset), increased(received, offset+expectedAlertLookback, 0))
		out = append(out, g.alert(ChaosWithoutDetection, Ticket, expr,
			map[string]string{"hypothesis": h.Name, "service": h.Service, "expected_alert": a.Name}, 0,
			a.Name+" did not fire within "+duration(a.Within)+" of chaos on "+h.Service+".",
			fmt.Sprintf("Hypothesis %s expects %s to fire within %s of chaos (%s) on %s in the experimental group; steadywatch received no firing notification of it (allowing %s for Alertmanager's delivery).",
				h.Name, a.Name, duration(a.Within), strings.Join(kinds, ", "), h.Service, duration(grace))))
	}
	return out
}

// burnRates are the multi-window, multi-burn-rate alerts of an SLO: the
// error budget is the SLO's max error ratio. A window pair only counts with
// at least the metric's minTotal requests in its long window, so that a
// handful of requests cannot page.
func (g *generator) burnRates(s sloMetric) []rulefmt.Rule {
	var out []rulefmt.Rule
	for _, severity := range []string{Page, Ticket} {
		var terms []string
		for _, br := range BurnRates {
			if br.Severity != severity {
				continue
			}
			threshold := number(br.Factor) + " * " + number(s.budget())
			terms = append(terms, fmt.Sprintf("(\n  %s%s%s > (%s)\n  and\n  %s%s%s > (%s)\n  and\n  avg_over_time(%s%s[%s]) * %s >= %s\n)",
				SLIErrorRatio, duration(br.Long), s.matchers(), threshold,
				SLIErrorRatio, duration(br.Short), s.matchers(), threshold,
				SLIRequests, s.matchers(), duration(br.Long), seconds(br.Long), number(s.m.Ratio.MinTotal)))
		}
		out = append(out, g.alert(ErrorBudgetBurn, severity, strings.Join(terms, "\nor\n"),
			map[string]string{"hypothesis": s.h.Name, "metric": s.m.Name, "service": s.h.Service}, 0,
			fmt.Sprintf("%s of %s burns its error budget too fast.", s.m.Name, s.h.Service),
			fmt.Sprintf("The error ratio {{ $value | humanizePercentage }} of %s (hypothesis %s, experimental group) burns the error budget of its SLO, %s, too fast for a %s.",
				s.m.Name, s.h.Name, number(s.budget()), severity)))
	}
	return out
}
