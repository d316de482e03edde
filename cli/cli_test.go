package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/cli"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Run(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTheCommandLine(t *testing.T) {
	badConfig := filepath.Join(t.TempDir(), "steadywatch.yml")
	require.NoError(t, os.WriteFile(badConfig, []byte("listen: 127.0.0.1:9477\nwatch:\n  namespaces: [shop, shop]\n"), 0o600))
	shortToken := filepath.Join(t.TempDir(), "tokens.yml")
	require.NoError(t, os.WriteFile(shortToken, []byte("bearer_tokens: [abc]\n"), 0o600))
	badHypothesis := filepath.Join(t.TempDir(), "h.yaml")
	require.NoError(t, os.WriteFile(badHypothesis, []byte("kind: Nonsense\n"), 0o600))
	badHypothesisConfig := filepath.Join(t.TempDir(), "hyp.yml")
	require.NoError(t, os.WriteFile(badHypothesisConfig, []byte(
		"verdicts:\n  hypotheses: ["+badHypothesis+"]\n  prometheus_url: http://127.0.0.1:1\n  scrape_interval: 15s\n"), 0o600))
	elect := filepath.Join(t.TempDir(), "ha.yml")
	require.NoError(t, os.WriteFile(elect, []byte("kubernetes:\n  leader_election:\n    enabled: true\n"), 0o600))
	// A kubeconfig that loads (the server it names is never reached before
	// the hypotheses are).
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600))
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command prints usage and is a usage error", nil, cli.ExitUsage, "", "Usage: steadywatch <command>"},
		{"help prints usage and succeeds", []string{"help"}, cli.ExitOK, "", "serve "},
		{"an unknown command is a usage error", []string{"frobnicate"}, cli.ExitUsage, "", `unknown command "frobnicate"`},
		{"version prints the program's version", []string{"version"}, cli.ExitOK, "steadywatch, version", ""},
		{"serve -h prints its flags and succeeds", []string{"serve", "-h"}, cli.ExitOK, "", "-node-selector"},
		{"serve with a bad selector names the field", []string{"serve", "--selector", "a in (b"}, cli.ExitUsage, "", "watch.selector: "},
		{"serve with a bad log level names the flag", []string{"serve", "--log.level", "loud"}, cli.ExitUsage, "", `--log.level: "loud" is not one of`},
		{"serve with a bad log format names the flag", []string{"serve", "--log.format", "xml"}, cli.ExitUsage, "", `--log.format: "xml" is not one of`},
		{"serve with a stray argument is a usage error", []string{"serve", "extra"}, cli.ExitUsage, "", `unexpected argument "extra"`},
		{
			"serve with a bad config file names its line and field",
			[]string{"serve", "--config", badConfig},
			cli.ExitUsage, "",
			`steadywatch.yml:3: watch.namespaces[1]: duplicate namespace "shop"`,
		},
		{
			"a bad file is refused even when a flag overrides the bad field",
			[]string{"serve", "--config", badConfig, "--namespace", "shop"},
			cli.ExitUsage, "", "steadywatch.yml:3: watch.namespaces[1]",
		},
		{
			"serve with an unsupported store names the field",
			[]string{"serve", "--store", "mysql://root@db/sw"},
			cli.ExitUsage, "", `store: unsupported scheme "mysql"`,
		},
		{
			"leader election on the default SQLite store is refused at start",
			[]string{"serve", "--config", elect},
			cli.ExitUsage, "", "kubernetes.leader_election.enabled: needs a PostgreSQL store (store: postgres://…)",
		},
		{
			"leader election on a SQLite store given by flag is refused at start",
			[]string{"serve", "--config", elect, "--store", "sqlite:///tmp/sw.db"},
			cli.ExitUsage, "", "kubernetes.leader_election.enabled: needs a PostgreSQL store",
		},
		{
			"--leader-election turns the election on, and is refused on SQLite like the file's",
			[]string{"serve", "--leader-election"},
			cli.ExitUsage, "", "kubernetes.leader_election.enabled: needs a PostgreSQL store (store: postgres://…)",
		},
		{
			"serve with an Alertmanager address without a scheme names the field",
			[]string{"serve", "--alertmanager.url", "alertmanager:9093"},
			cli.ExitUsage, "", `alerts.pull.alertmanager_url: "alertmanager:9093": want an http:// or https:// URL`,
		},
		// Start-up errors in what serve was given are configuration
		// errors, exit 3 as documented (issue 13 #9: they exited 1).
		{
			"a web config file that cannot be read is named",
			[]string{"serve", "--web.config.file", "/nonexistent/web.yml"},
			cli.ExitUsage, "", "web: open /nonexistent/web.yml: no such file or directory",
		},
		{
			"a bearer-token file that cannot be read is named",
			[]string{"serve", "--web.bearer-token-file", "/nonexistent/tokens.yml"},
			cli.ExitUsage, "", "/nonexistent/tokens.yml",
		},
		{
			"a bearer token too short is refused",
			[]string{"serve", "--web.bearer-token-file", shortToken},
			cli.ExitUsage, "", "bearer_tokens[0]: shorter than",
		},
		{
			"a kubeconfig that cannot be loaded is named",
			[]string{"serve", "--kubeconfig", "/nonexistent"},
			cli.ExitUsage, "", "kubernetes.kubeconfig: loading /nonexistent",
		},
		{
			"a bad hypothesis file is named with its line",
			[]string{"serve", "--config", badHypothesisConfig, "--kubeconfig", kubeconfig, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"},
			cli.ExitUsage, "", "verdicts.hypotheses: " + badHypothesis + ":1: ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			require.Equal(t, tc.wantCode, code, "stderr: %s", stderr)
			require.Contains(t, stdout, tc.wantStdout)
			require.Contains(t, stderr, tc.wantStderr)
		})
	}
}

