package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
)

// Alert quality, measured by chaos: how many of the injected faults the
// alerts detected in time (coverage), and per alert rule how often it fired
// for a fault (precision) and how many faults of its kinds it caught
// (recall). The package doc defines each figure.

// DefaultDetectionBound is how soon after a fault's start an alert must
// detect it to be on time, when Options.DetectionBound is not set. The
// store does not know the bound of the hypothesis that injected a fault.
const DefaultDetectionBound = 5 * time.Minute

// Coverage is how the chaos faults (failures) that started in a range were
// detected. Faults = WithinBound + Late + NotDetected + Undecided +
// StartInferred.
type Coverage struct {
	Faults int `json:"faults"`
	// WithinBound counts the faults an alert detected at most
	// DetectionBound after their start; Late those detected later.
	WithinBound int `json:"detected_within_bound"`
	Late        int `json:"detected_late"`
	// NotDetected counts the faults the detector judged undetected: it
	// found no alert in its window.
	NotDetected int `json:"not_detected"`
	// Undecided counts the faults the detector has not judged yet (its
	// window is still open, or no detector ran): not judged either.
	Undecided int `json:"undecided"`
	// StartInferred counts the faults whose start was inferred (Missed):
	// detected or not, their time to detect is unknown, so they are not
	// judged.
	StartInferred int `json:"start_inferred"`
	// Share is WithinBound / (Faults − StartInferred − Undecided), nil
	// (no data) without a judged fault.
	Share *float64 `json:"coverage"`
}

// UndetectedFault is a chaos fault no alert detected: the alerts were deaf
// to it.
type UndetectedFault struct {
	// ID is the incident's ID, Fault its kind.
	ID    string `json:"id"`
	Fault string `json:"fault"`
	// Service, Namespace and Group are the incident's subject, Object what
	// failed ("Deployment shop/cart").
	Service   string    `json:"service"`
	Namespace string    `json:"namespace,omitempty"`
	Group     string    `json:"group,omitempty"`
	Object    string    `json:"object,omitempty"`
	Start     time.Time `json:"start"`
	// StartInferred marks a fault whose start was inferred; it is counted
	// in Coverage.StartInferred, not NotDetected.
	StartInferred bool `json:"start_inferred,omitempty"`
	// Undecided marks a fault the detector has not judged yet: its window
	// is still open, or no detector ran.
	Undecided bool `json:"undecided,omitempty"`
}

// Rule is one alert rule's (alertname's) quality over the range.
type Rule struct {
	Alert string `json:"alertname"`
	// Firings counts its alerts firing in the range (silenced ones left
	// out), Notifications their webhook notifications.
	Firings       int `json:"firings"`
	Notifications int `json:"notifications"`
	// Joined counts the Firings joined to a chaos incident: the detection
	// of one. Precision is Joined/Firings, nil without firings.
	Joined    int      `json:"joined"`
	Precision *float64 `json:"precision"`
	// Kinds are the fault kinds of the faults it detected that started in
	// the range or the previous one.
	Kinds []string `json:"fault_kinds"`
	// Detected counts the faults that started in the range and it
	// detected; Faults all faults of Kinds that started in the range.
	// Recall is Detected/Faults, nil (no data) where Faults is 0.
	Detected int      `json:"detected"`
	Faults   int      `json:"faults"`
	Recall   *float64 `json:"recall"`
	// TimeToDetect is detection − start of the faults it detected that
	// started in the range, inferred starts left out.
	TimeToDetect Distribution `json:"time_to_detect"`
}

// ruleAgg is what is aggregated of one alert rule's firings in the range.
type ruleAgg struct {
	firings, notifications, joined int
}

// rule counts al, firing in the current range, for its alert rule.
func (a *aggregator) rule(al *alert.Alert, joined bool) {
	if a.rules == nil {
		a.rules = map[string]*ruleAgg{}
	}
	r := a.rules[al.Name()]
	if r == nil {
		r = &ruleAgg{}
		a.rules[al.Name()] = r
	}
	r.firings++
	r.notifications += al.Notifications
	if joined {
		r.joined++
	}
}

// detected reports whether an alert detected inc.
func detected(inc *chaos.Incident) bool {
	return !inc.Detection.Undetected && !inc.Detection.At.IsZero()
}

