package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/store/limits"
	"github.com/steadywatch/steadywatch/tracker"
)

// dialect is what differs between the SQL databases. The statements
// themselves are shared: both take $N parameters (SQLite ? as well), upsert
// with ON CONFLICT and return rows with RETURNING.
type dialect struct {
	name string
	// createMigrations creates the schema_migrations table if missing.
	createMigrations string
	// hasMigrations counts the schema_migrations tables (0 or 1).
	hasMigrations string
	// migrateLock, if set, runs first in the migration transaction.
	migrateLock string
	// numbered says parameters are written $1, $2, …, not ?. SQLite takes
	// both, but looks a $N up among the statement's parameters by name,
	// which makes preparing a statement with thousands of them take
	// seconds.
	numbered bool
	// maxAlertsPerStatement keeps a statement's parameters within the
	// database's limit (SQLite 32766, PostgreSQL 65535), and the number of
	// statements a stmtCache may prepare small.
	maxAlertsPerStatement int
	// labelsContain, if set, is the condition (with one %s for the
	// parameter holding a JSON object) that selects alerts by label in SQL;
	// otherwise alerts are selected by label in Go.
	labelsContain string
}

// sqlStore is the Store on a database/sql database.
type sqlStore struct {
	d *dialect
	// writer runs every write. For SQLite it holds one connection, SQLite's
	// one writer, so writers queue in Go rather than spin on SQLITE_BUSY.
	writer *sql.DB
	// reader runs every read; for PostgreSQL it is the writer.
	reader *sql.DB
	// upserts, if set, holds the alert upserts prepared so far, by the
	// number of alerts: SQLite (unlike pgx) does not cache prepared
	// statements, and parsing one costs as much as running it.
	upserts *stmtCache
	// cluster is the cluster the store writes and reads, or AllClusters
	// (a view only).
	cluster string
	// alerts commits SaveAlerts calls together; a view shares its
	// store's.
	alerts *alertCommitter
	// view marks a ForCluster view: it reads, never writes, and closing it
	// leaves the databases open.
	view bool
}

// stmtCache prepares statements on a database once. Statements are
// prepared outside any transaction (for SQLite, preparing needs the writer's
// one connection, which a transaction holds), and no lock is held while
// preparing, so a lookup never waits for the database.
type stmtCache struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[int]*sql.Stmt
}

// lookup returns the statement prepared for key, or nil.
func (c *stmtCache) lookup(key int) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[key]
}

// prepare prepares query() for key unless it is already.
func (c *stmtCache) prepare(ctx context.Context, key int, query func() string) error {
	if c.lookup(key) != nil {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query())
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil {
		c.stmts = map[int]*sql.Stmt{}
	}
	if _, raced := c.stmts[key]; raced {
		return st.Close()
	}
	c.stmts[key] = st
	return nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts = nil
	return errors.Join(errs...)
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) Close() error {
	if s.view {
		return nil
	}
	if s.alerts != nil {
		s.alerts.close() // the saves queued are written first
	}
	var errs []error
	if s.upserts != nil {
		errs = append(errs, s.upserts.close())
	}
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}

// txTimeout bounds a write transaction, which its caller's context does not
// end once it commits.
const txTimeout = time.Minute

// inTx runs f in a write transaction and commits it, or rolls it back if f
// fails. ctx bounds the wait for the writer and f's statements, and a ctx
// that ends before the commit rolls the transaction back; but the commit
// itself is not cancelled: cancelled, it could take effect and yet report an
// error, and a caller would save again what is already saved. So an error
// means nothing was stored, and nil that all was.
func (s *sqlStore) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return s.inTxFor(ctx, txTimeout, f)
}

// inTxFor is inTx with the transaction bounded by timeout rather than
// txTimeout, for a write known to be long (moving a whole history).
func (s *sqlStore) inTxFor(ctx context.Context, timeout time.Duration, f func(tx *sql.Tx) error) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close() //nolint:errcheck // returns the connection to the pool
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	tx, err := conn.BeginTx(txCtx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil || ctx.Err() != nil {
		tx.Rollback() //nolint:errcheck,gosec // f's error is the one to report
		// A statement cancelled under f fails with whatever it was doing
		// ("interrupted"): the context's error says why.
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			return ctxErr
		}
		return err
	}
	return tx.Commit()
}

