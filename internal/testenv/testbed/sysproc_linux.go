package testbed

import "syscall"

// childSysProcAttr puts a child in its own process group, so that stopping it
// also stops anything it spawned and a terminal's Ctrl-C reaches only us, and
// has the kernel SIGKILL it if we die without cleaning up. Pdeathsig fires
// when the spawning OS thread exits; the Go runtime only retires threads that
// exit while locked by LockOSThread, which nothing in a binary that uses the
// testbed may do: a goroutine of internal/childproc once exited locked and
// took a thread that had forked kwok with it, and every later test found its
// nodes never Ready.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
