package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

// shutdownLog says, in one Info line, that serve stops, and in another,
// once it did, what it flushed on the way: an operator stopping it learns
// whether anything was lost without reading every part's log.
type shutdownLog struct {
	log    *slog.Logger
	writes *store.WriteBehind
	once   sync.Once
	from   uint64 // the writes the store had taken when serve began to stop
}

// begin logs that serve stops (once, however often called).
func (s *shutdownLog) begin() {
	s.once.Do(func() {
		s.from = s.writes.Stored()
		s.log.Info("stopping: writing what is queued, saving the inventory")
	})
}

// stopped is what serve did on the way out.
type stopped struct {
	drained   store.Drained // the write-behind queue's final drain
	discarded int           // writes dropped on a lost Lease
	unstored  int           // verdicts the history did not take
	inventory time.Time     // when the inventory in the store was taken; zero: none saved
}

// done logs what serve flushed: the writes the store took since it began
// to stop (the final drain's among them) and those dropped, the verdicts
// not stored, and the inventory's time.
func (s *shutdownLog) done(st stopped) {
	s.begin()
	inventory := "none"
	if !st.inventory.IsZero() {
		inventory = st.inventory.UTC().Format(time.RFC3339)
	}
	s.log.Info("stopped",
		"writes_flushed", s.writes.Stored()-s.from,
		"writes_dropped", st.drained.Unwritten+st.discarded,
		"verdicts_unstored", st.unstored,
		"inventory_saved_at", inventory)
}

// inventorySaves remembers when the inventory the store last took was
// taken.
type inventorySaves struct {
	store.Store
	mu sync.Mutex
	at time.Time
	// lost is set once the Lease was lost: nothing more is saved.
	lost bool
}

// errInventoryLost is SaveInventory's once the Lease was lost: another
// replica may lead, and the inventory it saves is the one to keep.
var errInventoryLost = errors.New("lost the leader lease: the inventory is not saved")

func (s *inventorySaves) SaveInventory(ctx context.Context, inv tracker.Inventory) error {
	// A save under way as the Lease is lost lands (or not), as a batch
	// of the write-behind queue does.
	s.mu.Lock()
	lost := s.lost
	s.mu.Unlock()
	if lost {
		return errInventoryLost
	}
	if err := s.Store.SaveInventory(ctx, inv); err != nil {
		return err
	}
	s.mu.Lock()
	s.at = inv.SavedAt
	s.mu.Unlock()
	return nil
}

// loseLease stops every later save.
func (s *inventorySaves) loseLease() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = true
}

func (s *inventorySaves) last() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at
}
