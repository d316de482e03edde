// Package ingest benchmarks durable webhook ingest end to end: real HTTP
// requests to a receiver.Receiver whose sink is a real store, SQLite or a
// PostgreSQL started by pgtest, against the raw insert rate of the same
// driver with the same durability settings.
//
// It is a package of its own, rather than benchmarks in receiver, because it
// joins receiver, store and both database drivers, and needs a TestMain
// (pgtest.Main) that the receiver's unit tests have no use for.
package ingest

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
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/receiver"
	"github.com/steadywatch/steadywatch/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// alertsPerNotification is what a notification typically carries.
const alertsPerNotification = 10

// rawFor is how long the raw insert rate is measured before each ingest run.
const rawFor = 2 * time.Second

// pacedRate and pacedFor shape the latency run: 100 notifications/s of 10
// alerts is 1,000 alerts/s.
const (
	pacedRate = 100
	pacedFor  = 10 * time.Second
)

type backend struct {
	name string
	// dsn returns a new, empty database.
	dsn func(b *testing.B) string
	// raw opens the database as the store does, durability settings
	// included, for the raw inserts.
	raw func(b *testing.B, dsn string) *sql.DB
	// numbered is whether the driver wants $1 rather than ? placeholders.
	numbered bool
}

var backends = []backend{
	{
		name: "db=sqlite",
		dsn:  func(b *testing.B) string { return filepath.Join(b.TempDir(), "ingest.db") },
		raw:  rawSQLite,
	},
	{
		name:     "db=postgres",
		dsn:      func(b *testing.B) string { return pgtest.New(b) },
		raw:      rawPostgres,
		numbered: true,
	},
}

// BenchmarkIngest posts notifications of 10 new alerts each from concurrent
// senders, over HTTP on loopback, to a receiver storing them durably, and
// reports alerts/s. Right before, on a database of its own, it measures the
// raw insert rate of the same driver with the same durability settings
// (single-row INSERTs, one transaction per notification, one at a time, as
// store's BenchmarkRawInsert) and reports the ratio.
func BenchmarkIngest(b *testing.B) {
	for _, be := range backends {
		for _, senders := range []int{1, 4, 8} {
			b.Run(fmt.Sprintf("%s/senders=%d", be.name, senders), func(b *testing.B) {
				raw := rawInsertRate(b, be)
				url := ingestServer(b, be.dsn(b))
				client := newClient(senders)
				var (
					next   atomic.Int64
					jobs   = make(chan struct{})
					wg     sync.WaitGroup
					acked  atomic.Int64
					failed atomic.Bool
				)
				for range senders {
					wg.Go(func() {
						for range jobs {
							err := post(b.Context(), client, url, notification(next.Add(1)))
							switch {
							case err == nil:
								acked.Add(alertsPerNotification)
							case !failed.Swap(true): // the first error tells; the loop must go on
								b.Error(err)
							}
						}
					})
				}
				start := time.Now()
				for b.Loop() {
					jobs <- struct{}{}
				}
				close(jobs)
				wg.Wait()
				// The last notifications handed out are stored only now.
				rate := float64(acked.Load()) / time.Since(start).Seconds()
				b.ReportMetric(rate, "alerts/s")
				b.ReportMetric(raw, "raw-alerts/s")
				b.ReportMetric(rate/raw, "x-raw")
			})
		}
	}
}

// BenchmarkIngestLatency posts 100 notifications of 10 alerts a second
// (1,000 alerts/s) for 10 s, each at its scheduled time whether or not
// earlier ones were answered (open loop), and reports the latency from the
// scheduled time to the end of the response, so that a stall delays, and
// counts against, every notification due during it.
func BenchmarkIngestLatency(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			url := ingestServer(b, be.dsn(b))
			client := newClient(64)
			var latencies []time.Duration
			for b.Loop() {
				latencies = paced(b, client, url)
			}
			slices.Sort(latencies)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
			b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
			b.ReportMetric(float64(len(latencies)*alertsPerNotification)/pacedFor.Seconds(), "alerts/s")
		})
	}
}

// paced sends pacedRate notifications a second for pacedFor and returns each
// one's latency from its scheduled time.
func paced(b *testing.B, client *http.Client, url string) []time.Duration {
	n := int(pacedFor.Seconds() * pacedRate)
	interval := time.Second / pacedRate
	latencies := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Go(func() {
			if err := post(b.Context(), client, url, notification(int64(i))); err != nil {
				b.Error(err)
			}
			latencies[i] = time.Since(due)
		})
	}
	wg.Wait()
	return latencies
}

func percentile(sorted []time.Duration, p int) time.Duration {
	return sorted[(len(sorted)*p+99)/100-1]
}

// ingestServer serves a receiver storing into a new store on dsn.
func ingestServer(b *testing.B, dsn string) string {
	b.Helper()
	db, err := store.Open(b.Context(), dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	rcv, err := receiver.New(receiver.Options{
		Sink: db, Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(rcv)
	b.Cleanup(srv.Close)
	return srv.URL + receiver.Path
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns},
	}
}

// post sends body as Alertmanager does and fails unless it was stored.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	return nil
}

