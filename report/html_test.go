package report_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/report"
)

// htmlReport is the HTML report of 2026-W13 in Berlin (a daylight saving
// change, organic and chaos SEVs, a trend with gaps) over the fixture.
func htmlReport(t *testing.T) (*report.Report, []byte) {
	t.Helper()
	s := fill(t, "sqlite://"+filepath.Join(t.TempDir(), "sw.db"), generate(14))
	r, err := report.Weekly(t.Context(), s, report.Options{Range: report.ISOWeek(2026, 13, berlin), Now: func() time.Time { return now }, TrendRanges: 8})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, r))
	return r, b.Bytes()
}

// wantMarks is, from the report's figures, how many bars or points each
// chart draws: one per non-zero value, one per range with samples.
func wantMarks(r *report.Report) map[string]int {
	want := map[string]int{}
	for _, svc := range r.Services {
		for _, d := range svc.Daily {
			if d.Alerts > 0 {
				want["alerts-per-day"]++
			}
		}
	}
	for _, b := range r.ResolutionBuckets {
		if b.Count > 0 {
			want["time-to-resolution"]++
		}
	}
	for _, l := range r.Levels {
		for _, n := range []int{r.Total.Current.SEVs.ByLevel[l], r.Total.Previous.SEVs.ByLevel[l]} {
			if n > 0 {
				want["sevs-by-level"]++
			}
		}
	}
	for _, svc := range r.Services {
		c := svc.Current.Detection
		for _, n := range []int{c.WithinBound, c.Late, c.NotDetected, c.Undecided, c.StartInferred} {
			if n > 0 {
				want["detection-coverage"]++
			}
		}
	}
	for _, p := range r.Trend {
		for _, m := range []report.Mean{p.MTTR, p.MTTD} {
			if m.Samples > 0 {
				want["mttr-mttd-trend"]++
			}
		}
	}
	return want
}

// chartMark is the class of the marks each chart draws.
var chartMark = map[string]string{
	"alerts-per-day": "bar", "time-to-resolution": "bar", "sevs-by-level": "bar", "mttr-mttd-trend": "point",
	"detection-coverage": "bar",
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" && slices.Contains(strings.Fields(a.Val), class) {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// marks counts, per <svg data-chart>, its elements of class bar or point,
// and whether it has a <title> and a <desc>.
func marks(doc *html.Node) (bars, points map[string]int, described map[string]bool) {
	bars, points, described = map[string]int{}, map[string]int{}, map[string]bool{}
	var walk func(n *html.Node, chart string)
	walk = func(n *html.Node, chart string) {
		if n.Type == html.ElementNode {
			if name := attr(n, "data-chart"); n.Data == "svg" && name != "" {
				chart = name
				title, desc := false, false
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					title = title || c.Data == "title" && c.FirstChild != nil
					desc = desc || c.Data == "desc" && c.FirstChild != nil
				}
				described[name] = title && desc
			}
			if chart != "" && hasClass(n, "bar") {
				bars[chart]++
			}
			if chart != "" && hasClass(n, "point") {
				points[chart]++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, chart)
		}
	}
	walk(doc, "")
	return bars, points, described
}

