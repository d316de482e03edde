// Command steadywatch-demo runs steadywatch's main job end to end on this
// machine: the seeds' four chaos experiments against the experimental copy
// of a data pipeline, each judged by its example hypothesis against the
// control copy. See package internal/demo. `steadywatch demo` runs it; it
// is a program of its own so that the control plane's build, the pipeline
// simulator and the experiments stay out of the steadywatch binary.
//
//	go run ./cmd/steadywatch-demo         # or: make demo, or steadywatch demo; keeps running until Ctrl-C
//	go run ./cmd/steadywatch-demo -once   # exits after the experiments
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/steadywatch/steadywatch/internal/demo"
)

func main() {
	var o demo.Options
	flag.StringVar(&o.Out, "out", "demo-out", "output folder: the hypotheses as judged, the verdicts (JSON), the generated dashboards and rules, the week's report, the store, progress.log (emptied first)")
	flag.BoolVar(&o.Once, "once", false, "exit after the experiments instead of keeping everything running until Ctrl-C")
	flag.IntVar(&o.TimeScale, "time-scale", demo.DefaultTimeScale, "divide every duration of the example hypotheses by this")
	only := flag.String("only", "", "comma-separated experiments to run (default: all four): kill-postgres-replica, host-failure, cpu-autoscaling, resource-exhaustion")
	flag.BoolVar(&o.Broken, "broken", false, "run each experiment with a defect its verdict must not pass (the replacement unschedulable, the HPA capped, the alert rule removed) and say why each fails")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected argument %q\n", flag.Arg(0))
		os.Exit(3)
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if o.TimeScale < 1 {
		fmt.Fprintf(os.Stderr, "demo: -time-scale: must be at least 1, got %d\n", o.TimeScale)
		os.Exit(3)
	}
	// At info level: a first run builds the control plane for half an hour
	// and says, step by step, how far it got.
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Run(ctx, o); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
