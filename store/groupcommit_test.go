package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
)

// groupDB is a database for the group commit tests: the DSN the store
// opens, and an oracle that reads it over a connection of its own, so
// that what it sees is what was committed, whatever the store says.
type groupDB struct {
	dsn    string
	oracle *sql.DB
}

// poison makes the database refuse to insert an alert of fingerprint
// "poison", as a constraint would.
const poison = `CREATE TRIGGER poison BEFORE INSERT ON alerts WHEN NEW.fingerprint = 'poison'
	BEGIN SELECT RAISE(ABORT, 'poisoned alert'); END`

// newGroupDB is a SQLite database for the group commit tests, SQLite's
// the one store that commits saves together.
func newGroupDB(t *testing.T) groupDB {
	path := filepath.Join(t.TempDir(), "steadywatch.db")
	oracle, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, oracle.Close()) })
	return groupDB{dsn: "sqlite://" + path, oracle: oracle}
}

// stored is how many times each of fingerprints is stored, and how many
// notifications each counts, as the oracle reads them.
func (g groupDB) stored(t *testing.T, fingerprints ...string) (rows, notifications map[string]int) {
	rows, notifications, err := g.read(t.Context(), fingerprints...)
	require.NoError(t, err)
	return rows, notifications
}

// read is stored for a goroutine other than the test's, which may not
// end the test.
func (g groupDB) read(ctx context.Context, fingerprints ...string) (rows, notifications map[string]int, err error) {
	rows, notifications = map[string]int{}, map[string]int{}
	for _, fp := range fingerprints {
		var n, notes int
		if err := g.oracle.QueryRowContext(context.WithoutCancel(ctx),
			"SELECT count(*), coalesce(sum(notifications), 0) FROM alerts WHERE fingerprint = $1", fp).Scan(&n, &notes); err != nil {
			return nil, nil, fmt.Errorf("the oracle reading %s: %w", fp, err)
		}
		rows[fp], notifications[fp] = n, notes
	}
	return rows, notifications, nil
}

