// Package reportbench benchmarks the weekly report (report.Weekly) on a
// store of a million alerts and ten thousand incidents over twelve weeks,
// SQLite and PostgreSQL, against the same aggregation done by the sqlite3
// CLI alone (floor.sql) as the floor.
//
// It is a package of its own, like bench/ingest, because it joins report,
// store and both databases and needs pgtest.Main.
package reportbench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// week is the week reported: the middle of the generated twelve, whose
// report reads three of them (the week, the one before and the lookback).
var week = report.ISOWeek(2026, 8, time.UTC)

const seed = 14

func options() report.Options {
	return report.Options{Range: week, Now: func() time.Time { return genEnd }}
}

// cacheDir holds the generated SQLite stores between runs
// (STEADYWATCH_BENCH_CACHE, else the user's cache directory).
func cacheDir(tb testing.TB) string {
	if d := os.Getenv("STEADYWATCH_BENCH_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return tb.TempDir()
	}
	return filepath.Join(d, "steadywatch", "bench-report")
}

// schemaVersion is the number of SQLite migrations, so that a cached store
// is rebuilt rather than migrated when the schema changes.
func schemaVersion(tb testing.TB) int {
	entries, err := os.ReadDir(filepath.Join("..", "..", "store", "migrations", "sqlite"))
	if err != nil {
		tb.Fatal(err)
	}
	return len(entries)
}

// sqliteStore returns the path of the SQLite store of sp, building it
// (in dir) unless it is there already.
func sqliteStore(tb testing.TB, dir string, sp spec) string {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("report-%s-m%d.db", sp, schemaVersion(tb)))
	if _, err := os.Stat(path); err == nil {
		return path
	} else if !errors.Is(err, fs.ErrNotExist) {
		tb.Fatal(err)
	}
	tmp := path + ".tmp"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			tb.Fatal(err)
		}
	}
	build(tb, tmp, sp)
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// build fills the store dsn names with sp's contents and closes it.
func build(tb testing.TB, dsn string, sp spec) {
	tb.Helper()
	began := time.Now()
	g := generate(sp)
	s, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.fill(context.Background(), s); err != nil {
		s.Close() //nolint:errcheck,gosec // the fill error is the one to report
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("built %s (%s) in %s", sp, store.RedactDSN(dsn), time.Since(began).Round(time.Second))
}

// counting counts the alerts a report reads.
type counting struct {
	store.Store
	alerts int
}

func (c *counting) EachAlert(ctx context.Context, f alert.Filter, fn func(*alert.Alert) error) error {
	return c.Store.EachAlert(ctx, f, func(a *alert.Alert) error {
		c.alerts++
		return fn(a)
	})
}

// heapPeaks are the highest heap figures seen while sampling: heap is the
// bytes of heap objects, live and not yet swept (what the garbage
// collector lets grow to about twice live), live the bytes the last
// collection found live.
type heapPeaks struct{ heap, live uint64 }

// peakHeap samples the heap every millisecond until stop is called, which
// returns the highest figures seen.
func peakHeap() (stop func() heapPeaks) {
	done := make(chan struct{})
	var (
		wg   sync.WaitGroup
		peak heapPeaks
	)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	read := func() {
		metrics.Read(sample)
		peak.heap = max(peak.heap, sample[0].Value.Uint64())
		peak.live = max(peak.live, sample[1].Value.Uint64())
	}
	read()
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	})
	return func() heapPeaks {
		close(done)
		wg.Wait()
		read()
		return peak
	}
}

