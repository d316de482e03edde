package server

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/internal/testenv/fakeclock"
	"github.com/steadywatch/steadywatch/internal/testenv/waitfor"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// logged is a record as a handler got it, its attributes (the logger's
// too) as text.
type logged struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recordLog keeps every record logged through its handlers.
type recordLog struct {
	mu   sync.Mutex
	recs []logged
}

func (l *recordLog) find(msg string) []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logged
	for _, r := range l.recs {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

func (l *recordLog) index(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.IndexFunc(l.recs, func(r logged) bool { return r.msg == msg })
}

// The lines serve logs as it stops, as an operator reads them.
const (
	stoppingMsg = "stopping: writing what is queued, saving the inventory"
	stoppedMsg  = "stopped"
)

type recordHandler struct {
	log   *recordLog
	attrs []slog.Attr
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logged{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	h.log.recs = append(h.log.recs, rec)
	return nil
}

func (h recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recordHandler{log: h.log, attrs: append(slices.Clone(h.attrs), attrs...)}
}

func (h recordHandler) WithGroup(string) slog.Handler { return h }

// Stopping, serve says so in one Info line at once, and once stopped what
// it flushed: here three chaos events the store (locked by another
// connection) could not take before the stop, and took during it.
func TestServeLogsThatItStopsAndWhatItFlushed(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Store = filepath.Join(dir, "sw.db")
	logs := &recordLog{}
	s := startServeWith(t, cfg, fakeclock.New(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)), func(o *Options) {
		o.Logger = slog.New(recordHandler{log: logs})
	})

	// Another writer holds the database: the queue cannot be written.
	other, err := sql.Open("sqlite", cfg.Store)
	require.NoError(t, err)
	defer other.Close()
	conn, err := other.Conn(t.Context())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE")
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, s.Store.SaveEvent(t.Context(), chaos.Event{
			Kind: chaos.PodDeleted, Subject: chaos.Subject{Service: "web"},
			Object: chaos.Ref{Kind: "Pod", Namespace: "ns", Name: fmt.Sprintf("web-%d", i)},
			At:     chaos.Timestamp{Observed: time.Date(2026, 11, 21, 10, 0, i, 0, time.UTC)},
		}))
	}

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	waitfor.True(t, 10*time.Second, "the stopping line", func() bool { return len(logs.find(stoppingMsg)) > 0 })
	_, err = conn.ExecContext(t.Context(), "ROLLBACK")
	require.NoError(t, err)
	require.NoError(t, <-stopped)

	// The oracle: what the store holds, read by the test's own connection.
	var stored int
	require.NoError(t, other.QueryRowContext(t.Context(), "SELECT count(*) FROM events").Scan(&stored))
	require.Equal(t, 3, stored)

	stopping := logs.find(stoppingMsg)
	require.Len(t, stopping, 1)
	require.Equal(t, slog.LevelInfo, stopping[0].level)
	done := logs.find(stoppedMsg)
	require.Len(t, done, 1)
	require.Equal(t, slog.LevelInfo, done[0].level)
	require.Less(t, logs.index(stoppingMsg), logs.index(stoppedMsg))
	require.Equal(t, map[string]string{
		"writes_flushed": "3", "writes_dropped": "0", "verdicts_unstored": "0", "inventory_saved_at": "none",
	}, done[0].attrs, "nothing watched (no API server): no inventory")
}

// The verdicts the history failed to take until serve stopped are counted
// for the stopped line: one per hypothesis judged here.
func TestTheVerdictRunnerCountsTheVerdictsNotStoredWhenItStops(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	defer db.Close()
	hs := killPostgres(t)
	second := hs[0]
	second.Name = "kill-postgres-2"
	hs = append(hs, second)
	board := verdict.NewBoard()
	loop := &verdictLoop{
		judge: &scriptedJudge{script: []verdict.Verdict{{Result: verdict.Pass, Running: true, Score: 100}}}, hypotheses: hs,
		verdicts: board, history: &flakyHistory{Store: db, failing: true}, interval: time.Hour,
		log: slog.New(slog.DiscardHandler), now: time.Now,
	}
	r := newVerdictRunner(loop, board, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx)
	}()
	waitfor.True(t, 10*time.Second, "both judged", func() bool { return len(board.Latest()) == 2 })
	cancel()
	<-done
	require.Empty(t, history(t, db), "the store took none")
	require.Equal(t, 2, r.unstoredCount())
}

// Review finding 4 (issue 15): once the Lease is lost no inventory is
// saved: the next leader's is the one to keep.
func TestNoInventoryIsSavedOnceTheLeaseWasLost(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sw.db"), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	saves := &inventorySaves{Store: db}
	first := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	require.NoError(t, saves.SaveInventory(t.Context(), tracker.Inventory{SavedAt: first}))
	require.Equal(t, first, saves.last())

	saves.loseLease()
	err = saves.SaveInventory(t.Context(), tracker.Inventory{SavedAt: first.Add(time.Minute)})
	require.ErrorIs(t, err, errInventoryLost)
	require.Equal(t, first, saves.last())
	got, ok, err := db.LoadInventory(t.Context())
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, got.SavedAt.Equal(first), "the store holds the inventory saved after the Lease was lost: %v", got.SavedAt)
}
