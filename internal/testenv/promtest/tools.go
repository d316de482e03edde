package promtest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// toolTimeout bounds one run of promtool or amtool.
const toolTimeout = 2 * time.Minute

// Promtool runs promtool with args and returns its output, stdout then
// stderr. A non-zero exit is the error; the output says why. It fails the
// test if promtool is not installed, and skips it if SkipEnv is 1.
func Promtool(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return runTool(t, promtoolBin, args)
}

// Amtool runs amtool with args, like Promtool.
func Amtool(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return runTool(t, amtoolBin, args)
}

// CheckRules fails the test, with promtool's output, unless
// `promtool check rules` accepts the rule files.
func CheckRules(t testing.TB, files ...string) {
	t.Helper()
	mustPromtool(t, append([]string{"check", "rules"}, files...))
}

// TestRules fails the test, with promtool's output, unless the rule unit
// tests in files (`promtool test rules`) pass.
func TestRules(t testing.TB, files ...string) {
	t.Helper()
	mustPromtool(t, append([]string{"test", "rules"}, files...))
}

func mustPromtool(t testing.TB, args []string) {
	t.Helper()
	if out, err := Promtool(t, args...); err != nil {
		t.Fatalf("promtest: %v\n%s", err, out)
	}
}

func runTool(t testing.TB, names, args []string) (string, error) {
	t.Helper()
	skipIfDisabled(t)
	bin, err := binary(names)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), toolTimeout)
	defer cancel()
	return run(ctx, bin, args)
}

// run runs bin and returns its stdout and stderr, one after the other so
// that neither's lines are split by the other's.
func run(ctx context.Context, bin string, args []string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String() + stderr.String()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return out, nil
}
