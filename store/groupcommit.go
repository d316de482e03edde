package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// maxGroupAlerts bounds the alerts of one group commit, so that a burst
// queued behind a slow commit is written in transactions of a bounded
// size. A save larger than it is committed alone.
const maxGroupAlerts = 2000

// errClosed is what a save gets from a store being closed.
var errClosed = errors.New("store closed")

// alertCommitter commits SaveAlerts calls together: the saves that arrive
// while a transaction of alerts is being written and committed wait, and
// the next transaction writes them all, each with statements of its own,
// and commits them with one sync. Each save returns only once the
// transaction holding it is committed. One goroutine writes at a time, so
// SQLite's one writer is not contended and transactions of PostgreSQL do
// not lock the same alerts in different orders (each save's own statement
// is sorted; a group of them is not).
type alertCommitter struct {
	// write writes the saves in one transaction, each save's rows in
	// statements of their own, setting inserted; it reports the statement
	// and the commit errors apart.
	write func(saves []*alertSave) (stmtErr, commitErr error)
	// beforeCommit, if set, is called before each commit (tests).
	beforeCommit func(saves int)

	mu      sync.Mutex
	queue   []*alertSave
	running bool // a goroutine writes the queue
	closed  bool
	done    sync.WaitGroup
}

// alertSave is one SaveAlerts call.
type alertSave struct {
	ctx      context.Context
	rows     []alertRow
	inserted int
	err      error
	// taken is set (under alertCommitter.mu) once a transaction has it:
	// from then on it ends as that transaction does.
	taken bool
	done  chan struct{}
}

// save queues rows and waits until they are committed, or ctx ends while
// they still wait for a transaction: then nothing of them is written.
// Once a transaction has them, they are committed or not with it,
// whatever ctx does, so that the answer is always what was stored.
func (c *alertCommitter) save(ctx context.Context, rows []alertRow) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	sv := &alertSave{ctx: ctx, rows: rows, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, errClosed
	}
	c.queue = append(c.queue, sv)
	start := !c.running
	if start {
		c.running = true
		c.done.Add(1)
	}
	c.mu.Unlock()
	if start {
		go c.run()
	}
	select {
	case <-sv.done:
		return sv.inserted, sv.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	if !sv.taken {
		c.queue = slices.DeleteFunc(c.queue, func(q *alertSave) bool { return q == sv })
		c.mu.Unlock()
		return 0, ctx.Err()
	}
	c.mu.Unlock()
	<-sv.done
	return sv.inserted, sv.err
}

// run writes what is queued until nothing is.
func (c *alertCommitter) run() {
	defer c.done.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		n, alerts := 0, 0
		for n < len(c.queue) && (n == 0 || alerts+len(c.queue[n].rows) <= maxGroupAlerts) {
			alerts += len(c.queue[n].rows)
			c.queue[n].taken = true
			n++
		}
		group := slices.Clone(c.queue[:n])
		c.queue = slices.Delete(c.queue, 0, n)
		c.mu.Unlock()
		c.commit(group)
	}
}

// commit writes a group and ends each of its saves. If a statement fails,
// nothing of the group is committed, and each save is written again in a
// transaction of its own, so that the save at fault fails alone. If the
// transaction cannot begin or commit, every save of the group fails with
// it.
func (c *alertCommitter) commit(group []*alertSave) {
	stmtErr, commitErr := c.write(group)
	switch {
	case stmtErr != nil && len(group) > 1:
		for _, sv := range group {
			c.commit([]*alertSave{sv})
		}
		return
	case stmtErr != nil:
		group[0].err = stmtErr
	case commitErr != nil:
		for _, sv := range group {
			sv.err = commitErr
		}
	}
	for _, sv := range group {
		if sv.err != nil {
			sv.inserted = 0
		}
		close(sv.done)
	}
}

// close refuses further saves and waits for those queued to be written.
func (c *alertCommitter) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.done.Wait()
}

// writeAlertGroup is alertCommitter.write on the store's writer.
func (s *sqlStore) writeAlertGroup(saves []*alertSave) (stmtErr, commitErr error) {
	// The saves are taken: no one of them may cancel the others'.
	ctx, cancel := context.WithTimeout(context.Background(), txTimeout)
	defer cancel()
	// Without a writer or a transaction nothing of the group is written,
	// whichever save: the group fails together rather than each save
	// waiting its turn to fail the same way.
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close() //nolint:errcheck // returns the connection to the pool
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, sv := range saves {
		if sv.inserted, err = s.upsertRows(ctx, tx, sv.rows); err != nil {
			tx.Rollback() //nolint:errcheck,gosec // the statement's error is the one to report
			return err, nil
		}
	}
	if hook := s.alerts.beforeCommit; hook != nil {
		hook(len(saves))
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("committing %d saves: %w", len(saves), err)
	}
	return nil, nil
}
