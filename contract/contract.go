// Package contract is what steadywatch promises the world outside it: the
// metric families it exports (names, types, labels, help, buckets), the
// label values dashboards and rules match on, the verdict results, the
// webhook path and the alert names. The exporter and the generators
// (dashboards, rules, Alertmanager wiring) both read it, so a name is typed
// once; it imports nothing from the module.
package contract

// Namespace prefixes every metric steadywatch exports.
const Namespace = "steadywatch"

// Type is a metric family's type, as the exposition format names it.
type Type string

// The metric types steadywatch exports.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Metric is one exported metric family. Labels are the variable labels in
// the order the exporter passes their values (build_info's are constant
// labels, in sorted order); Buckets are a histogram's upper bounds.
type Metric struct {
	Name    string
	Type    Type
	Help    string
	Labels  []string
	Buckets []float64
}

// Label names.
const (
	LabelAlertname = "alertname"
	LabelBound     = "bound"
	// LabelCluster is on every series when the configuration names a
	// cluster (config's cluster): the exporter adds it to all of them,
	// the Go runtime's and build_info included, so one Thanos or Mimir
	// keeps many clusters' series apart. Not in any Metric's Labels.
	LabelCluster    = "cluster"
	LabelCode       = "code"
	LabelGroup      = "group"
	LabelHandler    = "handler"
	LabelHypothesis = "hypothesis"
	LabelKind       = "kind"
	LabelLabel      = "label"
	LabelMetric     = "metric"
	LabelNamespace  = "namespace"
	LabelReason     = "reason"
	LabelResource   = "resource"
	LabelResult     = "result"
	LabelService    = "service"
	LabelSeverity   = "severity"
	LabelState      = "state"
	LabelStatus     = "status"
	LabelTool       = "tool"
	LabelVerdict    = "verdict"
	LabelWebhook    = "webhook"
	LabelWorkload   = "workload"
)

// Results of a hypothesis (LabelVerdict) and of a steady-state metric
// (LabelResult). A metric compared with the control fails as high or low
// (the direction of its deterioration); a hypothesis only passes, fails or
// is inconclusive.
const (
	ResultPass         = "pass"
	ResultFail         = "fail"
	ResultHigh         = "high"
	ResultLow          = "low"
	ResultInconclusive = "inconclusive"
)

// HypothesisResults are the values of LabelVerdict, in exposition order.
var HypothesisResults = []string{ResultPass, ResultFail, ResultInconclusive}

// MetricResults are the values of HypothesisMetricResult's LabelResult, in
// exposition order.
var MetricResults = []string{ResultPass, ResultHigh, ResultLow, ResultFail, ResultInconclusive}

// Why an incident's recovery is not an MTTR sample (IncidentsUnmeasured's
// LabelReason).
const (
	UnmeasuredStartNotSeen = "start_not_seen"
	UnmeasuredNoDuration   = "no_duration"
)

// Values of HypothesisEffect's LabelBound.
const (
	BoundEstimate = "estimate"
	BoundCILow    = "ci_low"
	BoundCIHigh   = "ci_high"
	BoundAllowed  = "allowed"
)

// Values of SteadyStateValue's LabelGroup (the groups of chaos.Group that
// hold samples).
const (
	GroupControl      = "control"
	GroupExperimental = "experimental"
)

// Values of AlertmanagerPulls' LabelResult.
const (
	PullSuccess = "success"
	PullError   = "error"
)

// Alertmanager's alert states, as its API names them
// (AlertmanagerPullAlerts' LabelState).
const (
	AlertStateActive      = "active"
	AlertStateSuppressed  = "suppressed"
	AlertStateUnprocessed = "unprocessed"
)

// Results of a weekly report's delivery attempt (ReportDeliveries'
// LabelResult): delivered, given up (failed), or to be tried again.
const (
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryRetry     = "retry"
)

// DeliveryResults are the values of ReportDeliveries' LabelResult.
var DeliveryResults = []string{DeliveryDelivered, DeliveryFailed, DeliveryRetry}

// OtherLabelValue is the value a label taken from outside (an alert's
// name, service or severity) is counted under once that label has had too
// many distinct values; LabelValuesFolded counts them.
const OtherLabelValue = "other"

// OtherAlertName is AlertsReceived's LabelAlertname of the alerts whose
// name came after the receiver's first MaxAlertNames others.
const OtherAlertName = OtherLabelValue

