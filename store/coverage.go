package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
)

const upsertCoverage = `INSERT INTO watch_coverage (session, resource, from_ns, to_ns, ended, error, cluster)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (cluster, session, resource, from_ns) DO UPDATE SET to_ns = excluded.to_ns, ended = excluded.ended,
	error = excluded.error`

// SaveCoverage implements Store.
func (s *sqlStore) SaveCoverage(ctx context.Context, spans []chaos.WatchSpan) error {
	type row struct {
		from, to int64
	}
	rows := make([]row, len(spans))
	for i, sp := range spans {
		var err error
		switch {
		case sp.Session == "":
			err = errors.New("session: not set")
		case sp.Resource == "":
			err = errors.New("resource: not set")
		case sp.To.Before(sp.From):
			err = fmt.Errorf("to: %s is before from, %s", sp.To.UTC().Format(time.RFC3339Nano), sp.From.UTC().Format(time.RFC3339Nano))
		case sp.Ended != chaos.SpanOpen && sp.Ended != chaos.SpanBroken && sp.Ended != chaos.SpanStopped:
			err = fmt.Errorf("ended: %q is not one of \"\", %s, %s", sp.Ended, chaos.SpanBroken, chaos.SpanStopped)
		}
		if err == nil {
			rows[i].from, err = nanos("from", sp.From)
		}
		if err == nil {
			rows[i].to, err = nanos("to", sp.To)
		}
		if err != nil {
			return fmt.Errorf("store: saving watch coverage: spans[%d] (%s %s): %w", i, sp.Session, sp.Resource, err)
		}
	}
	if len(spans) == 0 {
		return nil
	}
	if err := s.writable("saving watch coverage"); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, sp := range spans {
			if _, err := tx.ExecContext(ctx, upsertCoverage, sp.Session, sp.Resource, rows[i].from, rows[i].to, sp.Ended, sp.Err, s.cluster); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving watch coverage: %w", err)
	}
	return nil
}

// Coverage implements Store.
func (s *sqlStore) Coverage(ctx context.Context, since, until time.Time) ([]chaos.WatchSpan, error) {
	var w where
	s.inCluster(&w)
	if !since.IsZero() {
		ns, err := nanos("since", clampTime(since))
		if err != nil {
			return nil, fmt.Errorf("store: reading watch coverage: %w", err)
		}
		w.add("to_ns >= %s", ns)
	}
	if !until.IsZero() {
		ns, err := nanos("until", clampTime(until))
		if err != nil {
			return nil, fmt.Errorf("store: reading watch coverage: %w", err)
		}
		w.add("from_ns <= %s", ns)
	}
	return list(ctx, s.reader, "reading watch coverage", w.query(`SELECT session, resource, from_ns, to_ns, ended, error
FROM watch_coverage`, s.orderBy("from_ns, resource, session")), w.args,
		func(rows *sql.Rows) (sp chaos.WatchSpan, keep bool, err error) {
			var from, to int64
			err = rows.Scan(&sp.Session, &sp.Resource, &from, &to, &sp.Ended, &sp.Err)
			sp.From, sp.To = timeOf(from), timeOf(to)
			return sp, err == nil, err
		})
}