func openGroupStore(t *testing.T, g groupDB) store.Store {
	s, err := store.Open(t.Context(), g.dsn, store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// gate holds the first commit until it is opened, and records the size
// of every commit.
type gate struct {
	open    chan struct{}
	blocked chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func newGate() *gate {
	return &gate{open: make(chan struct{}), blocked: make(chan struct{})}
}

func (g *gate) hook(saves int) {
	g.mu.Lock()
	g.sizes = append(g.sizes, saves)
	first := len(g.sizes) == 1
	g.mu.Unlock()
	if first {
		close(g.blocked)
		<-g.open
	}
}

func (g *gate) commits() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// waitQueued waits until n saves wait for a commit.
func waitQueued(t *testing.T, s store.Store, n int) {
	require.Eventually(t, func() bool { return store.QueuedAlertSaves(s) == n }, 30*time.Second, time.Millisecond,
		"%d saves should be waiting for the blocked commit", n)
}

// notificationBody is webhook notification i: alert n-i of its own and
// alert "shared", which every notification carries.
func notificationBody(t *testing.T, i int) []byte {
	a := func(fp string) template.Alert {
		return template.Alert{
			Status: "firing", Labels: template.KV{"alertname": "A", "fp": fp},
			StartsAt: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), Fingerprint: fp,
		}
	}
	body, err := json.Marshal(webhook.Message{
		Data: &template.Data{
			Receiver: "steadywatch", Status: "firing",
			Alerts: template.Alerts{a(fmt.Sprintf("n-%d", i)), a("shared")},
		},
		Version: receiver.Version, GroupKey: "{}:{}",
	})
	require.NoError(t, err)
	return body
}

// TestConcurrentNotificationsAreStoredOnceAndAnsweredAfterTheirCommit posts
// notifications while a commit is held: those that arrive meanwhile are
// committed together, in one commit after it, and none is answered before
// its commit, which the oracle checks by reading the alerts of each as
// soon as it is answered 200.
func TestConcurrentNotificationsAreStoredOnceAndAnsweredAfterTheirCommit(t *testing.T) {
	const senders = 12
	g := newGroupDB(t)
	s := openGroupStore(t, g)
	gt := newGate()
	store.BlockAlertCommits(s, gt.hook)
	rcv, err := receiver.New(receiver.Options{Sink: s, Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)

	type answer struct {
		i      int
		status int
		body   string
		rows   map[string]int // the oracle's reading right after the answer
	}
	answers := make(chan answer, senders)
	post := func(i int) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+receiver.Path, bytes.NewReader(notificationBody(t, i)))
		if err != nil {
			answers <- answer{i: i, body: err.Error()}
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{i: i, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		rows, _, err := g.read(t.Context(), fmt.Sprintf("n-%d", i), "shared")
		if err != nil {
			answers <- answer{i: i, body: err.Error()}
			return
		}
		answers <- answer{i: i, status: resp.StatusCode, body: string(body), rows: rows}
	}
	go post(0)
	<-gt.blocked // notification 0 is being committed
	for i := 1; i < senders; i++ {
		go post(i)
	}
	waitQueued(t, s, senders-1)
	require.Empty(t, answers, "answered while its commit was held")
	rows, _ := g.stored(t, "n-0", "shared")
	require.Equal(t, map[string]int{"n-0": 0, "shared": 0}, rows, "visible before the commit")
	close(gt.open)

	fps := []string{"shared"}
	for range senders {
		a := <-answers
		require.Equal(t, http.StatusOK, a.status, "notification %d: %s", a.i, a.body)
		require.Equal(t, map[string]int{fmt.Sprintf("n-%d", a.i): 1, "shared": 1}, a.rows,
			"notification %d answered 200 before its alerts were committed", a.i)
		fps = append(fps, fmt.Sprintf("n-%d", a.i))
	}
	require.Equal(t, []int{1, senders - 1}, gt.commits(), "the notifications queued behind the first are committed together")
	rows, notes := g.stored(t, fps...)
	for _, fp := range fps {
		require.Equal(t, 1, rows[fp], "%s is stored once", fp)
	}
	require.Equal(t, senders, notes["shared"], "each notification of the shared alert is counted")
}

type saveResult struct {
	i        int
	inserted int
	err      error
}

func saveAsync(ctx context.Context, s store.Store, i int, alerts []alert.Alert, out chan<- saveResult) {
	go func() {
		n, err := s.SaveAlerts(ctx, alerts)
		out <- saveResult{i: i, inserted: n, err: err}
	}()
}

func groupAlert(fp string) alert.Alert {
	return alert.Alert{
		Fingerprint: fp, Status: alert.Firing, Labels: map[string]string{"alertname": "A"},
		StartsAt: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), Source: alert.SourceWebhook,
	}
}

// TestASaveTheDatabaseRefusesFailsAloneInItsGroupCommit: of the saves
// committed together, the one whose insert the database refuses fails, and
// stores nothing; the others are stored, each with what it inserted.
func TestASaveTheDatabaseRefusesFailsAloneInItsGroupCommit(t *testing.T) {
	const saves = 6
	g := newGroupDB(t)
	s := openGroupStore(t, g)
	_, err := g.oracle.ExecContext(t.Context(), poison)
	require.NoError(t, err)
	// SQLite prepares a statement for each number of alerts on the
	// writer's connection, which the held commit holds.
	_, err = s.SaveAlerts(t.Context(), []alert.Alert{groupAlert("warm-1"), groupAlert("warm-2"), groupAlert("warm-3")})
	require.NoError(t, err)
	gt := newGate()
	store.BlockAlertCommits(s, gt.hook)
	results := make(chan saveResult, saves)
	saveAsync(t.Context(), s, 0, []alert.Alert{groupAlert("s-0"), groupAlert("s-0b")}, results)
	<-gt.blocked
	for i := 1; i < saves; i++ {
		alerts := []alert.Alert{groupAlert(fmt.Sprintf("s-%d", i)), groupAlert("common")}
		if i == 3 {
			alerts = append(alerts, groupAlert("poison"))
		}
		saveAsync(t.Context(), s, i, alerts, results)
	}
	waitQueued(t, s, saves-1)
	close(gt.open)

	inserted := 0
	for range saves {
		r := <-results
		if r.i == 3 {
			require.ErrorContains(t, r.err, "poisoned alert")
			continue
		}
		require.NoError(t, r.err, "save %d", r.i)
		inserted += r.inserted
	}
	require.Equal(t, saves+1, inserted, "s-0, s-0b, s-1, s-2, s-4, s-5 and common once")
	rows, notes := g.stored(t, "s-0", "s-1", "s-2", "s-3", "s-4", "s-5", "common", "poison")
	require.Equal(t, map[string]int{"s-0": 1, "s-1": 1, "s-2": 1, "s-3": 0, "s-4": 1, "s-5": 1, "common": 1, "poison": 0}, rows)
	require.Equal(t, saves-2, notes["common"], "saved by 4 saves that succeeded")
}

// TestACancelledSaveLeavesItsGroupCommit: a save cancelled while it waits
// for a commit returns at once, stores nothing, and takes nothing from the
// others; one cancelled after its commit started is committed all the same
// and says so, since its alerts are stored.
func TestACancelledSaveLeavesItsGroupCommit(t *testing.T) {
	g := newGroupDB(t)
	s := openGroupStore(t, g)
	gt := newGate()
	store.BlockAlertCommits(s, gt.hook)
	results := make(chan saveResult, 4)
	committing, cancelCommitting := context.WithCancel(t.Context())
	defer cancelCommitting()
	saveAsync(committing, s, 0, []alert.Alert{groupAlert("c-0")}, results)
	<-gt.blocked
	waiting, cancelWaiting := context.WithCancel(t.Context())
	defer cancelWaiting()
	saveAsync(t.Context(), s, 1, []alert.Alert{groupAlert("c-1")}, results)
	saveAsync(waiting, s, 2, []alert.Alert{groupAlert("c-2")}, results)
	saveAsync(t.Context(), s, 3, []alert.Alert{groupAlert("c-3")}, results)
	waitQueued(t, s, 3)

	cancelWaiting()
	r := <-results // while the first commit is still held
	require.Equal(t, 2, r.i, "only the cancelled save returns before the commit")
	require.ErrorIs(t, r.err, context.Canceled)
	waitQueued(t, s, 2)
	cancelCommitting()
	require.Empty(t, results, "a save being committed returns only once committed")

	close(gt.open)
	got := map[int]error{}
	for range 3 {
		r := <-results
		got[r.i] = r.err
	}
	require.Equal(t, map[int]error{0: nil, 1: nil, 3: nil}, got)
	rows, _ := g.stored(t, "c-0", "c-1", "c-2", "c-3")
	require.Equal(t, map[string]int{"c-0": 1, "c-1": 1, "c-2": 0, "c-3": 1}, rows)
	require.Equal(t, []int{1, 2}, gt.commits())
}

// saveAlertsOf is a save of n alerts of fingerprints prefix-0 …
func saveAlertsOf(prefix string, n int) []alert.Alert {
	alerts := make([]alert.Alert, n)
	for i := range alerts {
		alerts[i] = groupAlert(fmt.Sprintf("%s-%d", prefix, i))
	}
	return alerts
}

// receive is the next result, within a deadline: a save that never
// returns fails the test rather than hang it.
func receive(t *testing.T, results <-chan saveResult) saveResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(30 * time.Second):
		require.FailNow(t, "a save did not return within 30 s")
		return saveResult{}
	}
}

