package tracker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
)

// Store keeps incidents. The tracker writes every change through it:
// package store's SQLite and PostgreSQL stores (serve puts a
// store.WriteBehind queue in front, so the tracker never waits for a disk),
// or the MemoryStore of tests.
type Store interface {
	// Save inserts or replaces the incident with the same ID, all but its
	// Detection: that is SetDetection's alone, so that a tracker saving
	// its own copy cannot undo a detection recorded meanwhile. A new
	// incident starts undecided whatever inc.Detection holds.
	Save(ctx context.Context, inc chaos.Incident) error
	// List returns the incidents matching f, oldest start first.
	List(ctx context.Context, f Filter) ([]chaos.Incident, error)
	// SaveEvent records a chaos event.
	SaveEvent(ctx context.Context, e chaos.Event) error
	// Events returns the recorded events whose service matches f.Service
	// and whose time lies in [f.Since, f.Until), oldest first.
	Events(ctx context.Context, f Filter) ([]chaos.Event, error)
}

// DetectionStore is a Store that also records how incidents were detected
// (store.Store and MemoryStore are). It is apart from Store, which the
// tracker needs and test doubles implement, because only the detector
// records detections.
type DetectionStore interface {
	// List returns the incidents matching f, oldest start first.
	List(ctx context.Context, f Filter) ([]chaos.Incident, error)
	// SetDetection records d as the detection of incident id if it has
	// none yet, and reports whether it did. A detection, once recorded, is
	// final: of two callers racing to decide one incident, only one gets
	// updated, so each may count what it recorded. An unknown id updates
	// nothing; an invalid d is an error.
	SetDetection(ctx context.Context, id string, d chaos.Detection) (updated bool, err error)
}

// Filter selects incidents; zero fields match everything.
type Filter struct {
	Service  string
	OpenOnly bool
	// Since and Until bound the incident's start.
	Since, Until time.Time
	// Kinds, if set, are the kinds to list.
	Kinds []chaos.Kind
	// Undecided lists only incidents whose detection is not recorded yet.
	Undecided bool
}

func (f Filter) match(inc *chaos.Incident) bool {
	switch {
	case f.Service != "" && inc.Subject.Service != f.Service:
		return false
	case f.OpenOnly && !inc.Open():
		return false
	case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, inc.Kind):
		return false
	case f.Undecided && inc.Detection.Decided():
		return false
	case !f.Since.IsZero() && inc.Start.Before(f.Since):
		return false
	case !f.Until.IsZero() && !inc.Start.Before(f.Until):
		return false
	}
	return true
}

// MemoryStore is a Store that forgets everything when the process ends.
// It keeps the latest MaxEvents events.
type MemoryStore struct {
	mu        sync.Mutex
	incidents map[string]chaos.Incident
	events    []chaos.Event
}

// MaxEvents bounds the events a MemoryStore keeps.
const MaxEvents = 10000

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{incidents: map[string]chaos.Incident{}}
}

var _ DetectionStore = (*MemoryStore)(nil)

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, inc chaos.Incident) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc.Detection = s.incidents[inc.ID].Detection
	s.incidents[inc.ID] = inc
	return nil
}

// SetDetection implements DetectionStore.
func (s *MemoryStore) SetDetection(_ context.Context, id string, d chaos.Detection) (bool, error) {
	if err := d.Validate(); err != nil {
		return false, fmt.Errorf("incident %s: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[id]
	if !ok || inc.Detection.Decided() {
		return false, nil
	}
	inc.Detection = d
	s.incidents[id] = inc
	return true, nil
}

// List implements Store.
func (s *MemoryStore) List(_ context.Context, f Filter) ([]chaos.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []chaos.Incident
	for _, inc := range s.incidents {
		if f.match(&inc) {
			out = append(out, inc)
		}
	}
	slices.SortFunc(out, func(a, b chaos.Incident) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// SaveEvent implements Store.
func (s *MemoryStore) SaveEvent(_ context.Context, e chaos.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) == MaxEvents {
		s.events = slices.Delete(s.events, 0, MaxEvents/10)
	}
	s.events = append(s.events, e)
	return nil
}

// Events implements Store.
func (s *MemoryStore) Events(_ context.Context, f Filter) ([]chaos.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []chaos.Event
	for _, e := range s.events {
		at := e.At.Best()
		switch {
		case f.Service != "" && e.Subject.Service != f.Service:
		case !f.Since.IsZero() && at.Before(f.Since):
		case !f.Until.IsZero() && !at.Before(f.Until):
		default:
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b chaos.Event) int { return a.At.Best().Compare(b.At.Best()) })
	return out, nil
}
