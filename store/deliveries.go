package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// States of a Delivery.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one weekly report to send to one webhook: recorded before it
// is first attempted, so that a restart resumes it, and unique by webhook
// and week, so that no week is sent twice.
type Delivery struct {
	// Cluster is the cluster whose serve sends it; the store sets it.
	Cluster string
	// Webhook names the webhook (reports.delivery.webhooks[].name).
	Webhook string
	// Week is the ISO week reported, "2026-W48".
	Week string
	// Due is the scheduled time that asked for it; Created when it was
	// recorded, Updated when it last changed (for a delivered one, when
	// the receiver accepted it).
	Due, Created, Updated time.Time
	// State is DeliveryPending, DeliveryDelivered or DeliveryFailed.
	State string
	// Attempts counts the attempts begun, each recorded before it is made.
	Attempts int
	// NextAttempt is when a pending delivery is tried next; zero for the
	// others.
	NextAttempt time.Time
	// LastError is the last failed attempt's error; "" if none.
	LastError string
}

// DeliveryFilter selects deliveries; zero fields select all.
type DeliveryFilter struct {
	Webhook string
	State   string
}

type deliveryRow struct {
	due, created, updated int64
	next                  any
}

func checkDelivery(d *Delivery) (r deliveryRow, err error) {
	switch {
	case d.Webhook == "":
		return r, errors.New("webhook: not set")
	case d.Week == "":
		return r, errors.New("week: not set")
	case d.State != DeliveryPending && d.State != DeliveryDelivered && d.State != DeliveryFailed:
		return r, fmt.Errorf("state: %q is not one of %s, %s, %s", d.State, DeliveryPending, DeliveryDelivered, DeliveryFailed)
	case d.Attempts < 0:
		return r, fmt.Errorf("attempts: %d is negative", d.Attempts)
	}
	if r.due, err = nanos("due", d.Due); err != nil {
		return r, err
	}
	if r.created, err = nanos("created", d.Created); err != nil {
		return r, err
	}
	if r.updated, err = nanos("updated", d.Updated); err != nil {
		return r, err
	}
	r.next, err = optNanos("next_attempt", d.NextAttempt)
	return r, err
}

const insertDelivery = `INSERT INTO report_deliveries (webhook, week, due_ns, created_ns, state, attempts,
	next_attempt_ns, last_error, updated_ns, cluster)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (cluster, webhook, week) DO NOTHING`

// CreateDelivery implements Store.
func (s *sqlStore) CreateDelivery(ctx context.Context, d Delivery) (bool, error) {
	r, err := checkDelivery(&d)
	if err != nil {
		return false, fmt.Errorf("store: recording delivery %s/%s: %w", d.Webhook, d.Week, err)
	}
	if err := s.writable("recording delivery " + d.Webhook + "/" + d.Week); err != nil {
		return false, err
	}
	var created bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, insertDelivery, d.Webhook, d.Week, r.due, r.created, d.State, d.Attempts,
			r.next, d.LastError, r.updated, s.cluster)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		created = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: recording delivery %s/%s: %w", d.Webhook, d.Week, err)
	}
	return created, nil
}

const updateDelivery = `UPDATE report_deliveries SET state = $1, attempts = $2, next_attempt_ns = $3,
	last_error = $4, updated_ns = $5
WHERE cluster = $9 AND webhook = $6 AND week = $7 AND state = 'pending' AND attempts = $8`

// UpdateDelivery implements Store.
func (s *sqlStore) UpdateDelivery(ctx context.Context, d Delivery, attempts int) (bool, error) {
	r, err := checkDelivery(&d)
	if err != nil {
		return false, fmt.Errorf("store: updating delivery %s/%s: %w", d.Webhook, d.Week, err)
	}
	if err := s.writable("updating delivery " + d.Webhook + "/" + d.Week); err != nil {
		return false, err
	}
	var updated bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateDelivery, d.State, d.Attempts, r.next, d.LastError, r.updated,
			d.Webhook, d.Week, attempts, s.cluster)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		updated = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: updating delivery %s/%s: %w", d.Webhook, d.Week, err)
	}
	return updated, nil
}

// Deliveries implements Store.
func (s *sqlStore) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	var w where
	s.inCluster(&w)
	if f.Webhook != "" {
		w.add("webhook = %s", f.Webhook)
	}
	if f.State != "" {
		w.add("state = %s", f.State)
	}
	return list(ctx, s.reader, "reading deliveries", w.query(`SELECT cluster, webhook, week, due_ns, created_ns, state, attempts,
	next_attempt_ns, last_error, updated_ns FROM report_deliveries`, s.orderBy("due_ns, webhook, week")), w.args,
		func(rows *sql.Rows) (d Delivery, keep bool, err error) {
			var due, created, updated int64
			var next sql.NullInt64
			err = rows.Scan(&d.Cluster, &d.Webhook, &d.Week, &due, &created, &d.State, &d.Attempts, &next, &d.LastError, &updated)
			d.Due, d.Created, d.Updated, d.NextAttempt = timeOf(due), timeOf(created), timeOf(updated), optTime(next)
			return d, err == nil, err
		})
}
