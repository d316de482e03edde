//go:build !linux

package testbed

import "syscall"

// childSysProcAttr puts a child in its own process group. Without Linux's
// Pdeathsig, children outlive a test binary that is killed outright.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