// faultsByService groups by service the faults (failures) that started in
// rg, oldest first.
func (a *aggregator) faultsByService(rg Range) map[string][]*chaos.Incident {
	out := map[string][]*chaos.Incident{}
	for i := range a.incs {
		if inc := &a.incs[i]; inc.Kind.IsFailure() && rg.Contains(inc.Start) {
			out[serviceOf(inc)] = append(out[serviceOf(inc)], inc)
		}
	}
	return out
}

// coverage is how a service's faults of a range were detected.
func (a *aggregator) coverage(faults []*chaos.Incident) Coverage {
	var c Coverage
	for _, inc := range faults {
		c.Faults++
		switch {
		case inc.Missed:
			c.StartInferred++
		case !inc.Detection.Decided():
			// Not judged yet: neither detected nor deaf.
			c.Undecided++
		case !detected(inc):
			c.NotDetected++
		case inc.Detection.At.Sub(inc.Start) <= a.o.DetectionBound:
			c.WithinBound++
		default:
			c.Late++
		}
	}
	return c.withShare()
}

// undetected are the faults (of a service, oldest first) none detected.
func undetected(faults []*chaos.Incident) []UndetectedFault {
	deaf := []UndetectedFault{}
	for _, inc := range faults {
		if detected(inc) {
			continue
		}
		u := UndetectedFault{
			ID: inc.ID, Fault: string(inc.Kind), Service: serviceOf(inc), Namespace: inc.Subject.Namespace,
			Group: string(inc.Subject.Group), Start: inc.Start, StartInferred: inc.Missed, Undecided: !inc.Detection.Decided(),
		}
		if o := inc.Object; o.Name != "" {
			u.Object = o.Name
			if o.Namespace != "" {
				u.Object = o.Namespace + "/" + u.Object
			}
			if o.Kind != "" {
				u.Object = o.Kind + " " + u.Object
			}
		}
		deaf = append(deaf, u)
	}
	return deaf
}

// plus adds d's counts to c's. Its Share is left as c's: summing many,
// withShare computes it once at the end.
func (c Coverage) plus(d Coverage) Coverage {
	c.Faults += d.Faults
	c.WithinBound += d.WithinBound
	c.Late += d.Late
	c.NotDetected += d.NotDetected
	c.Undecided += d.Undecided
	c.StartInferred += d.StartInferred
	return c
}

// judged is how many of c's faults the coverage judges: neither an
// inferred start nor undecided.
func (c Coverage) judged() int { return c.Faults - c.StartInferred - c.Undecided }

func (c Coverage) withShare() Coverage {
	c.Share = share(c.WithinBound, c.judged())
	return c
}

// share is n/of, nil where of is 0.
func share(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	return new(float64(n) / float64(of))
}

// ruleFigures are the alert rules that fired in the current range or
// detected a fault in it or the previous one, most firings first, at most
// Options.Top.
func (a *aggregator) ruleFigures() []Rule {
	cur, prev := a.periods[0].r, a.periods[1].r
	kinds := map[string]map[chaos.Kind]bool{}
	faults := map[chaos.Kind]int{}
	caught := map[string]int{}
	ttd := map[string][]time.Duration{}
	for i := range a.incs {
		inc := &a.incs[i]
		if !inc.Kind.IsFailure() {
			continue
		}
		now := cur.Contains(inc.Start)
		if now {
			faults[inc.Kind]++
		}
		if !detected(inc) || !now && !prev.Contains(inc.Start) {
			continue
		}
		name := inc.Detection.Alert
		if kinds[name] == nil {
			kinds[name] = map[chaos.Kind]bool{}
		}
		kinds[name][inc.Kind] = true
		if now {
			caught[name]++
			if !inc.Missed {
				ttd[name] = append(ttd[name], inc.Detection.At.Sub(inc.Start))
			}
		}
	}
	names := map[string]bool{}
	for n := range a.rules {
		names[n] = true
	}
	for n := range kinds {
		names[n] = true
	}
	out := make([]Rule, 0, len(names))
	for name := range names {
		agg := a.rules[name]
		if agg == nil {
			agg = &ruleAgg{}
		}
		r := Rule{
			Alert: name, Firings: agg.firings, Notifications: agg.notifications, Joined: agg.joined,
			Precision: share(agg.joined, agg.firings), Kinds: []string{}, Detected: caught[name],
			TimeToDetect: distribution(ttd[name]),
		}
		for _, k := range slices.Sorted(maps.Keys(kinds[name])) {
			r.Kinds = append(r.Kinds, string(k))
			r.Faults += faults[k]
		}
		r.Recall = share(r.Detected, r.Faults)
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y Rule) int {
		return cmp.Or(cmp.Compare(y.Firings, x.Firings), cmp.Compare(x.Alert, y.Alert))
	})
	return out[:min(len(out), a.o.Top)]
}

