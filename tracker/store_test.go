package tracker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

func TestMemoryStoreListFiltersAndOrdersByStart(t *testing.T) {
	cart := chaos.Subject{Namespace: "shop", Service: "cart", Group: chaos.Control}
	incs := []chaos.Incident{
		{ID: "web-late", Subject: webSubject, Start: t0.Add(2 * time.Hour), End: t0.Add(3 * time.Hour)},
		{ID: "web-open", Subject: webSubject, Start: t0.Add(time.Hour)},
		{ID: "cart-open", Subject: cart, Start: t0},
		{ID: "web-early", Subject: webSubject, Start: t0, End: t0.Add(time.Minute)},
	}
	s := tracker.NewMemoryStore()
	for _, inc := range incs {
		require.NoError(t, s.Save(context.Background(), inc))
	}

	for _, tc := range []struct {
		name   string
		filter tracker.Filter
		want   []string
	}{
		{"no filter lists everything, oldest start first and by ID on a tie", tracker.Filter{}, []string{"cart-open", "web-early", "web-open", "web-late"}},
		{"a service lists only its incidents", tracker.Filter{Service: "web"}, []string{"web-early", "web-open", "web-late"}},
		{"open only lists those not recovered", tracker.Filter{OpenOnly: true}, []string{"cart-open", "web-open"}},
		{"since includes incidents starting at that instant", tracker.Filter{Since: t0.Add(time.Hour)}, []string{"web-open", "web-late"}},
		{"until excludes incidents starting at that instant", tracker.Filter{Until: t0.Add(time.Hour)}, []string{"cart-open", "web-early"}},
		{"since and until bound a window", tracker.Filter{Since: t0.Add(time.Minute), Until: t0.Add(2*time.Hour + time.Nanosecond)}, []string{"web-open", "web-late"}},
		{"filters combine", tracker.Filter{Service: "web", OpenOnly: true, Since: t0}, []string{"web-open"}},
		{"an unknown service lists nothing", tracker.Filter{Service: "search"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(context.Background(), tc.filter)
			require.NoError(t, err)
			var ids []string
			for _, inc := range got {
				ids = append(ids, inc.ID)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestMemoryStoreSaveReplacesTheIncidentWithTheSameID(t *testing.T) {
	s := tracker.NewMemoryStore()
	open := chaos.Incident{ID: "a", Subject: webSubject, Start: t0}
	require.NoError(t, s.Save(context.Background(), open))
	closed := open
	closed.End = t0.Add(time.Minute)
	require.NoError(t, s.Save(context.Background(), closed))

	got, err := s.List(context.Background(), tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, []chaos.Incident{closed}, got)
}

func TestMemoryStoreListsByKindAndUndecidedDetection(t *testing.T) {
	ctx := context.Background()
	s := tracker.NewMemoryStore()
	for _, inc := range []chaos.Incident{
		{ID: "deleted", Kind: chaos.PodDeleted, Subject: webSubject, Start: t0},
		{ID: "scaled", Kind: chaos.HPAScaledUp, Subject: webSubject, Start: t0.Add(time.Second)},
		{ID: "node", Kind: chaos.NodeNotReady, Start: t0.Add(2 * time.Second)},
		{ID: "degraded", Kind: chaos.WorkloadDegraded, Subject: webSubject, Start: t0.Add(3 * time.Second)},
	} {
		require.NoError(t, s.Save(ctx, inc))
	}
	updated, err := s.SetDetection(ctx, "node", chaos.Detection{Undetected: true})
	require.NoError(t, err)
	require.True(t, updated)
	updated, err = s.SetDetection(ctx, "deleted", chaos.Detection{At: t0.Add(time.Minute), Alert: "Down", Fingerprint: "f1"})
	require.NoError(t, err)
	require.True(t, updated)

	for _, tc := range []struct {
		name   string
		filter tracker.Filter
		want   []string
	}{
		{"kinds list only those kinds", tracker.Filter{Kinds: []chaos.Kind{chaos.NodeNotReady, chaos.HPAScaledUp}}, []string{"scaled", "node"}},
		{"undecided leaves out detected and undetected incidents", tracker.Filter{Undecided: true}, []string{"scaled", "degraded"}},
		{"undecided failures combine", tracker.Filter{Undecided: true, Kinds: []chaos.Kind{chaos.PodDeleted, chaos.NodeNotReady, chaos.WorkloadDegraded}}, []string{"degraded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.filter)
			require.NoError(t, err)
			var ids []string
			for _, inc := range got {
				ids = append(ids, inc.ID)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestMemoryStoreRecordsADetectionOnceAndSaveKeepsIt(t *testing.T) {
	ctx := context.Background()
	s := tracker.NewMemoryStore()
	inc := chaos.Incident{ID: "a", Kind: chaos.PodDeleted, Subject: webSubject, Start: t0}
	require.NoError(t, s.Save(ctx, inc))

	first := chaos.Detection{At: t0.Add(30 * time.Second), Alert: "HighErrorRate", Fingerprint: "f1"}
	updated, err := s.SetDetection(ctx, "a", first)
	require.NoError(t, err)
	require.True(t, updated, "an undecided incident takes the detection")

	updated, err = s.SetDetection(ctx, "a", chaos.Detection{At: t0.Add(10 * time.Second), Alert: "Other", Fingerprint: "f2"})
	require.NoError(t, err)
	require.False(t, updated, "a detection is final, even an earlier one")
	updated, err = s.SetDetection(ctx, "a", chaos.Detection{Undetected: true})
	require.NoError(t, err)
	require.False(t, updated, "a detected incident cannot become undetected")

	// The tracker saves its own copy, which never carries the detection.
	closed := inc
	closed.End = t0.Add(time.Minute)
	require.NoError(t, s.Save(ctx, closed))
	got, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	want := closed
	want.Detection = first
	require.Equal(t, []chaos.Incident{want}, got)

	updated, err = s.SetDetection(ctx, "unknown", first)
	require.NoError(t, err)
	require.False(t, updated, "an unknown incident is not created")

	_, err = s.SetDetection(ctx, "a", chaos.Detection{Alert: "NoTime", Fingerprint: "f3"})
	require.EqualError(t, err, "incident a: detection.at: not set")
}

func TestMemoryStoreNewIncidentStartsUndecided(t *testing.T) {
	ctx := context.Background()
	s := tracker.NewMemoryStore()
	inc := chaos.Incident{ID: "a", Subject: webSubject, Start: t0, Detection: chaos.Detection{Undetected: true}}
	require.NoError(t, s.Save(ctx, inc))
	got, err := s.List(ctx, tracker.Filter{Undecided: true})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.False(t, got[0].Detection.Decided())
}

func TestMemoryStoreSavesRacingADetectionKeepIt(t *testing.T) {
	ctx := context.Background()
	s := tracker.NewMemoryStore()
	inc := chaos.Incident{ID: "a", Kind: chaos.PodDeleted, Subject: webSubject, Start: t0}
	require.NoError(t, s.Save(ctx, inc))
	d := chaos.Detection{At: t0.Add(time.Second), Alert: "Down", Fingerprint: "f1"}

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 1000 {
			inc.Events = i
			if err := s.Save(ctx, inc); err != nil {
				t.Errorf("save: %v", err)
				return
			}
		}
	})
	recorded := make(chan bool, 4)
	for range cap(recorded) {
		wg.Go(func() {
			updated, err := s.SetDetection(ctx, "a", d)
			if err != nil {
				t.Errorf("set detection: %v", err)
			}
			recorded <- updated
		})
	}
	wg.Wait()
	close(recorded)
	n := 0
	for updated := range recorded {
		if updated {
			n++
		}
	}
	require.Equal(t, 1, n, "exactly one caller records the detection")
	got, err := s.List(ctx, tracker.Filter{})
	require.NoError(t, err)
	require.Equal(t, d, got[0].Detection)
	require.Equal(t, 999, got[0].Events)
}
