package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
)

// The crash test's shape: crashCycles kills per store (crashCyclesEnv
// raises it: `make soak` runs 100), each after a random moment of a storm
// of crashSenders concurrent senders; crashRetryPercent of the
// notifications sent are retries of earlier ones, as Alertmanager sends
// after a failure.
const (
	crashCycles        = 20
	crashCyclesEnv     = "STEADYWATCH_CRASH_CYCLES"
	crashSenders       = 8
	crashAlertsPerNote = 10
	crashRetryPercent  = 20
	crashMinStorm      = 50 * time.Millisecond
	crashMaxStorm      = 400 * time.Millisecond
)

// crashSeedEnv, set to a number, replays the kill moments and choices of a
// logged run (the interleaving of the senders still varies).
const crashSeedEnv = "STEADYWATCH_CRASH_SEED"

// TestCrashSIGKILLDuringAWebhookStormLosesNoAcknowledgedAlertAndStoresNoHalfNotification
// kills steadywatch mid-storm, crashCycles times on each store, and checks
// after every kill that each notification answered 200 is stored whole, and
// that none is stored in part. It catches an acknowledgement sent before the
// commit (even one sent just before it, in the same handler) and a
// notification saved in more than one transaction: both were tried, and
// failed it within the first cycles. It cannot catch a commit that is not synced
// (synchronous=OFF passes): a killed process loses nothing the kernel holds,
// and only a power loss would. That is left to the store, which refuses a
// SQLite file without synchronous=FULL and sets synchronous_commit on.
func TestCrashSIGKILLDuringAWebhookStormLosesNoAcknowledgedAlertAndStoresNoHalfNotification(t *testing.T) {
	b := needBed(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, crashSeedEnv)
	}
	cycles := crashCycles
	if s := os.Getenv(crashCyclesEnv); s != "" {
		var err error
		cycles, err = strconv.Atoi(s)
		require.NoError(t, err, crashCyclesEnv)
		require.Positive(t, cycles, crashCyclesEnv)
	}
	t.Logf("seed %d (%s=%d replays it), %d cycles per store", seed, crashSeedEnv, seed, cycles)
	const ns = "crash"
	namespace(t, ns)

	t.Run("store=sqlite", func(t *testing.T) {
		crashCyclesOn(t, b.Kubeconfig(), ns, "", seed, cycles)
	})
	t.Run("store=postgres", func(t *testing.T) {
		if os.Getenv(pgtest.SkipEnv) == "1" {
			t.Skipf("%s=1", pgtest.SkipEnv)
		}
		srv, err := pgtest.Start(t.Context())
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, srv.Stop()) })
		require.NoError(t, srv.CreateDatabase(t.Context(), "crash"))
		crashCyclesOn(t, b.Kubeconfig(), ns, srv.DSN("crash"), seed+1, cycles)
	})
}

// crashCyclesOn runs cycles start-storm-SIGKILL cycles against the store
// dsn names ("": SQLite in the data directory), checking the store after
// every kill.
func crashCyclesOn(t *testing.T, kubeconfig, ns, dsn string, seed uint64, cycles int) {
	began := time.Now()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dataDir := t.TempDir()
	args := []string{"--kubeconfig", kubeconfig, "--namespace", ns, "--data-dir", dataDir}
	if dsn != "" {
		args = append(args, "--store", dsn)
	}
	l := &ledger{}
	var total cycleCounts
	for cycle := range cycles {
		l.startCycle(cycle)
		started := time.Now()
		cmd, url, _ := serveProcess(t, args...)
		webhookURL := url + receiver.Path
		waitFor(t, 30*time.Second, "the receiver to accept a notification", func() (bool, error) {
			code, err := postNotification(t.Context(), http.DefaultClient, webhookURL, emptyNotification)
			return code == http.StatusOK, err
		})
		up := time.Since(started)
		storm := time.Duration(rng.Int64N(int64(crashMaxStorm-crashMinStorm+1))) + crashMinStorm
		counts := runStorm(t, cmd, webhookURL, l, storm, rng.Uint64())
		killed := time.Now()
		sent, stored := verifyStore(t, dsn, dataDir, l, cycle)
		t.Logf("cycle %2d: accepting %3dms after the start, SIGKILL %3dms later: %3d acknowledged (%2d of them retries), "+
			"%d in flight, %d refused; of the %3d notifications sent in the cycle, %3d are stored, all whole (checked in %dms)",
			cycle+1, up.Milliseconds(), storm.Milliseconds(), counts.acked, counts.ackedRetries, counts.inFlight, counts.refused,
			sent, stored, time.Since(killed).Milliseconds())
		total.add(counts)
	}
	checked := time.Now()
	sent, stored := verifyStore(t, dsn, dataDir, l, allCycles)
	t.Logf("%d cycles in %s: %d acknowledged, %d in flight at a kill, %d refused; "+
		"%d of the %d notifications sent are stored, all whole (checked in %dms)",
		cycles, time.Since(began).Round(time.Millisecond), total.acked, total.inFlight, total.refused,
		stored, sent, time.Since(checked).Milliseconds())
	// verifyStore failed the test at the first acknowledged alert missing:
	// reaching here, none was lost.
	acked := l.acknowledgedAlerts()
	t.Logf("RELIABILITY %s: 0 of %d acknowledged alerts lost over %d SIGKILLs, %d senders",
		map[bool]string{true: "sqlite", false: "postgres"}[dsn == ""], acked, cycles, crashSenders)
	require.Positive(t, total.acked, "no notification was ever acknowledged: the storm never reached the store")
	require.Positive(t, total.inFlight, "no request was ever cut off by a kill: the kills missed the storm")
	require.Zero(t, total.refused, "the receiver refused notifications it should have stored")
}

