package report

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts of the HTML report are inline SVG drawn here, so that the
// report needs nothing fetched and no script. A chart is built in Go
// (barChart, lineChart) and rendered by the "chart" template of html.tmpl,
// which escapes every text. Each chart is an <svg data-chart="NAME">;
// every bar has the class "bar", every point "point", and the colour of
// its series the class sN; a <title>, a <desc> and a table of its figures
// stand in for it where it cannot be seen.

// Geometry of a chart, in SVG user units.
const (
	chartWidth  = 760
	chartHeight = 280
	padLeft     = 72
	padRight    = 16
	padTop      = 40
	padBottom   = 52
	plotWidth   = chartWidth - padLeft - padRight
	plotHeight  = chartHeight - padTop - padBottom
	// seriesColours is how many sN classes the stylesheet colours; series
	// beyond reuse them.
	seriesColours = 8
)

// Units of a chart's values, as Change.Unit.
const (
	unitCount   = "count"
	unitSeconds = "seconds"
)

// bar is one value of a bar chart: Group is its place on the x axis (a
// day, a bucket, a level), Series what its colour says (a service, a
// range). A value of 0 draws no bar, but its group keeps its place.
type bar struct {
	Group, Series string
	Value         float64
}

// line is one series of a line chart: a value per x, nil where there is
// no data, drawn as a gap.
type line struct {
	Series string
	Values []*float64
}

// axes names a chart's axes and its values' unit.
type axes struct {
	X, Y string
	Unit string
}

// chart is what the "chart" template draws.
type chart struct {
	Name, Title, Desc string
	Width, Height     int
	Axes              axes
	// PlotLeft … PlotBottom frame the plot area.
	PlotLeft, PlotRight, PlotTop, PlotBottom float64
	XTicks, YTicks                           []tick
	Legend                                   []legendItem
	Bars                                     []svgBar
	Lines                                    []svgLine
	Points                                   []svgPoint
	// Head and Rows are the chart's figures as a table.
	Head []string
	Rows [][]string
}

type tick struct {
	Pos   float64
	Label string
}

