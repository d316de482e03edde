package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Each numeric bound of the configuration, at the bound and one step past
// it: the value at the bound is accepted, the one past it refused with the
// field named on its line.
func TestConfigBoundsAreTestedOnBothSides(t *testing.T) {
	cases := []struct {
		name, ok, bad, err string
	}{
		{
			name: "alerts.max_bytes_in_flight equal to alerts.max_body_bytes",
			ok:   "alerts:\n  max_body_bytes: 1048576\n  max_bytes_in_flight: 1048576\n",
			bad:  "alerts:\n  max_body_bytes: 1048576\n  max_bytes_in_flight: 1048575\n",
			err:  "c.yml:3: alerts.max_bytes_in_flight: must be at least alerts.max_body_bytes (1048576), got 1048575",
		},
		{
			name: "web.max_connections of 1",
			ok:   "web:\n  max_connections: 1\n",
			bad:  "web:\n  max_connections: 0\n",
			err:  "c.yml:2: web.max_connections: must be greater than 0, got 0",
		},
		{
			name: "reports.flap_count of 2",
			ok:   "reports:\n  flap_count: 2\n",
			bad:  "reports:\n  flap_count: 1\n",
			err:  "c.yml:2: reports.flap_count: must be at least 2, got 1",
		},
		{
			name: "reports.noisy_within of 1ms",
			ok:   "reports:\n  noisy_within: 1ms\n",
			bad:  "reports:\n  noisy_within: 0s\n",
			err:  "c.yml:2: reports.noisy_within: must be greater than 0, got 0s",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.ok), "c.yml")
			require.NoError(t, err, "at the bound")
			_, err = Parse([]byte(tc.bad), "c.yml")
			require.EqualError(t, err, tc.err, "past the bound")
		})
	}
}
