//go:build !testbedbuildonly

package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

func init() { up = runUp }

// runUp starts a control plane, prints how to reach it and runs until ctx
// ends.
func runUp(ctx context.Context, log *slog.Logger, dir string, metricsServer bool) error {
	bins, err := testbed.Ensure(ctx, testbed.BuildOptions{}, log)
	if err != nil {
		return err
	}
	tb, err := testbed.Start(ctx, testbed.Options{Binaries: bins, Dir: dir, MetricsServer: metricsServer, Log: log})
	if err != nil {
		return err
	}
	fmt.Printf("export KUBECONFIG=%s\n", tb.Kubeconfig())
	log.Info("testbed up; Ctrl-C to stop", "api", tb.APIServerURL(), "logs", tb.Dir()+"/logs")
	<-ctx.Done()
	log.Info("stopping testbed")
	return tb.Stop()
}