// sentNotification is one notification and what became of it.
type sentNotification struct {
	// n numbers notifications in the order they were made.
	n int64
	// lastSent is the cycle it was last sent in.
	lastSent int
	body     []byte
	alerts   []alert.Alert // as the store should return them, ReceivedAt aside
	// acked is set once it was answered 200 (then it must be stored),
	// unknown when a request for it was cut off.
	acked, unknown bool
}

// ledger records every notification sent, across cycles.
type ledger struct {
	mu    sync.Mutex
	cycle int
	notes []*sentNotification
}

func (l *ledger) startCycle(cycle int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cycle = cycle
}

// next returns a notification to send: a retry of one sent before (acknowledged
// or cut off) with probability crashRetryPercent, else a new one.
func (l *ledger) next(rng *rand.Rand) (note *sentNotification, retry bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notes) > 0 && rng.IntN(100) < crashRetryPercent {
		if n := l.notes[rng.IntN(len(l.notes))]; n.acked || n.unknown {
			n.lastSent = l.cycle
			return n, true
		}
	}
	note = newNotification(int64(len(l.notes)))
	note.lastSent = l.cycle
	l.notes = append(l.notes, note)
	return note, false
}

// acknowledgedAlerts counts the alerts of the notifications answered 200.
func (l *ledger) acknowledgedAlerts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, note := range l.notes {
		if note.acked {
			n += len(note.alerts)
		}
	}
	return n
}

func (l *ledger) record(note *sentNotification, f func(*sentNotification)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(note)
}

type cycleCounts struct{ acked, ackedRetries, inFlight, refused int }

func (c *cycleCounts) add(o cycleCounts) {
	c.acked += o.acked
	c.ackedRetries += o.ackedRetries
	c.inFlight += o.inFlight
	c.refused += o.refused
}

// runStorm posts notifications from crashSenders goroutines until storm has
// passed, SIGKILLs cmd, and returns once every sender knows how its last
// request ended.
func runStorm(t *testing.T, cmd *exec.Cmd, url string, l *ledger, storm time.Duration, seed uint64) cycleCounts {
	t.Helper()
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: crashSenders},
	}
	defer client.CloseIdleConnections()
	var (
		killed atomic.Bool
		mu     sync.Mutex
		counts cycleCounts
		wg     sync.WaitGroup
	)
	for i := range crashSenders {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			for !killed.Load() {
				note, retry := l.next(rng)
				code, err := postNotification(context.WithoutCancel(t.Context()), client, url, note.body)
				mu.Lock()
				switch {
				case err != nil:
					counts.inFlight++
					l.record(note, func(n *sentNotification) { n.unknown = true })
				case code == http.StatusOK:
					counts.acked++
					if retry {
						counts.ackedRetries++
					}
					l.record(note, func(n *sentNotification) { n.acked = true })
				default:
					counts.refused++
					t.Errorf("notification refused with %d", code)
				}
				mu.Unlock()
			}
		})
	}
	timer := time.NewTimer(storm)
	<-timer.C
	killed.Store(true)
	require.NoError(t, cmd.Process.Kill())
	err := cmd.Wait()
	exit, ok := err.(*exec.ExitError) //nolint:errorlint // Wait returns *exec.ExitError itself
	require.True(t, ok && exit.String() == "signal: killed", "steadywatch died of the SIGKILL, not before it: %v", err)
	wg.Wait()
	return counts
}

// postNotification posts body as Alertmanager does and returns the status.
func postNotification(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.25.0")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	// As Alertmanager's webhook notifier: the status line is the answer; the
	// body is drained, and a body cut off by the kill does not undo a 200.
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

var emptyNotification = []byte(`{"version":"4","receiver":"steadywatch","status":"firing","alerts":[],` +
	`"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","groupKey":"{}:{}","truncatedAlerts":0}`)

// crashEpoch is the start of the first notification's first alert.
var crashEpoch = time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)

