package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/store"
)

// newStore creates a SQLite store in a new data directory holding alerts.
func newStore(t *testing.T, alerts ...alert.Alert) string {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), "", store.Options{DataDir: dir})
	require.NoError(t, err)
	_, err = s.SaveAlerts(t.Context(), alerts)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	return dir
}

func TestReportRefusesBadInputNamingTheFlag(t *testing.T) {
	dir := newStore(t)
	missing := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown report", []string{"report", "monthly"}, "steadywatch report: unknown report \"monthly\": the one there is is weekly\n"},
		{
			"an unknown week format",
			[]string{"report", "weekly", "--data-dir", dir, "--week", "2026-48"},
			"steadywatch report: --week: \"2026-48\" is not an ISO week such as 2026-W48\n",
		},
		{
			"a week the year lacks",
			[]string{"report", "weekly", "--data-dir", dir, "--week", "2025-W53"},
			"steadywatch report: --week: \"2025-W53\": ISO year 2025 has weeks 01 to 52\n",
		},
		{
			"--from after --to",
			[]string{"report", "weekly", "--data-dir", dir, "--from", "2026-03-30T00:00:00Z", "--to", "2026-03-23T00:00:00Z"},
			"steadywatch report: --from: 2026-03-30T00:00:00Z is not before --to 2026-03-23T00:00:00Z\n",
		},
		{
			"--from without --to",
			[]string{"report", "weekly", "--data-dir", dir, "--from", "2026-03-23T00:00:00Z"},
			"steadywatch report: --to: required with --from\n",
		},
		{
			"a --from not RFC 3339",
			[]string{"report", "weekly", "--data-dir", dir, "--from", "yesterday", "--to", "2026-03-23T00:00:00Z"},
			"steadywatch report: --from: \"yesterday\" is not an RFC 3339 time such as 2026-03-23T00:00:00+01:00\n",
		},
		{
			"--week with --from",
			[]string{"report", "weekly", "--data-dir", dir, "--week", "2026-W13", "--from", "2026-03-23T00:00:00Z", "--to", "2026-03-24T00:00:00Z"},
			"steadywatch report: --week: give either --week or --from and --to, not both\n",
		},
		{
			"an unknown format",
			[]string{"report", "weekly", "--data-dir", dir, "--format", "pdf"},
			"steadywatch report: --format: \"pdf\" is not one of md, html, json, csv\n",
		},
		{
			"an unknown time zone",
			[]string{"report", "weekly", "--data-dir", dir, "--tz", "Mars/Olympus"},
			"steadywatch report: --tz: \"Mars/Olympus\" is not a time zone such as UTC, Local or Europe/Berlin\n",
		},
		{
			"no store there",
			[]string{"report", "weekly", "--data-dir", missing},
			"steadywatch report: --data-dir: store: sqlite://" + filepath.Join(missing, "steadywatch.db") + ": no steadywatch store there: " +
				filepath.Join(missing, "steadywatch.db") + " does not exist (serve creates it)\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			require.Equal(t, cli.ExitUsage, code)
			require.Empty(t, stdout)
			require.Equal(t, tc.want, stderr)
		})
	}
	// With no report named, the usage comes first.
	code, stdout, stderr := run(t, "report")
	require.Equal(t, cli.ExitUsage, code)
	require.Empty(t, stdout)
	require.True(t, strings.HasPrefix(stderr, "Usage: steadywatch report weekly [flags]"), stderr)
	require.True(t, strings.HasSuffix(stderr, "\nsteadywatch report: which report? The one there is: weekly\n"), stderr)
	_, err := os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist, "a report never creates a store")
}

func TestReportOfAnEmptyStoreSaysSoAndSucceeds(t *testing.T) {
	dir := newStore(t)
	code, stdout, stderr := run(t, "report", "weekly", "--data-dir", dir, "--week", "2026-W13", "--tz", "Europe/Berlin")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Contains(t, stdout, "# Alerts and SEVs: 2026-W13\n\n2026-03-23 00:00 CET to 2026-03-30 00:00 CEST (Europe/Berlin, 167 h); compared with 2026-W12.")
	require.Contains(t, stdout, "**No data:** the store holds no alerts and no incidents at all.")
}

func TestReportWritesEachFormatToAFile(t *testing.T) {
	start := time.Date(2026, 3, 24, 10, 0, 0, 0, time.UTC)
	dir := newStore(t, alert.Alert{
		Fingerprint: "f1", Status: alert.Resolved, StartsAt: start, EndsAt: start.Add(2 * time.Minute),
		Labels:   map[string]string{"alertname": "HighLatency", "service": "cart", "severity": "critical"},
		Receiver: "steadywatch", Source: alert.SourceWebhook,
	})
	for format, want := range map[string]string{
		"md":   "| cart | 1 | 1 | 0 | 0 | 1 | 0 | 1 | 2m0s | 2m0s | 2m0s |",
		"json": `"alert": "HighLatency{service=\"cart\",severity=\"critical\"}"`,
		"csv":  "current,2026-03-23T00:00:00Z,2026-03-30T00:00:00Z,cart,sevs_sev1,1,1",
		"html": `<td>cart</td><td class="n">1</td><td class="n">1</td><td class="n">0</td><td class="n">0</td><td class="n">1</td>`,
	} {
		out := filepath.Join(t.TempDir(), "report."+format)
		code, stdout, stderr := run(t, "report", "weekly", "--data-dir", dir, "--week", "2026-W13", "--format", format, "-o", out)
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Empty(t, stdout)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		require.Contains(t, string(data), want, format)
	}
}

