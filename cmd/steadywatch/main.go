// Command steadywatch watches chaos experiments on Kubernetes, exports
// MTTD/MTTR/MTBF and steady-state metrics, and judges hypotheses.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/steadywatch/steadywatch/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
