package procmem

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatCPUAddsUserAndSystemTime(t *testing.T) {
	// A command name with a space and a ')' of its own; utime 123, stime
	// 27 ticks (fields 14 and 15), cutime 1000 after them (not counted).
	line := "4242 (kube) state) S 1 4242 4242 0 -1 4194560 1 2 3 4 123 27 1000 2000 20 0 9 0 5 6 7\n"
	got, err := parseStatCPU([]byte(line))
	require.NoError(t, err)
	require.Equal(t, 1500*time.Millisecond, got)

	_, err = parseStatCPU([]byte("4242 (short) S 1 2 3"))
	require.ErrorContains(t, err, "fields after the command name")
	_, err = parseStatCPU([]byte("no name"))
	require.Error(t, err)
}

func TestCPUReadsThisProcess(t *testing.T) {
	_, err := CPU(os.Getpid())
	require.NoError(t, err)
	_, err = CPU(-1)
	require.Error(t, err)
}
