package receiver

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/contractprom"
)

// MaxLabelValueLength bounds the label values taken from alerts. It is a
// Kubernetes label value's limit, which service names usually are.
const MaxLabelValueLength = 63

// OtherAlertName is the alertname label of alerts whose name came after
// Options.MaxAlertNames others.
const OtherAlertName = contract.OtherAlertName

type metrics struct {
	alerts   *prometheus.CounterVec
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	busy     prometheus.Counter
	inFlight prometheus.Gauge

	serviceLabels []string
	severityLabel string
	maxNames      int

	mu    sync.Mutex
	names map[string]struct{}
}

func newMetrics(reg prometheus.Registerer, o *Options) *metrics {
	f := promauto.With(reg)
	rejected := contractprom.CounterVec(f, contract.WebhookRejected)
	return &metrics{
		busy:          rejected.WithLabelValues(contract.WebhookRejectedBusy),
		inFlight:      contractprom.Gauge(f, contract.WebhookInFlightBytes),
		alerts:        contractprom.CounterVec(f, contract.AlertsReceived),
		requests:      contractprom.CounterVec(f, contract.WebhookRequests),
		duration:      contractprom.HistogramVec(f, contract.WebhookRequestDuration),
		serviceLabels: o.ServiceLabels,
		severityLabel: o.SeverityLabel,
		maxNames:      o.MaxAlertNames,
		names:         make(map[string]struct{}),
	}
}

// stored counts alerts once they are stored.
func (m *metrics) stored(alerts []alert.Alert) {
	for i := range alerts {
		a := &alerts[i]
		m.alerts.WithLabelValues(
			m.alertName(sanitize(a.Name())),
			sanitize(m.service(a.Labels)),
			sanitize(a.Labels[m.severityLabel]),
			string(a.Status),
		).Inc()
	}
}

// alertName lets the first maxNames names through and folds the rest into
// OtherAlertName, so a rule generating names cannot grow the series without
// bound.
func (m *metrics) alertName(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.names[name]; ok {
		return name
	}
	if len(m.names) >= m.maxNames {
		return OtherAlertName
	}
	m.names[name] = struct{}{}
	return name
}

func (m *metrics) service(labels map[string]string) string {
	for _, l := range m.serviceLabels {
		if v := labels[l]; v != "" {
			return v
		}
	}
	return ""
}

// sanitize keeps the characters of names and identifiers, replaces any
// other with '_' and cuts the result to MaxLabelValueLength: label values
// come from whatever the alerting rules put in their labels.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !allowed(r) }) {
		return s[:min(len(s), MaxLabelValueLength)]
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == MaxLabelValueLength {
			break
		}
		if allowed(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		n++
	}
	return b.String()
}

func allowed(c rune) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	default:
		return c == '_' || c == '-' || c == '.' || c == ':' || c == '/'
	}
}