// countAlerts is how many alerts the oracle reads.
func (g groupDB) countAlerts(t *testing.T) int {
	var n int
	require.NoError(t, g.oracle.QueryRowContext(t.Context(), "SELECT count(*) FROM alerts").Scan(&n))
	return n
}

// TestAGroupCommitHoldsAtMostMaxGroupAlerts: the saves queued behind a
// commit are committed together up to maxGroupAlerts alerts, the limit
// included; one alert more and the last save waits for a commit of its
// own.
func TestAGroupCommitHoldsAtMostMaxGroupAlerts(t *testing.T) {
	const perSave = 100
	require.Zero(t, store.MaxGroupAlerts%perSave)
	saves := store.MaxGroupAlerts / perSave
	for _, tc := range []struct {
		name    string
		last    int // the alerts of the last save queued
		commits []int
	}{
		{"saves of just maxGroupAlerts alerts are one commit", perSave, []int{1, saves}},
		{"one alert more splits them in two", perSave + 1, []int{1, saves - 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroupDB(t)
			s := openGroupStore(t, g)
			// The statements of 100 alerts and of 1, which 101 need too,
			// prepared before the writer is held.
			_, err := s.SaveAlerts(t.Context(), saveAlertsOf("warm", perSave+1))
			require.NoError(t, err)
			gt := newGate()
			store.BlockAlertCommits(s, gt.hook)
			results := make(chan saveResult, saves+1)
			saveAsync(t.Context(), s, 0, saveAlertsOf("first", 1), results)
			<-gt.blocked
			for i := 1; i <= saves; i++ {
				n := perSave
				if i == saves {
					n = tc.last
				}
				saveAsync(t.Context(), s, i, saveAlertsOf(fmt.Sprintf("s%d", i), n), results)
				waitQueued(t, s, i) // in this order
			}
			close(gt.open)
			inserted := 0
			for range saves + 1 {
				r := receive(t, results)
				require.NoError(t, r.err, "save %d", r.i)
				inserted += r.inserted
			}
			total := 1 + (saves-1)*perSave + tc.last
			require.Equal(t, total, inserted)
			require.Equal(t, total+perSave+1, g.countAlerts(t), "every alert saved, the warm-up's too")
			require.Equal(t, tc.commits, gt.commits())
		})
	}
}

