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
}

// Source lists stored alerts, oldest start first; the store is one.
type Source interface {
	Alerts(ctx context.Context, f Filter) ([]Alert, error)
}
