//go:build !testbedbuildonly

package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrAPIServerRunning is returned by StartAPIServer when the kube-apiserver
// is already running.
var ErrAPIServerRunning = errors.New("kube-apiserver is already running")

// errAPIServerStopped is returned by StopAPIServer when there is no
// kube-apiserver running.
var errAPIServerStopped = errors.New("kube-apiserver is not running")

// RestartAPIServer stops the kube-apiserver (SIGTERM, SIGKILL after a grace
// period) and starts it again with the same flags, port, certificates and
// etcd, returning once its /readyz answers 200. Everything stored survives
// (it is in etcd); clients, watches and the other components see the API
// server go away and come back on the same URL, as in a control-plane
// upgrade or crash. The testbed's kubeconfig and Client stay valid.
func (tb *Testbed) RestartAPIServer(ctx context.Context) error {
	if err := tb.StopAPIServer(ctx); err != nil {
		return err
	}
	return tb.StartAPIServer(ctx)
}

// StopAPIServer stops the kube-apiserver and waits until it has exited;
// nothing answers on APIServerURL until StartAPIServer. The other
// components keep running and retry. ctx is not used to cut the graceful
// shutdown short: a half-stopped apiserver would be worse.
func (tb *Testbed) StopAPIServer(context.Context) error {
	tb.apiMu.Lock()
	defer tb.apiMu.Unlock()
	if tb.closed() {
		return errors.New("testbed is stopped")
	}
	p := tb.apiServerProcess()
	if p == nil {
		return errAPIServerStopped
	}
	t0 := time.Now()
	err := p.stop(stopGrace, tb.log)
	tb.untrack(p)
	if err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	tb.log.Info("kube-apiserver stopped", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// StartAPIServer starts a kube-apiserver stopped by StopAPIServer again on
// its old port with its old flags and waits until /readyz answers 200 (at
// most the start-up timeout of Start's, 2 minutes, or until ctx ends). If
// the port was taken meanwhile it retries on the same port until ctx ends:
// a new port would make every kubeconfig stale.
func (tb *Testbed) StartAPIServer(ctx context.Context) error {
	tb.apiMu.Lock()
	defer tb.apiMu.Unlock()
	if tb.closed() {
		return errors.New("testbed is stopped")
	}
	if p := tb.apiServerProcess(); p != nil {
		if !p.exited() {
			return ErrAPIServerRunning
		}
		tb.untrack(p) // it died on its own
	}
	tb.mu.Lock()
	c, ports := tb.apiServer, tb.apiServerPorts
	tb.apiRestarts++
	n := tb.apiRestarts
	tb.mu.Unlock()
	if c.bin == "" {
		return errors.New("kube-apiserver was never started")
	}
	// Keep the previous run's log beside the new one.
	logPath := filepath.Join(tb.dir, "logs", c.name+".log")
	if err := os.Rename(logPath, filepath.Join(tb.dir, "logs", fmt.Sprintf("%s.%d.log", c.name, n))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("keeping the kube-apiserver log: %w", err)
	}
	t0 := time.Now()
	for {
		p, err := startProcess(ctx, c.name, tb.dir, logPath, c.bin, c.args(ports), tb.log, tb.crash)
		if err != nil {
			return err
		}
		tb.track(p)
		err = tb.health.wait(ctx, p, c.health(ports), c.timeout)
		if err == nil {
			p.healthy.Store(true)
			tb.log.Info("kube-apiserver restarted", "pid", p.pid(), "port", ports[0], "after", time.Since(t0).Round(time.Millisecond))
			return nil
		}
		stopErr := p.stop(stopGrace, tb.log)
		tb.untrack(p)
		if !errors.Is(err, errPortInUse) || stopErr != nil {
			return errors.Join(fmt.Errorf("restarting kube-apiserver: %w", err), stopErr)
		}
		tb.log.Warn("kube-apiserver's port is taken; retrying on the same port", "port", ports[0])
		select {
		case <-ctx.Done():
			return fmt.Errorf("restarting kube-apiserver: port %d stays taken: %w", ports[0], context.Cause(ctx))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// apiServerProcess is the running kube-apiserver, or nil.
func (tb *Testbed) apiServerProcess() *process {
	for _, p := range tb.processes() {
		if p.name == KubeAPIServer {
			return p
		}
	}
	return nil
}