// dangling makes the database refuse to commit a transaction that
// inserted an alert of fingerprint "dangling": it adds a row whose
// deferred foreign key is checked, and fails, at the commit.
const dangling = `CREATE TABLE commit_parent (id INTEGER PRIMARY KEY);
CREATE TABLE commit_child (parent INTEGER REFERENCES commit_parent (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER dangling AFTER INSERT ON alerts WHEN NEW.fingerprint = 'dangling'
	BEGIN INSERT INTO commit_child VALUES (1); END`

// TestEverySaveOfAGroupCommitThatFailsFails: when the commit of a group
// fails, every save in it gets the error and none says it saved anything,
// since nothing of them is stored; the store then saves on.
func TestEverySaveOfAGroupCommitThatFailsFails(t *testing.T) {
	const saves = 5
	g := newGroupDB(t)
	s := openGroupStore(t, g)
	_, err := g.oracle.ExecContext(t.Context(), dangling)
	require.NoError(t, err)
	for n := 1; n <= 3; n++ { // the statements the saves need, prepared
		_, err := s.SaveAlerts(t.Context(), saveAlertsOf(fmt.Sprintf("warm%d", n), n))
		require.NoError(t, err)
	}
	gt := newGate()
	store.BlockAlertCommits(s, gt.hook)
	results := make(chan saveResult, saves)
	saveAsync(t.Context(), s, 0, []alert.Alert{groupAlert("f-0")}, results)
	<-gt.blocked
	fps := []string{"common", "dangling"}
	for i := 1; i < saves; i++ {
		fp := fmt.Sprintf("f-%d", i)
		fps = append(fps, fp)
		alerts := []alert.Alert{groupAlert(fp), groupAlert("common")}
		if i == 2 {
			alerts = append(alerts, groupAlert("dangling"))
		}
		saveAsync(t.Context(), s, i, alerts, results)
	}
	waitQueued(t, s, saves-1)
	close(gt.open)
	for range saves {
		r := receive(t, results)
		if r.i == 0 {
			require.NoError(t, r.err, "the commit before")
			require.Equal(t, 1, r.inserted)
			continue
		}
		require.ErrorContains(t, r.err, "FOREIGN KEY constraint failed", "save %d", r.i)
		require.Zero(t, r.inserted, "save %d of the commit that failed", r.i)
	}
	require.Equal(t, []int{1, saves - 1}, gt.commits())
	rows, _ := g.stored(t, fps...)
	for _, fp := range fps {
		require.Zero(t, rows[fp], "%s is stored, its commit failed", fp)
	}

	n, err := s.SaveAlerts(t.Context(), []alert.Alert{groupAlert("after"), groupAlert("common")})
	require.NoError(t, err, "a save after the commit that failed")
	require.Equal(t, 2, n)
	rows, _ = g.stored(t, "after", "common", "f-0")
	require.Equal(t, map[string]int{"after": 1, "common": 1, "f-0": 1}, rows)
}