type legendItem struct {
	X     float64
	Label string
	Class string
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type svgLine struct {
	Points string
	Class  string
}

type svgPoint struct {
	X, Y  float64
	Class string
	Title string
}

func newChart(name, title string, ax axes) *chart {
	return &chart{
		Name: name, Title: title, Axes: ax, Width: chartWidth, Height: chartHeight,
		PlotLeft: padLeft, PlotRight: padLeft + plotWidth, PlotTop: padTop, PlotBottom: padTop + plotHeight,
	}
}

// barChart draws bars: side by side within a group, or stacked.
func barChart(name, title string, ax axes, bars []bar, stacked bool) *chart {
	c := newChart(name, title, ax)
	groups, series := order(bars, func(b bar) string { return b.Group }), order(bars, func(b bar) string { return b.Series })
	value := map[[2]string]float64{}
	totals := map[string]float64{}
	top := 0.0
	for _, b := range bars {
		value[[2]string{b.Group, b.Series}] += b.Value
		totals[b.Group] += b.Value
		top = math.Max(top, value[[2]string{b.Group, b.Series}])
	}
	if stacked {
		top = 0
		for _, t := range totals {
			top = math.Max(top, t)
		}
	}
	scale := c.yScale(top)
	c.legend(series)
	band := float64(plotWidth) / float64(max(len(groups), 1))
	for gi, g := range groups {
		x0 := padLeft + band*float64(gi)
		c.XTicks = append(c.XTicks, tick{Pos: x0 + band/2, Label: g})
		base := 0.0
		row := []string{g}
		for si, s := range series {
			v := value[[2]string{g, s}]
			row = append(row, c.format(v))
			if v <= 0 {
				continue
			}
			b := svgBar{Class: "bar s" + strconv.Itoa(si%seriesColours), Title: barTitle(g, s, len(series), c.format(v))}
			if stacked {
				b.W = band * 0.6
				b.X = x0 + band*0.2
				b.Y, b.H = scale(base+v), scale(base)-scale(base+v)
				base += v
			} else {
				b.W = band * 0.8 / float64(len(series))
				b.X = x0 + band*0.1 + b.W*float64(si)
				b.Y, b.H = scale(v), scale(0)-scale(v)
			}
			c.Bars = append(c.Bars, b)
		}
		c.Rows = append(c.Rows, row)
	}
	c.Head = append([]string{ax.X}, series...)
	c.thinXTicks()
	c.describe(len(c.Bars), "bars")
	return c
}

// lineChart draws each series as points joined by a polyline, broken
// where a value is nil.
func lineChart(name, title string, ax axes, xs []string, lines []line) *chart {
	c := newChart(name, title, ax)
	top := 0.0
	series := make([]string, 0, len(lines))
	for _, l := range lines {
		series = append(series, l.Series)
		for _, v := range l.Values {
			if v != nil {
				top = math.Max(top, *v)
			}
		}
	}
	scale := c.yScale(top)
	c.legend(series)
	step := float64(plotWidth) / float64(max(len(xs), 1))
	xAt := func(i int) float64 { return padLeft + step*(float64(i)+0.5) }
	for i, x := range xs {
		c.XTicks = append(c.XTicks, tick{Pos: xAt(i), Label: x})
		row := []string{x}
		for _, l := range lines {
			if v := l.Values[i]; v != nil {
				row = append(row, c.format(*v))
			} else {
				row = append(row, "no data")
			}
		}
		c.Rows = append(c.Rows, row)
	}
	for si, l := range lines {
		class := "s" + strconv.Itoa(si%seriesColours)
		var run []string
		flush := func() {
			if len(run) > 1 {
				c.Lines = append(c.Lines, svgLine{Points: strings.Join(run, " "), Class: "line " + class})
			}
			run = nil
		}
		for i, v := range l.Values {
			if v == nil {
				flush()
				continue
			}
			x, y := xAt(i), scale(*v)
			run = append(run, num(x)+","+num(y))
			c.Points = append(c.Points, svgPoint{X: x, Y: y, Class: "point " + class, Title: xs[i] + ", " + l.Series + ": " + c.format(*v)})
		}
		flush()
	}
	c.Head = append([]string{ax.X}, series...)
	c.thinXTicks()
	c.describe(len(c.Points), "points")
	return c
}

// order lists the distinct keys of bars in the order they first appear.
func order(bars []bar, key func(bar) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range bars {
		if k := key(b); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func barTitle(group, series string, nseries int, v string) string {
	if nseries == 1 {
		return group + ": " + v
	}
	return group + ", " + series + ": " + v
}

// yScale sets the y ticks from 0 to a round value at or above top and
// returns the function from a value to its y.
func (c *chart) yScale(top float64) func(float64) float64 {
	unit := 1.0
	if c.Axes.Unit == unitSeconds {
		// Ticks in whole seconds, minutes or hours.
		switch {
		case top >= 2*3600:
			unit = 3600
		case top >= 2*60:
			unit = 60
		}
	}
	step := niceStep(top / unit / 4)
	if c.Axes.Unit == unitCount {
		step = math.Max(step, 1)
	}
	n := max(1, int(math.Ceil(top/unit/step)))
	ymax := float64(n) * step * unit
	scale := func(v float64) float64 { return padTop + plotHeight*(1-v/ymax) }
	for i := 0; i <= n; i++ {
		v := float64(i) * step * unit
		label := c.format(v)
		if c.Axes.Unit == unitSeconds {
			label = shortDur(time.Duration(v * float64(time.Second)))
		}
		c.YTicks = append(c.YTicks, tick{Pos: scale(v), Label: label})
	}
	return scale
}

// niceStep is the least of 1, 2 and 5 times a power of ten at or above x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= x {
			return m * mag
		}
	}
	return 10 * mag
}

func (c *chart) format(v float64) string {
	if c.Axes.Unit == unitSeconds {
		return time.Duration(v * float64(time.Second)).Round(time.Second).String()
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// legend places one item per series above the plot.
func (c *chart) legend(series []string) {
	if len(series) < 2 {
		return
	}
	x := float64(padLeft)
	for i, s := range series {
		c.Legend = append(c.Legend, legendItem{X: x, Label: s, Class: "swatch s" + strconv.Itoa(i%seriesColours)})
		x += 24 + 7*float64(len([]rune(s)))
	}
}

// thinXTicks keeps about 16 x labels at most, so that they do not overlap.
func (c *chart) thinXTicks() {
	every := (len(c.XTicks) + 15) / 16
	if every <= 1 {
		return
	}
	var kept []tick
	for i, t := range c.XTicks {
		if i%every == 0 {
			kept = append(kept, t)
		}
	}
	c.XTicks = kept
}

// describe writes the chart's text fallback: what it shows, and its
// figures row by row.
func (c *chart) describe(n int, what string) {
	var b strings.Builder
	b.WriteString(c.Title + ": " + strconv.Itoa(n) + " " + what + ". " + c.Axes.Y + " by " + c.Axes.X + ". ")
	for i, row := range c.Rows {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(row[0] + ":")
		for j, v := range row[1:] {
			if len(row) > 2 {
				b.WriteString(" " + c.Head[j+1])
			}
			b.WriteString(" " + v)
		}
	}
	c.Desc = b.String()
}

// num writes a coordinate with at most one decimal.
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