// exec runs one write statement in a transaction of its own (inTx).
func (s *sqlStore) exec(ctx context.Context, query string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// where collects the conditions of a query and their parameters.
type where struct {
	conds []string
	args  []any
}

// add adds a condition whose %s is the next parameter, holding arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, fmt.Sprintf(cond, "$"+strconv.Itoa(len(w.args))))
}

// in adds column IN (values…), values being at least one.
func (w *where) in(column string, values []any) {
	ps := make([]string, len(values))
	for i, v := range values {
		w.args = append(w.args, v)
		ps[i] = "$" + strconv.Itoa(len(w.args))
	}
	w.conds = append(w.conds, column+" IN ("+strings.Join(ps, ", ")+")")
}

// query returns the statement selectFrom WHERE conditions orderBy. Every
// piece is a constant of this package; values travel as parameters.
func (w *where) query(selectFrom, orderBy string) string {
	if len(w.conds) == 0 {
		return selectFrom + " " + orderBy
	}
	return selectFrom + " WHERE " + strings.Join(w.conds, " AND ") + " " + orderBy
}

// timeRange adds since <= column < until for the bounds that are set.
func (w *where) timeRange(column string, since, until time.Time) error {
	if !since.IsZero() {
		ns, err := nanos("since", clampTime(since))
		if err != nil {
			return err
		}
		w.add(column+" >= %s", ns)
	}
	if !until.IsZero() {
		ns, err := nanos("until", clampTime(until))
		if err != nil {
			return err
		}
		w.add(column+" < %s", ns)
	}
	return nil
}

// clampTime brings a filter bound into the stored range: no stored time lies
// outside it, so a bound beyond it selects the same rows as the range's end.
func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(limits.MinTime):
		return limits.MinTime
	case t.After(limits.MaxTime):
		return limits.MaxTime
	}
	return t
}

const upsertIncident = `INSERT INTO incidents (id, kind, namespace, service, subject_group,
	object_kind, object_namespace, object_name, start_ns, end_ns, events, evicted, baseline, missed, cluster)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (cluster, id) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace,
	service = excluded.service, subject_group = excluded.subject_group,
	object_kind = excluded.object_kind, object_namespace = excluded.object_namespace,
	object_name = excluded.object_name, start_ns = excluded.start_ns, end_ns = excluded.end_ns,
	events = excluded.events, evicted = excluded.evicted, baseline = excluded.baseline,
	missed = excluded.missed`

// Save implements tracker.Store.
func (s *sqlStore) Save(ctx context.Context, inc chaos.Incident) error {
	if inc.ID == "" {
		return errors.New("store: saving incident: no ID")
	}
	if err := s.writable("saving incident " + inc.ID); err != nil {
		return err
	}
	start, err := nanos("start", inc.Start)
	if err != nil {
		return fmt.Errorf("store: saving incident %s: %w", inc.ID, err)
	}
	end, err := optNanos("end", inc.End)
	if err != nil {
		return fmt.Errorf("store: saving incident %s: %w", inc.ID, err)
	}
	err = s.exec(ctx, upsertIncident, inc.ID, string(inc.Kind),
		inc.Subject.Namespace, inc.Subject.Service, string(inc.Subject.Group),
		inc.Object.Kind, inc.Object.Namespace, inc.Object.Name, start, end,
		inc.Events, inc.Evicted, inc.Baseline, inc.Missed, s.cluster)
	if err != nil {
		return fmt.Errorf("store: saving incident %s: %w", inc.ID, err)
	}
	return nil
}

// undecided is the condition of an incident whose detection is not
// recorded yet; incidents_undecided_start indexes it.
const undecided = "detected_at_ns IS NULL AND NOT undetected"

