package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// alertSource is a report.Source holding alerts and no incident.
type alertSource struct {
	alerts []alert.Alert
	err    error
}

func (s alertSource) EachAlert(_ context.Context, f alert.Filter, fn func(*alert.Alert) error) error {
	if s.err != nil {
		return s.err
	}
	for i := range s.alerts {
		a := s.alerts[i]
		if (!f.Since.IsZero() && a.StartsAt.Before(f.Since)) || (!f.Until.IsZero() && !a.StartsAt.Before(f.Until)) {
			continue
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	return nil
}

func (s alertSource) List(context.Context, tracker.Filter) ([]chaos.Incident, error) {
	return nil, s.err
}

// EachVerdict and LatestVerdicts: the source holds no verdicts.
func (alertSource) EachVerdict(context.Context, time.Time, time.Time, func(*verdict.Transition) error) error {
	return nil
}

func (alertSource) LatestVerdicts(context.Context, time.Time) ([]verdict.Transition, error) {
	return nil, nil
}

// reportNow is Wednesday of 2026-W48: the last whole week is 2026-W47,
// Monday 16 November to Monday 23 November.
var reportNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// weekAlerts fire 2 alerts in 2026-W47 (UTC) and 1 in 2026-W48, each for
// 10 minutes.
func weekAlerts() []alert.Alert {
	mk := func(fp string, start time.Time) alert.Alert {
		return alert.Alert{
			Fingerprint: fp, Status: alert.Resolved, Source: alert.SourceWebhook, Receiver: "steadywatch",
			Labels:   map[string]string{"alertname": "HighLatency", "service": "cart", "severity": "warning"},
			StartsAt: start, EndsAt: start.Add(10 * time.Minute), ReceivedAt: start,
		}
	}
	return []alert.Alert{
		mk("a1", time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)),
		// 22 November 23:30 UTC is in W47 in UTC, in W48 in Europe/Berlin.
		mk("a2", time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC)),
		mk("a3", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)),
	}
}

func getReport(t *testing.T, src alertSource, query string) *httptest.ResponseRecorder {
	t.Helper()
	h := api.WeeklyReport(api.WeeklyReportOptions{Source: src, Now: func() time.Time { return reportNow }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, api.WeeklyReportPath+query, nil))
	return rec
}

// firing reads total.current.alerts.firing and the range of a JSON report.
func firing(t *testing.T, body []byte) (n int, week, from string) {
	t.Helper()
	var r struct {
		Range struct {
			Week string `json:"week"`
			From string `json:"from"`
		} `json:"range"`
		Total struct {
			Current struct {
				Alerts struct {
					Firing int `json:"firing"`
				} `json:"alerts"`
			} `json:"current"`
		} `json:"total"`
	}
	require.NoError(t, json.Unmarshal(body, &r), string(body))
	return r.Total.Current.Alerts.Firing, r.Range.Week, r.Range.From
}

func TestTheWeeklyReportIsTheLastWholeWeekInJSONByDefault(t *testing.T) {
	rec := getReport(t, alertSource{alerts: weekAlerts()}, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	n, week, from := firing(t, rec.Body.Bytes())
	require.Equal(t, "2026-W47", week)
	require.Equal(t, "2026-11-16T00:00:00Z", from)
	require.Equal(t, 2, n, "a1 and a2 start in W47 (UTC)")
}

func TestTheWeeklyReportTakesAWeekARangeAndATimeZone(t *testing.T) {
	for _, tc := range []struct {
		name, query, week, from string
		firing                  int
	}{
		{"a week in UTC", "?week=2026-W48", "2026-W48", "2026-11-23T00:00:00Z", 1},
		{"a week in Berlin moves a2 into it", "?week=2026-W48&tz=Europe/Berlin", "2026-W48", "2026-11-23T00:00:00+01:00", 2},
		{"a range", "?from=2026-11-17T00:00:00Z&to=2026-11-18T00:00:00Z", "", "2026-11-17T00:00:00Z", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := getReport(t, alertSource{alerts: weekAlerts()}, tc.query)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			n, week, from := firing(t, rec.Body.Bytes())
			require.Equal(t, tc.week, week)
			require.Equal(t, tc.from, from)
			require.Equal(t, tc.firing, n)
		})
	}
}

