//go:build unix

package stats

import (
	"syscall"
	"time"
)

// cpuTime is the process's user + system time so far, or −1 if it cannot
// be read. On a shared, loaded machine the wall clock mostly measures
// waiting for a core; the CPU time a comparison costs does not depend on
// how long it waited.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