// List implements tracker.Store.
func (s *sqlStore) List(ctx context.Context, f tracker.Filter) ([]chaos.Incident, error) {
	var w where
	s.inCluster(&w)
	if f.Service != "" {
		w.add("service = %s", f.Service)
	}
	if f.OpenOnly {
		w.conds = append(w.conds, "end_ns IS NULL")
	}
	if len(f.Kinds) > 0 {
		kinds := make([]any, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		w.in("kind", kinds)
	}
	if f.Undecided {
		w.conds = append(w.conds, undecided)
	}
	if err := w.timeRange("start_ns", f.Since, f.Until); err != nil {
		return nil, fmt.Errorf("store: listing incidents: %w", err)
	}
	return list(ctx, s.reader, "listing incidents", w.query(`SELECT cluster, id, kind, namespace, service, subject_group,
	object_kind, object_namespace, object_name, start_ns, end_ns, events, evicted, baseline, missed,
	detected_at_ns, detected_alert, detected_fingerprint, undetected
FROM incidents`, s.orderBy("start_ns, id")), w.args, scanIncident)
}

func scanIncident(rows *sql.Rows) (inc chaos.Incident, keep bool, err error) {
	var (
		kind, grp     string
		start         int64
		end, detected sql.NullInt64
	)
	if err := rows.Scan(&inc.Cluster, &inc.ID, &kind, &inc.Subject.Namespace, &inc.Subject.Service, &grp,
		&inc.Object.Kind, &inc.Object.Namespace, &inc.Object.Name, &start, &end,
		&inc.Events, &inc.Evicted, &inc.Baseline, &inc.Missed,
		&detected, &inc.Detection.Alert, &inc.Detection.Fingerprint, &inc.Detection.Undetected); err != nil {
		return inc, false, err
	}
	inc.Kind, inc.Subject.Group = chaos.Kind(kind), chaos.Group(grp)
	inc.Start, inc.End = timeOf(start), optTime(end)
	inc.Detection.At = optTime(detected)
	return inc, true, nil
}

// SetDetection implements tracker.DetectionStore. The condition on the
// row makes it final: PostgreSQL re-checks it on the row a concurrent
// update committed, SQLite has one writer.
func (s *sqlStore) SetDetection(ctx context.Context, id string, d chaos.Detection) (bool, error) {
	if err := d.Validate(); err != nil {
		return false, fmt.Errorf("store: recording detection of incident %s: %w", id, err)
	}
	at, err := optNanos("detection.at", d.At)
	if err != nil {
		return false, fmt.Errorf("store: recording detection of incident %s: %w", id, err)
	}
	if err := s.writable("recording detection of incident " + id); err != nil {
		return false, err
	}
	var n int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE incidents SET detected_at_ns = $2, detected_alert = $3,
	detected_fingerprint = $4, undetected = $5
WHERE cluster = $6 AND id = $1 AND `+undecided, id, at, d.Alert, d.Fingerprint, d.Undetected, s.cluster)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: recording detection of incident %s: %w", id, err)
	}
	return n == 1, nil
}

const insertEvent = `INSERT INTO events (kind, namespace, service, subject_group,
	object_kind, object_namespace, object_name, workload_kind, workload_namespace, workload_name,
	node, cluster_ns, observed_ns, at_ns, reason, from_replicas, to_replicas, missed, cluster)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`

// SaveEvent implements tracker.Store.
func (s *sqlStore) SaveEvent(ctx context.Context, e chaos.Event) error {
	if err := s.writable("saving event " + e.Object.String()); err != nil {
		return err
	}
	at, err := nanos("time", e.At.Best())
	if err != nil {
		return fmt.Errorf("store: saving event %s: %w", e.Object, err)
	}
	cluster, err := optNanos("cluster time", e.At.Cluster)
	if err != nil {
		return fmt.Errorf("store: saving event %s: %w", e.Object, err)
	}
	observed, err := optNanos("observed time", e.At.Observed)
	if err != nil {
		return fmt.Errorf("store: saving event %s: %w", e.Object, err)
	}
	err = s.exec(ctx, insertEvent, string(e.Kind),
		e.Subject.Namespace, e.Subject.Service, string(e.Subject.Group),
		e.Object.Kind, e.Object.Namespace, e.Object.Name,
		e.Workload.Kind, e.Workload.Namespace, e.Workload.Name,
		e.Node, cluster, observed, at, e.Reason, e.FromReplicas, e.ToReplicas, e.Missed, s.cluster)
	if err != nil {
		return fmt.Errorf("store: saving event %s: %w", e.Object, err)
	}
	return nil
}

// Events implements tracker.Store.
func (s *sqlStore) Events(ctx context.Context, f tracker.Filter) ([]chaos.Event, error) {
	var w where
	s.inCluster(&w)
	if f.Service != "" {
		w.add("service = %s", f.Service)
	}
	if err := w.timeRange("at_ns", f.Since, f.Until); err != nil {
		return nil, fmt.Errorf("store: listing events: %w", err)
	}
	return list(ctx, s.reader, "listing events", w.query(`SELECT kind, namespace, service, subject_group,
	object_kind, object_namespace, object_name, workload_kind, workload_namespace, workload_name,
	node, cluster_ns, observed_ns, reason, from_replicas, to_replicas, missed
FROM events`, `ORDER BY at_ns, id`), w.args, scanEvent)
}

func scanEvent(rows *sql.Rows) (e chaos.Event, keep bool, err error) {
	var (
		kind, grp         string
		cluster, observed sql.NullInt64
	)
	if err := rows.Scan(&kind, &e.Subject.Namespace, &e.Subject.Service, &grp,
		&e.Object.Kind, &e.Object.Namespace, &e.Object.Name,
		&e.Workload.Kind, &e.Workload.Namespace, &e.Workload.Name,
		&e.Node, &cluster, &observed, &e.Reason, &e.FromReplicas, &e.ToReplicas, &e.Missed); err != nil {
		return e, false, err
	}
	e.Kind, e.Subject.Group = chaos.Kind(kind), chaos.Group(grp)
	e.At = chaos.Timestamp{Cluster: optTime(cluster), Observed: optTime(observed)}
	return e, true, nil
}

// alertColumns are the columns SaveAlerts writes, in the order alertRow
// returns their values.
const alertColumns = 13

// alertUpsertTail updates an alert stored before. The latest labels and
// annotations win: Alertmanager's fingerprint is a hash of the labels, so
// they differ only if a sender relabels an alert without changing its
// fingerprint, and then the latest is what it means now. received_at_ns
// and source describe the first receipt and stay; receiver, group key and
// generator URL are filled in if the first receipt lacked them (an alert
// pulled from the API before its notification came). notifications counts
// the receipts that were webhook notifications, excluded.notifications
// being 1 for one and 0 for a pull (encodeAlert). deliveries is 1 only
// on insert, which is how SaveAlerts counts the new ones: RETURNING gives it
// for inserted and updated rows alike, on both databases, and it stays
// right when concurrent transactions insert the same alert (PostgreSQL
// makes the second update). A pull (source 'api') that finds the alert gone
// saves it resolved at an estimated time: that never replaces a resolution
// already stored, which may be a notification's exact one.
const alertUpsertTail = `
ON CONFLICT (cluster, fingerprint, starts_at_ns) DO UPDATE SET
	status = CASE WHEN alerts.status = 'resolved' AND excluded.source = 'api' THEN alerts.status ELSE excluded.status END,
	labels = excluded.labels,
	annotations = excluded.annotations,
	ends_at_ns = CASE WHEN alerts.status = 'resolved' AND excluded.source = 'api' THEN alerts.ends_at_ns ELSE excluded.ends_at_ns END,
	generator_url = CASE WHEN alerts.generator_url = '' THEN excluded.generator_url ELSE alerts.generator_url END,
	receiver = CASE WHEN alerts.receiver = '' THEN excluded.receiver ELSE alerts.receiver END,
	group_key = CASE WHEN alerts.group_key = '' THEN excluded.group_key ELSE alerts.group_key END,
	deliveries = alerts.deliveries + 1,
	notifications = alerts.notifications + excluded.notifications
RETURNING deliveries`

// upsertAlerts returns the statement that upserts n alerts.
func (d *dialect) upsertAlerts(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO alerts (fingerprint, starts_at_ns, status, labels, annotations,
	ends_at_ns, generator_url, receiver, group_key, received_at_ns, source, notifications, cluster) VALUES `)
	p := 1
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range alertColumns {
			if j > 0 {
				b.WriteString(", ")
			}
			if d.numbered {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
			p++
		}
		b.WriteByte(')')
	}
	b.WriteString(alertUpsertTail)
	return b.String()
}

