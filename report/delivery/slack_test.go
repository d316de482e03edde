package delivery

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/report"
)

func TestTheSummaryGivesTheHeadlineAgainstTheWeekBefore(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	r := &report.Report{
		Range: report.ISOWeek(2026, 13, berlin), Previous: report.ISOWeek(2026, 12, berlin),
		Levels: []report.Level{"SEV1", "SEV2"},
	}
	r.Settings.TimeZone = "Europe/Berlin"
	r.Total.Current.Alerts.Firing, r.Total.Previous.Alerts.Firing = 12, 15
	r.Total.Current.SEVs = report.SEVFigures{
		Total: 3, ByLevel: map[report.Level]int{"SEV1": 1, "SEV2": 2},
		MTTR: report.Mean{Samples: 2, Mean: report.Seconds(90 * time.Minute)},
	}
	r.Total.Previous.SEVs = report.SEVFigures{Total: 1, ByLevel: map[report.Level]int{"SEV2": 1}}
	require.Equal(t, []string{
		"12 firing alerts, -3 on 2026-W12 (15)",
		"3 SEVs (SEV1 1, SEV2 2), +2 on 2026-W12 (1)",
		"MTTR 1h30m0s over 2 SEVs, 2026-W12 no data",
	}, Summary(r))

	var b bytes.Buffer
	require.NoError(t, writeSlack(&b, r, "https://sw.example.com/"))
	var msg slackMessage
	require.NoError(t, json.Unmarshal(b.Bytes(), &msg))
	link := "https://sw.example.com/api/v1/reports/weekly?week=2026-W13&format=md&tz=Europe%2FBerlin"
	require.Equal(t, "steadywatch weekly report 2026-W13: 12 firing alerts, -3 on 2026-W12 (15); "+
		"3 SEVs (SEV1 1, SEV2 2), +2 on 2026-W12 (1); MTTR 1h30m0s over 2 SEVs, 2026-W12 no data "+link, msg.Text)
	require.Len(t, msg.Blocks, 3)
	require.Equal(t, "<"+link+"|Full report>", msg.Blocks[2].Text.Text)

	// Without a link, no link.
	b.Reset()
	require.NoError(t, writeSlack(&b, r, ""))
	require.NoError(t, json.Unmarshal(b.Bytes(), &msg))
	require.Len(t, msg.Blocks, 2)
	require.NotContains(t, msg.Text, "http")
}
