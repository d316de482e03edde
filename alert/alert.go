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
	// Cluster is the cluster whose steadywatch received the alert (config
	// cluster:), "" for the unnamed one; the store sets it.
	Cluster     string
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
	// Source is SourceWebhook or SourceAPI.
	Source string
	// Deliveries is how many times the store received the alert: its
	// first receipt and each one after (a notification repeated or
	// resolving it, and with alerts.pull each pull that saved it).
	// The store counts it; saving ignores it.
	Deliveries int
	// Notifications is how many of the Deliveries were webhook
	// notifications (Source SourceWebhook): the first, each repeat and the
	// resolution, never a pull. The store counts it; saving ignores it.
	Notifications int
}

// Where an alert came from.
const (
	// SourceWebhook is an Alertmanager webhook notification.
	SourceWebhook = "webhook"
	// SourceAPI is a pull from Alertmanager's v2 API, which also sees
	// silenced and inhibited alerts. An alert that left the API is saved
	// resolved at an estimated time, which never overrides the exact
	// resolution a notification brought.
	SourceAPI = "api"
)

// Name is the alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// FirstLabel is the value of the first of names that labels carries with a
// non-empty value, or "" if none does. It is how an alert's service
// (config alerts.service_labels), namespace, group and node are read, by the
// receiver's metrics, the detector and the reports alike.
func FirstLabel(labels map[string]string, names []string) string {
	for _, n := range names {
		if v := labels[n]; v != "" {
			return v
		}
	}
	return ""
}
