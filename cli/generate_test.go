package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/cli"
)

func TestGenerateWritesDeterministicFiles(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := run(t, "generate", "all", "--hypotheses", "../examples", "--out", dir,
		"--alertmanager.credentials-file", "/run/secrets/token")
	require.Equal(t, cli.ExitOK, code, stderr)
	first, err := os.ReadFile(filepath.Join(dir, "alertmanager", "alertmanager.yml"))
	require.NoError(t, err)
	require.Contains(t, string(first), "credentials_file: /run/secrets/token")
	manifests, err := os.ReadFile(filepath.Join(dir, "kubernetes", "steadywatch.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(manifests), "- :9477")
	ruleFile, err := os.ReadFile(filepath.Join(dir, "rules", "steadywatch.rules.yml"))
	require.NoError(t, err)
	require.Contains(t, string(ruleFile), "alert: SteadywatchHypothesisFailed")
	require.FileExists(t, filepath.Join(dir, "rules", "steadywatch.prometheusrule.yaml"))
	require.FileExists(t, filepath.Join(dir, "dashboards", "steadywatch-experiment.json"))
	require.FileExists(t, filepath.Join(dir, "dashboards", "steadywatch-reliability-configmap.yaml"))

	code, out, stderr := run(t, "generate", "alertmanager", "--out", "-", "--alertmanager.credentials-file", "/run/secrets/token")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Equal(t, string(first), out, "the same input gives the same bytes")
}

func TestGenerateRulesTakesTheSEVLevels(t *testing.T) {
	code, out, stderr := run(t, "generate", "rules", "--out", "-", "--hypotheses", "../examples", "--sev", "page=sev1", "--rule-label", "release=prometheus")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Contains(t, out, "sev: sev1")
	require.Contains(t, out, "sev: sev4")
	require.Contains(t, out, "release: prometheus")
}

func TestGenerateRefusesBadInputWithExitCode3(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing to generate", []string{"generate"}, "what to generate: one of rules, dashboards, alertmanager, kubernetes, all"},
		{"an unknown output", []string{"generate", "grafana", "--out", "-"}, `unknown output "grafana": want one of rules, dashboards, alertmanager, kubernetes, all`},
		{"no --out", []string{"generate", "all"}, "--out: an output directory, or - for stdout, is required"},
		{"a missing hypothesis directory", []string{"generate", "all", "--out", "-", "--hypotheses", "/nonexistent"}, "--hypotheses: "},
		{"a bad matcher", []string{"generate", "alertmanager", "--out", "-", "--alertmanager.matcher", "a=~("}, `alertmanager: matchers[0] "a=~(": `},
		{"a bad SEV mapping", []string{"generate", "rules", "--out", "-", "--sev", "page"}, `--sev "page": want key=value`},
		{"an unknown severity", []string{"generate", "rules", "--out", "-", "--sev", "urgent=sev1"}, "--sev urgent=…: the severities are page and ticket"},
		{"a bad URL", []string{"generate", "alertmanager", "--out", "-", "--external-url", "steadywatch:9477"}, `alertmanager: external URL "steadywatch:9477": want http:// or https://`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, tc.args...)
			require.Equal(t, cli.ExitUsage, code, out)
			require.Contains(t, stderr, tc.want)
		})
	}
}
