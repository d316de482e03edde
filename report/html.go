package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"
)

//go:embed html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":  num,
	"dur":  dur,
	"mean": meanCell,
	"value": func(c Change, current bool) string {
		if current {
			return value(c.Unit, c.Current)
		}
		return value(c.Unit, c.Previous)
	},
	"delta": delta,
	"hours": hours,
	"round": func(s Seconds) string { return time.Duration(s).Round(time.Second).String() },
	"pct":   func(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" },
	"mid":   func(a, b float64) float64 { return (a + b) / 2 },
	"inc":   func(i int) int { return i + 1 },
	"row":   func(name string, f any, total bool, levels []Level) tableRow { return tableRow{name, f, total, levels} },
}).Parse(htmlTemplate))

// htmlData is what html.tmpl renders.
type htmlData struct {
	R    *Report
	Time func(time.Time) string
	// Charts are nil where they have nothing to show: Trend without
	// Report.Trend.
	Daily, Resolution, Levels, Trend, Coverage *chart
	SEVs                                       []htmlSEV
	// The tables of the detection coverage, the faults not detected, the
	// alert rules and the experiments; nil where empty.
	CoverageTable, Undetected, Rules, Experiments *table
	// Changed names the experiments whose verdict changed.
	Changed []string
	// Disagreements say where a chaos tool's result differs from a verdict.
	Disagreements []string
}

// tableRow is a row of the alerts' or the SEVs' table: F holds the
// figures.
type tableRow struct {
	Name   string
	F      any
	Total  bool
	Levels []Level
}

// htmlSEV is a SEV of the list, as the Markdown gives it.
type htmlSEV struct {
	SEV
	KindText, Detected, EndText, AlertText string
}

// WriteHTML writes r as one self-contained HTML page: the Markdown's tables
// and charts in inline SVG, with no script and nothing fetched, so that it
// reads offline. Every text from the store is escaped.
func WriteHTML(w io.Writer, r *Report) error {
	loc := r.Range.Location()
	d := htmlData{R: r, Time: func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }}
	if !r.Empty {
		d.Daily = dailyChart(r)
		d.Resolution = resolutionChart(r)
		d.Levels = levelsChart(r)
		if len(r.Trend) > 0 {
			d.Trend = trendChart(r)
		}
		if r.Total.Current.Detection.Faults > 0 {
			d.Coverage = coverageChart(r)
		}
	}
	d.CoverageTable, d.Undetected, d.Rules = coverageTable(r), undetectedTable(r, d.Time), rulesTable(r)
	d.Experiments, d.Changed = experimentsTable(r, d.Time)
	d.Disagreements = disagreements(r)
	for _, s := range r.SEVs {
		h := htmlSEV{SEV: s, KindText: s.kindText(), Detected: "-", EndText: "open", AlertText: s.Alert}
		switch {
		case !s.DetectedAt.IsZero():
			h.Detected = "after " + s.DetectedAt.Sub(s.Start).Round(time.Second).String()
		case s.Kind == KindChaos:
			h.Detected = "no"
		}
		if !s.End.IsZero() {
			h.EndText = "after " + s.End.Sub(s.Start).Round(time.Second).String()
		}
		if s.Alerts > 1 {
			h.AlertText += fmt.Sprintf(" (+%d)", s.Alerts-1)
		}
		d.SEVs = append(d.SEVs, h)
	}
	return htmlPage.Execute(w, d)
}

// dayLabel names a day on the x axis: its weekday and date, and its
// length where that is not 24 hours (a daylight saving change, or a part
// of a day at a from/to range's ends).
func dayLabel(d DayCount) string {
	s := d.From.Format("Mon 2 Jan")
	if h := d.To.Sub(d.From); h != 24*time.Hour {
		s += " (" + hours(h) + ")"
	}
	return s
}

// dailyChart stacks, for each day of the range, the alerts that started
// that day by service.
func dailyChart(r *Report) *chart {
	var bars []bar
	var services []*Service
	for i := range r.Services {
		for _, d := range r.Services[i].Daily {
			if d.Alerts > 0 {
				services = append(services, &r.Services[i])
				break
			}
		}
	}
	for di, d := range r.Daily {
		if len(services) == 0 {
			bars = append(bars, bar{Group: dayLabel(d), Series: "alerts"})
		}
		for _, s := range services {
			bars = append(bars, bar{Group: dayLabel(d), Series: s.Name, Value: float64(s.Daily[di].Alerts)})
		}
	}
	return barChart("alerts-per-day", "Alerts started per day, by service ("+r.Settings.TimeZone+")",
		axes{X: "day", Y: "alerts started", Unit: unitCount}, bars, true)
}

// resolutionChart is the histogram of the time to resolution of the
// alerts resolved in the range.
func resolutionChart(r *Report) *chart {
	bars := make([]bar, 0, len(r.ResolutionBuckets))
	for _, b := range r.ResolutionBuckets {
		bars = append(bars, bar{Group: b.Label, Series: "alerts resolved", Value: float64(b.Count)})
	}
	return barChart("time-to-resolution", "Time to resolution of the alerts resolved in "+r.Range.String(),
		axes{X: "time to resolution", Y: "alerts resolved", Unit: unitCount}, bars, false)
}

// levelsChart sets the SEVs of each level in the range beside the
// previous range's.
func levelsChart(r *Report) *chart {
	var bars []bar
	for _, l := range r.Levels {
		bars = append(bars,
			bar{Group: string(l), Series: r.Range.String(), Value: float64(r.Total.Current.SEVs.ByLevel[l])},
			bar{Group: string(l), Series: r.Previous.String(), Value: float64(r.Total.Previous.SEVs.ByLevel[l])})
	}
	return barChart("sevs-by-level", "SEVs by level, "+r.Range.String()+" and "+r.Previous.String(),
		axes{X: "level", Y: "SEVs", Unit: unitCount}, bars, false)
}

// trendChart draws MTTR and MTTD over the trend's ranges; a range without
// samples is a gap.
func trendChart(r *Report) *chart {
	xs := make([]string, len(r.Trend))
	mttr, mttd := line{Series: "MTTR"}, line{Series: "MTTD"}
	for i, p := range r.Trend {
		xs[i] = p.Range.Week
		if xs[i] == "" {
			xs[i] = p.Range.From.In(p.Range.Location()).Format(time.DateOnly)
		}
		mttr.Values = append(mttr.Values, seconds(p.MTTR.Samples, p.MTTR.Mean))
		mttd.Values = append(mttd.Values, seconds(p.MTTD.Samples, p.MTTD.Mean))
	}
	return lineChart("mttr-mttd-trend", "SEV MTTR and MTTD, the last "+strconv.Itoa(len(r.Trend))+" ranges",
		axes{X: "range", Y: "mean time", Unit: unitSeconds}, xs, []line{mttr, mttd})
}
