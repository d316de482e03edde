package testbed

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"
)

// TestGoRunnerOutputAndJSON runs the real go command: its stdout comes back,
// its JSON decodes, a failing command's error names it and ends with its
// stderr, and output that is not JSON is an error naming the command.
func TestGoRunnerOutputAndJSON(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	g := goRunner{goCmd: goCmd, dir: t.TempDir(), log: slog.New(slog.DiscardHandler)}
	ctx := t.Context()

	out, err := g.output(ctx, "env", "GOOS")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("output(env GOOS) = %q, %v; want the GOOS", out, err)
	}

	var env struct{ GOOS string }
	if err := g.json(ctx, &env, "env", "-json", "GOOS"); err != nil || env.GOOS != strings.TrimSpace(out) {
		t.Fatalf("json(env -json GOOS) = %+v, %v; want GOOS %q", env, err, strings.TrimSpace(out))
	}

	if _, err := g.output(ctx, "no-such-subcommand"); err == nil ||
		!strings.HasPrefix(err.Error(), "go no-such-subcommand: exit status") ||
		!strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("output(no-such-subcommand) error = %v; want the command, its exit status and its stderr", err)
	}

	if err := g.json(ctx, &env, "env", "GOOS"); err == nil || !strings.HasPrefix(err.Error(), "decoding output of go env GOOS") {
		t.Fatalf("json(env GOOS) error = %v; want a decoding error naming the command", err)
	}
}
