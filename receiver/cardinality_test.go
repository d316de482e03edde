package receiver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/receiver"
)

func TestEveryLabelTakenFromAlertsIsCappedAndWhatIsFoldedIsCounted(t *testing.T) {
	const (
		posts         = 20
		perPost       = 1000
		severities    = 300 // values cycling, so that some come back after the cap
		maxValues     = receiver.DefaultMaxLabelValues
		maxAlertNames = 50
	)
	f := newFixture(t, receiver.Options{MaxAlertNames: maxAlertNames})

	// What the caps should let through, as the test counts it: the first
	// values seen of each label, in the order the alerts come.
	seen := map[string]map[string]bool{"alertname": {}, "service": {}, "severity": {}}
	folded := map[string]int{}
	limit := map[string]int{"alertname": maxAlertNames, "service": maxValues, "severity": maxValues}
	count := func(label, value string) {
		if !seen[label][value] && len(seen[label]) < limit[label] {
			seen[label][value] = true
		}
		if !seen[label][value] {
			folded[label]++
		}
	}
	n := 0
	for range posts {
		var alerts []string
		for range perPost {
			name, service, severity := fmt.Sprint("A", n%120), fmt.Sprint("svc-", n), fmt.Sprint("sev-", n%severities)
			count("alertname", name)
			count("service", service)
			count("severity", severity)
			alerts = append(alerts, fmt.Sprintf(
				`{"status":"firing","labels":{"alertname":%q,"service":%q,"severity":%q},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"%x"}`,
				name, service, severity, n))
			n++
		}
		w := f.post([]byte(`{"version":"4","alerts":[` + strings.Join(alerts, ",") + `]}`))
		require.Equal(t, 200, w.Code, w.Body.String())
	}

	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	values := map[string]map[string]bool{"alertname": {}, "service": {}, "severity": {}}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "steadywatch_alerts_received_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			total += m.GetCounter().GetValue()
			for _, l := range m.GetLabel() {
				if values[l.GetName()] != nil {
					values[l.GetName()][l.GetValue()] = true
				}
			}
		}
	}
	require.InDelta(t, posts*perPost, total, 0, "every alert is counted, folded or not")
	for label, lim := range limit {
		distinct := len(values[label]) // not require.Len, which would print 20,000 values
		require.Equal(t, lim+1, distinct, "%s: the first %d values and %q", label, lim, receiver.OtherLabelValue)
		require.True(t, values[label][receiver.OtherLabelValue], label)
		require.Positive(t, folded[label], label)
		require.InDelta(t, folded[label],
			metricValue(t, f.reg, "steadywatch_label_values_folded_total", "metric", "steadywatch_alerts_received_total", "label", label), 0, label)
	}
}
