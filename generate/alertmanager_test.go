package generate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/generate"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
)

func TestTheAlertmanagerSnippetIsValidForAlertmanager025(t *testing.T) {
	for name, o := range map[string]generate.AlertmanagerOptions{
		"everything, no auth": {ExternalURL: "http://steadywatch.monitoring:9477"},
		"matched, with a token, to a named receiver": {
			ExternalURL: "https://steadywatch.monitoring:9477/", CredentialsFile: "/etc/alertmanager/secrets/steadywatch-token",
			Matchers: []string{`severity=~"page|ticket"`, `team!="test"`}, AbortReceiver: "chaos-oncall",
		},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := generate.Alertmanager(o)
			require.NoError(t, err)
			again, err := generate.Alertmanager(o)
			require.NoError(t, err)
			require.Equal(t, out, again, "deterministic")
			path := filepath.Join(t.TempDir(), "alertmanager.yml")
			require.NoError(t, os.WriteFile(path, out, 0o600))
			got, err := promtest.Amtool(t, "check-config", path)
			require.NoError(t, err, "amtool check-config:\n%s\n%s", got, out)
			require.Contains(t, got, "SUCCESS")
		})
	}
}

func TestTheAlertmanagerSnippetRoutesWhatItSays(t *testing.T) {
	out, err := generate.Alertmanager(generate.AlertmanagerOptions{
		ExternalURL: "http://steadywatch:9477", CredentialsFile: "/run/secrets/token",
		Matchers: []string{`severity="page"`}, AbortReceiver: "sre",
	})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	for _, tc := range []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=SteadywatchAbortExperiment", "hypothesis=kill-db", "severity=critical"}, "sre"},
		{[]string{"alertname=HighLatency", "severity=page"}, "steadywatch"},
		{[]string{"alertname=Chatty", "severity=info"}, "sre"}, // the default route of this standalone file
	} {
		got, err := promtest.Amtool(t, append([]string{"config", "routes", "test", "--config.file=" + path}, tc.labels...)...)
		require.NoError(t, err, got)
		require.Contains(t, got, tc.want, "%v routed to %s", tc.labels, got)
	}
}

func TestBadAlertmanagerOptionsAreNamed(t *testing.T) {
	for o, want := range map[*generate.AlertmanagerOptions]string{
		{ExternalURL: "steadywatch:9477"}:                          `external URL "steadywatch:9477": want http:// or https://`,
		{ExternalURL: "http://"}:                                   `external URL "http://" has no host`,
		{ExternalURL: "http://sw", Matchers: []string{"a=~(", ""}}: `matchers[0] "a=~(": `,
	} {
		_, err := generate.Alertmanager(*o)
		require.ErrorContains(t, err, want)
	}
}
