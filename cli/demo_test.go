package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDemo puts a shell script named steadywatch-demo alone on PATH. The
// real program is run by e2e/demo's tests through `steadywatch demo`.
func fakeDemo(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, DemoProgram), []byte("#!/bin/sh\n"+script), 0o700)) //nolint:gosec // an executable script
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin:/bin")
}

func TestDemoWithoutItsProgramSaysHowToGetIt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"demo", "-once"}, nil, &stdout, &stderr)
	assert.Equal(t, ExitError, code)
	assert.Contains(t, stderr.String(), "steadywatch demo: the demo is the program steadywatch-demo, found neither next to steadywatch nor on PATH")
	assert.Contains(t, stderr.String(), "go install github.com/steadywatch/steadywatch/cmd/steadywatch-demo@latest")
	assert.Contains(t, stderr.String(), "make demo")
}

func TestDemoRunsItsProgramWithTheArgumentsAndItsExitCode(t *testing.T) {
	fakeDemo(t, `echo "args: $*"; echo "to stderr" >&2; exit 2`)
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"demo", "-once", "-only", "host-failure"}, nil, &stdout, &stderr)
	assert.Equal(t, 2, code, "the demo's own exit code")
	assert.Equal(t, "args: -once -only host-failure\n", stdout.String())
	assert.Equal(t, "to stderr\n", stderr.String(), "nothing of steadywatch's own: the demo said why")

	fakeDemo(t, `exit 0`)
	assert.Equal(t, ExitOK, Run(t.Context(), []string{"demo"}, nil, io.Discard, io.Discard))
}

// Ctrl-C (or SIGTERM) to steadywatch reaches the demo as Ctrl-C, and
// steadywatch waits for it to stop what it started.
func TestDemoInterruptedIsInterruptedAsByCtrlC(t *testing.T) {
	fakeDemo(t, `trap 'echo "got SIGINT, stopping"; exit 130' INT
echo ready
while :; do sleep 0.05; done`)
	ctx, cancel := context.WithCancel(t.Context())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"demo"}, nil, w, io.Discard)
		_ = w.Close()
	}()
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan())
	require.Equal(t, "ready", lines.Text())
	cancel()
	require.True(t, lines.Scan())
	assert.Equal(t, "got SIGINT, stopping", lines.Text())
	select {
	case code := <-done:
		assert.Equal(t, 130, code, "the demo's exit code for an interruption")
	case <-time.After(30 * time.Second):
		t.Fatal("steadywatch demo did not return within 30 s of the interruption")
	}
}
