package testbed

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const logTailLines = 15

// errPortInUse marks a component that lost the race for the port we picked.
var errPortInUse = errors.New("address already in use")

// process is one running component. Its output goes to a log file rather than
// a pipe, so it keeps running (and logging) regardless of what we read.
type process struct {
	name     string
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{} // closed after Wait returns
	waitErr  error         // valid once done is closed
	healthy  atomic.Bool   // exits before this are reported by the health wait
	stopping atomic.Bool
}

// startProcess starts bin. crashed, if not nil, is told of an exit after
// the process was marked healthy that stop did not cause.
func startProcess(ctx context.Context, name, workDir, logPath, bin string, args []string, log *slog.Logger, crashed func(error)) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating %s log: %w", name, err)
	}
	// The child holds its own descriptor; ours is not needed after Start.
	defer func() { _ = logFile.Close() }()

	// Detached from ctx's cancellation: start-up contexts (t.Context()) end
	// before Stop runs, and components must outlive them.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), bin, args...)
	cmd.Dir = workDir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
		if p.healthy.Load() && !p.stopping.Load() {
			tail := p.logTail(logTailLines)
			log.Warn("component exited", "component", name, "err", p.waitErr, "log", logPath, "tail", tail)
			if crashed != nil {
				crashed(fmt.Errorf("%s exited by itself (%w)\nlast lines of its log (%s):\n%s",
					name, cmp.Or(p.waitErr, errors.New("exit status 0")), logPath, tail))
			}
		}
	}()
	log.Debug("started component", "component", name, "pid", cmd.Process.Pid, "log", logPath)
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes an early exit, with the log tail that usually says why.
func (p *process) exitError() error {
	tail := p.logTail(logTailLines)
	err := fmt.Errorf("%s exited during start-up (%w); last lines of its log:\n%s", p.name, p.waitErr, tail)
	if strings.Contains(tail, "address already in use") {
		return fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

// stop sends SIGTERM to the process group, SIGKILL after grace, and waits.
func (p *process) stop(grace time.Duration, log *slog.Logger) error {
	p.stopping.Store(true)
	pgid := p.pid() // Setpgid makes the leader's pid the group id
	t0 := time.Now()
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
	}
	select {
	case <-p.done:
		log.Debug("component stopped", "component", p.name, "took", time.Since(t0).Round(time.Millisecond), "exit", p.waitErr)
	case <-time.After(grace):
		log.Warn("component ignored SIGTERM; killing it", "component", p.name, "grace", grace)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
		}
	}
	// Anything the component spawned dies with the group.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s process group: %w", p.name, err)
	}
	return nil
}

// logTail returns the last n lines of the component's log.
func (p *process) logTail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer func() { _ = f.Close() }()
	const maxTail = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTail {
		_, _ = f.Seek(-maxTail, io.SeekEnd)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// healthChecker polls a component's health endpoint.
type healthChecker struct {
	client *http.Client
	token  string
}

func newHealthChecker(token string) *healthChecker {
	return &healthChecker{
		token: token,
		client: &http.Client{
			Timeout: 2 * time.Second,
			Transport: &http.Transport{
				// Components serve self-signed certificates.
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // G402: loopback-only test cluster
				DisableKeepAlives: true,
			},
		},
	}
}

// wait polls url until it answers 200, the process exits, or timeout/ctx end.
func (h *healthChecker) wait(ctx context.Context, p *process, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		if p.exited() {
			return p.exitError()
		}
		ok, why := h.probe(ctx, url)
		if ok {
			return nil
		}
		last = why
		select {
		case <-p.done:
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s (last: %s): %w; last lines of its log:\n%s",
				p.name, url, last, context.Cause(ctx), p.logTail(logTailLines))
		case <-tick.C:
		}
	}
}

func (h *healthChecker) probe(ctx context.Context, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode == http.StatusOK {
		return true, ""
	}
	return false, fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1. They are
// released before use, so another process may grab one first; callers retry
// on errPortInUse.
func freePorts(ctx context.Context, n int) ([]int, error) {
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for range n {
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