func TestTheWeeklyReportIsServedInEachFormatWithItsContentType(t *testing.T) {
	for _, tc := range []struct {
		format, contentType string
		check               func(t *testing.T, body string)
	}{
		{"md", "text/markdown; charset=utf-8", func(t *testing.T, body string) {
			require.True(t, strings.HasPrefix(body, "# "), body)
			require.Contains(t, body, "2026-W47")
		}},
		{"csv", "text/csv; charset=utf-8", func(t *testing.T, body string) {
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			require.NoError(t, err)
			require.Greater(t, len(rows), 1)
			// The total's firing alerts of the current week.
			found := false
			for _, row := range rows {
				if len(row) == 7 && row[0] == "current" && row[3] == "" && row[4] == "alerts_firing" {
					require.Equal(t, "2", row[5])
					found = true
				}
			}
			require.True(t, found, "no current total alerts_firing row in\n%s", body)
		}},
		{"html", "text/html; charset=utf-8", func(t *testing.T, body string) {
			require.True(t, strings.HasPrefix(body, "<!DOCTYPE html>"), body[:min(len(body), 200)])
			require.Contains(t, body, `<svg data-chart="mttr-mttd-trend"`, "with the trend, as the command writes it")
			require.Contains(t, body, ">2026-W40</text>", "8 weeks ending with W47")
			require.NotContains(t, body, ">2026-W39</text>")
		}},
		{"json", "application/json", func(t *testing.T, body string) {
			n, _, _ := firing(t, []byte(body))
			require.Equal(t, 2, n)
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			rec := getReport(t, alertSource{alerts: weekAlerts()}, "?format="+tc.format)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
			tc.check(t, rec.Body.String())
		})
	}
}

func TestABadQueryGets400NamingTheParameter(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"?week=2026-48", `query parameter week: "2026-48" is not an ISO week such as 2026-W48`},
		{"?week=2025-W53", `query parameter week: "2025-W53": ISO year 2025 has weeks 01 to 52`},
		{"?week=", `query parameter week: "" is not an ISO week such as 2026-W48`},
		{"?from=2026-03-30T00:00:00Z&to=2026-03-23T00:00:00Z", "query parameter from: 2026-03-30T00:00:00Z is not before to 2026-03-23T00:00:00Z"},
		{"?from=2026-03-30T00:00:00Z&to=2026-03-30T00:00:00Z", "query parameter from: 2026-03-30T00:00:00Z is not before to 2026-03-30T00:00:00Z"},
		{"?from=2026-03-23T00:00:00Z", "query parameter to: required with from"},
		{"?to=2026-03-23T00:00:00Z", "query parameter from: required with to"},
		{"?from=yesterday&to=2026-03-23T00:00:00Z", `query parameter from: "yesterday" is not an RFC 3339 time such as 2026-03-23T00:00:00+01:00`},
		{"?week=2026-W13&from=2026-03-23T00:00:00Z&to=2026-03-24T00:00:00Z", "query parameter week: give either week or from and to, not both"},
		{"?format=pdf", `query parameter format: "pdf" is not one of md, html, json, csv`},
		{"?format=", `query parameter format: "" is not one of md, html, json, csv`},
		{"?tz=Mars/Olympus", `query parameter tz: "Mars/Olympus" is not a time zone such as UTC, Local or Europe/Berlin`},
		{"?tz=", `query parameter tz: "" is not a time zone such as UTC, Local or Europe/Berlin`},
		{"?week=2026-W13&week=2026-W14", "query parameter week: given 2 times, want at most once"},
		{"?service=cart", `unknown query parameter "service": want week, from, to, tz, format or cluster`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			rec := getReport(t, alertSource{}, tc.query)
			require.Equal(t, http.StatusBadRequest, rec.Code)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var e api.Error
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			require.Equal(t, tc.want, e.Error)
		})
	}
	// Just inside the bound: a range of one nanosecond is a range.
	rec := getReport(t, alertSource{}, "?from=2026-03-30T00:00:00Z&to=2026-03-30T00:00:00.000000001Z")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func TestAStoreThatFailsGets500(t *testing.T) {
	rec := getReport(t, alertSource{err: errors.New("disk on fire")}, "")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "disk on fire")
}
