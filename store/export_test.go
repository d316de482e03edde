package store

import (
	"context"
	"database/sql"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// MigrateTo brings the database dsn names to schema version, as the
// steadywatch that knew no newer one would: the start of an upgrade test.
func MigrateTo(ctx context.Context, dsn string, version int) error {
	kind, target, err := parseDSN(dsn, "")
	if err != nil {
		return err
	}
	db, d := (*sql.DB)(nil), &sqliteDialect
	if kind == postgresKind {
		cfg, err := pgx.ParseConfig(target)
		if err != nil {
			return err
		}
		db, d = stdlib.OpenDB(*cfg), &postgresDialect
	} else if db, err = sql.Open("sqlite", target+"?"+sqliteWriter); err != nil {
		return err
	}
	defer db.Close()
	return migrateTo(ctx, db, d, slog.New(slog.DiscardHandler), version)
}

// ClustersQuery is the statement Clusters runs.
var ClustersQuery = clustersQuery

// BlockAlertCommits makes every group commit of s's SaveAlerts call hook,
// with the number of saves in it, right before it commits; the commit
// waits for hook to return.
func BlockAlertCommits(s Store, hook func(saves int)) {
	s.(*sqlStore).alerts.beforeCommit = hook
}

// QueuedAlertSaves is how many SaveAlerts calls of s wait for a commit
// that has not taken them yet.
func QueuedAlertSaves(s Store) int {
	b := s.(*sqlStore).alerts
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// AlertCommitsClosed reports whether s's SaveAlerts refuses new saves,
// its Close begun.
func AlertCommitsClosed(s Store) bool {
	b := s.(*sqlStore).alerts
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// MaxGroupAlerts is maxGroupAlerts.
const MaxGroupAlerts = maxGroupAlerts

// LongTxTimeout is longTxTimeout, TxTimeout txTimeout.
var (
	LongTxTimeout = longTxTimeout
	TxTimeout     = txTimeout
)