var epoch = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// notification returns notification n as Alertmanager would send it, with
// alertsPerNotification alerts no other notification has.
func notification(n int64) []byte {
	const groupKey = `{}/{severity="page"}:{alertname="HighErrorRate"}`
	msg := webhook.Message{
		Data: &template.Data{
			Receiver: "steadywatch", Status: "firing",
			GroupLabels:       template.KV{"alertname": "HighErrorRate"},
			CommonLabels:      template.KV{"alertname": "HighErrorRate", "service": "api", "namespace": "shop", "severity": "page"},
			CommonAnnotations: template.KV{"runbook_url": "https://runbooks/high-error-rate"},
			ExternalURL:       "http://alertmanager:9093",
		},
		Version: receiver.Version, GroupKey: groupKey,
	}
	for i := range int64(alertsPerNotification) {
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status: "firing",
			Labels: template.KV{
				"alertname": "HighErrorRate", "service": "api", "namespace": "shop", "severity": "page",
				"group": "experimental", "instance": fmt.Sprintf("10.%d.%d.%d:8080", n/256%256, n%256, i),
			},
			Annotations:  template.KV{"summary": "error ratio above 1% for 5m", "runbook_url": "https://runbooks/high-error-rate"},
			StartsAt:     epoch.Add(time.Duration(n)*time.Second + time.Duration(i)*time.Millisecond),
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=job%3Aerrors%3Aratio5m+%3E+0.01",
			Fingerprint:  fmt.Sprintf("%012x%04x", n, i),
		})
	}
	body, err := json.Marshal(msg)
	if err != nil {
		panic(err) // strings, maps and times always marshal
	}
	return body
}

// rawInsertRate inserts the rows notifications would store, for rawFor, as
// single-row INSERTs, one transaction of alertsPerNotification rows at a
// time, on a new database opened with the store's durability settings, and
// returns the rate in alerts/s.
func rawInsertRate(b *testing.B, be backend) float64 {
	b.Helper()
	dsn := be.dsn(b)
	migrated, err := store.Open(b.Context(), dsn, store.Options{}) // the schema
	if err != nil {
		b.Fatal(err)
	}
	if err := migrated.Close(); err != nil {
		b.Fatal(err)
	}
	db := be.raw(b, dsn)
	params := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
	if be.numbered {
		params = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11"
	}
	stmt, err := db.PrepareContext(b.Context(), `INSERT INTO alerts (fingerprint, starts_at_ns, status, labels, annotations,
	ends_at_ns, generator_url, receiver, group_key, received_at_ns, source) VALUES (`+params+")")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	labels := `{"alertname":"HighErrorRate","group":"experimental","instance":"10.0.0.0:8080","namespace":"shop","service":"api","severity":"page"}`
	annotations := `{"runbook_url":"https://runbooks/high-error-rate","summary":"error ratio above 1% for 5m"}`
	var n int64
	start := time.Now()
	for time.Since(start) < rawFor {
		tx, err := db.BeginTx(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		txStmt := tx.StmtContext(b.Context(), stmt)
		for i := range int64(alertsPerNotification) {
			startsAt := epoch.Add(time.Duration(n)*time.Second + time.Duration(i)*time.Millisecond)
			if _, err := txStmt.ExecContext(b.Context(), fmt.Sprintf("%012x%04x", n, i), startsAt.UnixNano(), "firing",
				labels, annotations, nil, "http://prometheus:9090/graph?g0.expr=job%3Aerrors%3Aratio5m+%3E+0.01",
				"steadywatch", `{}/{severity="page"}:{alertname="HighErrorRate"}`, time.Now().UnixNano(), receiver.Source); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return float64(n*alertsPerNotification) / time.Since(start).Seconds()
}

// rawSQLite opens the file as the store's writer does: WAL,
// synchronous=FULL, BEGIN IMMEDIATE, one connection; and checks that those
// settings took.
func rawSQLite(b *testing.B, path string) *sql.DB {
	b.Helper()
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"+
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() }) //nolint:errcheck,gosec // benchmark cleanup
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	requireSetting(b, db, "PRAGMA journal_mode", "wal")
	requireSetting(b, db, "PRAGMA synchronous", "2") // FULL
	return db
}

// rawPostgres opens the database as the store does: pgx's database/sql
// driver, synchronous_commit on; and checks that it took.
func rawPostgres(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	db := stdlib.OpenDB(*cfg)
	b.Cleanup(func() { db.Close() }) //nolint:errcheck,gosec // benchmark cleanup
	requireSetting(b, db, "SHOW synchronous_commit", "on")
	requireSetting(b, db, "SHOW fsync", "on")
	return db
}

func requireSetting(b *testing.B, db *sql.DB, query, want string) {
	b.Helper()
	var got string
	if err := db.QueryRowContext(b.Context(), query).Scan(&got); err != nil {
		b.Fatal(err)
	}
	if got != want {
		b.Fatalf("%s is %q, not %q: the raw inserts would not be as durable as the store's", query, got, want)
	}
}
