package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/report/delivery"
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

// newDelivery makes the sender of the weekly report to the webhooks of
// reports.delivery; only the leader runs it. Without leader election,
// several serves on one PostgreSQL store would each claim every attempt in
// the store (store.UpdateDelivery's compare-and-set), one of them winning.
func newDelivery(o Options, src reportSource, reg prometheus.Registerer) (*delivery.Deliverer, error) {
	return delivery.New(delivery.Options{
		Config: o.Config.Reports.Delivery, Report: reportOptions(&o.Config), Store: src, Clock: o.Clock,
		Logger: o.Logger.With("component", "delivery"), Registerer: reg,
	})
}
