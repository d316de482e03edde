// Package e2e tests steadywatch against a real Kubernetes control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
// metrics-server, built from Go modules by package testbed).
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/internal/testenv/testbed"
)

// bed is the control plane shared by every test of the package; each test
// works in its own namespace and on its own nodes.
var bed *testbed.Testbed

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("STEADYWATCH_SKIP_TESTBED") == "1" {
		fmt.Println("e2e: STEADYWATCH_SKIP_TESTBED=1: tests needing the testbed skip")
		return m.Run()
	}
	level := slog.LevelWarn
	if os.Getenv("STEADYWATCH_TESTBED_LOG") == "debug" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// A cold build's progress lines are at info level: half an hour of
	// silence looks like a hang.
	buildLog := log
	if level > slog.LevelInfo {
		buildLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	bins, err := testbed.Ensure(ctx, testbed.BuildOptions{}, buildLog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the testbed failed: %v\n", err)
		return 1
	}
	t0 := time.Now()
	bed, err = testbed.Start(ctx, testbed.Options{Binaries: bins, MetricsServer: true, Log: log})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting the testbed failed: %v\n", err)
		return 1
	}
	fmt.Printf("e2e: testbed up in %s\n", time.Since(t0).Round(time.Millisecond))
	code := m.Run()
	if err := bed.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stopping the testbed: %v\n", err)
	}
	return code
}

func needBed(t testing.TB) *testbed.Testbed {
	t.Helper()
	if bed == nil {
		t.Skip("STEADYWATCH_SKIP_TESTBED=1")
	}
	return bed
}
