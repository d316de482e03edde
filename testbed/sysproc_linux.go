package testbed

import "syscall"

// childSysProcAttr puts a child in its own process group, so that stopping it
// also stops anything it spawned and a terminal's Ctrl-C reaches only us, and
// has the kernel SIGKILL it if we die without cleaning up. Pdeathsig fires
// when the spawning OS thread exits; the Go runtime only retires threads that
// exit while locked by LockOSThread, which this package never does.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
