package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/store"
)

// lister is a store of the clusters it lists, counting its listings.
type lister struct {
	names []string
	err   error
	calls int
}

func (l *lister) Clusters(context.Context) ([]string, error) {
	l.calls++
	return l.names, l.err
}

func TestResolveClusters(t *testing.T) {
	for _, tc := range []struct {
		name, own, ask string
		known          []string
		want           []string
		err            string
		listed         bool
	}{
		{name: "its own cluster is read without listing any", own: "east", ask: "east", known: nil, want: []string{"east"}},
		{name: "the unnamed own cluster likewise", own: "", ask: "", want: []string{""}},
		{name: "* is every cluster with rows", own: "east", ask: "*", known: []string{"", "west"}, want: []string{"", "west"}, listed: true},
		{name: "* of an empty store is the own cluster", own: "east", ask: "*", want: []string{"east"}, listed: true},
		{name: "another cluster with rows is read", own: "east", ask: "west", known: []string{"east", "west"}, want: []string{"west"}, listed: true},
		{
			name: "a cluster without rows is refused, the known ones and own listed", own: "east", ask: "north", known: []string{"", "west"},
			err: `no cluster "north" in the store; known: "", "east", "west", or * for all`, listed: true,
		},
		{
			name: "a name no cluster can have is refused before listing", own: "east", ask: "West", known: []string{"west"},
			err: `"West" is not a valid cluster name: `,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &lister{names: tc.known}
			got, err := store.ResolveClusters(t.Context(), l, tc.own, tc.ask)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorAs(t, err, new(*store.ClusterError), "the asker's mistake")
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
			require.Equal(t, tc.listed, l.calls > 0, "listed the clusters")
		})
	}
	t.Run("a store that cannot list is its error, not an unknown cluster", func(t *testing.T) {
		broken := errors.New("connection refused")
		_, err := store.ResolveClusters(t.Context(), &lister{err: broken}, "east", "west")
		require.ErrorIs(t, err, broken)
		require.NotErrorAs(t, err, new(*store.ClusterError))
	})
}

// adopt-cluster moves a whole history in one transaction: its --timeout,
// not an ordinary write's minute, bounds it (a move past a minute was
// rolled back however long --timeout was).
func TestALongMoveHasTheCallersTimeNotAnOrdinaryWritesMinute(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	got := store.LongTxTimeout(ctx)
	require.Greater(t, got, 9*time.Minute, "a 10-minute deadline gives the move about 10 minutes")
	require.LessOrEqual(t, got, 10*time.Minute)

	short, cancel2 := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel2()
	require.Equal(t, store.TxTimeout, store.LongTxTimeout(short), "never less than an ordinary write's")
	require.Equal(t, store.TxTimeout, store.LongTxTimeout(context.Background()), "no deadline: an ordinary write's")
}
