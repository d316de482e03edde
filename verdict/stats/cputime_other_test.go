//go:build !unix

package stats

import "time"

// cpuTime cannot be read here: −1.
func cpuTime() time.Duration { return -1 }