type alertRow struct {
	fingerprint string
	startsAt    int64
	values      []any
}

// alertRows validates and encodes alerts for upsertAlerts. An alert given
// twice is saved once, as given last. The rows are sorted by key, so that
// concurrent saves lock shared rows in the same order and cannot deadlock.
func alertRows(alerts []alert.Alert, cluster string, now time.Time) ([]alertRow, error) {
	rows := make([]alertRow, 0, len(alerts))
	for i := range alerts {
		a := &alerts[i]
		r, err := encodeAlert(a, cluster, now)
		if err != nil {
			if limits.Fingerprint(a.Fingerprint) != nil {
				// Not quoted: it may be huge, or hold what cannot be shown.
				return nil, fmt.Errorf("alerts[%d] (%s): %w", i, a.Name(), err)
			}
			return nil, fmt.Errorf("alerts[%d] (%s %s): %w", i, a.Name(), a.Fingerprint, err)
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b alertRow) int {
		return cmp.Or(strings.Compare(a.fingerprint, b.fingerprint), cmp.Compare(a.startsAt, b.startsAt))
	})
	// Keep the last of each run of equal keys.
	out := rows[:0]
	for i, r := range rows {
		if i+1 < len(rows) && rows[i+1].fingerprint == r.fingerprint && rows[i+1].startsAt == r.startsAt {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func encodeAlert(a *alert.Alert, cluster string, now time.Time) (alertRow, error) {
	if a.Fingerprint == "" {
		return alertRow{}, errors.New("no fingerprint")
	}
	if err := limits.Fingerprint(a.Fingerprint); err != nil {
		return alertRow{}, fmt.Errorf("fingerprint: %w", err)
	}
	if err := limits.Map("labels", a.Labels); err != nil {
		return alertRow{}, err
	}
	if err := limits.Map("annotations", a.Annotations); err != nil {
		return alertRow{}, err
	}
	for _, f := range []struct{ name, value string }{
		{"status", string(a.Status)},
		{"generatorURL", a.GeneratorURL},
		{"receiver", a.Receiver},
		{"groupKey", a.GroupKey},
		{"source", a.Source},
	} {
		if err := limits.Text(f.value); err != nil {
			return alertRow{}, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	startsAt, err := nanos("startsAt", a.StartsAt)
	if err != nil {
		return alertRow{}, err
	}
	endsAt, err := optNanos("endsAt", a.EndsAt)
	if err != nil {
		return alertRow{}, err
	}
	receivedAt := a.ReceivedAt
	if receivedAt.IsZero() {
		receivedAt = now
	}
	received, err := nanos("receivedAt", receivedAt)
	if err != nil {
		return alertRow{}, err
	}
	labels, err := encodeMap(a.Labels)
	if err != nil {
		return alertRow{}, fmt.Errorf("labels: %w", err)
	}
	annotations, err := encodeMap(a.Annotations)
	if err != nil {
		return alertRow{}, fmt.Errorf("annotations: %w", err)
	}
	// This receipt's count of notifications: a pull notifies no one.
	notifications := 0
	if a.Source == alert.SourceWebhook {
		notifications = 1
	}
	return alertRow{
		fingerprint: a.Fingerprint,
		startsAt:    startsAt,
		values: []any{
			a.Fingerprint, startsAt, string(a.Status), labels, annotations,
			endsAt, a.GeneratorURL, a.Receiver, a.GroupKey, received, a.Source, notifications, cluster,
		},
	}, nil
}

// SaveAlerts implements Store.
func (s *sqlStore) SaveAlerts(ctx context.Context, alerts []alert.Alert) (int, error) {
	if len(alerts) == 0 {
		return 0, nil
	}
	if err := s.writable("saving alerts"); err != nil {
		return 0, err
	}
	rows, err := alertRows(alerts, s.cluster, time.Now())
	if err != nil {
		return 0, fmt.Errorf("store: saving alerts: %w", err)
	}
	chunk := s.d.maxAlertsPerStatement
	if s.upserts != nil {
		for _, n := range []int{min(len(rows), chunk), len(rows) % chunk} {
			if n == 0 {
				continue
			}
			if err := s.upserts.prepare(ctx, n, func() string { return s.d.upsertAlerts(n) }); err != nil {
				return 0, fmt.Errorf("store: saving %d alerts: %w", len(alerts), err)
			}
		}
	}
	var inserted int
	if s.alerts != nil {
		inserted, err = s.alerts.save(ctx, rows)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			n, err := s.upsertRows(ctx, tx, rows)
			inserted = n
			return err
		})
	}
	if err != nil {
		return 0, fmt.Errorf("store: saving %d alerts: %w", len(alerts), err)
	}
	return inserted, nil
}

// upsertRows upserts rows in tx, in statements of at most
// maxAlertsPerStatement alerts, and counts the rows it inserted.
func (s *sqlStore) upsertRows(ctx context.Context, tx *sql.Tx, rows []alertRow) (int, error) {
	chunk := s.d.maxAlertsPerStatement
	inserted := 0
	args := make([]any, 0, min(len(rows), chunk)*alertColumns)
	for part := range slices.Chunk(rows, chunk) {
		args = args[:0]
		for _, r := range part {
			args = append(args, r.values...)
		}
		n, err := s.upsertChunk(ctx, tx, len(part), args)
		if err != nil {
			return 0, err
		}
		inserted += n
	}
	return inserted, nil
}

// upsertChunk upserts n alerts, args holding their values, and counts the
// rows it inserted.
func (s *sqlStore) upsertChunk(ctx context.Context, tx *sql.Tx, n int, args []any) (int, error) {
	var (
		res *sql.Rows
		err error
	)
	if st := s.upserts.lookup(n); st != nil {
		res, err = tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	} else {
		res, err = tx.QueryContext(ctx, s.d.upsertAlerts(n), args...)
	}
	if err != nil {
		return 0, err
	}
	defer res.Close() //nolint:errcheck // res.Err reports what went wrong reading
	inserted := 0
	for res.Next() {
		var deliveries int64
		if err := res.Scan(&deliveries); err != nil {
			return 0, err
		}
		if deliveries == 1 {
			inserted++
		}
	}
	return inserted, res.Err()
}

// Alerts implements Store.
func (s *sqlStore) Alerts(ctx context.Context, f alert.Filter) ([]alert.Alert, error) {
	var out []alert.Alert
	err := s.EachAlert(ctx, f, func(a *alert.Alert) error {
		out = append(out, *a)
		return nil
	})
	return out, err
}

// EachAlert implements Store. The rows are read as fn takes them, so the
// memory it needs is one alert's, however many match.
func (s *sqlStore) EachAlert(ctx context.Context, f alert.Filter, fn func(*alert.Alert) error) error {
	var w where
	s.inCluster(&w)
	if err := w.timeRange("starts_at_ns", f.Since, f.Until); err != nil {
		return fmt.Errorf("store: listing alerts: %w", err)
	}
	labelsInGo := len(f.Labels) > 0 && s.d.labelsContain == ""
	if len(f.Labels) > 0 && !labelsInGo {
		want, err := json.Marshal(f.Labels)
		if err != nil {
			return fmt.Errorf("store: listing alerts: %w", err)
		}
		w.add(s.d.labelsContain, string(want))
	}
	annotations := "annotations"
	if f.NoAnnotations {
		annotations = "'{}'"
	}
	return each(ctx, s.reader, "listing alerts", w.query(`SELECT cluster, fingerprint, starts_at_ns, status, labels, `+annotations+`,
	ends_at_ns, generator_url, receiver, group_key, received_at_ns, source, deliveries, notifications
FROM alerts`, s.orderBy("starts_at_ns, fingerprint")), w.args, func(rows *sql.Rows) error {
		a, err := scanAlert(rows)
		if err != nil {
			return fmt.Errorf("store: listing alerts: %w", err)
		}
		if labelsInGo && !containsAll(a.Labels, f.Labels) {
			return nil
		}
		return fn(&a)
	})
}

// each runs a query on db and hands each row to fn, stopping at the first
// error fn returns, which it returns as is; its own errors read
// "store: " + what.
func each(ctx context.Context, db *sql.DB, what, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err reports what went wrong reading
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

func scanAlert(rows *sql.Rows) (a alert.Alert, err error) {
	var (
		status               string
		labels, annotations  string
		startsAt, receivedAt int64
		endsAt               sql.NullInt64
	)
	if err := rows.Scan(&a.Cluster, &a.Fingerprint, &startsAt, &status, &labels, &annotations,
		&endsAt, &a.GeneratorURL, &a.Receiver, &a.GroupKey, &receivedAt, &a.Source, &a.Deliveries, &a.Notifications); err != nil {
		return a, err
	}
	if a.Labels, err = decodeMap(labels); err != nil {
		return a, fmt.Errorf("alert %s: labels: %w", a.Fingerprint, err)
	}
	if a.Annotations, err = decodeMap(annotations); err != nil {
		return a, fmt.Errorf("alert %s: annotations: %w", a.Fingerprint, err)
	}
	a.Status = alert.Status(status)
	a.StartsAt, a.EndsAt, a.ReceivedAt = timeOf(startsAt), optTime(endsAt), timeOf(receivedAt)
	return a, nil
}

// list runs a query on db and returns its rows as scan converts them,
// leaving out those it does not keep; every error reads "store: " + what.
func list[T any](ctx context.Context, db *sql.DB, what, query string, args []any,
	scan func(*sql.Rows) (T, bool, error),
) ([]T, error) {
	var out []T
	err := each(ctx, db, what, query, args, func(rows *sql.Rows) error {
		v, keep, err := scan(rows)
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		if keep {
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveInventory implements Store.
func (s *sqlStore) SaveInventory(ctx context.Context, inv tracker.Inventory) error {
	if err := s.writable("saving inventory"); err != nil {
		return err
	}
	data, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("store: saving inventory: %w", err)
	}
	savedAt, err := optNanos("savedAt", inv.SavedAt)
	if err != nil {
		return fmt.Errorf("store: saving inventory: %w", err)
	}
	err = s.exec(ctx, `INSERT INTO inventory (cluster, saved_at_ns, data) VALUES ($1, $2, $3)
ON CONFLICT (cluster) DO UPDATE SET saved_at_ns = excluded.saved_at_ns, data = excluded.data`, s.cluster, savedAt, string(data))
	if err != nil {
		return fmt.Errorf("store: saving inventory: %w", err)
	}
	return nil
}

// LoadInventory implements Store.
func (s *sqlStore) LoadInventory(ctx context.Context) (tracker.Inventory, bool, error) {
	if s.cluster == AllClusters {
		return tracker.Inventory{}, false, errors.New("store: loading inventory: an inventory is one cluster's, not all clusters'")
	}
	var data string
	err := s.reader.QueryRowContext(ctx, `SELECT data FROM inventory WHERE cluster = $1`, s.cluster).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.Inventory{}, false, nil
	}
	if err != nil {
		return tracker.Inventory{}, false, fmt.Errorf("store: loading inventory: %w", err)
	}
	var inv tracker.Inventory
	if err := json.Unmarshal([]byte(data), &inv); err != nil {
		return tracker.Inventory{}, false, fmt.Errorf("store: loading inventory: stored inventory is corrupt: %w", err)
	}
	return inv, true, nil
}

// logOpened logs the store Open returns.
func logOpened(logger *slog.Logger, backend, where string) {
	logger.Info("store opened", "backend", backend, "database", where)
}