// Values of HTTPUnauthorized's LabelHandler besides the routes' paths.
const (
	HandlerWebhook = "webhook"
	HandlerOther   = "other"
)

// WebhookRejectedBusy is WebhookRejected's LabelReason of the requests
// refused because the bodies in flight were at their limit.
const WebhookRejectedBusy = "busy"

// Why the receiver rejected an alert of a notification (AlertsRejected's
// LabelReason): the field at fault, as a label value.
const (
	RejectedFingerprint  = "fingerprint"
	RejectedStatus       = "status"
	RejectedLabels       = "labels"
	RejectedAnnotations  = "annotations"
	RejectedStartsAt     = "starts_at"
	RejectedEndsAt       = "ends_at"
	RejectedGeneratorURL = "generator_url"
)

// RejectedReasons are the values of AlertsRejected's LabelReason.
var RejectedReasons = []string{
	RejectedFingerprint, RejectedStatus, RejectedLabels, RejectedAnnotations,
	RejectedStartsAt, RejectedEndsAt, RejectedGeneratorURL,
}

// PullRejectedReasons are the values of AlertmanagerPullRejectedAlerts'
// LabelReason: RejectedReasons but RejectedEndsAt, as the puller saves a
// firing alert without its endsAt. RejectedStatus is for the API's
// status.state.
var PullRejectedReasons = []string{
	RejectedFingerprint, RejectedStatus, RejectedLabels, RejectedAnnotations,
	RejectedStartsAt, RejectedGeneratorURL,
}

// WebhookPath is where the Alertmanager webhook receiver is served;
// Alertmanager's webhook_config url points here.
const WebhookPath = "/api/v1/alertmanager/webhook"

// AlertNamePrefix starts the name of every alert steadywatch raises or
// generates a rule for.
const AlertNamePrefix = "Steadywatch"

// AbortAlertName is the alertname of the abort alert steadywatch posts to
// Alertmanager; its LabelHypothesis names the hypothesis.
const AbortAlertName = AlertNamePrefix + "AbortExperiment"

// Histogram buckets.
var (
	// RecoveryBuckets span pod restarts (sub-second on a fast cluster) to
	// day-long outages. Detection uses them too, so that MTTD and MTTR line
	// up in one heatmap.
	RecoveryBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}
	// BetweenFailuresBuckets span back-to-back experiments to a month.
	BetweenFailuresBuckets = []float64{1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 172800, 604800, 2592000}
	// WebhookDurationBuckets are client_golang's DefBuckets.
	WebhookDurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// PullDurationBuckets span 5ms to 20s, as client_golang's
	// ExponentialBuckets(0.005, 4, 7) computes them.
	PullDurationBuckets = exponentialBuckets(0.005, 4, 7)
)

