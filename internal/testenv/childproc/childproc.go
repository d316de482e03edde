// Package childproc starts the servers the test harnesses run (PostgreSQL,
// Prometheus, Alertmanager) as child processes that write to a log file,
// die with the test binary even when it is killed, and are waited for.
package childproc

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

// Options say what to start.
type Options struct {
	// Name names the server in errors.
	Name string
	// Bin and Args are the command.
	Bin  string
	Args []string
	// LogPath is the file that gets the server's output; created.
	LogPath string
	// Cred runs the server as another user (and hands it the log); nil:
	// as this process.
	Cred *syscall.Credential
	// Deathsig is the signal the server gets when the test binary dies;
	// 0 means SIGKILL.
	Deathsig syscall.Signal
}

// Process is a started server.
type Process struct {
	Name    string
	LogPath string
	Cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start starts the server. It outlives ctx: the caller stops it, or the
// death signal does. Its output goes to a file, so it never blocks on a
// pipe nobody reads, and outlives it for error messages.
func Start(ctx context.Context, o Options) (*Process, error) {
	logFile, err := os.Create(o.LogPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() //nolint:errcheck // the server has its own descriptor
	if o.Cred != nil {
		if err := logFile.Chown(int(o.Cred.Uid), int(o.Cred.Gid)); err != nil {
			return nil, err
		}
	}
	sig := o.Deathsig
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	cmd := exec.CommandContext(context.WithoutCancel(ctx), o.Bin, o.Args...) //nolint:gosec // the harness's own server binaries
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.Cred, Pdeathsig: sig}
	p := &Process{Name: o.Name, LogPath: o.LogPath, Cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child exits, not
		// the process: keep this goroutine on its thread until the server
		// is gone, so Go never retires that thread under it. And unlock
		// before returning: a goroutine that exits locked takes its thread
		// with it, and so every other child once forked from that thread
		// (the testbed's, whose start is not locked) would get its death
		// signal too.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Name, err)
	}
	return p, nil
}

// Pid is the server's process ID.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited is closed when the server has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// WaitErr is the server's exit error, once Exited is closed.
func (p *Process) WaitErr() error {
	<-p.exited
	return p.waitErr
}

// Kill kills the server and waits until it is gone.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.exited
}

// LogTail returns the last max bytes of the server's log.
func (p *Process) LogTail(max int64) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	defer f.Close() //nolint:errcheck // read-only
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(-max, io.SeekEnd)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	return strings.TrimRight(string(b), "\n")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago:
// another process may take it before the server binds it, which the
// caller must be ready for.
func FreePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close() //nolint:errcheck // only the port was wanted
	return l.Addr().(*net.TCPAddr).Port, nil
}
