package alert

import (
	"context"
	"time"
)

// Filter selects stored alerts.
type Filter struct {
	// Labels must all be present with these values.
	Labels map[string]string
	// Since and Until bound StartsAt: Since inclusive, Until exclusive.
	Since, Until time.Time
	// NoAnnotations leaves the alerts' Annotations out (nil), for a reader
	// that needs none: a store then neither reads nor decodes them.
	NoAnnotations bool
}

// Source lists stored alerts, oldest start first; the store is one.
type Source interface {
	Alerts(ctx context.Context, f Filter) ([]Alert, error)
}

// Stream hands stored alerts to fn one at a time, oldest start first,
// stopping at (and returning) the first error fn returns; the store is one.
// Unlike Source it never holds every alert in memory.
type Stream interface {
	EachAlert(ctx context.Context, f Filter, fn func(*Alert) error) error
}
