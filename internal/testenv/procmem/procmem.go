// Package procmem measures a server process from outside, for the
// benchmarks that run steadywatch as users do: its memory from /proc, its
// CPU time, and the Go runtime's figures from its exposition.
package procmem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// BuildSteadywatch builds this tree's steadywatch binary as `make build`
// does and returns its path.
func BuildSteadywatch(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "steadywatch")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/steadywatch/steadywatch/cmd/steadywatch")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// Evict drops the binary from the page cache, so a process started from
// it reads its pages in as it touches them, as from a fresh image: most of
// a Go server's RSS at start is its binary's own pages (RssFile), and a
// binary just written by the linker sits in the cache in large folios,
// each mapped whole on its first touch — measured 4-8 MiB more than the
// same file read in cold.
func Evict(t testing.TB, bin string) {
	t.Helper()
	f, err := os.Open(bin)
	require.NoError(t, err)
	defer f.Close() //nolint:errcheck // read-only
	require.NoError(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
}

// Status is the memory lines of /proc/PID/status, in bytes.
type Status map[string]int64

// ReadStatus reads the memory lines of /proc/PID/status.
func ReadStatus(t testing.TB, pid int) Status {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close() //nolint:errcheck // read-only
	s := Status{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		require.NoError(t, err)
		s[name] = kb << 10
	}
	require.NoError(t, sc.Err())
	require.Contains(t, s, "RssAnon", "this kernel's /proc/PID/status")
	return s
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// CPU is the CPU time (user + system) process pid has used so far, from
// /proc/PID/stat.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/PID/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses itself, so fields count from the last
// ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc/PID/stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the command name", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/PID/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// GoMetrics reads the unlabelled go_ samples of an exposition.
func GoMetrics(body string) map[string]float64 {
	m := map[string]float64{}
	for line := range strings.Lines(body) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasPrefix(name, "go_") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m
}

// MiB is bytes in MiB.
func MiB[N int64 | float64](b N) float64 { return float64(b) / (1 << 20) }
