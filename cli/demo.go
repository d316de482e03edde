package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// DemoProgram is the program `steadywatch demo` runs. The demo builds and
// starts a Kubernetes control plane, Prometheus and Alertmanager and
// simulates the seeds' pipeline: none of that belongs in the binary that
// runs in clusters, so it is a program of its own, found next to
// steadywatch or on PATH, as git and kubectl find their plugins.
const DemoProgram = "steadywatch-demo"

// demoStopGrace is how long the demo has to stop what it started after it
// was asked to (a testbed stops in about 2 s) before it is killed.
const demoStopGrace = 60 * time.Second

// runDemo runs the demo program with args, its standard streams being
// steadywatch's. Cancelling ctx (Ctrl-C, SIGTERM) interrupts it as Ctrl-C
// would, and steadywatch waits for it to stop everything it started. It
// exits with the demo's exit code.
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	bin, err := findDemo()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = demoStopGrace
	err = cmd.Run()
	if cmd.ProcessState != nil && cmd.ProcessState.Success() {
		return nil // it may have ended on Ctrl-C: how a run kept going ends
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); ok && exit.ExitCode() > 0 {
		return exitCode(exit.ExitCode()) // the demo said why
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", bin, err)
	}
	return nil
}

// findDemo looks for the demo program next to the running steadywatch,
// then on PATH.
func findDemo() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), DemoProgram)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(DemoProgram); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the demo is the program %s, found neither next to steadywatch nor on PATH: "+
		"install it with `go install github.com/steadywatch/steadywatch/cmd/%s@latest` (into $(go env GOPATH)/bin, which must be on PATH), "+
		"or run `make demo` in a checkout of steadywatch", DemoProgram, DemoProgram)
}
