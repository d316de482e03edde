package store

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
)

// batchSize is the alerts a notification typically carries.
const batchSize = 10

// benchBackends opens a fresh, migrated store on each database.
var benchBackends = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"db=sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }},
	{"db=postgres", func(b *testing.B) string { return pgtest.New(b) }},
}

func openBench(b *testing.B, dsn string) *sqlStore {
	b.Helper()
	s, err := Open(b.Context(), dsn, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() }) //nolint:errcheck,gosec // benchmark cleanup
	return s.(*sqlStore)
}

// benchAlerts returns batch n: batchSize alerts no other batch has.
func benchAlerts(n int64) []alert.Alert {
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	alerts := make([]alert.Alert, batchSize)
	for i := range alerts {
		alerts[i] = alert.Alert{
			Fingerprint: fmt.Sprintf("%08x%08x", n, i),
			Status:      alert.Firing,
			Labels: map[string]string{
				"alertname": "HighErrorRate", "service": "api", "namespace": "shop",
				"severity": "page", "group": "experimental", "instance": fmt.Sprintf("10.0.%d.%d:8080", n%256, i),
			},
			Annotations:  map[string]string{"summary": "error ratio above 1% for 5m", "runbook_url": "https://runbooks/high-error-rate"},
			StartsAt:     start.Add(time.Duration(n) * time.Second),
			GeneratorURL: "http://prometheus:9090/graph?g0.expr=job%3Aerrors%3Aratio5m+%3E+0.01",
			Receiver:     "steadywatch",
			GroupKey:     `{}/{severity="page"}:{alertname="HighErrorRate"}`,
			ReceivedAt:   start.Add(time.Duration(n)*time.Second + time.Millisecond),
			Source:       "webhook",
		}
	}
	return alerts
}

func reportAlertRate(b *testing.B, alerts int64) {
	b.ReportMetric(float64(alerts)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkSaveAlerts saves new alerts, batchSize per call, each call a
// durable commit.
func BenchmarkSaveAlerts(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			var n int64
			for b.Loop() {
				if _, err := s.SaveAlerts(b.Context(), benchAlerts(n)); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportAlertRate(b, n*batchSize)
		})
	}
}

// BenchmarkSaveAlertsAgain saves the same alerts over and over, as
// Alertmanager's repeated notifications do: every row is updated.
func BenchmarkSaveAlertsAgain(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			alerts := benchAlerts(0)
			var n int64
			for b.Loop() {
				if _, err := s.SaveAlerts(b.Context(), alerts); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportAlertRate(b, n*batchSize)
		})
	}
}

// BenchmarkSaveAlertsParallel saves new alerts from GOMAXPROCS goroutines,
// as concurrent notifications do: SQLite queues them for its one writer;
// PostgreSQL commits them together (group commit).
func BenchmarkSaveAlertsParallel(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.SaveAlerts(b.Context(), benchAlerts(n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportAlertRate(b, n.Load()*batchSize)
		})
	}
}

// BenchmarkRawInsert is the baseline for BenchmarkSaveAlerts: the same rows
// through the same connection pool with the same durability settings, as
// plain single-row INSERTs, one transaction per batchSize rows.
func BenchmarkRawInsert(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := openBench(b, be.dsn(b))
			params := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
			if s.d.numbered {
				params = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11"
			}
			insert := `INSERT INTO alerts (fingerprint, starts_at_ns, status, labels, annotations,
	ends_at_ns, generator_url, receiver, group_key, received_at_ns, source) VALUES (` + params + ")"
			stmt, err := s.writer.PrepareContext(b.Context(), insert)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			now := time.Now()
			var n int64
			for b.Loop() {
				tx, err := s.writer.BeginTx(b.Context(), nil)
				if err != nil {
					b.Fatal(err)
				}
				txStmt := tx.StmtContext(b.Context(), stmt)
				for _, a := range benchAlerts(n) {
					r, err := encodeAlert(&a, "", now)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := txStmt.ExecContext(b.Context(), r.values...); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportAlertRate(b, n*batchSize)
		})
	}
}
