// Command testbed builds and runs steadywatch's local Kubernetes testbed
// (see package testbed) for the demo and for poking at by hand.
//
//	go run ./cmd/testbed build   # build or find the cached binaries; prints the cache dir
//	go run ./cmd/testbed up      # start a control plane; prints export KUBECONFIG=...; Ctrl-C stops it
//
// make testbed-build runs it built with -tags testbedbuildonly: without
// up, and so without client-go, it compiles in seconds from empty caches
// where the whole command took 2.5 minutes before the build could start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

// up starts a control plane (up.go); nil in a build-only build.
var up func(ctx context.Context, log *slog.Logger, dir string, metricsServer bool) error

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		os.Exit(1)
	}
}

const usage = `usage: testbed build|up [flags]

  build  build the testbed binaries into the cache (once per version set) and print the cache dir
  up     start a control plane, print "export KUBECONFIG=...", and run until SIGINT/SIGTERM

flags:
`

func run(args []string) error {
	fs := flag.NewFlagSet("testbed", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	verbose := fs.Bool("v", false, "log build output and component details")
	metrics := fs.Bool("metrics-server", true, "up: also run metrics-server (needed for HPA scaling on CPU)")
	dir := fs.String("dir", "", "up: state directory, kept after exit (default: a temporary directory, removed on exit)")
	if len(args) == 0 {
		fs.Usage()
		return errors.New("missing command")
	}
	cmd := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "build":
		bins, err := testbed.Ensure(ctx, testbed.BuildOptions{}, log)
		if err != nil {
			return err
		}
		fmt.Println(bins.Dir)
		return nil
	case "up":
		if up == nil {
			return errors.New("up: this build of testbed only builds (it was built with -tags testbedbuildonly); run go run ./cmd/testbed up")
		}
		return up(ctx, log, *dir, *metrics)
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
}