// exponentialBuckets is client_golang's ExponentialBuckets, multiplied the
// same way so that the le labels are the same.
func exponentialBuckets(start, factor float64, count int) []float64 {
	b := make([]float64, count)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

func name(n string) string { return Namespace + "_" + n }

// Event metrics: chaos events, incidents and their recovery.
var (
	ChaosEvents = Metric{
		Name: name("chaos_events_total"), Type: Counter,
		Help:   "Chaos events observed in the cluster, whoever caused them.",
		Labels: []string{LabelKind, LabelNamespace, LabelService, LabelGroup},
	}
	ChaosEventsMissed = Metric{
		Name: name("chaos_events_missed_total"), Type: Counter,
		Help:   "Chaos events inferred from a relist or at start rather than seen as they happened; also counted in " + name("chaos_events_total") + ".",
		Labels: []string{LabelKind},
	}
	RecoverySeconds = Metric{
		Name: name("recovery_seconds"), Type: Histogram,
		Help:    "Time from fault start to recovery of each incident (MTTR samples).",
		Labels:  []string{LabelKind, LabelService, LabelGroup},
		Buckets: RecoveryBuckets,
	}
	TimeBetweenFailuresSeconds = Metric{
		Name: name("time_between_failures_seconds"), Type: Histogram,
		Help:    "Time between the starts of consecutive failures of one service and group (MTBF samples).",
		Labels:  []string{LabelService, LabelGroup},
		Buckets: BetweenFailuresBuckets,
	}
	WatchErrors = Metric{
		Name: name("watch_errors_total"), Type: Counter,
		Help:   "Failed lists or watches of the Kubernetes API, by resource.",
		Labels: []string{LabelResource},
	}
	IncidentsUnmeasured = Metric{
		Name: name("incidents_unmeasured_total"), Type: Counter,
		Help: "Incidents that recovered but whose time to recover is unknown, so not in " + name("recovery_seconds") + ": " +
			UnmeasuredStartNotSeen + " (the fault happened while steadywatch was not watching; its start is an estimate), " +
			UnmeasuredNoDuration + " (recovered no later than it was seen to start).",
		Labels: []string{LabelKind, LabelService, LabelGroup, LabelReason},
	}
)

// State metrics, snapshots taken at scrape time.
var (
	IncidentsOpen = Metric{
		Name: name("incidents_open"), Type: Gauge,
		Help:   "Incidents that have not recovered yet.",
		Labels: []string{LabelKind, LabelService, LabelGroup},
	}
	WorkloadReadyRatio = Metric{
		Name: name("workload_ready_ratio"), Type: Gauge,
		Help:   "Ready replicas over desired replicas of each Deployment, StatefulSet and DaemonSet (1 when none are desired); workload is kind/name, e.g. deployment/web.",
		Labels: []string{LabelNamespace, LabelWorkload, LabelService, LabelGroup},
	}
	InformerSynced = Metric{
		Name: name("informer_synced"), Type: Gauge,
		Help:   "Whether the informers of a watched resource have synced (1) or not (0).",
		Labels: []string{LabelResource},
	}
	LastEventTimestamp = Metric{
		Name: name("last_event_timestamp_seconds"), Type: Gauge,
		Help: "Unix time of the latest chaos event observed; 0 before the first.",
	}
)

// Watch health metrics.
var (
	WatchUp = Metric{
		Name: name("watch_up"), Type: Gauge,
		Help:   "Whether the lists and watches of a resource reach the Kubernetes API (1) or fail (0): while 0, steadywatch misses what happens to it.",
		Labels: []string{LabelResource},
	}
	WatchBrokenSince = Metric{
		Name: name("watch_broken_since_timestamp_seconds"), Type: Gauge,
		Help:   "Unix time the current outage of a resource's watch began; 0 while it is up.",
		Labels: []string{LabelResource},
	}
	WatchLastContact = Metric{
		Name: name("watch_last_contact_timestamp_seconds"), Type: Gauge,
		Help:   "Unix time the Kubernetes API last answered a list or watch of a resource or sent an event or bookmark on it; 0 before the first.",
		Labels: []string{LabelResource},
	}
	WatchRelists = Metric{
		Name: name("watch_relists_total"), Type: Counter,
		Help:   "Lists of a resource after the first: each follows a broken or expired watch, and whatever vanished meanwhile is a missed event.",
		Labels: []string{LabelResource},
	}
)

// Detection metrics (MTTD).
var (
	DetectionSeconds = Metric{
		Name: name("detection_seconds"), Type: Histogram,
		Help:    "Time from fault start to the alert that detected it (MTTD samples); faults whose start was inferred are left out.",
		Labels:  []string{LabelKind, LabelService, LabelGroup},
		Buckets: RecoveryBuckets,
	}
	IncidentsUndetected = Metric{
		Name: name("incidents_undetected_total"), Type: Counter,
		Help:   "Failures no alert detected within the detection window; faults whose start was inferred are left out.",
		Labels: []string{LabelKind, LabelService, LabelGroup},
	}
	DetectionErrors = Metric{
		Name: name("detection_errors_total"), Type: Counter,
		Help: "Sweeps and joins of alerts to incidents that failed reading or writing the store; retried on the next sweep.",
	}
)

// Alert intake metrics: the webhook receiver and the Alertmanager puller.
var (
	AlertsReceived = Metric{
		Name: name("alerts_received_total"), Type: Counter,
		Help:   "Alerts received from Alertmanager's webhook and stored, by name, service, severity and status; an alert notified again is counted again.",
		Labels: []string{LabelAlertname, LabelService, LabelSeverity, LabelStatus},
	}
	AlertsRejected = Metric{
		Name: name("alerts_rejected_total"), Type: Counter,
		Help:   "Alerts of webhook notifications rejected and not stored, by the field at fault; the other alerts of their notification are stored, and a retry would be rejected the same way.",
		Labels: []string{LabelReason},
	}
	WebhookRequests = Metric{
		Name: name("webhook_requests_total"), Type: Counter,
		Help:   "Requests to the Alertmanager webhook receiver, by HTTP status code.",
		Labels: []string{LabelCode},
	}
	LabelValuesFolded = Metric{
		Name: name("label_values_folded_total"), Type: Counter,
		Help:   "Observations counted with the label value \"" + OtherLabelValue + "\" because the label, taken from outside (an alert's name, service, severity), had too many distinct values already, by metric and label.",
		Labels: []string{LabelMetric, LabelLabel},
	}
	HTTPUnauthorized = Metric{
		Name: name("http_unauthorized_total"), Type: Counter,
		Help:   "Requests answered 401 for want of valid credentials, by handler (webhook, or the route's path); the log says only the first of each problem every 10s.",
		Labels: []string{LabelHandler},
	}
	WebhookRejected = Metric{
		Name: name("webhook_rejected_total"), Type: Counter,
		Help: "Requests to the Alertmanager webhook receiver refused before their body was read, by reason: " +
			WebhookRejectedBusy + " (the bodies in flight would exceed alerts.max_bytes_in_flight; answered 503 with Retry-After, which Alertmanager retries).",
		Labels: []string{LabelReason},
	}
	WebhookInFlightBytes = Metric{
		Name: name("webhook_in_flight_bytes"), Type: Gauge,
		Help: "Bytes of webhook bodies being read, decoded and stored: each request reserves its Content-Length (alerts.max_body_bytes when it has none) until it is answered.",
	}
	WebhookRequestDuration = Metric{
		Name: name("webhook_request_duration_seconds"), Type: Histogram,
		Help:    "Time to answer a request to the Alertmanager webhook receiver, storing its alerts included.",
		Buckets: WebhookDurationBuckets,
	}
	AlertmanagerPulls = Metric{
		Name: name("alertmanager_pulls_total"), Type: Counter,
		Help:   "Pulls of alerts from Alertmanager's v2 API, by result (success, error).",
		Labels: []string{LabelResult},
	}
	AlertmanagerPullDuration = Metric{
		Name: name("alertmanager_pull_duration_seconds"), Type: Histogram,
		Help:    "How long a pull of alerts from Alertmanager took, saving them included.",
		Buckets: PullDurationBuckets,
	}
	AlertmanagerLastSuccessfulPull = Metric{
		Name: name("alertmanager_last_successful_pull_timestamp_seconds"), Type: Gauge,
		Help: "When the last successful pull of alerts from Alertmanager ended, in seconds since the epoch.",
	}
	AlertmanagerPullResolvedAlerts = Metric{
		Name: name("alertmanager_pull_resolved_alerts_total"), Type: Counter,
		Help: "Alerts saved as resolved because Alertmanager's API no longer listed them.",
	}
	AlertmanagerPullRejectedAlerts = Metric{
		Name: name("alertmanager_pull_rejected_alerts_total"), Type: Counter,
		Help: "Alerts Alertmanager's API listed that were skipped, not saved, by the field at fault: beyond what the store can keep (see " +
			name("alerts_rejected_total") + ") or malformed; the other alerts of the pull are saved. " +
			"An alert (fingerprint and startsAt) is counted once while it stays listed.",
		Labels: []string{LabelReason},
	}
	AlertmanagerPullAlerts = Metric{
		Name: name("alertmanager_pull_alerts"), Type: Gauge,
		Help:   "Alerts Alertmanager listed at the last successful pull, by state (active, suppressed: silenced or inhibited, unprocessed).",
		Labels: []string{LabelState},
	}
)

// Store metrics: the queue of writes in front of the store.
var (
	StoreQueuedWrites = Metric{
		Name: name("store_queued_writes"), Type: Gauge,
		Help: "Incidents and chaos events waiting to be written to the store.",
	}
	StoreWriteErrors = Metric{
		Name: name("store_write_errors_total"), Type: Counter,
		Help: "Failed attempts to write incidents and chaos events to the store; the writes are retried.",
	}
	StoreEventsDropped = Metric{
		Name: name("store_events_dropped_total"), Type: Counter,
		Help: "Chaos events dropped unwritten because the store failed for too long and too many were queued.",
	}
)

// Experiment metrics: the chaos tools' experiments serve records (package
// experiment). LabelTool is bounded by the tools: litmus, chaos-mesh.
var (
	ExperimentsRecorded = Metric{
		Name: name("experiments_recorded_total"), Type: Counter,
		Help:   "Readings of chaos experiments (a start, each change, the end) saved to the store, by tool (litmus, chaos-mesh).",
		Labels: []string{LabelTool},
	}
	ExperimentSaveErrors = Metric{
		Name: name("experiment_save_errors_total"), Type: Counter,
		Help: "Failed attempts to save a reading of a chaos experiment to the store; the latest reading of each experiment is kept and retried.",
	}
	ExperimentResourcesWatched = Metric{
		Name: name("experiment_resources_watched"), Type: Gauge,
		Help:   "Whether a chaos tool's resource (podchaos.chaos-mesh.org, chaosengines.litmuschaos.io…) is watched (1) or not (0): not served by the cluster (yet), or this serve does not lead.",
		Labels: []string{LabelResource},
	}
)

// Verdict metrics. Label values are bounded by the hypothesis files: one
// series set per hypothesis and metric.
var (
	HypothesisVerdict = Metric{
		Name: name("hypothesis_verdict"), Type: Gauge,
		Help:   "The current verdict of each hypothesis: 1 for it, 0 for the other verdicts.",
		Labels: []string{LabelHypothesis, LabelVerdict},
	}
	HypothesisRunning = Metric{
		Name: name("hypothesis_running"), Type: Gauge,
		Help:   "1 while the hypothesis's experiment window is open and its verdict provisional.",
		Labels: []string{LabelHypothesis},
	}
	HypothesisScore = Metric{
		Name: name("hypothesis_score"), Type: Gauge,
		Help:   "Weighted share of the judged metrics that passed, 0-100; NaN if none could be judged.",
		Labels: []string{LabelHypothesis},
	}
	HypothesisAbort = Metric{
		Name: name("hypothesis_abort"), Type: Gauge,
		Help:   "1 from when a hard bound (SLO) of the hypothesis is violated during its experiment, and it asks to abort, until the experiment's window ends.",
		Labels: []string{LabelHypothesis},
	}
	HypothesisVerdictTimestamp = Metric{
		Name: name("hypothesis_verdict_timestamp_seconds"), Type: Gauge,
		Help:   "Time of the hypothesis's current verdict.",
		Labels: []string{LabelHypothesis},
	}
	HypothesisMetricResult = Metric{
		Name: name("hypothesis_metric_result"), Type: Gauge,
		Help:   "The current result of each steady-state metric of a hypothesis: 1 for it, 0 for the others.",
		Labels: []string{LabelHypothesis, LabelMetric, LabelResult},
	}
	SteadyStateValue = Metric{
		Name: name("steady_state_value"), Type: Gauge,
		Help:   "Each group's value of a steady-state metric over the experiment window: the median of its samples, or errors/total for a ratio.",
		Labels: []string{LabelHypothesis, LabelMetric, LabelGroup},
	}
	HypothesisEffect = Metric{
		Name: name("hypothesis_effect"), Type: Gauge,
		Help:   "The experimental group's shift from the control for a metric (estimate and confidence interval) and the largest shift allowed, in the metric's unit.",
		Labels: []string{LabelHypothesis, LabelMetric, LabelBound},
	}
	HypothesisSuperiorityRatio = Metric{
		Name: name("hypothesis_superiority_ratio"), Type: Gauge,
		Help:   "The standardized effect of a value metric: the probability that an experimental sample exceeds a control sample, ties counting half (0.5: no effect); absent for ratios.",
		Labels: []string{LabelHypothesis, LabelMetric},
	}
	HypothesisCohensEffectSize = Metric{
		Name: name("hypothesis_cohens_effect_size"), Type: Gauge,
		Help:   "The standardized effect of a ratio metric: Cohen's h of the groups' error ratios, 2*asin(sqrt(experimental)) - 2*asin(sqrt(control)) (0: no effect; |h| 0.2 is small, 0.5 medium, 0.8 large); absent for values.",
		Labels: []string{LabelHypothesis, LabelMetric},
	}
	HypothesisPValue = Metric{
		Name: name("hypothesis_p_value"), Type: Gauge,
		Help:   "p-value of the two-sample or count test comparing the groups for a metric.",
		Labels: []string{LabelHypothesis, LabelMetric},
	}
	VerdictsTotal = Metric{
		Name: name("verdicts_total"), Type: Counter,
		Help:   "Verdicts issued, by hypothesis and verdict; a hypothesis judged continuously counts every judgement.",
		Labels: []string{LabelHypothesis, LabelVerdict},
	}
)

// Report delivery metrics: the weekly report sent to the webhooks of
// reports.delivery, one series set per webhook configured.
var (
	ReportDeliveries = Metric{
		Name: name("report_deliveries_total"), Type: Counter,
		Help: "Attempts to send the weekly report to a webhook, by result: " + DeliveryDelivered + " (the webhook accepted it), " +
			DeliveryRetry + " (it failed and will be tried again), " + DeliveryFailed + " (it failed and was given up).",
		Labels: []string{LabelWebhook, LabelResult},
	}
	ReportDeliveryPending = Metric{
		Name: name("report_delivery_pending"), Type: Gauge,
		Help:   "Weekly reports recorded for a webhook and not delivered or given up yet, as of the deliverer's last look at the store.",
		Labels: []string{LabelWebhook},
	}
)

// Leader tells which replica of serve leads (kubernetes.leader_election):
// the one whose incident, verdict and delivery series count. With the
// election off, serve is its own leader.
var Leader = Metric{
	Name: name("leader"), Type: Gauge,
	Help: "1 while this serve leads (holds the leader Lease, or leader election is off): it watches, records incidents, judges, raises aborts, pulls Alertmanager and delivers reports; 0 while it follows, receiving webhooks and answering the API only.",
}

// ConfigLastReloadSuccessful and ConfigLastReloadSuccessTime follow
// Prometheus's own: whether the last reload (SIGHUP, POST /-/reload) of the
// configuration and hypotheses succeeded, and when one last did (the start
// counts as one).
var (
	ConfigLastReloadSuccessful = Metric{
		Name: name("config_last_reload_successful"), Type: Gauge,
		Help: "1 if the last reload of the configuration and hypotheses succeeded (or none was asked since the start), 0 if it failed and the configuration before it runs.",
	}
	ConfigLastReloadSuccessTime = Metric{
		Name: name("config_last_reload_success_timestamp_seconds"), Type: Gauge,
		Help: "Unix time of the last successful reload of the configuration and hypotheses, or of the start.",
	}
)

// BuildInfo is client_golang's version collector's, for steadywatch; its
// labels are constant.
var BuildInfo = Metric{
	Name: name("build_info"), Type: Gauge,
	Help:   "A metric with a constant '1' value labeled by version, revision, branch, goversion from which steadywatch was built, and the goos and goarch for the build.",
	Labels: []string{"branch", "goarch", "goos", "goversion", "revision", "tags", "version"},
}

// Metrics are all the families steadywatch exports, in the README's order.
var Metrics = []Metric{
	ChaosEvents, ChaosEventsMissed, RecoverySeconds, IncidentsUnmeasured, TimeBetweenFailuresSeconds,
	DetectionSeconds, IncidentsUndetected, DetectionErrors,
	AlertsReceived, AlertsRejected, LabelValuesFolded, WebhookRequests, HTTPUnauthorized, WebhookRejected, WebhookInFlightBytes, WebhookRequestDuration,
	AlertmanagerPulls, AlertmanagerPullDuration, AlertmanagerLastSuccessfulPull, AlertmanagerPullResolvedAlerts, AlertmanagerPullRejectedAlerts, AlertmanagerPullAlerts,
	StoreQueuedWrites, StoreWriteErrors, StoreEventsDropped,
	ExperimentsRecorded, ExperimentSaveErrors, ExperimentResourcesWatched,
	HypothesisVerdict, HypothesisRunning, HypothesisScore, HypothesisAbort, HypothesisVerdictTimestamp,
	HypothesisMetricResult, SteadyStateValue, HypothesisEffect, HypothesisSuperiorityRatio, HypothesisCohensEffectSize, HypothesisPValue, VerdictsTotal,
	IncidentsOpen, WorkloadReadyRatio, InformerSynced, LastEventTimestamp,
	WatchErrors, WatchUp, WatchBrokenSince, WatchLastContact, WatchRelists,
	ReportDeliveries, ReportDeliveryPending,
	Leader,
	ConfigLastReloadSuccessful, ConfigLastReloadSuccessTime,
	BuildInfo,
}