// newNotification returns notification n: crashAlertsPerNote alerts no other
// notification has (fingerprint and startsAt both unique), a third of them
// resolved, in the JSON Alertmanager sends.
func newNotification(n int64) *sentNotification {
	const (
		rcv      = "steadywatch"
		groupKey = `{}/{severity="page"}:{alertname="CrashTest"}`
	)
	msg := webhook.Message{
		Data: &template.Data{
			Receiver: rcv, Status: "firing",
			GroupLabels:       template.KV{"alertname": "CrashTest"},
			CommonLabels:      template.KV{"alertname": "CrashTest", "severity": "page"},
			CommonAnnotations: template.KV{},
			ExternalURL:       "http://alertmanager:9093",
		},
		Version: receiver.Version, GroupKey: groupKey,
	}
	note := &sentNotification{n: n}
	for i := range int64(crashAlertsPerNote) {
		a := alert.Alert{
			Fingerprint: fmt.Sprintf("%012x%04x", n, i),
			Status:      alert.Firing,
			Labels: map[string]string{
				"alertname": "CrashTest", "severity": "page", "service": "checkout", "namespace": "shop",
				"instance": fmt.Sprintf("10.%d.%d.%d:8080", n/65536%256, n/256%256, n%256), "alert": strconv.FormatInt(i, 10),
			},
			Annotations:  map[string]string{"summary": fmt.Sprintf("notification %d, alert %d", n, i)},
			StartsAt:     noteStart(n).Add(time.Duration(i) * time.Millisecond),
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&n=" + strconv.FormatInt(n, 10),
			Receiver:     rcv,
			GroupKey:     groupKey,
			Source:       receiver.Source,
		}
		if i%3 == 0 {
			a.Status = alert.Resolved
			a.EndsAt = a.StartsAt.Add(90 * time.Second)
		}
		note.alerts = append(note.alerts, a)
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status: string(a.Status), Labels: a.Labels, Annotations: a.Annotations,
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint,
		})
	}
	body, err := json.Marshal(msg)
	if err != nil {
		panic(err) // strings, maps and times always marshal
	}
	note.body = body
	return note
}

// allCycles has verifyStore check every notification ever sent.
const allCycles = -1

// verifyStore opens the store as steadywatch would and checks the
// notifications last sent in cycle (or all of them): every acknowledged one
// is there with all its alerts intact, every other one is there whole or not
// at all, and nothing else is stored among them. It returns how many it
// checked and how many are stored.
func verifyStore(t *testing.T, dsn, dataDir string, l *ledger, cycle int) (sent, stored int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var notes []*sentNotification
	for _, note := range l.notes {
		if cycle == allCycles || note.lastSent == cycle {
			notes = append(notes, note)
		}
	}
	db, err := store.Open(t.Context(), dsn, store.Options{DataDir: dataDir})
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	type key struct {
		fingerprint string
		startsAt    int64
	}
	found := map[key]alert.Alert{}
	// Notification n's alerts start within second n after crashEpoch: read
	// the alerts of each run of consecutive notifications in one query.
	for i := 0; i < len(notes); {
		j := i + 1
		for j < len(notes) && notes[j].n == notes[j-1].n+1 {
			j++
		}
		f := alert.Filter{Since: noteStart(notes[i].n), Until: noteStart(notes[j-1].n + 1)}
		if cycle == allCycles {
			f = alert.Filter{} // everything, to find what was never sent
		}
		alerts, err := db.Alerts(t.Context(), f)
		require.NoError(t, err)
		for _, a := range alerts {
			k := key{a.Fingerprint, a.StartsAt.UnixNano()}
			if _, twice := found[k]; twice {
				t.Fatalf("stored twice: %s %s", a.Fingerprint, a.StartsAt)
			}
			found[k] = a
		}
		if cycle == allCycles {
			break
		}
		i = j
	}
	for _, note := range notes {
		var got []alert.Alert
		for _, want := range note.alerts {
			k := key{want.Fingerprint, want.StartsAt.UnixNano()}
			if a, ok := found[k]; ok {
				got = append(got, a)
				delete(found, k)
			}
		}
		switch {
		case note.acked && len(got) < len(note.alerts):
			t.Fatalf("notification %d was acknowledged (200) but only %d of its %d alerts are stored", note.n, len(got), len(note.alerts))
		case len(got) == 0:
			continue
		case len(got) < len(note.alerts):
			t.Fatalf("notification %d is half stored: %d of its %d alerts", note.n, len(got), len(note.alerts))
		}
		for i, a := range got {
			require.False(t, a.ReceivedAt.IsZero(), "notification %d alert %d: receivedAt", note.n, i)
			// Each notification sends its own alerts once; one sent again
			// after a crash counts again. All came by the webhook.
			require.GreaterOrEqual(t, a.Deliveries, 1, "notification %d alert %d: deliveries", note.n, i)
			require.Equal(t, a.Deliveries, a.Notifications, "notification %d alert %d: every receipt a webhook notification", note.n, i)
			a.ReceivedAt, a.Deliveries, a.Notifications = time.Time{}, 0, 0
			require.Equal(t, note.alerts[i], a, "notification %d alert %d", note.n, i)
		}
		stored++
	}
	require.Empty(t, found, "alerts stored that were never sent")
	return len(notes), stored
}

// noteStart is when notification n's first alert starts.
func noteStart(n int64) time.Time { return crashEpoch.Add(time.Duration(n) * time.Second) }
