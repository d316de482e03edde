package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Formats lists the formats Write writes.
var Formats = []string{"md", "html", "json", "csv"}

// contentTypes are the media types of the formats.
var contentTypes = map[string]string{
	"md":   "text/markdown; charset=utf-8",
	"json": "application/json",
	"csv":  "text/csv; charset=utf-8",
	"html": "text/html; charset=utf-8",
}

// ContentType is the media type of a report written in format, for an
// HTTP response's Content-Type: application/octet-stream for a format it
// does not know.
func ContentType(format string) string {
	if t, ok := contentTypes[format]; ok {
		return t
	}
	return "application/octet-stream"
}

// Write writes r in format: "md" (Markdown), "html", "json" or "csv".
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "md":
		return WriteMarkdown(w, r)
	case "html":
		return WriteHTML(w, r)
	case "json":
		return WriteJSON(w, r)
	case "csv":
		return WriteCSV(w, r)
	}
	return fmt.Errorf("format %q is not one of %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes r as indented JSON; durations are in seconds.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes r's figures, one per row: period (current, previous),
// service ("" for all services), figure, value and samples (for the
// durations, in seconds; the value is empty where there is no data).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"period", "from", "to", "service", "figure", "value", "samples"}}
	add := func(period string, rg Range, service string, f *Figures) {
		row := func(name, value string, samples int) {
			rows = append(rows, csvRow(period, rg, service, name, value, samples))
		}
		count := func(name string, n int) { row(name, strconv.Itoa(n), n) }
		secs := func(name string, samples int, s Seconds) { row(name, secondsValue(samples, s), samples) }
		ratio := func(name string, v *float64, samples int) { row(name, ratioValue(v), samples) }
		a := &f.Alerts
		count("alerts_firing", a.Firing)
		count("alerts_notifications", a.Notifications)
		count("alerts_silenced", a.Silenced)
		count("alerts_open", a.Open)
		count("alerts_noisy", a.Noisy)
		count("alerts_flapping", a.Flapping)
		secs("time_to_resolution_median_seconds", a.Resolution.Samples, a.Resolution.Median)
		secs("time_to_resolution_p90_seconds", a.Resolution.Samples, a.Resolution.P90)
		secs("time_to_resolution_max_seconds", a.Resolution.Samples, a.Resolution.Max)
		count("sevs", f.SEVs.Total)
		for _, l := range r.Levels {
			count("sevs_"+strings.ToLower(string(l)), f.SEVs.ByLevel[l])
		}
		secs("mttd_seconds", f.SEVs.MTTD.Samples, f.SEVs.MTTD.Mean)
		secs("mttr_seconds", f.SEVs.MTTR.Samples, f.SEVs.MTTR.Mean)
		secs("mtbf_seconds", f.SEVs.MTBF.Samples, f.SEVs.MTBF.Mean)
		coverageRows(f, count, ratio)
	}
	add("current", r.Range, "", &r.Total.Current)
	for i := range r.Services {
		add("current", r.Range, r.Services[i].Name, &r.Services[i].Current)
	}
	add("previous", r.Previous, "", &r.Total.Previous)
	for i := range r.Services {
		add("previous", r.Previous, r.Services[i].Name, &r.Services[i].Previous)
	}
	experimentRows(r, func(period string, rg Range, figure, value string, samples int) {
		rows = append(rows, csvRow(period, rg, "", figure, value, samples))
	})
	ruleRows(r, func(name, value string, samples int) {
		rows = append(rows, csvRow("current", r.Range, "", name, value, samples))
	})
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// secondsValue is a duration for CSV, in seconds: empty where there is
// no data (no samples).
func secondsValue(samples int, s Seconds) string {
	if samples == 0 {
		return ""
	}
	return strconv.FormatFloat(time.Duration(s).Seconds(), 'f', -1, 64)
}

// csvRow is a row of WriteCSV: the range's ends in its time zone.
func csvRow(period string, rg Range, service, figure, value string, samples int) []string {
	loc := rg.Location()
	return []string{
		period, rg.From.In(loc).Format(time.RFC3339), rg.To.In(loc).Format(time.RFC3339),
		service, figure, value, strconv.Itoa(samples),
	}
}

// WriteMarkdown writes r as a Markdown document for the weekly review.
func WriteMarkdown(w io.Writer, r *Report) error {
	m := &md{w: w, loc: r.Range.Location()}
	m.f("# Alerts and SEVs: %s\n\n", r.Range)
	m.f("%s to %s (%s, %s); compared with %s.\n\n", m.time(r.Range.From), m.time(r.Range.To),
		r.Settings.TimeZone, hours(r.Range.Duration()), r.Previous)
	if r.Empty {
		m.f("**No data:** the store holds no alerts and no incidents at all. Is `serve` receiving Alertmanager's notifications (see the README's Alertmanager section)?\n")
		return m.err
	}

	m.f("## Headlines\n\n| Figure | %s | %s | Change |\n|---|---:|---:|---:|\n", r.Range, r.Previous)
	for _, c := range r.Changes {
		m.f("| %s | %s | %s | %s |\n", c.Name, value(c.Unit, c.Current), value(c.Unit, c.Previous), delta(c))
	}

	m.f("\n## Alerts by service\n\n")
	if r.Total.Current.Alerts.Firing == 0 && r.Total.Current.Alerts.Silenced == 0 {
		m.f("No alert fired in this range.\n")
	} else {
		m.f("| Service | Firing | Notifications | Silenced/inhibited | Open at end | Noisy | Flapping | Resolved | TTR median | TTR p90 | TTR max |\n")
		m.f("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		row := func(name string, a *AlertFigures) {
			d := a.Resolution
			m.f("| %s | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s |\n", cell(name), a.Firing, a.Notifications, a.Silenced, a.Open, a.Noisy, a.Flapping,
				d.Samples, dur(d.Samples, d.Median), dur(d.Samples, d.P90), dur(d.Samples, d.Max))
		}
		for i := range r.Services {
			if a := &r.Services[i].Current.Alerts; a.Firing+a.Silenced > 0 {
				row(r.Services[i].Name, a)
			}
		}
		row("**All services**", &r.Total.Current.Alerts)
	}

	m.f("\n## SEVs by service\n\n")
	if r.Total.Current.SEVs.Total == 0 {
		m.f("No SEV started in this range.\n")
	} else {
		m.f("| Service | SEVs | Chaos | Organic |")
		for _, l := range r.Levels {
			m.f(" %s |", l)
		}
		m.f(" MTTD | MTTR | MTBF |\n|---|---:|---:|---:|%s---:|---:|---:|\n", strings.Repeat("---:|", len(r.Levels)))
		row := func(name string, s *SEVFigures) {
			m.f("| %s | %d | %d | %d |", cell(name), s.Total, s.Chaos, s.Organic)
			for _, l := range r.Levels {
				m.f(" %d |", s.ByLevel[l])
			}
			m.f(" %s | %s | %s |\n", meanCell(s.MTTD), meanCell(s.MTTR), meanCell(s.MTBF))
		}
		for i := range r.Services {
			if s := &r.Services[i].Current.SEVs; s.Total > 0 {
				row(r.Services[i].Name, s)
			}
		}
		row("**All services**", &r.Total.Current.SEVs)
		m.f("\n| Start | Level | Service | Kind | Detected | End | Alert |\n|---|---|---|---|---|---|---|\n")
		for _, s := range r.SEVs {
			kind := cell(s.kindText())
			detected := "-"
			switch {
			case !s.DetectedAt.IsZero():
				detected = "after " + s.DetectedAt.Sub(s.Start).Round(time.Second).String()
			case s.Kind == KindChaos:
				detected = "no"
			}
			end := "open"
			if !s.End.IsZero() {
				end = "after " + s.End.Sub(s.Start).Round(time.Second).String()
			}
			alerts := cell(s.Alert)
			if s.Alerts > 1 {
				alerts += fmt.Sprintf(" (+%d)", s.Alerts-1)
			}
			m.f("| %s | %s | %s | %s | %s | %s | %s |\n", m.time(s.Start), s.Level, cell(s.Service), kind, detected, end, alerts)
		}
	}

	m.experiments(r)
	m.quality(r)

	for i := range r.Services {
		s := &r.Services[i]
		if len(s.Top) == 0 && len(s.Open) == 0 {
			continue
		}
		m.f("\n## %s\n", cell(s.Name))
		if len(s.Top) > 0 {
			m.f("\n### Most frequent alerts\n\n| Alert | Count | Notifications | Firing time | Resolved by itself |\n|---|---:|---:|---:|---:|\n")
			for _, t := range s.Top {
				m.f("| `%s` | %d | %d | %s | %d (%.0f%%) |\n", code(t.Alert), t.Count, t.Notifications, time.Duration(t.FiringTime).Round(time.Second), t.SelfResolved, 100*t.SelfResolvedShare)
			}
		}
		if len(s.Flapping) > 0 {
			m.f("\n### Flapping (fired %d times or more)\n\n| Alert | Fingerprint | Firings |\n|---|---|---:|\n", r.Settings.FlapCount)
			for _, f := range s.Flapping {
				m.f("| `%s` | %s | %d |\n", code(f.Alert), cell(f.Fingerprint), f.Firings)
			}
		}
		if len(s.Open) > 0 {
			m.f("\n### Still firing at the end\n\n| Alert | Fingerprint | Since |\n|---|---|---|\n")
			for _, o := range s.Open {
				m.f("| `%s` | %s | %s |\n", code(o.Alert), cell(o.Fingerprint), m.time(o.StartsAt))
			}
		}
	}

	m.f("\n## Definitions\n\n")
	m.f("- An alert is one (fingerprint, startsAt); it counts in every range it fired in. Alerts known only from Alertmanager's API (never notified) count as silenced or inhibited, apart from all other figures.\n")
	m.f("- Time to resolution (TTR): endsAt − startsAt of the alerts resolved in the range; median and p90 by nearest rank.\n")
	m.f("- Noisy: resolved within %s of its start and joined to no incident. Flapping: one fingerprint firing %d times or more in the range.\n",
		time.Duration(r.Settings.NoisyWithin), r.Settings.FlapCount)
	m.f("- A SEV is a chaos failure (level of its detecting alert's severity, else %s) or an organic incident: alerts whose severity maps to a level (", r.Settings.ChaosLevel)
	for i, l := range r.Settings.Levels {
		if i > 0 {
			m.f(", ")
		}
		m.f("%s→%s", l.Severity, l.Level)
	}
	m.f("), detecting no incident and starting while no failure of their service was open, overlapping ones merged.\n")
	m.f("- MTTD: detection − start, chaos SEVs only. MTTR: end − start of the SEVs that ended. MTBF: time between consecutive SEV starts of a service in the range (its first SEV of the range is no sample). Inferred starts are no sample of MTTD or MTTR.\n")
	m.f("- Experiments: the verdict in force at the range's end (its last in the range, else the one in force at its start); \"became\" counts the verdicts in the range whose result differed from the one before; changed: the result differs from the one in force at the end of %s; chaos tool run: the faults of the chaos tool's run the verdict judged (spec.window.experiment) and the tool's own result.\n", r.Previous)
	m.f("- Alerts that started more than %s before the previous range are not read.\n",
		time.Duration(r.Settings.Lookback))
	m.qualityDefinitions(r)
	m.f("- Full definitions: docs/reports.md.\n")
	return m.err
}

type md struct {
	w   io.Writer
	loc *time.Location
	err error
}

func (m *md) f(format string, a ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, a...)
	}
}

