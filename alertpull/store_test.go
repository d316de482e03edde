package alertpull_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/alertpull"
	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
	"github.com/steadywatch/steadywatch/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTheStoreKeepsTheGoodAlertsOfAPullWithBadOnes pulls, into each real
// database, a list whose alerts the store cannot keep sit next to good
// ones: the pull succeeds and the good ones are stored, where the store's
// refusal of the whole batch used to fail every pull.
func TestTheStoreKeepsTheGoodAlertsOfAPullWithBadOnes(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "pull.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.New(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			st, err := store.Open(t.Context(), db.dsn(t), store.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, st.Close()) })
			fake, srv := startFake(t)
			now := at(100)
			p := newPuller(t, alertpull.Options{URL: srv.URL, Sink: st, Now: func() time.Time { return now }})
			late := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
			nul := func(s, old, new string) string {
				require.Contains(t, s, old)
				return strings.Replace(s, old, new, 1)
			}
			fake.set(200, "application/json", list(
				gettable("0000000000000001", "Good", "active", at(0), at(400)),
				gettable(strings.Repeat("f", 65), "Long", "active", at(0), at(400)),
				nul(gettable("0000000000000003", "NulLabel", "active", at(0), at(400)), `"alertname":"NulLabel"`, `"alertname":"Nul\u0000"`),
				nul(gettable("0000000000000004", "NulNote", "active", at(0), at(400)), `"summary":"about NulNote"`, `"summary":"\u0000"`),
				nul(gettable("0000000000000005", "NulURL", "active", at(0), at(400)), `"http://prometheus/graph"`, `"http://prometheus/\u0000"`),
				gettable("0000000000000006", "Late", "active", late, late),
				gettable("0000000000000007", "Forever", "suppressed", at(5), late),
			))

			n, err := p.PullOnce(t.Context())
			require.NoError(t, err)
			require.Equal(t, 2, n)
			got, err := st.Alerts(t.Context(), alert.Filter{})
			require.NoError(t, err)
			require.Len(t, got, 2)
			require.Equal(t, "0000000000000001", got[0].Fingerprint)
			require.Equal(t, "0000000000000007", got[1].Fingerprint)

			// The good ones leave and are resolved; the bad ones, never
			// stored, are not.
			now = at(130)
			fake.set(200, "application/json", list())
			_, err = p.PullOnce(t.Context())
			require.NoError(t, err)
			got, err = st.Alerts(t.Context(), alert.Filter{})
			require.NoError(t, err)
			require.Len(t, got, 2)
			for _, a := range got {
				require.Equal(t, alert.Resolved, a.Status, a.Fingerprint)
				require.Equal(t, at(100), a.EndsAt, a.Fingerprint)
			}
		})
	}
}