// qualityChanges are the alert quality's headline figures, week over week.
func qualityChanges(cur, prev Figures) []Change {
	return []Change{
		change("Notifications", "count", new(float64(cur.Alerts.Notifications)), new(float64(prev.Alerts.Notifications))),
		change("Detection coverage", "share", cur.Detection.Share, prev.Detection.Share),
	}
}

// coverageRows are f's detection figures for WriteCSV, one a row.
func coverageRows(f *Figures, count func(string, int), ratio func(string, *float64, int)) {
	d := &f.Detection
	count("faults", d.Faults)
	count("faults_detected_within_bound", d.WithinBound)
	count("faults_detected_late", d.Late)
	count("faults_not_detected", d.NotDetected)
	count("faults_undecided", d.Undecided)
	count("faults_start_inferred", d.StartInferred)
	ratio("detection_coverage", d.Share, d.judged())
}

// ruleRows are r's alert rules' figures for WriteCSV, of the current range
// and for all services, the rule in the figure's name:
// rule_firings{alertname="HighLatency"}.
func ruleRows(r *Report, row func(name, value string, samples int)) {
	for _, ru := range r.Rules {
		name := func(figure string) string { return figure + "{alertname=" + strconv.Quote(ru.Alert) + "}" }
		row(name("rule_firings"), strconv.Itoa(ru.Firings), ru.Firings)
		row(name("rule_notifications"), strconv.Itoa(ru.Notifications), ru.Notifications)
		row(name("rule_joined"), strconv.Itoa(ru.Joined), ru.Joined)
		row(name("rule_precision"), ratioValue(ru.Precision), ru.Firings)
		row(name("rule_detected"), strconv.Itoa(ru.Detected), ru.Detected)
		row(name("rule_recall"), ratioValue(ru.Recall), ru.Faults)
		ttd := ru.TimeToDetect
		row(name("rule_time_to_detect_median_seconds"), secondsValue(ttd.Samples, ttd.Median), ttd.Samples)
	}
}

// ratioValue is a share for CSV: empty where there is no data.
func ratioValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// percent is a share for Markdown: "no data" where there is none.
func percent(v *float64) string {
	if v == nil {
		return "no data"
	}
	return fmt.Sprintf("%.0f%%", 100**v)
}

// quality writes the detection coverage and alert rule sections.
func (m *md) quality(r *Report) {
	m.f("\n## Detection coverage\n\n")
	if t := coverageTable(r); t == nil {
		m.f("No chaos fault started in this range.\n")
	} else {
		m.f("Chaos faults by service: detected by an alert within %s of their start, later, or not at all.\n\n", time.Duration(r.Settings.DetectionBound))
		m.table(t)
		if t := undetectedTable(r, m.time); t != nil {
			m.f("\n### Not detected: the alerts were deaf to these\n\n")
			m.table(t)
		}
	}

	m.f("\n## Alert rules\n\n")
	if t := rulesTable(r); t == nil {
		m.f("No alert rule fired or detected a chaos fault in this range.\n")
	} else {
		m.table(t)
	}
}

// qualityDefinitions writes the definitions of the alert quality figures.
func (m *md) qualityDefinitions(r *Report) {
	m.f("- Notifications: the webhook notifications of the firing alerts (each notification, repeat and resolution), never the API pulls of alerts.pull.\n")
	m.f("- Detection coverage: chaos faults (failures) that started in the range; detected within %s of the start (the configured bound: a hypothesis's own is not in the store), later, or not at all. Faults with an inferred start, and those the detector has not judged yet (undecided), are counted but not judged. Coverage: within the bound / judged faults.\n",
		time.Duration(r.Settings.DetectionBound))
	m.f("- Alert rules (alertname): firings in the range; precision: share of them joined to a chaos incident; recall: faults of the kinds it detected (this range or the previous) that started in the range and it detected / all faults of those kinds in the range; TTD median by nearest rank.\n")
}
