package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// table is a table of the report built once for the Markdown and the HTML
// (each escapes the text its way). Numeric columns are right-aligned;
// Total marks the last row as the sum (its name emphasised in Markdown);
// a Strong cell is emphasised.
type table struct {
	Head    []string
	Numeric []bool
	Rows    [][]tableCell
	Total   bool
}

// tableCell is a cell of a table.
type tableCell struct {
	Text   string
	Strong bool
}

// cells makes a row of plain cells.
func cells(texts ...string) []tableCell {
	row := make([]tableCell, len(texts))
	for i, t := range texts {
		row[i] = tableCell{Text: t}
	}
	return row
}

// table writes t as a Markdown table.
func (m *md) table(t *table) {
	m.f("|")
	for _, h := range t.Head {
		m.f(" %s |", h)
	}
	m.f("\n|")
	for i := range t.Head {
		if t.Numeric[i] {
			m.f("---:|")
		} else {
			m.f("---|")
		}
	}
	m.f("\n")
	for j, row := range t.Rows {
		m.f("|")
		for i, c := range row {
			if c.Strong || t.Total && j == len(t.Rows)-1 && i == 0 {
				m.f(" **%s** |", cell(c.Text))
			} else {
				m.f(" %s |", cell(c.Text))
			}
		}
		m.f("\n")
	}
}

// coverageTable is the detection coverage: one row per service with
// faults, then all services.
func coverageTable(r *Report) *table {
	if r.Total.Current.Detection.Faults == 0 {
		return nil
	}
	bound := time.Duration(r.Settings.DetectionBound).String()
	t := &table{
		Head:    []string{"Service", "Faults", "Within " + bound, "Late", "Not detected", "Undecided", "Start inferred", "Coverage"},
		Numeric: []bool{false, true, true, true, true, true, true, true},
		Total:   true,
	}
	row := func(name string, c *Coverage) {
		t.Rows = append(t.Rows, cells(name, strconv.Itoa(c.Faults), strconv.Itoa(c.WithinBound), strconv.Itoa(c.Late),
			strconv.Itoa(c.NotDetected), strconv.Itoa(c.Undecided), strconv.Itoa(c.StartInferred), percent(c.Share)))
	}
	for i := range r.Services {
		if c := &r.Services[i].Current.Detection; c.Faults > 0 {
			row(r.Services[i].Name, c)
		}
	}
	row("All services", &r.Total.Current.Detection)
	return t
}

// undetectedTable lists the faults no alert detected, oldest first.
func undetectedTable(r *Report, at func(time.Time) string) *table {
	var deaf []UndetectedFault
	for i := range r.Services {
		deaf = append(deaf, r.Services[i].Undetected...)
	}
	if len(deaf) == 0 {
		return nil
	}
	slices.SortFunc(deaf, func(x, y UndetectedFault) int { return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.ID, y.ID)) })
	t := &table{Head: []string{"Start", "Service", "Fault", "Object", "Incident", "Note"}, Numeric: make([]bool, 6)}
	for _, u := range deaf {
		var notes []string
		if u.StartInferred {
			notes = append(notes, "start inferred, not judged")
		}
		if u.Undecided {
			notes = append(notes, "detector undecided")
		}
		t.Rows = append(t.Rows, cells(at(u.Start), u.Service, u.Fault, u.Object, u.ID, strings.Join(notes, "; ")))
	}
	return t
}

// rulesTable is the alert rules' quality.
func rulesTable(r *Report) *table {
	if len(r.Rules) == 0 {
		return nil
	}
	t := &table{
		Head:    []string{"Alert rule", "Firings", "Notifications", "Joined to an incident", "Precision", "Fault kinds", "Detected", "Recall", "TTD median"},
		Numeric: []bool{false, true, true, true, true, false, true, true, true},
	}
	for _, ru := range r.Rules {
		recall := percent(ru.Recall)
		if ru.Recall != nil {
			recall += fmt.Sprintf(" (%d/%d)", ru.Detected, ru.Faults)
		}
		ttd := dur(ru.TimeToDetect.Samples, ru.TimeToDetect.Median)
		if ru.TimeToDetect.Samples > 0 {
			ttd += fmt.Sprintf(" (n=%d)", ru.TimeToDetect.Samples)
		}
		t.Rows = append(t.Rows, cells(ru.Alert, strconv.Itoa(ru.Firings), strconv.Itoa(ru.Notifications), strconv.Itoa(ru.Joined),
			percent(ru.Precision), strings.Join(ru.Kinds, ", "), strconv.Itoa(ru.Detected), recall, ttd))
	}
	return t
}

// experimentsTable is the hypotheses' verdicts, and the ones changed since
// the previous range ("name (previous → result)").
func experimentsTable(r *Report, at func(time.Time) string) (*table, []string) {
	if len(r.Experiments) == 0 {
		return nil, nil
	}
	t := &table{
		Head:    []string{"Hypothesis", "Verdict", "Judged", "Score", "Became pass", "Became fail", "Became inconclusive", r.Previous.String(), "Changed"},
		Numeric: []bool{false, false, false, true, true, true, true, false, false},
	}
	// The column of the chaos tools' runs only when a verdict judged one.
	runs := slices.ContainsFunc(r.Experiments, func(e Experiment) bool { return len(e.Runs) > 0 })
	if runs {
		t.Head = append(t.Head, "Chaos tool run")
		t.Numeric = append(t.Numeric, false)
	}
	var changed []string
	for i := range r.Experiments {
		e := &r.Experiments[i]
		result := string(e.Result)
		switch {
		case e.Final:
			result += " (final)"
		case e.Running:
			result += " (running)"
		case e.DecidedBy != nil:
			result += " (not final: decided by " + at(*e.DecidedBy) + ")"
		}
		score := "no data"
		if e.Score != nil {
			score = strconv.FormatFloat(*e.Score, 'f', 1, 64)
		}
		prev, yes := "none", "no"
		if e.Previous != "" {
			prev = string(e.Previous)
		}
		if e.Changed {
			yes = "yes"
			changed = append(changed, fmt.Sprintf("%s (%s → %s)", e.Hypothesis, prev, e.Result))
		}
		row := cells(e.Hypothesis, result, at(e.At), score, strconv.Itoa(e.Counts.Pass), strconv.Itoa(e.Counts.Fail),
			strconv.Itoa(e.Counts.Inconclusive), prev, yes)
		row[8].Strong = e.Changed
		if runs {
			row = append(row, cells(e.RunsText())...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, changed
}

// coverageChart stacks, for each service with faults, those detected
// within the bound, late, not at all, those the detector has not judged
// yet, and those whose start was inferred: each bar is all the service's
// faults.
func coverageChart(r *Report) *chart {
	bound := time.Duration(r.Settings.DetectionBound).String()
	var bars []bar
	for i := range r.Services {
		c := &r.Services[i].Current.Detection
		if c.Faults == 0 {
			continue
		}
		name := r.Services[i].Name
		bars = append(bars,
			bar{Group: name, Series: "within " + bound, Value: float64(c.WithinBound)},
			bar{Group: name, Series: "late", Value: float64(c.Late)},
			bar{Group: name, Series: "not detected", Value: float64(c.NotDetected)},
			bar{Group: name, Series: "undecided", Value: float64(c.Undecided)},
			bar{Group: name, Series: "start inferred", Value: float64(c.StartInferred)})
	}
	return barChart("detection-coverage", "Chaos faults by service: detected within "+bound+", late, not at all",
		axes{X: "service", Y: "chaos faults", Unit: unitCount}, bars, true)
}