// Issue 15: the chart passes the PostgreSQL DSN (with its password) in
// $STEADYWATCH_STORE, not as --store, which any process of the node could
// read in the pod's command line. --store beats it; it beats the file.
func TestServeReadsTheStoreFromTheEnvironment(t *testing.T) {
	sqlite := filepath.Join(t.TempDir(), "sw.yml")
	require.NoError(t, os.WriteFile(sqlite, []byte("store: sqlite:///tmp/sw.db\n"), 0o600))

	t.Setenv("STEADYWATCH_STORE", "mysql://root:secret@db/sw")
	code, _, stderr := run(t, "serve")
	require.Equal(t, cli.ExitUsage, code, stderr)
	require.Contains(t, stderr, `$STEADYWATCH_STORE: store: unsupported scheme "mysql"`)
	require.NotContains(t, stderr, "secret", "the password is printed")

	// The flag wins: no complaint about the variable.
	code, _, stderr = run(t, "serve", "--store", "mysql://x@db/sw")
	require.Equal(t, cli.ExitUsage, code, stderr)
	require.Contains(t, stderr, `store: unsupported scheme "mysql"`)
	require.NotContains(t, stderr, "STEADYWATCH_STORE")

	// Over the file's SQLite store, a PostgreSQL one from the variable lets
	// the election start (it then fails on the missing kubeconfig).
	t.Setenv("STEADYWATCH_STORE", "postgres://sw:secret@127.0.0.1:1/sw")
	code, _, stderr = run(t, "serve", "--config", sqlite, "--leader-election", "--kubeconfig", "/nonexistent")
	require.Equal(t, cli.ExitUsage, code, stderr)
	require.Contains(t, stderr, "kubernetes.kubeconfig: loading /nonexistent")
	require.NotContains(t, stderr, "needs a PostgreSQL store")

	// Unset, the file's store is used: refused with the election.
	t.Setenv("STEADYWATCH_STORE", "")
	code, _, stderr = run(t, "serve", "--config", sqlite, "--leader-election", "--kubeconfig", "/nonexistent")
	require.Equal(t, cli.ExitUsage, code, stderr)
	require.Contains(t, stderr, "needs a PostgreSQL store")
}
