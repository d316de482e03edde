// Package store keeps what steadywatch must not forget: incidents, chaos
// events, the alerts Alertmanager sent, the watcher's inventory and the
// history of verdicts. SQLite (embedded, the default) and PostgreSQL
// (servers, HA) implement one interface and pass one test suite
// (storetest).
package store

import (
	"context"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// Store is a durable tracker.Store that also keeps alerts and the inventory.
// Every method returns only once what it wrote is durable (committed and
// synced), so a caller may acknowledge it.
type Store interface {
	tracker.Store
	tracker.DetectionStore
	// SaveAlerts stores a notification's alerts in one transaction. An alert
	// already stored (same fingerprint and startsAt) is updated (status,
	// endsAt, labels, annotations: the latest save's win) rather than
	// duplicated, so retried notifications are idempotent. It returns how
	// many alerts were new. A save that fails stores none of the batch; an
	// alert beyond package limits fails it before anything is written.
	// On SQLite, saves made while another is being committed are committed
	// together in the next transaction (group commit), each returning once that is
	// committed; a save the database refuses fails alone. A ctx that ends
	// while the save waits for its transaction stores nothing; once the
	// transaction has it, it is committed or not with the others, and the
	// error says which.
	SaveAlerts(ctx context.Context, alerts []alert.Alert) (inserted int, err error)
	// Alerts returns the stored alerts matching f, oldest start first.
	Alerts(ctx context.Context, f alert.Filter) ([]alert.Alert, error)
	// EachAlert hands the stored alerts matching f to fn one at a time,
	// oldest start first (then by fingerprint), without holding them all
	// in memory; Alerts is EachAlert collecting them. It stops at the first
	// error fn returns and returns it unwrapped, so a caller may stop early
	// with a sentinel. fn may keep the alert it is given.
	EachAlert(ctx context.Context, f alert.Filter, fn func(*alert.Alert) error) error
	// SaveInventory replaces the saved inventory.
	SaveInventory(ctx context.Context, inv tracker.Inventory) error
	// LoadInventory returns the saved inventory; ok is false if none was saved.
	LoadInventory(ctx context.Context) (inv tracker.Inventory, ok bool, err error)
	// SaveExperiment records a chaos tool's run, or replaces the row of an
	// earlier reading of it (same tool, namespace, name, UID and fault): its
	// end, result and detail as the tool's objects tell them now.
	SaveExperiment(ctx context.Context, e experiment.Experiment) error
	// Experiments returns the stored runs matching f, oldest start first.
	Experiments(ctx context.Context, f ExperimentFilter) ([]experiment.Experiment, error)
	// SaveCoverage upserts spans of watch coverage, keyed by session,
	// resource and From, in one transaction.
	SaveCoverage(ctx context.Context, spans []chaos.WatchSpan) error
	// Coverage returns the spans that reach into [since, until] (zero bounds
	// are open), oldest From first.
	Coverage(ctx context.Context, since, until time.Time) ([]chaos.WatchSpan, error)
	// CreateDelivery records a report delivery unless one of its webhook
	// and week is recorded already; created says whether it was.
	CreateDelivery(ctx context.Context, d Delivery) (created bool, err error)
	// UpdateDelivery replaces a pending delivery's state, attempts, next
	// attempt, last error and update time, if it is still pending and has
	// had attempts attempts: a compare-and-set, so that of two serves only
	// one claims an attempt. updated says whether it did.
	UpdateDelivery(ctx context.Context, d Delivery, attempts int) (updated bool, err error)
	// Deliveries returns the deliveries f selects, the earliest due first.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// SaveVerdict stores a verdict of the history of verdicts; one of the
	// same hypothesis and time is replaced. It is for the transitions
	// (verdict.Transition.Changes): the store keeps what it is given.
	SaveVerdict(ctx context.Context, t verdict.Transition) error
	// EachVerdict and LatestVerdicts read the history (verdict.History).
	verdict.History
	// ForCluster returns a read-only view of another cluster's rows, or of
	// every cluster's for AllClusters ("*"): its reads select that cluster
	// (each row carrying its cluster; a view of all orders rows alike
	// but for their cluster by cluster), its writes fail with
	// ErrReadOnlyView, and closing it leaves this store open. A name that
	// is not a cluster's (an RFC 1123 label or "") is an error.
	ForCluster(name string) (Store, error)
	// Clusters returns the names of the clusters that have rows in the
	// store, sorted; "" is the unnamed cluster.
	Clusters(ctx context.Context) ([]string, error)
	// AdoptCluster moves every row of cluster from (config cluster:, ""
	// the unnamed one) into the store's own cluster in one transaction:
	// an installation that names its cluster after it stored history
	// keeps reading it. The own cluster must have no rows yet
	// (ErrClusterHasRows), and nothing else should write from's rows
	// meanwhile (stop its steadywatch): those written after the move stay
	// from's. A view cannot adopt.
	AdoptCluster(ctx context.Context, from string) (Adopted, error)
	// Close closes the store; a view's Close does nothing.
	Close() error
}