// fetching lists what in doc would run a script or fetch something: a
// script or embedding element, an attribute naming a URL, an event
// handler, or a url() or @import in a style.
func fetching(doc *html.Node) []string {
	var found []string
	elements := []string{"script", "link", "img", "image", "iframe", "frame", "object", "embed", "audio", "video", "source", "track", "use", "base", "foreignobject", "form", "input"}
	urlAttrs := []string{"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data", "background", "ping", "manifest", "codebase", "cite"}
	style := func(where, s string) {
		for _, bad := range []string{"url(", "@import", "@font-face", "expression("} {
			if strings.Contains(strings.ToLower(s), bad) {
				found = append(found, where+": "+bad)
			}
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name := strings.ToLower(n.Data)
			if slices.Contains(elements, name) {
				found = append(found, "<"+name+">")
			}
			if name == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh") {
				found = append(found, "<meta http-equiv=refresh>")
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if a.Namespace != "" {
					key = strings.ToLower(a.Namespace) + ":" + key
				}
				switch {
				case slices.Contains(urlAttrs, key) || strings.HasSuffix(key, ":href"):
					found = append(found, "<"+name+" "+key+">")
				case strings.HasPrefix(key, "on"):
					found = append(found, "<"+name+" "+key+">")
				case key == "style":
					style("<"+name+" style>", a.Val)
				}
			}
			if name == "style" && n.FirstChild != nil {
				style("<style>", n.FirstChild.Data)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return found
}

func TestTheFetchCheckFindsEachWayOfFetching(t *testing.T) {
	for _, bad := range []string{
		`<script>1</script>`,
		`<img src="x.png">`,
		`<link rel="stylesheet" href="https://example.com/a.css">`,
		`<a href="https://example.com">x</a>`,
		`<svg><image href="x.png"/></svg>`,
		`<svg><use xlink:href="#a"/></svg>`,
		`<style>@import "x.css";</style>`,
		`<style>@font-face{src:local(x)}</style>`,
		`<p style="background:url(x.png)">x</p>`,
		`<svg><rect onload="x()"/></svg>`,
		`<meta http-equiv="refresh" content="0;url=https://example.com">`,
		`<iframe srcdoc="x"></iframe>`,
	} {
		doc, err := html.Parse(strings.NewReader("<!DOCTYPE html><html><body>" + bad + "</body></html>"))
		require.NoError(t, err)
		require.NotEmpty(t, fetching(doc), bad)
	}
}

func TestTheHTMLReportFetchesNothingAndRunsNoScript(t *testing.T) {
	_, page := htmlReport(t)
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	require.Empty(t, fetching(doc))
}

func TestTheHTMLChartsDrawTheReportsFigures(t *testing.T) {
	r, page := htmlReport(t)
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	bars, points, described := marks(doc)
	want := wantMarks(r)
	for chart, mark := range chartMark {
		require.True(t, described[chart], "%s: no chart with a title and a description", chart)
		require.Positive(t, want[chart], "%s: the fixture gives it nothing to draw", chart)
		got := bars[chart]
		if mark == "point" {
			got = points[chart]
			require.Zero(t, bars[chart], chart)
		} else {
			require.Zero(t, points[chart], chart)
		}
		require.Equal(t, want[chart], got, chart)
	}
	require.Less(t, want["mttr-mttd-trend"], 2*len(r.Trend), "the trend has gaps, drawn as none")
	require.Len(t, described, len(chartMark))
	// The same tables as the Markdown: a row per SEV and per top alert.
	text := string(page)
	require.NotEmpty(t, r.SEVs)
	for _, s := range r.SEVs {
		require.Contains(t, text, "<tr><td>"+s.Start.In(berlin).Format("2006-01-02 15:04 MST")+"</td><td>"+string(s.Level)+"</td><td>"+html.EscapeString(s.Service)+"</td>")
	}
	for _, svc := range r.Services {
		for _, top := range svc.Top {
			require.Contains(t, text, "<td><code>"+html.EscapeString(top.Alert)+"</code></td><td class=\"n\">"+strconv.Itoa(top.Count)+"</td><td class=\"n\">"+strconv.Itoa(top.Notifications)+"</td>")
		}
	}
	// And the alert quality and the experiments, as the Markdown has them.
	for _, h := range []string{"Detection coverage", "Alert rules", "Experiments"} {
		require.Contains(t, text, "<h2>"+h+"</h2>")
	}
	require.NotEmpty(t, r.Rules)
	for _, ru := range r.Rules {
		require.Contains(t, text, "<tr><td>"+html.EscapeString(ru.Alert)+"</td><td class=\"n\">"+strconv.Itoa(ru.Firings)+"</td><td class=\"n\">"+strconv.Itoa(ru.Notifications)+"</td>")
	}
	c := r.Total.Current.Detection
	require.Positive(t, c.Faults)
	require.Contains(t, text, fmt.Sprintf(`<tr class="total"><td>All services</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td>`,
		c.Faults, c.WithinBound, c.Late, c.NotDetected))
	for _, svc := range r.Services {
		for _, u := range svc.Undetected {
			require.Contains(t, text, "<td>"+html.EscapeString(u.ID)+"</td>")
		}
	}
}

func TestTheHTMLReportEscapesWhatTheStoreHolds(t *testing.T) {
	start := w12.From.Add(time.Hour)
	evil := `<script>alert(1)</script>`
	r := weekly(t, fixture{alerts: []alert.Alert{{
		Fingerprint: `fp"><img src=x>`, Status: alert.Resolved, StartsAt: start, EndsAt: start.Add(time.Minute), ReceivedAt: start,
		Labels:   map[string]string{"alertname": evil, "service": `<img src=x onerror=alert(1)>`, "severity": "critical", "route": `"/><style>@import "u";</style>`},
		Receiver: "steadywatch", Source: alert.SourceWebhook,
	}}})
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, r))
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	require.NoError(t, err)
	require.Empty(t, fetching(doc))
	require.Contains(t, b.String(), "&lt;script&gt;alert(1)&lt;/script&gt;")
	require.Contains(t, b.String(), "&lt;img src=x onerror=alert(1)&gt;")
}

func TestTheHTMLReportOfAnEmptyStoreSaysSo(t *testing.T) {
	r := weekly(t, fixture{})
	require.True(t, r.Empty)
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, r))
	require.Contains(t, b.String(), "<strong>No data:</strong> the store holds no alerts and no incidents at all.")
	require.NotContains(t, b.String(), "<svg")
}
