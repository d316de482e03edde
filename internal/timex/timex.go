// Package timex holds the small time helpers the standard library lacks:
// the built-in min and max do not take time.Time, which is not ordered.
package timex

import "time"

// Min is the earlier of a and b (a if they are equal).
func Min(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Max is the later of a and b (a if they are equal).
func Max(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
