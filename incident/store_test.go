package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/incident"
)

func TestMemoryStoreListFiltersAndOrdersByStart(t *testing.T) {
	cart := chaos.Subject{Namespace: "shop", Service: "cart", Group: chaos.Control}
	incs := []chaos.Incident{
		{ID: "web-late", Subject: webSubject, Start: t0.Add(2 * time.Hour), End: t0.Add(3 * time.Hour)},
		{ID: "web-open", Subject: webSubject, Start: t0.Add(time.Hour)},
		{ID: "cart-open", Subject: cart, Start: t0},
		{ID: "web-early", Subject: webSubject, Start: t0, End: t0.Add(time.Minute)},
	}
	s := incident.NewMemoryStore()
	for _, inc := range incs {
		require.NoError(t, s.Save(context.Background(), inc))
	}

	for _, tc := range []struct {
		name   string
		filter incident.Filter
		want   []string
	}{
		{"no filter lists everything, oldest start first and by ID on a tie", incident.Filter{}, []string{"cart-open", "web-early", "web-open", "web-late"}},
		{"a service lists only its incidents", incident.Filter{Service: "web"}, []string{"web-early", "web-open", "web-late"}},
		{"open only lists those not recovered", incident.Filter{OpenOnly: true}, []string{"cart-open", "web-open"}},
		{"since includes incidents starting at that instant", incident.Filter{Since: t0.Add(time.Hour)}, []string{"web-open", "web-late"}},
		{"until excludes incidents starting at that instant", incident.Filter{Until: t0.Add(time.Hour)}, []string{"cart-open", "web-early"}},
		{"since and until bound a window", incident.Filter{Since: t0.Add(time.Minute), Until: t0.Add(2*time.Hour + time.Nanosecond)}, []string{"web-open", "web-late"}},
		{"filters combine", incident.Filter{Service: "web", OpenOnly: true, Since: t0}, []string{"web-open"}},
		{"an unknown service lists nothing", incident.Filter{Service: "search"}, nil},
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
	s := incident.NewMemoryStore()
	open := chaos.Incident{ID: "a", Subject: webSubject, Start: t0}
	require.NoError(t, s.Save(context.Background(), open))
	closed := open
	closed.End = t0.Add(time.Minute)
	require.NoError(t, s.Save(context.Background(), closed))

	got, err := s.List(context.Background(), incident.Filter{})
	require.NoError(t, err)
	require.Equal(t, []chaos.Incident{closed}, got)
}
