package report

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Level is a SEV level, "SEV1" (the worst), "SEV2", …
type Level string

// rank is the level's number, SEV1 → 1; 0 for a malformed level.
func (l Level) rank() int {
	n, err := strconv.Atoi(strings.TrimPrefix(string(l), "SEV"))
	if err != nil || !strings.HasPrefix(string(l), "SEV") || n < 1 {
		return 0
	}
	return n
}

// Valid reports whether l is "SEV" followed by a number from 1.
func (l Level) Valid() bool {
	return l.rank() > 0 && string(l) == "SEV"+strconv.Itoa(l.rank())
}

// worse returns the worse (lower-numbered) of a and b.
func worse(a, b Level) Level {
	if a == "" || b != "" && b.rank() < a.rank() {
		return b
	}
	return a
}

// Severity maps an alert's severity label value to a SEV level.
type Severity struct {
	Severity string `json:"severity"`
	Level    Level  `json:"level"`
}

// Seconds is a duration that JSON and CSV give in seconds.
type Seconds time.Duration

// MarshalJSON writes the duration in seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(s).Seconds())
}

// Distribution summarises durations: the number of samples, their median,
// 90th percentile and maximum (nearest rank; see the package doc). With
// no samples the figures are zero and mean "no data".
type Distribution struct {
	Samples int     `json:"samples"`
	Median  Seconds `json:"median_seconds"`
	P90     Seconds `json:"p90_seconds"`
	Max     Seconds `json:"max_seconds"`
}

// Mean is the mean of durations and the number of samples behind it; with
// no samples it is zero and means "no data".
type Mean struct {
	Samples int     `json:"samples"`
	Mean    Seconds `json:"mean_seconds"`
}

// AlertFigures are the alert figures of one service (or all) over one
// range.
type AlertFigures struct {
	// Firing counts the alerts (fingerprint, startsAt) firing at some time
	// in the range, silenced ones left out.
	Firing int `json:"firing"`
	// Silenced counts the alerts firing in the range that steadywatch knows
	// only from Alertmanager's API: silenced or inhibited, never notified.
	Silenced int `json:"silenced"`
	// Notifications sums the webhook notifications of the Firing alerts
	// (alert.Alert.Notifications): API pulls are left out.
	Notifications int `json:"notifications"`
	// Open counts the Firing alerts still firing at the range's end.
	Open int `json:"open"`
	// Noisy counts the Firing alerts resolved by themselves (within
	// NoisyWithin of their start) and joined to no incident.
	Noisy int `json:"noisy"`
	// Flapping counts the fingerprints that fired FlapCount times or more
	// in the range.
	Flapping int `json:"flapping"`
	// Resolution is the time to resolution of the alerts resolved in the
	// range.
	Resolution Distribution `json:"time_to_resolution"`
}

// SEVFigures are the SEV figures of one service (or all) over one range:
// the SEVs that started in it.
type SEVFigures struct {
	Total   int           `json:"total"`
	ByLevel map[Level]int `json:"by_level"`
	// Chaos and Organic split Total by kind.
	Chaos   int `json:"chaos"`
	Organic int `json:"organic"`
	// MTTD, MTTR and MTBF are defined in the package doc.
	MTTD Mean `json:"mttd"`
	MTTR Mean `json:"mttr"`
	MTBF Mean `json:"mtbf"`
}

// Figures are a range's figures.
type Figures struct {
	Alerts AlertFigures `json:"alerts"`
	SEVs   SEVFigures   `json:"sevs"`
	// Detection is how the chaos faults that started in the range were
	// detected.
	Detection Coverage `json:"detection"`
}

