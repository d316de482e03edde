package store

import (
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// The readers share 128 MiB of page cache whatever their number, and none
// gets less than SQLite's default 2 MiB; an open store's reader has it.
func TestTheReadersShareOneBoundedPageCache(t *testing.T) {
	for n, want := range map[int]string{
		4:   "_pragma=cache_size(-32768)&",
		64:  "_pragma=cache_size(-2048)&", // at the floor
		65:  "_pragma=cache_size(-2048)&", // below it: the floor
		128: "_pragma=cache_size(-2048)&",
		63:  "_pragma=cache_size(-2080)&", // just above it
	} {
		require.Equal(t, want+sqliteReader, readerSettings(n), "%d readers", n)
	}

	s, err := openSQLite(t.Context(), filepath.Join(t.TempDir(), "sw.db"), slog.New(slog.DiscardHandler), false)
	require.NoError(t, err)
	defer s.Close()
	var kib int
	require.NoError(t, s.reader.QueryRowContext(t.Context(), "PRAGMA cache_size").Scan(&kib))
	require.Equal(t, -max(2048, readerCacheKiB/max(4, runtime.GOMAXPROCS(0))), kib)
}
