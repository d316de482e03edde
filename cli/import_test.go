package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/cli"
	"github.com/steadywatch/steadywatch/hypothesis"
)

const ctkTestdata = "../importer/chaostoolkit/testdata/"

// loads writes out to a file and loads it as a hypothesis file.
func loads(t *testing.T, out []byte) hypothesis.Hypothesis {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	hyps, err := hypothesis.Load(path)
	require.NoError(t, err, "%s", out)
	require.Len(t, hyps, 1)
	return hyps[0]
}

func TestImportChaosToolkitWritesAHypothesisAndNamesWhatItSkipped(t *testing.T) {
	code, out, stderr := run(t, "import", "chaostoolkit", ctkTestdata+"prometheus-readme.json", "--service", "websvc")
	require.Equal(t, cli.ExitSkipped, code, stderr)
	h := loads(t, []byte(out))
	require.Equal(t, "websvc", h.Service)
	require.Len(t, h.Metrics, 2)
	require.Equal(t, strings.Join([]string{
		ctkTestdata + `prometheus-readme.json:11: steady-state-hypothesis.probes[0] "websvc-front-page-must-be-ok": skipped: an http probe; steadywatch imports Prometheus queries (chaosprometheus.probes) only`,
		ctkTestdata + `prometheus-readme.json:6: configuration.prometheus_base_url: not imported: steadywatch verdict takes the Prometheus URL as --prometheus (or verdicts.prometheus_url in the configuration)`,
		ctkTestdata + `prometheus-readme.json:53: method: not imported: 1 activity (terminate-websvc-pod): steadywatch does not run the chaos, it judges the window around the chaos events it records`,
		`stdout: spec.groups: the queries tell the groups apart by steadywatch_io_group="control" and steadywatch_io_group="experimental": if your series carry other labels, edit spec.groups or pass --control and --experimental`,
		`steadywatch import chaostoolkit: imported 2 of 3 steady-state probes; 1 skipped`,
		``,
	}, "\n"), stderr)
}

func TestImportChaosToolkitWritesTheFileGivenAndExits0WhenAllIsImported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "up.yaml")
	// Flags may follow the experiment.
	code, out, stderr := run(t, "import", "chaostoolkit", ctkTestdata+"tabs.json", "-o", path, "--service", "web",
		"--control", `track="stable"`, "--experimental", `track="canary"`, "--name", "up-targets")
	require.Equal(t, cli.ExitOK, code, stderr)
	require.Empty(t, out)
	require.Equal(t, "steadywatch import chaostoolkit: imported 1 of 1 steady-state probes into "+path+"\n", stderr)
	hyps, err := hypothesis.Load(path)
	require.NoError(t, err)
	require.Equal(t, "up-targets", hyps[0].Name)
	require.Equal(t, hypothesis.Groups{Control: `track="stable"`, Experimental: `track="canary"`}, hyps[0].Groups)
}

func TestImportChaosToolkitWritesNothingWhenNothingCanBeImported(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "http-only.yaml")
	require.NoError(t, os.WriteFile(exp, []byte("title: t\nsteady-state-hypothesis:\n  title: t\n  probes:\n    - {name: up, type: probe, tolerance: 200, provider: {type: http, url: http://x/}}\n"), 0o600))
	path := filepath.Join(dir, "out.yaml")
	code, out, stderr := run(t, "import", "chaostoolkit", "-o", path, exp)
	require.Equal(t, cli.ExitUsage, code)
	require.Empty(t, out)
	require.Contains(t, stderr, exp+`:5: steady-state-hypothesis.probes[0] "up": skipped: an http probe`)
	require.Contains(t, stderr, "steadywatch import: "+exp+": nothing to import: none of the 1 steady-state probes is a Prometheus query with a min/max tolerance\n")
	require.NoFileExists(t, path)
}

func TestImportChaosToolkitRefusesBadInputWithExitCode3(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{\"steady-state-hypothesis\": {\"probes\": 3}}\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing to import from", []string{"import"}, "what to import: chaostoolkit"},
		{"an unknown format", []string{"import", "litmus", "x"}, `unknown format "litmus": want chaostoolkit`},
		{"no experiment", []string{"import", "chaostoolkit"}, "the experiment file to import is missing"},
		{"two experiments", []string{"import", "chaostoolkit", "a.json", "b.json"}, `unexpected argument "b.json": one experiment at a time`},
		{"a missing file", []string{"import", "chaostoolkit", "/nonexistent.json"}, "open /nonexistent.json: no such file or directory"},
		{"a bad experiment", []string{"import", "chaostoolkit", bad}, bad + `:1: steady-state-hypothesis.probes: want a list, got !!int`},
		{"a bad name", []string{"import", "chaostoolkit", ctkTestdata + "tabs.json", "--name", "Up_Targets"}, `--name: "Up_Targets" is not a valid name`},
		{"the same groups", []string{"import", "chaostoolkit", ctkTestdata + "tabs.json", "--control", `a="1"`, "--experimental", `a="1"`}, "--experimental: must select other series than spec.groups.control"},
		{"one group only", []string{"import", "chaostoolkit", ctkTestdata + "tabs.json", "--control", `a="1"`}, "--control and --experimental go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, tc.args...)
			require.Equal(t, cli.ExitUsage, code, stderr)
			require.Empty(t, out)
			require.Contains(t, stderr, tc.want)
		})
	}
}

func TestImportChaosToolkitHelpSaysTheExitCodes(t *testing.T) {
	code, _, stderr := run(t, "import", "chaostoolkit", "-h")
	require.Equal(t, cli.ExitOK, code)
	require.Contains(t, stderr, "Usage: steadywatch import chaostoolkit [flags] EXPERIMENT")
	require.Contains(t, stderr, "Exit code: 0 every steady-state probe was imported; 2 ")
	require.Contains(t, stderr, "-experimental")
}