// TopAlert is one of a service's most frequent alerts.
type TopAlert struct {
	// Alert is the alertname and the identifying labels,
	// `HighLatency{route="/cart",severity="warning"}`.
	Alert string `json:"alert"`
	// Count is how many times it fired in the range, Notifications the
	// webhook notifications of those firings.
	Count         int `json:"count"`
	Notifications int `json:"notifications"`
	// FiringTime is the total time it fired, clipped to the range (and to
	// Options.Now for alerts still firing).
	FiringTime Seconds `json:"firing_time_seconds"`
	// SelfResolved is how many of Count resolved by themselves (within
	// NoisyWithin); SelfResolvedShare is SelfResolved/Count.
	SelfResolved      int     `json:"self_resolved"`
	SelfResolvedShare float64 `json:"self_resolved_share"`
}

// OpenAlert is an alert still firing at the range's end.
type OpenAlert struct {
	Alert       string    `json:"alert"`
	Fingerprint string    `json:"fingerprint"`
	StartsAt    time.Time `json:"starts_at"`
	Severity    string    `json:"severity,omitempty"`
}

// FlappingAlert is a fingerprint that fired FlapCount times or more.
type FlappingAlert struct {
	Alert       string `json:"alert"`
	Fingerprint string `json:"fingerprint"`
	Firings     int    `json:"firings"`
}

// Service is one service's part of the report.
type Service struct {
	// Name is the service, NoService for alerts that name none.
	Name     string          `json:"name"`
	Current  Figures         `json:"current"`
	Previous Figures         `json:"previous"`
	Top      []TopAlert      `json:"top_alerts"`
	Open     []OpenAlert     `json:"open_alerts"`
	Flapping []FlappingAlert `json:"flapping_alerts"`
	// Undetected are the service's chaos faults that started in the range
	// and no alert detected, oldest first.
	Undetected []UndetectedFault `json:"undetected_faults"`
	// Daily counts, for each local day of the range, the alerts of the
	// service that started that day (see DayCount).
	Daily []DayCount `json:"daily"`
	// ResolutionBuckets count the time to resolution of the service's
	// alerts resolved in the range (the samples of Current's Resolution)
	// in the ResolutionEdges buckets.
	ResolutionBuckets []Bucket `json:"time_to_resolution_buckets"`
}

