package detect_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/detect"
	"github.com/steadywatch/steadywatch/tracker"
)

func TestNewRefusesOptionsNamingTheField(t *testing.T) {
	s, src := tracker.NewMemoryStore(), &alerts{}
	for _, tc := range []struct {
		name string
		opts detect.Options
		want string
	}{
		{"no store", detect.Options{Alerts: src}, "detect: Options.Store is not set"},
		{"no alerts", detect.Options{Store: s}, "detect: Options.Alerts is not set"},
		{"a negative window", detect.Options{Store: s, Alerts: src, Window: -time.Minute}, "detect: Options.Window: must be greater than 0, got -1m0s"},
		{"a negative grace", detect.Options{Store: s, Alerts: src, Grace: -time.Second}, "detect: Options.Grace: must be greater than 0, got -1s"},
		{"a negative interval", detect.Options{Store: s, Alerts: src, Interval: -time.Second}, "detect: Options.Interval: must be greater than 0, got -1s"},
		{"an unknown time to measure to", detect.Options{Store: s, Alerts: src, From: "ends_at"}, `detect: Options.From: "ends_at" is not one of starts_at, received`},
		{"a label name Prometheus would not accept", detect.Options{Store: s, Alerts: src, Labels: detect.Labels{Service: []string{"service", "app.kubernetes.io/name"}}}, `detect: Options.Labels.Service[1]: "app.kubernetes.io/name" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`},
		{"a label name starting with a digit", detect.Options{Store: s, Alerts: src, Labels: detect.Labels{Namespace: []string{"0ns"}}}, `detect: Options.Labels.Namespace[0]: "0ns" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`},
		{"no service labels", detect.Options{Store: s, Alerts: src, Labels: detect.Labels{Service: []string{}}}, "detect: Options.Labels.Service: empty, so no alert could name an incident's service"},
		{"no node labels", detect.Options{Store: s, Alerts: src, Labels: detect.Labels{Node: []string{}}}, "detect: Options.Labels.Node: empty, so no alert could name an incident's node"},
		{"an unknown group", detect.Options{Store: s, Alerts: src, GroupValues: map[string]chaos.Group{"canary": "treatment"}}, `detect: Options.GroupValues["canary"]: "treatment" is not one of control, experimental, none`},
		{"an empty group value", detect.Options{Store: s, Alerts: src, GroupValues: map[string]chaos.Group{"": chaos.Control}}, `detect: Options.GroupValues: an empty value cannot mean group "control"`},
		{"an empty alert name", detect.Options{Store: s, Alerts: src, AlertNames: []string{"HighErrorRate", ""}}, "detect: Options.AlertNames[1]: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := detect.New(tc.opts)
			require.EqualError(t, err, tc.want)
			require.Nil(t, d)
		})
	}
}

func TestRunSweepsEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // the bubble's clock
		s, src := tracker.NewMemoryStore(), &alerts{}
		inc := podDeleted("i")
		inc.Start = start
		require.NoError(t, s.Save(t.Context(), inc))
		d, err := detect.New(detect.Options{Store: s, Alerts: src, Window: time.Minute, Grace: 30 * time.Second, Interval: 10 * time.Second})
		require.NoError(t, err)

		done := make(chan struct{})
		go func() { d.Run(t.Context()); close(done) }()
		decision := func() chaos.Detection {
			incs, err := s.List(t.Context(), tracker.Filter{})
			require.NoError(t, err)
			return incs[0].Detection
		}

		synctest.Wait()
		require.Equal(t, 1, src.reads(), "Run sweeps at once")
		time.Sleep(90 * time.Second) // the fake clock: window and grace exactly
		synctest.Wait()
		require.Equal(t, chaos.Detection{}, decision(), "not past window and grace yet")
		require.Equal(t, 10, src.reads(), "one sweep every interval")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, chaos.Detection{Undetected: true}, decision())
	})
}
