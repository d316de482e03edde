package server

import (
	"context"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

// reportSource is what reports read: the store's alerts, and the incidents
// through the write queue, so that an incident recorded before the
// request is in the report.
type reportSource struct {
	store.Store
	incidents tracker.Store
}

func (s reportSource) List(ctx context.Context, f tracker.Filter) ([]chaos.Incident, error) {
	return s.incidents.List(ctx, f)
}

// reportOptions are the options of every report serve makes but its range.
func reportOptions(cfg *config.Config) report.Options {
	var o report.Options
	o.Configure(cfg)
	return o
}
