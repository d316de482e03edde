// Package cli is steadywatch's command line: flags are parsed into options,
// validated, and handed to the package that does the work. Run is the whole
// program, so tests drive it exactly as a user would.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/common/version"
)

// Exit codes shared by every subcommand. verdict adds 1 (fail) and
// 2 (inconclusive) to these, import 2 (some probes skipped).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 3
)

// usageError marks errors in what the user typed or wrote, answered with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// codedError ends a command with its message and code.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "watch the cluster and serve metrics, health and the API", runServe},
		{"verdict", "judge chaos hypotheses now: exit 0 pass, 1 fail, 2 inconclusive", runVerdict},
		{"report", "write the weekly review of alerts and SEVs from the store (report weekly -h)", runReport},
		{"store", "change the store: store adopt-cluster moves the unnamed cluster's history to a named one", runStore},
		{"import", "turn a Chaos Toolkit experiment's Prometheus probes into a hypothesis (import chaostoolkit -h)", runImport},
		{"generate", "write dashboards, Prometheus rules and the Alertmanager route from the configuration", runGenerate},
		{"demo", "run the seeds' four chaos experiments on a local cluster, judged experimental against control (the program " + DemoProgram + "; demo -h)", runDemo},
		{"version", "print the version", runVersion},
	}
}

// Run runs steadywatch with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdin, stdout, stderr)
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		if code, ok := errors.AsType[exitCode](err); ok {
			return int(code) // what it had to say is on stdout
		}
		fmt.Fprintf(stderr, "steadywatch %s: %v\n", c.name, err)
		if coded, ok := errors.AsType[codedError](err); ok {
			return coded.code
		}
		if errors.As(err, new(usageError)) {
			return ExitUsage
		}
		return ExitError
	}
	fmt.Fprintf(stderr, "steadywatch: unknown command %q\n\n", args[0])
	usage(stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: steadywatch <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'steadywatch <command> -h' for a command's flags.")
}

func runVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, version.Print("steadywatch"))
	return nil
}

// newFlagSet returns a flag set that reports errors as usage errors instead
// of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("steadywatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// logFlags are the logging flags every long-running command has.
type logFlags struct {
	level, format string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log.level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.format, "log.format", "logfmt", "log format: logfmt or json")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usagef("--log.level: %q is not one of debug, info, warn, error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.format) {
	case "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log.format: %q is not one of logfmt, json", l.format)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