// resetPeakRSS returns what can be returned to the system and resets the
// process's peak RSS (VmHWM) to its current RSS; false where Linux does
// not let it.
func resetPeakRSS() bool {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the process's peak RSS in bytes (VmHWM), 0 if unknown.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

const mib = 1 << 20

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchReport measures report.Weekly on s: time and allocations per op,
// the peak heap over all ops and the process's peak RSS during them.
func benchReport(b *testing.B, s store.Store) *report.Report {
	c := &counting{Store: s}
	var (
		r    *report.Report
		peak heapPeaks
	)
	runtime.GC()
	rss := resetPeakRSS()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		c.alerts = 0
		stop := peakHeap()
		var err error
		r, err = report.Weekly(b.Context(), c, options())
		p := stop()
		peak.heap, peak.live = max(peak.heap, p.heap), max(peak.live, p.live)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// The CPU this process spent (user and system, all threads: the
	// garbage collector's too), which a busy machine does not stretch as
	// it does the wall time; not the database server's.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(c.alerts), "alerts-read/op")
	b.ReportMetric(float64(peak.heap)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(peak.live)/mib, "peak-live-MiB")
	if rss {
		b.ReportMetric(peakRSS()/mib, "peak-RSS-MiB")
	}
	return r
}

// sizes are the stores: the target, a million alerts over twelve weeks;
// and a quarter of it, the three weeks the report reads (2026-W06 to W08)
// as densely filled, so the report reads as many alerts from a store four
// times smaller: its memory should not differ.
var sizes = []spec{
	{alerts: 250_000, incidents: 2_500, first: 4, weeks: 3, seed: seed},
	{alerts: 1_000_000, incidents: 10_000, seed: seed},
}

// BenchmarkWeeklyReport measures report.Weekly of 2026-W08 on generated
// stores (sizes): SQLite
// (cached between runs in cacheDir), PostgreSQL (a pgtest database, filled
// every run), and the same alert aggregation by the sqlite3 CLI on the
// SQLite file as the floor, whose figures must equal the report's.
func BenchmarkWeeklyReport(b *testing.B) {
	dir := cacheDir(b)
	for _, sp := range sizes {
		name := fmt.Sprintf("alerts=%d/weeks=%d", sp.alerts, sp.span())
		var (
			path    string
			figures *report.Report
		)
		b.Run("sqlite/"+name, func(b *testing.B) {
			path = sqliteStore(b, dir, sp)
			s, err := store.Open(b.Context(), path, store.Options{Existing: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			figures = benchReport(b, s)
		})
		b.Run("postgres/"+name, func(b *testing.B) {
			dsn := pgtest.New(b)
			build(b, dsn, sp)
			s, err := store.Open(b.Context(), dsn, store.Options{Existing: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			checkFigures(b, figures, benchReport(b, s))
		})
		b.Run("sqlite3-cli/"+name, func(b *testing.B) {
			if path == "" {
				path = sqliteStore(b, dir, sp)
			}
			var (
				out      []byte
				cpu, one time.Duration
			)
			for b.Loop() {
				out, one = runFloor(b, path)
				cpu += one
			}
			b.StopTimer()
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			if rss := floorRSS(b, path); rss > 0 {
				b.ReportMetric(rss/mib, "peak-RSS-MiB")
			}
			if figures != nil {
				checkFloor(b, figures, out)
			}
		})
	}
}

// runFloor runs sqlite3-floor.sh on path and returns its output and the
// CPU time it took.
func runFloor(tb testing.TB, path string) ([]byte, time.Duration) {
	tb.Helper()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		tb.Skip("sqlite3 is not installed (apt-get install sqlite3): no floor")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(tb.Context(), "./sqlite3-floor.sh", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("sqlite3-floor.sh: %v: %s", err, stderr.Bytes())
	}
	return stdout.Bytes(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// floorRSS is the peak RSS of sqlite3 running the floor on path, in
// bytes; 0 without GNU time. The process's own rusage will not do: Go
// starts it with vfork, and Linux carries the parent's peak over into the
// peak of what it executes; time forks it from a small process.
func floorRSS(tb testing.TB, path string) float64 {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(tb.Context(), "/usr/bin/time", "-f", "%M", "./sqlite3-floor.sh", path)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Logf("no peak RSS of sqlite3 (/usr/bin/time: %v)", err)
		return 0
	}
	lines := strings.Fields(stderr.String())
	kib, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		tb.Logf("no peak RSS of sqlite3: /usr/bin/time printed %q", stderr.Bytes())
		return 0
	}
	return kib * 1024
}

// checkFigures fails if the reports of two stores of the same contents
// differ in their alert figures.
func checkFigures(tb testing.TB, want, got *report.Report) {
	tb.Helper()
	if want == nil {
		return
	}
	if w, g := floorRows(want), floorRows(got); w != g {
		tb.Fatalf("the report differs between the stores:\n%s\nagainst\n%s", g, w)
	}
}

// checkFloor fails unless the floor's output gives the same figures as r.
func checkFloor(tb testing.TB, r *report.Report, out []byte) {
	tb.Helper()
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		tb.Fatalf("sqlite3-floor.sh output: %v", err)
	}
	if len(rows) < 2 {
		tb.Fatalf("sqlite3-floor.sh printed no services:\n%s", out)
	}
	var b strings.Builder
	for _, row := range rows[1:] {
		b.WriteString(strings.Join(row, ","))
		b.WriteByte('\n')
	}
	if got, want := b.String(), floorRows(r); got != want {
		tb.Fatalf("sqlite3-floor.sh's figures differ from the report's:\nfloor:\n%s\nreport:\n%s", got, want)
	}
}

// floorRows writes r's current alert figures as floor.sql does, leaving
// out the services with no alert figure (a SEV alone).
func floorRows(r *report.Report) string {
	var b strings.Builder
	for _, s := range r.Services {
		a := s.Current.Alerts
		if a.Firing == 0 && a.Silenced == 0 && a.Resolution.Samples == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s,%d,%d,%d,%d,%d,%d,%d,%d,%d\n", s.Name, a.Firing, a.Silenced, a.Open, a.Noisy,
			a.Flapping, a.Resolution.Samples, int64(a.Resolution.Median), int64(a.Resolution.P90), int64(a.Resolution.Max))
	}
	return b.String()
}