// TestClosingTheStoreEndsEverySaveQueued: Close, while saves wait for a
// held commit, refuses new saves at once, and returns once the queued ones
// are committed; each save either says it saved, and its alerts are
// stored, or fails, and none of them are: none is answered and lost, none
// hangs. One of a size not prepared yet waits for the writer to prepare
// its statement when Close begins: it may end either way.
func TestClosingTheStoreEndsEverySaveQueued(t *testing.T) {
	const queued = 5
	g := newGroupDB(t)
	s, err := store.Open(t.Context(), g.dsn, store.Options{})
	require.NoError(t, err)
	_, err = s.SaveAlerts(t.Context(), saveAlertsOf("warm", 1))
	require.NoError(t, err)
	gt := newGate()
	store.BlockAlertCommits(s, gt.hook)
	results := make(chan saveResult, queued+3)
	alerts := map[int][]alert.Alert{0: saveAlertsOf("q0", 1)}
	saveAsync(t.Context(), s, 0, alerts[0], results)
	<-gt.blocked
	for i := 1; i <= queued; i++ {
		alerts[i] = saveAlertsOf(fmt.Sprintf("q%d", i), 1)
		saveAsync(t.Context(), s, i, alerts[i], results)
	}
	waitQueued(t, s, queued)
	const unprepared = queued + 1
	alerts[unprepared] = saveAlertsOf("unprepared", 7)
	saveAsync(t.Context(), s, unprepared, alerts[unprepared], results)

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	require.Eventually(t, func() bool { return store.AlertCommitsClosed(s) }, 30*time.Second, time.Millisecond)
	const late = queued + 2
	alerts[late] = saveAlertsOf("late", 1)
	saveAsync(t.Context(), s, late, alerts[late], results)
	r := receive(t, results)
	require.Equal(t, late, r.i, "only the save after Close returns before the held commit")
	require.ErrorContains(t, r.err, "store closed")
	require.Empty(t, closed, "Close returned before the saves queued were committed")

	close(gt.open)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		require.FailNow(t, "Close did not return within 30 s of the commit's release")
	}
	got := map[int]saveResult{late: r}
	for range queued + 2 {
		r := receive(t, results)
		got[r.i] = r
	}
	for i, r := range got {
		fps := make([]string, len(alerts[i]))
		for j, a := range alerts[i] {
			fps[j] = a.Fingerprint
		}
		rows, _ := g.stored(t, fps...)
		want := 1
		if r.err != nil {
			want = 0
			require.Zero(t, r.inserted, "save %d failed", i)
		} else {
			require.Equal(t, len(fps), r.inserted, "save %d", i)
		}
		for _, fp := range fps {
			require.Equal(t, want, rows[fp], "save %d (%v): %s", i, r.err, fp)
		}
		if i <= queued {
			require.NoError(t, r.err, "save %d, queued before Close, is committed", i)
		}
	}
	t.Logf("the save of a statement not prepared when Close began: %v", got[unprepared].err)
}
