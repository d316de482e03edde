// Package testbed runs a real, throwaway Kubernetes control plane on
// 127.0.0.1 for steadywatch's tests, demo and benchmarks: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler built from the
// Go modules of Kubernetes, kwok standing in for kubelets, and optionally
// metrics-server serving kwok's fake resource usage, so controllers (HPA,
// node lifecycle, scheduler) behave as in a real cluster without containers.
//
// Ensure builds the binaries once per version set into a cache outside the
// repository (see BuildOptions.CacheDir); Start runs one instance on free
// ports with its own state directory, so several test packages can each run
// one concurrently; New wraps both for tests.
//
// Environment:
//
//	STEADYWATCH_CACHE_DIR=dir     root of the binary cache
//	STEADYWATCH_SKIP_TESTBED=1    New skips the test
//	STEADYWATCH_TESTBED_LOG=debug New logs build output and component details
//
// Component logs are in Dir()/logs/<component>.log while the testbed runs.
//
// Ensure and the rest of the build (build.go, progress.go) use only the
// standard library; the files that run the control plane are left out
// under the build tag testbedbuildonly (see testbed.go).
package testbed

import "time"

// How fast the testbed's cluster sees a load: what a time-scaled HPA
// bound cannot go below.
const (
	// HPASyncPeriod is how often the controller manager's HPA controller
	// looks at the metrics.
	HPASyncPeriod = 5 * time.Second
	// MetricResolution is how often metrics-server samples the pods' CPU
	// (it refuses less than 10s).
	MetricResolution = 10 * time.Second
)