func TestReportJudgesDetectionByTheConfiguredBound(t *testing.T) {
	dir := newStore(t)
	s, err := store.Open(t.Context(), "", store.Options{DataDir: dir})
	require.NoError(t, err)
	start := time.Date(2026, 3, 24, 10, 0, 0, 0, time.UTC)
	inc := chaos.Incident{
		ID: "i1", Kind: chaos.PodDeleted, Start: start, End: start.Add(time.Hour), Events: 1,
		Subject: chaos.Subject{Namespace: "shop", Service: "cart", Group: chaos.Experimental},
	}
	require.NoError(t, s.Save(t.Context(), inc))
	_, err = s.SetDetection(t.Context(), "i1", chaos.Detection{At: start.Add(90 * time.Second), Alert: "Down", Fingerprint: "f1"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	for bound, want := range map[string]string{
		// Detected after 90s: in time within 90s, late within 89s.
		"90s": "current,2026-03-23T00:00:00Z,2026-03-30T00:00:00Z,,faults_detected_within_bound,1,1",
		"89s": "current,2026-03-23T00:00:00Z,2026-03-30T00:00:00Z,,faults_detected_late,1,1",
	} {
		cfg := filepath.Join(t.TempDir(), "steadywatch.yml")
		require.NoError(t, os.WriteFile(cfg, []byte("data_dir: "+dir+"\nreports:\n  detection_bound: "+bound+"\n"), 0o600))
		code, stdout, stderr := run(t, "report", "weekly", "--config", cfg, "--week", "2026-W13", "--format", "csv")
		require.Equal(t, cli.ExitOK, code, stderr)
		require.Contains(t, stdout, want, bound)
	}
}

func TestOnlyTheHTMLReportHasTheTrendOfTheLastEightWeeks(t *testing.T) {
	start := time.Date(2026, 3, 24, 10, 0, 0, 0, time.UTC)
	dir := newStore(t, alert.Alert{
		Fingerprint: "f1", Status: alert.Resolved, StartsAt: start, EndsAt: start.Add(2 * time.Minute),
		Labels:   map[string]string{"alertname": "HighLatency", "service": "cart", "severity": "critical"},
		Receiver: "steadywatch", Source: alert.SourceWebhook,
	})
	code, stdout, stderr := run(t, "report", "weekly", "--data-dir", dir, "--week", "2026-W13", "--format", "html")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Contains(t, stdout, `<svg data-chart="mttr-mttd-trend"`)
	for week := 6; week <= 13; week++ {
		require.Contains(t, stdout, fmt.Sprintf(">2026-W%02d</text>", week))
	}
	require.NotContains(t, stdout, "2026-W05")
	code, stdout, stderr = run(t, "report", "weekly", "--data-dir", dir, "--week", "2026-W13", "--format", "json")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.NotContains(t, stdout, `"trend"`)
}

// Issue 15: report reads $STEADYWATCH_STORE as serve does, under the
// flags, and names it when the store there cannot be opened.
func TestReportReadsTheStoreFromTheEnvironment(t *testing.T) {
	dir := newStore(t)
	t.Setenv("STEADYWATCH_STORE", filepath.Join(dir, "steadywatch.db"))
	code, stdout, stderr := run(t, "report", "weekly", "--week", "2026-W13")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Contains(t, stdout, "**No data:** the store holds no alerts and no incidents at all.")

	missing := filepath.Join(t.TempDir(), "none", "sw.db")
	t.Setenv("STEADYWATCH_STORE", missing)
	code, _, stderr = run(t, "report", "weekly", "--week", "2026-W13")
	require.Equal(t, cli.ExitUsage, code, stderr)
	require.Contains(t, stderr, "steadywatch report: $STEADYWATCH_STORE: store: sqlite://"+missing)

	// --data-dir wins over the variable.
	code, _, stderr = run(t, "report", "weekly", "--data-dir", dir, "--week", "2026-W13")
	require.Equal(t, cli.ExitOK, code, stderr)
}

// The store flags of report weekly (those of every command reading a
// store) each say where the store is, and an error names the one that
// said it.
func TestReportReadsTheStoreItsFlagsName(t *testing.T) {
	dir := newStore(t)
	file := filepath.Join(dir, "steadywatch.db")
	missing := filepath.Join(t.TempDir(), "none")
	config := filepath.Join(t.TempDir(), "steadywatch.yaml")
	require.NoError(t, os.WriteFile(config, []byte("store: sqlite://"+filepath.Join(missing, "sw.db")+"\n"), 0o600))
	for _, tc := range []struct {
		name  string
		flags []string
		error string // "" for a report
	}{
		{"--store", []string{"--store", file}, ""},
		{"--data-dir", []string{"--data-dir", dir}, ""},
		{"--store over --config", []string{"--config", config, "--store", file}, ""},
		{"--data-dir over --config", []string{"--config", config, "--data-dir", dir}, ""},
		{"a missing --store", []string{"--store", filepath.Join(missing, "sw.db")}, "steadywatch report: --store: "},
		{"a missing --data-dir", []string{"--data-dir", missing}, "steadywatch report: --data-dir: "},
		{"a missing --config store", []string{"--config", config}, "steadywatch report: --config: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"report", "weekly", "--week", "2026-W13"}, tc.flags...)...)
			if tc.error == "" {
				require.Equal(t, cli.ExitOK, code, stderr)
				require.Contains(t, stdout, "**No data:**")
				return
			}
			require.Equal(t, cli.ExitUsage, code, stderr)
			require.Contains(t, stderr, tc.error)
		})
	}
}
