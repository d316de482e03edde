package detect

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// From is the alert time MTTD is measured to. Its values are the
// configuration file's (alerts.detection.from).
type From string

// The alert times MTTD can be measured to.
const (
	// FromStartsAt is the alert's startsAt: when Prometheus found the
	// rule's condition true for its "for".
	FromStartsAt From = "starts_at"
	// FromReceived is when steadywatch first received the alert, after
	// Alertmanager's group_wait: when a human could have known.
	FromReceived From = "received"
)

// Defaults of Options.
const (
	DefaultWindow   = 10 * time.Minute
	DefaultGrace    = 5 * time.Minute
	DefaultInterval = 15 * time.Second
)

// Labels are the alert label names tried, in order, for the namespace,
// service, group and node an alert is about; the first one the alert
// carries with a non-empty value is its value. A nil field takes the
// default; an empty Namespace or Group compares no namespace or group.
type Labels struct {
	Namespace []string
	Service   []string
	Group     []string
	Node      []string
}

// DefaultLabels are Prometheus label names, as kube-state-metrics and the
// usual relabellings export Kubernetes labels (app.kubernetes.io/name
// becomes app_kubernetes_io_name). They are config's defaults; job is left
// out on purpose: it names the scrape job, not the service an alert is about.
var DefaultLabels = Labels{
	Namespace: []string{"exported_namespace", "namespace", "kubernetes_namespace"},
	Service:   []string{"service", "app_kubernetes_io_name", "app"},
	Group:     []string{"steadywatch_io_group", "steadywatch_group", "group"},
	Node:      []string{"node", "kubernetes_node"},
}

// Options configure a Detector. Store and Alerts are required.
type Options struct {
	// Store holds the incidents and records their detection; the
	// durable store.Store, so that detections survive restarts and the
	// metrics are not observed twice.
	Store tracker.DetectionStore
	// Alerts is where the alerts Alertmanager sent are stored.
	Alerts alert.Source
	// Window is how long after a fault starts an alert may start and still
	// detect it (> 0; default DefaultWindow).
	Window time.Duration
	// Grace is how late Alertmanager may deliver an alert after it starts:
	// its group_wait, or group_interval for an alert joining a group that
	// already notified (> 0; default DefaultGrace). An incident is
	// undetected once Window and Grace have passed with no alert; measuring
	// from FromStartsAt, an alert detects only once Grace has passed since
	// it started, so that an earlier one delivered later still wins.
	Grace time.Duration
	// AfterRecovery is how long after a fault recovered an alert may still
	// start and detect it (>= 0; default 0: an alert detects only a fault
	// still open when it starts). Rules whose expression lags the cluster
	// (a rate over minutes) may need a few scrape intervals.
	AfterRecovery time.Duration
	// From is the alert time MTTD is measured to (default FromStartsAt).
	From From
	// Labels map alert labels to an incident's (default DefaultLabels).
	Labels Labels
	// GroupValues maps the values of the group labels to the groups they
	// mean, when they are the raw Kubernetes label values
	// (watch.control_value); a value not in it must be the group's name.
	GroupValues map[string]chaos.Group
	// AlertNames, if set, are the only alertnames that detect faults.
	AlertNames []string
	// Interval is how often Run sweeps (> 0; default DefaultInterval).
	Interval time.Duration
	// Registerer receives the detection metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// withDefaults returns o with its zero fields defaulted, or the first error
// in it, naming the field.
func (o Options) withDefaults() (Options, error) {
	if o.Store == nil {
		return o, errors.New("detect: Options.Store is not set")
	}
	if o.Alerts == nil {
		return o, errors.New("detect: Options.Alerts is not set")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Window", &o.Window, DefaultWindow},
		{"Grace", &o.Grace, DefaultGrace},
		{"Interval", &o.Interval, DefaultInterval},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return o, fmt.Errorf("detect: Options.%s: must be greater than 0, got %s", d.name, *d.v)
		}
	}
	if o.AfterRecovery < 0 {
		return o, fmt.Errorf("detect: Options.AfterRecovery: must not be negative, got %s", o.AfterRecovery)
	}
	switch o.From {
	case "":
		o.From = FromStartsAt
	case FromStartsAt, FromReceived:
	default:
		return o, fmt.Errorf("detect: Options.From: %q is not one of %s, %s", o.From, FromStartsAt, FromReceived)
	}
	for _, l := range []struct {
		name     string
		v        *[]string
		def      []string
		required bool
	}{
		{"Namespace", &o.Labels.Namespace, DefaultLabels.Namespace, false},
		{"Service", &o.Labels.Service, DefaultLabels.Service, true},
		{"Group", &o.Labels.Group, DefaultLabels.Group, false},
		{"Node", &o.Labels.Node, DefaultLabels.Node, true},
	} {
		if *l.v == nil {
			*l.v = l.def
			continue
		}
		if len(*l.v) == 0 && l.required {
			return o, fmt.Errorf("detect: Options.Labels.%s: empty, so no alert could name an incident's %s", l.name, lower(l.name))
		}
		for i, name := range *l.v {
			if !validLabelName(name) {
				return o, fmt.Errorf("detect: Options.Labels.%s[%d]: %q is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", l.name, i, name)
			}
		}
	}
	for v, g := range o.GroupValues {
		if v == "" {
			return o, fmt.Errorf("detect: Options.GroupValues: an empty value cannot mean group %q", g)
		}
		if g != chaos.Control && g != chaos.Experimental && g != chaos.NoGroup {
			return o, fmt.Errorf("detect: Options.GroupValues[%q]: %q is not one of %s, %s, %s", v, g, chaos.Control, chaos.Experimental, chaos.NoGroup)
		}
	}
	for i, n := range o.AlertNames {
		if n == "" {
			return o, fmt.Errorf("detect: Options.AlertNames[%d]: empty", i)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func lower(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// validLabelName reports whether s is a legacy Prometheus label name, which
// every Alertmanager and rule file accepts.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