// DayCount is one local day of a range, in the report's time zone: from
// midnight to the next (24 hours, or 23 or 25 on a daylight saving
// change), clipped to the range.
type DayCount struct {
	// Date is the day, 2006-01-02.
	Date string    `json:"date"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Alerts counts the alerts (fingerprint, startsAt) that started in
	// [From, To), silenced ones left out: the Firing alerts of the range
	// but those that started before it.
	Alerts int `json:"alerts"`
}

// Bucket is one bar of the time-to-resolution histogram: the samples d
// with From ≤ d < To (no upper bound where To is 0).
type Bucket struct {
	Label string  `json:"label"`
	From  Seconds `json:"from_seconds"`
	To    Seconds `json:"to_seconds,omitempty"`
	Count int     `json:"count"`
}

// TrendPoint is the SEV figures of one range of the trend, pooled over all
// services, as in Report.Total.
type TrendPoint struct {
	Range Range `json:"range"`
	SEVs  int   `json:"sevs"`
	MTTR  Mean  `json:"mttr"`
	MTTD  Mean  `json:"mttd"`
}

// Kinds of SEV.
const (
	KindChaos   = "chaos"
	KindOrganic = "organic"
)

// SEV is one incident with a SEV level.
type SEV struct {
	// ID is the chaos incident's ID, or for an organic SEV "organic:" and
	// the fingerprint and start (Unix nanoseconds) of the alert that opened
	// it.
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Service string `json:"service"`
	Level   Level  `json:"level"`
	// Fault is the chaos incident's kind (pod_deleted, …); "" for organic.
	Fault string    `json:"fault,omitempty"`
	Start time.Time `json:"start"`
	// End is zero while open.
	End time.Time `json:"end,omitzero"`
	// DetectedAt is a chaos incident's detection; zero if none.
	DetectedAt time.Time `json:"detected_at,omitzero"`
	// Alert is the detecting (chaos) or opening (organic) alert's name.
	Alert string `json:"alert,omitempty"`
	// Alerts counts an organic SEV's alerts.
	Alerts int `json:"alerts,omitempty"`
	// Missed marks a chaos incident whose start was inferred: it counts,
	// but is no sample of MTTD or MTTR.
	Missed bool `json:"missed,omitempty"`
	// Run names the chaos tool's run a chaos SEV started in ("litmus
	// ChaosEngine shop/kill-web pod-delete"): one recorded in the
	// incident's namespace whose start and end, both included (now while
	// it runs), hold the SEV's start; the latest started of several. ""
	// for none, and for node faults, which have no namespace.
	Run string `json:"run,omitempty"`
	// namespace is a chaos SEV's incident's.
	namespace string
}

// kindText is the SEV's kind with its fault and run.
func (s *SEV) kindText() string {
	kind := s.Kind
	switch {
	case s.Fault != "" && s.Run != "":
		kind += " (" + s.Fault + "; during " + s.Run + ")"
	case s.Fault != "":
		kind += " (" + s.Fault + ")"
	}
	if s.Missed {
		kind += ", start inferred"
	}
	return kind
}

// Change is one headline figure this range and the previous one.
type Change struct {
	Name string `json:"name"`
	// Unit is "count", "seconds" or "share" (a fraction, 0 to 1).
	Unit string `json:"unit"`
	// Current and Previous are nil where there is no data.
	Current  *float64 `json:"current"`
	Previous *float64 `json:"previous"`
	// Delta is Current − Previous; Percent is Delta/Previous·100 where
	// Previous is not 0. Nil where they cannot be computed.
	Delta   *float64 `json:"delta"`
	Percent *float64 `json:"percent"`
}

// Settings are the options the report was computed with.
type Settings struct {
	TimeZone      string     `json:"time_zone"`
	NoisyWithin   Seconds    `json:"noisy_within_seconds"`
	FlapCount     int        `json:"flap_count"`
	Lookback      Seconds    `json:"lookback_seconds"`
	Levels        []Severity `json:"severity_levels"`
	ChaosLevel    Level      `json:"chaos_level"`
	ServiceLabels []string   `json:"service_labels"`
	SeverityLabel string     `json:"severity_label"`
	Volatile      []string   `json:"volatile_labels"`
	// DetectionBound is Options.DetectionBound.
	DetectionBound Seconds `json:"detection_bound_seconds"`
}

// Report is a weekly (or any range's) report.
type Report struct {
	Range    Range    `json:"range"`
	Previous Range    `json:"previous"`
	Settings Settings `json:"settings"`
	// Empty says the store holds no alert, no incident and no verdict at
	// all.
	Empty bool `json:"empty"`
	// Levels are the SEV levels the report knows, worst first.
	Levels []Level `json:"levels"`
	// Total sums every service.
	Total struct {
		Current  Figures `json:"current"`
		Previous Figures `json:"previous"`
	} `json:"total"`
	// Services are sorted by name.
	Services []Service `json:"services"`
	// SEVs are the SEVs that started in the range, oldest first.
	SEVs []SEV `json:"sevs"`
	// Changes are the headline figures, week over week.
	Changes []Change `json:"changes"`
	// Experiments are the hypotheses with a verdict in force in the
	// range, by name.
	Experiments []Experiment `json:"experiments"`
	// Rules are the alert rules' quality over the range.
	Rules []Rule `json:"alert_rules"`
	// Daily and ResolutionBuckets sum the services' (see Service).
	Daily             []DayCount `json:"daily"`
	ResolutionBuckets []Bucket   `json:"time_to_resolution_buckets"`
	// Trend is the last Options.TrendRanges ranges, oldest first, the
	// last one Range; absent unless asked for.
	Trend []TrendPoint `json:"trend,omitempty"`
}
