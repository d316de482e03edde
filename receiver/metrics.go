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

// OtherLabelValue is the service or severity label of alerts whose value
// came after Options.MaxLabelValues others.
const OtherLabelValue = contract.OtherLabelValue

type metrics struct {
	alerts   *prometheus.CounterVec
	rejected *prometheus.CounterVec
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	busy     prometheus.Counter
	inFlight prometheus.Gauge

	serviceLabels []string
	severityLabel string

	mu                        sync.Mutex
	names, services, severity *labelCap
}

func newMetrics(reg prometheus.Registerer, o *Options) *metrics {
	f := promauto.With(reg)
	rejected := contractprom.CounterVec(f, contract.AlertsRejected)
	for _, reason := range contract.RejectedReasons {
		rejected.WithLabelValues(reason) // exposed at 0 from the start
	}
	webhookRejected := contractprom.CounterVec(f, contract.WebhookRejected)
	folded := contractprom.CounterVec(f, contract.LabelValuesFolded)
	capOf := func(label string, limit int) *labelCap {
		return &labelCap{
			max: limit, seen: make(map[string]struct{}),
			folded: folded.WithLabelValues(contract.AlertsReceived.Name, label),
		}
	}
	return &metrics{
		busy:          webhookRejected.WithLabelValues(contract.WebhookRejectedBusy),
		inFlight:      contractprom.Gauge(f, contract.WebhookInFlightBytes),
		alerts:        contractprom.CounterVec(f, contract.AlertsReceived),
		rejected:      rejected,
		requests:      contractprom.CounterVec(f, contract.WebhookRequests),
		duration:      contractprom.HistogramVec(f, contract.WebhookRequestDuration),
		serviceLabels: o.ServiceLabels,
		severityLabel: o.SeverityLabel,
		names:         capOf(contract.LabelAlertname, o.MaxAlertNames),
		services:      capOf(contract.LabelService, o.MaxLabelValues),
		severity:      capOf(contract.LabelSeverity, o.MaxLabelValues),
	}
}

// stored counts alerts once they are stored.
func (m *metrics) stored(alerts []alert.Alert) {
	for i := range alerts {
		a := &alerts[i]
		m.mu.Lock()
		name := m.names.value(sanitize(a.Name()))
		service := m.services.value(sanitize(m.service(a.Labels)))
		severity := m.severity.value(sanitize(a.Labels[m.severityLabel]))
		m.mu.Unlock()
		m.alerts.WithLabelValues(name, service, severity, string(a.Status)).Inc()
	}
}

// rejectedAlerts counts alerts rejected for good.
func (m *metrics) rejectedAlerts(rejected []*AlertError) {
	for _, e := range rejected {
		m.rejected.WithLabelValues(e.Reason()).Inc()
	}
}

// labelCap lets the first max values of a label through and folds the
// rest into OtherLabelValue, counting them, so that alerting rules
// generating names, services or severities cannot grow the series without
// bound. metrics.mu guards it.
type labelCap struct {
	max    int
	seen   map[string]struct{}
	folded prometheus.Counter
}

func (c *labelCap) value(v string) string {
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= c.max {
		c.folded.Inc()
		return OtherLabelValue
	}
	c.seen[v] = struct{}{}
	return v
}

func (m *metrics) service(labels map[string]string) string {
	return alert.FirstLabel(labels, m.serviceLabels)
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