func (m *md) time(t time.Time) string { return t.In(m.loc).Format("2006-01-02 15:04 MST") }

// hours gives a range's length: whole hours as "167 h", anything else as
// a duration rounded to the second ("1m0s", "36h30m0s") rather than a
// fraction of an hour with sixteen digits.
func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + " h"
	}
	return d.Round(time.Second).String()
}

// cell escapes a table cell.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// code escapes a code span in a table cell.
func code(s string) string { return strings.NewReplacer("|", `\|`, "`", "'", "\n", " ").Replace(s) }

func dur(samples int, s Seconds) string {
	if samples == 0 {
		return "no data"
	}
	return time.Duration(s).Round(time.Second).String()
}

func meanCell(m Mean) string {
	if m.Samples == 0 {
		return "no data"
	}
	return fmt.Sprintf("%s (n=%d)", time.Duration(m.Mean).Round(time.Second), m.Samples)
}

func value(unit string, v *float64) string {
	switch {
	case v == nil:
		return "no data"
	case unit == "share":
		return percent(v)
	case unit == "seconds":
		return time.Duration(*v * float64(time.Second)).Round(time.Second).String()
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func delta(c Change) string {
	if c.Delta == nil {
		return "-"
	}
	var s string
	switch c.Unit {
	case "share":
		// In percentage points: the percent change of a share is left out.
		return fmt.Sprintf("%+.0f pp", 100**c.Delta)
	case "seconds":
		d := time.Duration(*c.Delta * float64(time.Second)).Round(time.Second)
		s = d.String()
		if d >= 0 {
			s = "+" + s
		}
	default:
		s = strconv.FormatFloat(*c.Delta, 'f', -1, 64)
		if *c.Delta >= 0 {
			s = "+" + s
		}
	}
	if c.Percent != nil {
		s += fmt.Sprintf(" (%+.0f%%)", *c.Percent)
	}
	return s
}
