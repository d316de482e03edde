// Command ksm is kube-state-metrics v2.15.0 built as a test tool for
// bench/compare: its own main.go but for the configuration-file reloads
// (internal/, which another module cannot import), which the benchmark
// does not use.
package main

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	"k8s.io/kube-state-metrics/v2/pkg/app"
	"k8s.io/kube-state-metrics/v2/pkg/options"
)

func main() {
	opts := options.NewOptions()
	cmd := options.InitCommand
	cmd.Run = func(_ *cobra.Command, _ []string) {
		if err := app.RunKubeStateMetricsWrapper(context.Background(), opts); err != nil {
			klog.ErrorS(err, "Failed to run kube-state-metrics")
			klog.FlushAndExit(klog.ExitFlushTimeout, 1)
		}
	}
	opts.AddFlags(cmd)
	if err := opts.Parse(); err != nil {
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}
	if err := opts.Validate(); err != nil {
		klog.ErrorS(err, "Validating options error")
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}
}
