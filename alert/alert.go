// Package alert holds steadywatch's domain type for the alerts Alertmanager
// tells it about, apart from Alertmanager's wire types.
package alert

import "time"

// Status of an alert as notified.
type Status string

// The statuses Alertmanager reports.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Alert is one alert of one notification. An alert is identified by its
// Fingerprint and StartsAt: Alertmanager retries a notification, and sends
// the same alert again as it repeats and resolves.
type Alert struct {
	Fingerprint string
	Status      Status
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	// EndsAt is zero while firing.
	EndsAt       time.Time
	GeneratorURL string
	// Receiver and GroupKey come from the notification that carried it.
	Receiver string
	GroupKey string
	// ReceivedAt is when steadywatch first received it.
	ReceivedAt time.Time
	// Source is "webhook" or "api" (pulled from Alertmanager's v2 API, which
	// also sees silenced and inhibited alerts).
	Source string
}

// Name is the alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }
