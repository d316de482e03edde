package delivery

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/report"
)

// slackMessage is a Slack-compatible incoming-webhook message: text is
// what notifications show, blocks the message itself.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type string     `json:"type"`
	Text *slackText `json:"text,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// writeSlack writes r's summary as a Slack message, with a link to the
// Markdown report on serve at link if it is set.
func writeSlack(w io.Writer, r *report.Report, link string) error {
	title := "steadywatch weekly report " + r.Range.Week
	lines := Summary(r)
	msg := slackMessage{
		Text: title + ": " + strings.Join(lines, "; "),
		Blocks: []slackBlock{
			{Type: "header", Text: &slackText{Type: "plain_text", Text: title}},
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "• " + strings.Join(lines, "\n• ")}},
		},
	}
	if link != "" {
		u := ReportLink(link, r)
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "<" + u + "|Full report>"}})
		msg.Text += " " + u
	}
	return json.NewEncoder(w).Encode(msg)
}

// ReportLink is the URL of r's Markdown report on serve at base.
func ReportLink(base string, r *report.Report) string {
	query := "week=" + url.QueryEscape(r.Range.Week) + "&format=md"
	if tz := r.Settings.TimeZone; tz != "" && tz != "UTC" {
		query += "&tz=" + url.QueryEscape(tz)
	}
	return strings.TrimRight(base, "/") + api.WeeklyReportPath + "?" + query
}

// Summary is the headline of r in a few lines: firing alerts, SEVs by
// level, MTTR, each against the week before.
func Summary(r *report.Report) []string {
	cur, prev := r.Total.Current, r.Total.Previous
	levels := make([]string, len(r.Levels))
	for i, l := range r.Levels {
		levels[i] = fmt.Sprintf("%s %d", l, cur.SEVs.ByLevel[l])
	}
	sevs := fmt.Sprintf("%d SEVs (%s), %s", cur.SEVs.Total, strings.Join(levels, ", "), versus(cur.SEVs.Total, prev.SEVs.Total, r))
	if len(levels) == 0 {
		sevs = fmt.Sprintf("%d SEVs, %s", cur.SEVs.Total, versus(cur.SEVs.Total, prev.SEVs.Total, r))
	}
	return []string{
		fmt.Sprintf("%d firing alerts, %s", cur.Alerts.Firing, versus(cur.Alerts.Firing, prev.Alerts.Firing, r)),
		sevs,
		"MTTR " + mean(cur.SEVs.MTTR) + ", " + r.Previous.String() + " " + mean(prev.SEVs.MTTR),
	}
}

// versus is the change from the previous range: "+3 on 2026-W46 (9)".
func versus(cur, prev int, r *report.Report) string {
	return fmt.Sprintf("%+d on %s (%d)", cur-prev, r.Previous.String(), prev)
}

func mean(m report.Mean) string {
	if m.Samples == 0 {
		return "no data"
	}
	return time.Duration(m.Mean).Round(time.Second).String() + " over " + strconv.Itoa(m.Samples) + " SEVs"
}
