// Package config defines steadywatch's configuration file, its defaults and
// its validation.
//
// A configuration is built in three steps: [Default] values first, then the
// YAML file decoded strictly on top of them ([Load], [Parse]), then command
// line flags applied by the CLI, followed by a final call to
// [Config.Validate]. Every error names the offending field by its YAML path
// (for example "watch.namespaces[1]") and, when it comes from a file, the
// file name and line:
//
//	steadywatch.yml:7: watch.selector: unable to parse requirement: ...
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/httpurl"
)

// Groups a pod can belong to, as returned by [Config.Group].
const (
	GroupControl      = "control"
	GroupExperimental = "experimental"
	GroupNone         = "none"
)

// ServiceOther is what [Config.Service] returns for a service that is not in
// the Watch.Services allow-list.
const ServiceOther = "other"

// MaxServiceLength is the maximum length, in runes, of a value returned by
// [Config.Service]. It matches the maximum length of a Kubernetes label value.
const MaxServiceLength = validation.LabelValueMaxLength

// Default values.
const (
	DefaultListen             = "127.0.0.1:9477"
	DefaultDataDir            = "./data"
	DefaultQPS                = 50
	DefaultBurst              = 100
	DefaultTimeout            = model.Duration(30 * time.Second)
	DefaultServiceLabel       = "app.kubernetes.io/name"
	DefaultGroupLabel         = "steadywatch.io/group"
	DefaultControlValue       = "control"
	DefaultExperimentalValue  = "experimental"
	DefaultResync             = model.Duration(0)
	DefaultCheckpointInterval = model.Duration(10 * time.Second)
	DefaultHealthTolerance    = model.Duration(5 * time.Second)
	DefaultMaxBodyBytes       = 1 << 20
	DefaultMaxBytesInFlight   = 16 << 20
	DefaultReadTimeout        = model.Duration(30 * time.Second)
	DefaultWriteTimeout       = model.Duration(60 * time.Second)
	DefaultIdleTimeout        = model.Duration(90 * time.Second)
	DefaultMaxConnections     = 512
	DefaultSeverityLabel      = "severity"
	DefaultDetectionWindow    = model.Duration(10 * time.Minute)
	DefaultDetectionGrace     = model.Duration(5 * time.Minute)
	DefaultPullInterval       = model.Duration(30 * time.Second)
	DefaultVerdictInterval    = model.Duration(30 * time.Second)
)

// Values of Detection.From.
const (
	DetectFromStartsAt = "starts_at"
	DetectFromReceived = "received"
)

// Default alert label names, tried in order, that carry an incident's
// service, namespace, group and node. They are Prometheus label names: the
// Kubernetes label app.kubernetes.io/name becomes app_kubernetes_io_name
// once kube-state-metrics or a relabelling has exported it.
// exported_namespace comes first: it is the series' own namespace when the
// scrape target's namespace took the name. A group label whose value names
// no group (an unrelated group="frontend") is not compared.
var (
	DefaultServiceLabels   = []string{"service", "app_kubernetes_io_name", "app"}
	DefaultNamespaceLabels = []string{"exported_namespace", "namespace", "kubernetes_namespace"}
	DefaultGroupLabels     = []string{"steadywatch_io_group", "steadywatch_group", "group"}
	DefaultNodeLabels      = []string{"node", "kubernetes_node"}
)

// Config is the whole configuration file.
type Config struct {
	// Cluster names the cluster this steadywatch watches, for many
	// clusters sharing one store and one Prometheus (Thanos, Mimir): every
	// row it stores and every series it exports carries it, and it reads
	// back only its own. Empty is the default for one cluster. A lowercase
	// RFC 1123 label: at most 63 of a-z, 0-9 and '-'. Applied at a restart
	// only.
	Cluster    string     `yaml:"cluster"`
	Kubernetes Kubernetes `yaml:"kubernetes"`
	// Listen is the host:port the HTTP server (metrics, health) listens on.
	Listen string `yaml:"listen"`
	// DataDir is where checkpoints are written. It must not be empty.
	DataDir string `yaml:"data_dir"`
	// Store is where incidents, events and alerts are kept: empty for the
	// SQLite file steadywatch.db in DataDir, a SQLite file path
	// ("sqlite:///var/lib/steadywatch/sw.db"), or a PostgreSQL URL
	// ("postgres://user:pass@host:5432/db").
	Store string `yaml:"store"`
	// Web secures the HTTP server: TLS and authentication.
	Web      Web      `yaml:"web"`
	Watch    Watch    `yaml:"watch"`
	Alerts   Alerts   `yaml:"alerts"`
	Verdicts Verdicts `yaml:"verdicts"`
	Reports  Reports  `yaml:"reports"`
}

// Reports configures the weekly reports (steadywatch report weekly); see
// docs/reports.md for what each figure means.
type Reports struct {
	// SeverityLevels map the values of alerts.severity_label to SEV levels
	// (SEV1 the worst): an alert of a mapped severity that no chaos
	// incident explains opens an organic SEV. Empty maps none.
	SeverityLevels []SeverityLevel `yaml:"severity_levels"`
	// ChaosLevel is the level of a chaos incident whose detecting alert has
	// no mapped severity (or that nothing detected).
	ChaosLevel string `yaml:"chaos_level"`
	// NoisyWithin is how soon after its start a resolved alert resolved by
	// itself; such an alert joined to no incident is noisy (> 0).
	NoisyWithin model.Duration `yaml:"noisy_within"`
	// FlapCount is how many firings of one fingerprint in a week make it
	// flapping (>= 2).
	FlapCount int `yaml:"flap_count"`
	// DetectionBound is how soon after a chaos fault's start an alert must
	// detect it to count as detected in time (> 0). The store does not
	// know the bound of the hypothesis that injected the fault, so the
	// reports judge every fault by this one.
	DetectionBound model.Duration `yaml:"detection_bound"`
	// Delivery sends the previous week's report to webhooks on a schedule.
	Delivery Delivery `yaml:"delivery"`
}

// Delivery configures the weekly report serve sends to webhooks: at the
// schedule, the previous ISO week's. A delivery is recorded in the store
// before it is attempted and retried with exponential backoff, from
// MinBackoff doubling up to MaxBackoff, until it is delivered or
// MaxAttempts attempts or MaxAge since it was recorded have passed.
type Delivery struct {
	Schedule Schedule `yaml:"schedule"`
	// Webhooks receive the report; none sends nothing.
	Webhooks []Webhook `yaml:"webhooks"`
	// MinBackoff is the wait after the first failed attempt (> 0).
	MinBackoff model.Duration `yaml:"min_backoff"`
	// MaxBackoff bounds the wait between attempts (>= MinBackoff).
	MaxBackoff model.Duration `yaml:"max_backoff"`
	// MaxAttempts gives up after this many attempts (>= 0; 0: MaxAge only).
	MaxAttempts int `yaml:"max_attempts"`
	// MaxAge gives up on a delivery this long after it was due, its
	// scheduled time (> 0).
	MaxAge model.Duration `yaml:"max_age"`
	// Timeout bounds each request to a webhook, and the report's build
	// before it (> 0).
	Timeout model.Duration `yaml:"timeout"`
}

// Schedule is a time of the week.
type Schedule struct {
	// Weekday is monday, tuesday, … sunday.
	Weekday string `yaml:"weekday"`
	// Time is the local time of day, "HH:MM" (00:00 to 23:59).
	Time string `yaml:"time"`
	// TimeZone is the zone of Time and of the weeks reported: UTC, Local or
	// an IANA name such as Europe/Berlin.
	TimeZone string `yaml:"time_zone"`
}

// Webhook is one receiver of the weekly report.
type Webhook struct {
	// Name identifies the webhook in the store, the metrics, the logs and
	// the Idempotency-Key header: 1 to 63 letters, digits, '.', '_' or
	// '-', unique.
	Name string `yaml:"name"`
	// URL is where the report is POSTed, http:// or https://.
	URL string `yaml:"url"`
	// Format is WebhookSlack (a Slack-compatible message: a summary and a
	// link) or WebhookJSON (the report's JSON).
	Format string `yaml:"format"`
	// BearerTokenFile, if set, holds the token sent as "Authorization:
	// Bearer", read at each request.
	BearerTokenFile string `yaml:"bearer_token_file"`
	// Link, if set, is serve's base URL as the webhook's readers reach it;
	// a Slack message links to the report there.
	Link string `yaml:"link"`
}

// Formats of Webhook.
const (
	WebhookSlack = "slack"
	WebhookJSON  = "json"
)

// Defaults of Delivery.
const (
	DefaultDeliveryWeekday  = "monday"
	DefaultDeliveryTime     = "09:00"
	DefaultDeliveryTimeZone = "UTC"
	DefaultMinBackoff       = model.Duration(30 * time.Second)
	DefaultMaxBackoff       = model.Duration(30 * time.Minute)
	DefaultMaxAge           = model.Duration(24 * time.Hour)
	DefaultDeliveryTimeout  = model.Duration(30 * time.Second)
)

// Weekdays are the values of Schedule.Weekday, Monday first as in ISO
// weeks.
var Weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

var (
	clockTime   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	webhookName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,63}$`)
)

// Day is the schedule's weekday; valid only for a validated schedule.
func (s Schedule) Day() time.Weekday {
	i := slices.Index(Weekdays, s.Weekday)
	return time.Weekday((i + 1) % 7)
}

// Clock is the schedule's hour and minute; valid only for a validated
// schedule.
func (s Schedule) Clock() (hour, minute int) {
	t, _ := time.Parse("15:04", s.Time)
	return t.Hour(), t.Minute()
}

// Location is the schedule's time zone; valid only for a validated
// schedule.
func (s Schedule) Location() *time.Location {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (d *Delivery) validate() *Error {
	s := d.Schedule
	if !slices.Contains(Weekdays, s.Weekday) {
		return fieldErrorf("reports.delivery.schedule.weekday", "%q is not one of %s", s.Weekday, strings.Join(Weekdays, ", "))
	}
	if !clockTime.MatchString(s.Time) {
		return fieldErrorf("reports.delivery.schedule.time", "%q is not a time of day HH:MM from 00:00 to 23:59", s.Time)
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" {
		return fieldErrorf("reports.delivery.schedule.time_zone", "%q is not a time zone such as UTC, Local or Europe/Berlin", s.TimeZone)
	}
	seen := map[string]int{}
	for i, w := range d.Webhooks {
		path := fmt.Sprintf("reports.delivery.webhooks[%d]", i)
		if !webhookName.MatchString(w.Name) {
			return fieldErrorf(path+".name", "%q is not 1 to 63 letters, digits, '.', '_' or '-'", w.Name)
		}
		if j, ok := seen[w.Name]; ok {
			return fieldErrorf(path+".name", "duplicate name %q (also reports.delivery.webhooks[%d])", w.Name, j)
		}
		seen[w.Name] = i
		if w.URL == "" {
			return fieldErrorf(path+".url", "must be set")
		}
		if err := validateURL(path+".url", w.URL); err != nil {
			return err
		}
		if w.Format != WebhookSlack && w.Format != WebhookJSON {
			return fieldErrorf(path+".format", "%q is not one of %s, %s", w.Format, WebhookSlack, WebhookJSON)
		}
		if err := validateURL(path+".link", w.Link); err != nil {
			return err
		}
	}
	if d.MinBackoff <= 0 {
		return fieldErrorf("reports.delivery.min_backoff", "must be greater than 0, got %s", d.MinBackoff)
	}
	if d.MaxBackoff < d.MinBackoff {
		err := fieldErrorf("reports.delivery.max_backoff", "must be at least reports.delivery.min_backoff (%s), got %s", d.MinBackoff, d.MaxBackoff)
		err.Alt = []string{"reports.delivery.min_backoff"}
		return err
	}
	if d.MaxAttempts < 0 {
		return fieldErrorf("reports.delivery.max_attempts", "must be at least 0, got %d", d.MaxAttempts)
	}
	if d.MaxAge <= 0 {
		return fieldErrorf("reports.delivery.max_age", "must be greater than 0, got %s", d.MaxAge)
	}
	if d.Timeout <= 0 {
		return fieldErrorf("reports.delivery.timeout", "must be greater than 0, got %s", d.Timeout)
	}
	return nil
}

// SeverityLevel maps one severity to a SEV level.
type SeverityLevel struct {
	Severity string `yaml:"severity"`
	Level    string `yaml:"level"`
}

// Defaults of Reports.
const (
	DefaultChaosLevel  = "SEV2"
	DefaultNoisyWithin = model.Duration(5 * time.Minute)
	DefaultFlapCount   = 3
	// DefaultDetectionBound is the usual bound of a hypothesis's
	// detection: an alert within 5 minutes is on time.
	DefaultDetectionBound = model.Duration(5 * time.Minute)
)

// DefaultSeverityLevels map Prometheus's usual severities.
func DefaultSeverityLevels() []SeverityLevel {
	return []SeverityLevel{{"critical", "SEV1"}, {"error", "SEV2"}, {"warning", "SEV3"}}
}

// validLevel reports whether l is SEV1, SEV2, …
func validLevel(l string) bool {
	n, ok := strings.CutPrefix(l, "SEV")
	if !ok || n == "" || n[0] == '0' {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 16)
	return err == nil
}

func (r *Reports) validate() *Error {
	seen := map[string]int{}
	for i, s := range r.SeverityLevels {
		path := fmt.Sprintf("reports.severity_levels[%d]", i)
		if s.Severity == "" {
			return fieldErrorf(path+".severity", "must not be empty")
		}
		if j, ok := seen[s.Severity]; ok {
			return fieldErrorf(path+".severity", "duplicate severity %q (also reports.severity_levels[%d])", s.Severity, j)
		}
		seen[s.Severity] = i
		if !validLevel(s.Level) {
			return fieldErrorf(path+".level", "%q is not a SEV level: want SEV1, SEV2, …", s.Level)
		}
	}
	if !validLevel(r.ChaosLevel) {
		return fieldErrorf("reports.chaos_level", "%q is not a SEV level: want SEV1, SEV2, …", r.ChaosLevel)
	}
	if r.NoisyWithin <= 0 {
		return fieldErrorf("reports.noisy_within", "must be greater than 0, got %s", r.NoisyWithin)
	}
	if r.FlapCount < 2 {
		return fieldErrorf("reports.flap_count", "must be at least 2, got %d", r.FlapCount)
	}
	if r.DetectionBound <= 0 {
		return fieldErrorf("reports.detection_bound", "must be greater than 0, got %s", r.DetectionBound)
	}
	return r.Delivery.validate()
}

// Verdicts configures the continuous judgement of hypotheses by serve.
type Verdicts struct {
	// Hypotheses are hypothesis files or directories of them; empty
	// judges nothing.
	Hypotheses []string `yaml:"hypotheses"`
	// PrometheusURL is the Prometheus (or Thanos, Mimir) HTTP API the
	// steady-state metrics are queried from; required with Hypotheses.
	PrometheusURL string `yaml:"prometheus_url"`
	// PrometheusHTTPClient is how PrometheusURL is reached: credentials,
	// TLS, proxy, headers (X-Scope-OrgID for a Mimir tenant); nil:
	// Prometheus's defaults, no credentials.
	PrometheusHTTPClient *HTTPClient `yaml:"prometheus_http_client"`
	// Interval between judgements of each hypothesis (> 0).
	Interval model.Duration `yaml:"interval"`
	// AbortAlertmanagerURL, if set, receives the SteadywatchAbortExperiment
	// alert (through its v2 API) while a hypothesis's hard bound is
	// violated during its experiment, so that the chaos tool or a person
	// halts it. The steadywatch_hypothesis_abort metric says it either way.
	AbortAlertmanagerURL string `yaml:"abort_alertmanager_url"`
	// AbortAlertmanagerHTTPClient is how AbortAlertmanagerURL is reached;
	// nil: Prometheus's defaults, no credentials.
	AbortAlertmanagerHTTPClient *HTTPClient `yaml:"abort_alertmanager_http_client"`
	// ScrapeInterval is the scrape interval of that Prometheus: a
	// hypothesis whose step is shorter is refused, since the samples
	// between two scrapes only repeat the last. 0: learnt from
	// Prometheus's configuration at start, per job the queries select
	// (unchecked if Prometheus cannot tell).
	ScrapeInterval model.Duration `yaml:"scrape_interval"`
}

// Web configures TLS and authentication of the HTTP server, for the
// Alertmanager webhook, the API and /metrics alike (/healthz and /readyz
// stay open for probes), and what a client may hold of it.
type Web struct {
	// ConfigFile is an exporter-toolkit web configuration file
	// (tls_server_config, basic_auth_users, http_server_config, rate_limit).
	ConfigFile string `yaml:"config_file"`
	// BearerTokenFile lists the bearer tokens accepted (bearer_tokens, or
	// bearer_token_file naming a file holding one).
	BearerTokenFile string `yaml:"bearer_token_file"`
	// ReadTimeout bounds the reading of a request, headers and body (> 0).
	ReadTimeout model.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its response (> 0).
	WriteTimeout model.Duration `yaml:"write_timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request (> 0).
	IdleTimeout model.Duration `yaml:"idle_timeout"`
	// MaxConnections bounds the connections open at once (> 0); at the
	// limit a new one closes the one idle the longest, or waits.
	MaxConnections int `yaml:"max_connections"`
	// EnableLifecycle turns on POST /-/reload (Prometheus's
	// --web.enable-lifecycle), behind the API's authentication; off, it
	// answers 403. SIGHUP reloads either way.
	EnableLifecycle bool `yaml:"enable_lifecycle"`
}

// Alerts configures the Alertmanager receiver and how alerts are joined to
// incidents to measure the time to detect.
type Alerts struct {
	// MaxBodyBytes bounds a webhook notification's size (> 0); larger ones
	// are refused with 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBytesInFlight bounds the bytes of the notifications being read,
	// decoded and stored at once (>= MaxBodyBytes); a notification that
	// does not fit is answered 503 with Retry-After, and Alertmanager
	// retries it.
	MaxBytesInFlight int64 `yaml:"max_bytes_in_flight"`
	// ServiceLabels, NamespaceLabels, GroupLabels and NodeLabels are the
	// alert label names tried, in order, for an alert's service, namespace,
	// group and node.
	ServiceLabels   []string `yaml:"service_labels"`
	NamespaceLabels []string `yaml:"namespace_labels"`
	GroupLabels     []string `yaml:"group_labels"`
	NodeLabels      []string `yaml:"node_labels"`
	// SeverityLabel is the alert label counted as severity.
	SeverityLabel string    `yaml:"severity_label"`
	Detection     Detection `yaml:"detection"`
	Pull          Pull      `yaml:"pull"`
}

// Detection configures the join of alerts to incidents.
type Detection struct {
	// Window is how long after a fault starts an alert may start and still
	// count as its detection (> 0). An incident with no alert by then is
	// undetected.
	Window model.Duration `yaml:"window"`
	// Grace is how late Alertmanager may deliver an alert after it starts
	// (> 0): its group_wait, or group_interval for an alert joining a group
	// that already notified. An incident is undetected once Window and
	// Grace have passed with no alert; measured to starts_at, a detection
	// is final once Grace has passed since the alert started, so an earlier
	// alert delivered later still wins.
	Grace model.Duration `yaml:"grace"`
	// AfterRecovery is how long after a fault recovered an alert may still
	// start and detect it (default 0: only an alert starting while the
	// fault is open detects it). Rules over lagging expressions (a rate
	// over minutes) may need a few scrape intervals.
	AfterRecovery model.Duration `yaml:"after_recovery"`
	// From is the alert time MTTD is measured to: DetectFromStartsAt (the
	// alert's startsAt, when Prometheus found the condition true) or
	// DetectFromReceived (when steadywatch received it, after Alertmanager's
	// group_wait).
	From string `yaml:"from"`
}

// Pull configures the optional polling of Alertmanager's v2 API, which also
// sees silenced and inhibited alerts that never reach a webhook.
type Pull struct {
	// AlertmanagerURL is Alertmanager's base URL, e.g. http://alertmanager:9093.
	// Empty disables pulling.
	AlertmanagerURL string `yaml:"alertmanager_url"`
	// Interval between pulls (> 0).
	Interval model.Duration `yaml:"interval"`
	// HTTPClient is how AlertmanagerURL is reached, in Prometheus's terms;
	// it replaces BearerTokenFile, BasicAuth and TLS, which it may not be
	// set with. See [Pull.ClientConfig].
	HTTPClient *HTTPClient `yaml:"http_client"`
	// BearerTokenFile holds the token sent as "Authorization: Bearer".
	// The older form of HTTPClient's authorization.credentials_file; its
	// relative name, like BasicAuth's and TLS's, is relative to the
	// working directory, as it always was.
	BearerTokenFile string `yaml:"bearer_token_file"`
	// BasicAuth is sent instead of a bearer token; at most one of them.
	BasicAuth BasicAuth `yaml:"basic_auth"`
	// TLS configures https:// URLs.
	TLS TLS `yaml:"tls"`
}

// legacyClient reports whether any of the fields HTTPClient replaces is
// set.
func (p *Pull) legacyClient() bool {
	return p.BearerTokenFile != "" || p.BasicAuth != (BasicAuth{}) || p.TLS != (TLS{})
}

// ClientConfig is the HTTP client configuration of the pull: HTTPClient
// if set, else BearerTokenFile, BasicAuth and TLS in Prometheus's terms,
// with its defaults (follow_redirects, enable_http2).
func (p *Pull) ClientConfig() promconfig.HTTPClientConfig {
	if p.HTTPClient != nil {
		return p.HTTPClient.HTTPClientConfig
	}
	hc := promconfig.DefaultHTTPClientConfig
	hc.TLSConfig = promconfig.TLSConfig{
		CAFile: p.TLS.CAFile, CertFile: p.TLS.CertFile, KeyFile: p.TLS.KeyFile,
		ServerName: p.TLS.ServerName, InsecureSkipVerify: p.TLS.InsecureSkipVerify,
	}
	if p.BearerTokenFile != "" {
		hc.Authorization = &promconfig.Authorization{Type: "Bearer", CredentialsFile: p.BearerTokenFile}
	}
	if p.BasicAuth.Username != "" {
		hc.BasicAuth = &promconfig.BasicAuth{Username: p.BasicAuth.Username, PasswordFile: p.BasicAuth.PasswordFile}
	}
	return hc
}

// BasicAuth are HTTP basic-auth credentials; the password is read from a
// file so that it stays out of the configuration.
type BasicAuth struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
}

// TLS configures a TLS client.
type TLS struct {
	// CAFile verifies the server; empty uses the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate, both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name the certificate is checked against.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Kubernetes configures the connection to the Kubernetes API server.
type Kubernetes struct {
	// Kubeconfig is the path of a kubeconfig file. When empty the in-cluster
	// configuration is used, else $KUBECONFIG or ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig"`
	// Context is the kubeconfig context to use; empty means the current one.
	Context string `yaml:"context"`
	// QPS is the client-side rate limit of API requests per second (> 0).
	QPS float32 `yaml:"qps"`
	// Burst is the client-side burst of API requests (>= 1).
	Burst int `yaml:"burst"`
	// Timeout bounds every API request but the watches (> 0).
	Timeout model.Duration `yaml:"timeout"`
	// LeaderElection lets several replicas of serve run at once.
	LeaderElection LeaderElection `yaml:"leader_election"`
}

// LeaderElection elects, on a coordination.k8s.io Lease, the one replica
// of serve that watches the cluster, records incidents, judges the
// hypotheses, raises the aborts, pulls Alertmanager and delivers the
// reports. Every replica receives webhooks and answers the API. It needs a
// PostgreSQL store, which the replicas share.
type LeaderElection struct {
	Enabled bool `yaml:"enabled"`
	// Namespace holds the Lease; empty takes $POD_NAMESPACE, else the
	// service account's namespace when in a cluster.
	Namespace string `yaml:"namespace"`
	// LeaseName is the Lease's name (a DNS-1123 subdomain).
	LeaseName string `yaml:"lease_name"`
	// Identity names this replica in the Lease; empty takes the host name
	// (the pod's name) and a random suffix.
	Identity string `yaml:"identity"`
	// LeaseDuration is how long followers wait after the last renewal
	// before taking over: a crashed leader is replaced within it (> 0).
	LeaseDuration model.Duration `yaml:"lease_duration"`
	// RenewDeadline is how long the leader keeps trying to renew before it
	// steps down (> 0; renew_deadline + 2 × retry_period + 1s ≤
	// lease_duration, so that a follower never takes over while the
	// leader still leads: see RenewTimeout).
	RenewDeadline model.Duration `yaml:"renew_deadline"`
	// RetryPeriod is the wait between tries to acquire or renew (> 0,
	// < renew_deadline / 1.2: client-go jitters it by up to 1.2 times).
	RetryPeriod model.Duration `yaml:"retry_period"`
}

// The leader election defaults are client-go's and kube-controller-
// manager's.
const (
	DefaultLeaseName     = "steadywatch"
	DefaultLeaseDuration = model.Duration(15 * time.Second)
	DefaultRenewDeadline = model.Duration(10 * time.Second)
	DefaultRetryPeriod   = model.Duration(2 * time.Second)
)

// needsPostgres refuses the election with a SQLite store (the DSN store).
func (l *LeaderElection) needsPostgres(store string) *Error {
	if !l.Enabled || strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://") {
		return nil
	}
	err := fieldErrorf("kubernetes.leader_election.enabled", "needs a PostgreSQL store (store: postgres://…) that the replicas share; "+
		"SQLite is one replica's file: run one replica without leader election")
	err.Alt = []string{"store"}
	return err
}

// validate checks the election; store is the store's DSN.
func (l *LeaderElection) validate(store string) *Error {
	if !l.Enabled {
		return nil
	}
	const p = "kubernetes.leader_election."
	if store != "" {
		// An empty store may still be set by serve's --store: Validate,
		// which serve calls once the flags are applied, checks it then.
		if err := l.needsPostgres(store); err != nil {
			return err
		}
	}
	if l.Namespace != "" {
		if errs := validation.IsDNS1123Label(l.Namespace); len(errs) > 0 {
			return fieldErrorf(p+"namespace", "%q is not a namespace name: %s", l.Namespace, strings.Join(errs, "; "))
		}
	}
	if l.LeaseName == "" {
		return fieldErrorf(p+"lease_name", "must be set")
	}
	if errs := validation.IsDNS1123Subdomain(l.LeaseName); len(errs) > 0 {
		return fieldErrorf(p+"lease_name", "%q is not an object name: %s", l.LeaseName, strings.Join(errs, "; "))
	}
	// The lease duration as client-go writes it to the Lease, in whole
	// seconds: what followers wait.
	written := model.Duration(time.Duration(l.LeaseDuration).Truncate(time.Second))
	switch {
	case l.LeaseDuration <= 0:
		return fieldErrorf(p+"lease_duration", "must be greater than 0, got %s", l.LeaseDuration)
	case l.RenewDeadline <= 0 || l.RenewDeadline >= l.LeaseDuration:
		return fieldErrorf(p+"renew_deadline", "must be greater than 0 and less than lease_duration (%s), got %s", l.LeaseDuration, l.RenewDeadline)
	case l.RetryPeriod <= 0 || l.RenewDeadline <= model.Duration(leaderelection.JitterFactor*float64(l.RetryPeriod)):
		// client-go's bound, computed as client-go does: beyond it serve
		// would fail at start with an error naming no field.
		return fieldErrorf(p+"retry_period", "must be greater than 0 and less than renew_deadline (%s) / %g (client-go's jitter on retries), got %s",
			l.RenewDeadline, leaderelection.JitterFactor, l.RetryPeriod)
	case written < l.RenewDeadline+l.RetryPeriod+model.Duration(l.RenewTimeout())+leaseMargin:
		// A leader whose renewals fail steps down once they have failed
		// for renew_deadline, which starts a retry period after its last
		// successful renewal returned; that renewal may have returned up
		// to RenewTimeout after client-go stamped it in the Lease, which
		// is the last time a follower can count from. A follower takes
		// over lease_duration after it saw the Lease change, but client-go
		// compares the records it reads with their times in whole
		// seconds: renewals within one second look alike, so it can count
		// from up to 1 s before the last one (the HA e2e test measured a
		// takeover 3.6 s after the last renewal of a 4 s Lease).
		return fieldErrorf(p+"lease_duration", "must be at least renew_deadline + 2 × retry_period + 1s (%s) in whole seconds "+
			"(client-go writes %s of %s to the Lease), got %s: "+
			"a leader that cannot renew leads on for up to renew_deadline + retry_period after its last renewal, which took up to retry_period "+
			"(serve cuts a renewal not through by then), and a follower may take over up to 1s before lease_duration has passed "+
			"(client-go compares the Lease's records to the second): two replicas would lead at once",
			l.RenewDeadline+l.RetryPeriod+model.Duration(l.RenewTimeout())+leaseMargin, written, l.LeaseDuration, l.LeaseDuration)
	}
	return nil
}

// RenewTimeout is how long a try at acquiring or renewing the Lease may
// take, from the time client-go stamps in the record it writes, and still
// count: serve cuts the try then. A renewal that returns late moves the
// leader's step-down later by as much, so lease_duration must cover it. A
// retry period: the next try is due by then anyway.
func (l *LeaderElection) RenewTimeout() time.Duration { return time.Duration(l.RetryPeriod) }

// Takeover bounds how long after a leader's last renewal another replica
// leads, when that leader crashed: a follower reads the Lease at each of
// its tries, a retry period apart jittered by up to JitterFactor times, so
// it sees the last renewal within one, and takes the Lease over at its
// first try once lease_duration has passed since. 0 when the election is
// off.
func (l *LeaderElection) Takeover() time.Duration {
	if !l.Enabled {
		return 0
	}
	retry := time.Duration(leaderelection.JitterFactor * float64(l.RetryPeriod))
	return retry + time.Duration(l.LeaseDuration) + retry
}

// leaseMargin is how much earlier than lease_duration after the last
// renewal a follower may take the Lease over: client-go's records hold
// their times to the second.
const leaseMargin = model.Duration(time.Second)

// Watch selects what is watched and how pods are classified.
type Watch struct {
	// Namespaces to watch; empty means all namespaces. Each one must be a
	// valid DNS-1123 label and appear once.
	Namespaces []string `yaml:"namespaces"`
	// Selector is a label selector for pods. Workloads and HPAs are watched
	// whole within Namespaces: their own labels often lack what their pod
	// templates carry, and they are few.
	Selector string `yaml:"selector"`
	// NodeSelector is a label selector for nodes.
	NodeSelector string `yaml:"node_selector"`
	// ServiceLabel is the label key whose value names a pod's service.
	ServiceLabel string `yaml:"service_label"`
	// GroupLabel is the label key whose value places a pod in the control or
	// the experimental group. It must differ from ServiceLabel.
	GroupLabel string `yaml:"group_label"`
	// ControlValue is the GroupLabel value of the control group.
	ControlValue string `yaml:"control_value"`
	// ExperimentalValue is the GroupLabel value of the experimental group.
	// It must differ from ControlValue.
	ExperimentalValue string `yaml:"experimental_value"`
	// Services is an optional allow-list of ServiceLabel values; other
	// services are exported as [ServiceOther].
	Services []string `yaml:"services"`
	// Resync is the informers' resync period; 0 disables resyncs.
	Resync model.Duration `yaml:"resync"`
	// CheckpointInterval is how often state is written to DataDir (> 0).
	CheckpointInterval model.Duration `yaml:"checkpoint_interval"`
	// HealthTolerance is how long a resource's watch may be broken before
	// /readyz fails (≥ 0; 0 means the default).
	HealthTolerance model.Duration `yaml:"health_tolerance"`
}

// Default returns the default configuration. It is valid.
func Default() Config {
	return Config{
		Kubernetes: Kubernetes{
			QPS:     DefaultQPS,
			Burst:   DefaultBurst,
			Timeout: DefaultTimeout,
			LeaderElection: LeaderElection{
				LeaseName: DefaultLeaseName, LeaseDuration: DefaultLeaseDuration,
				RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod,
			},
		},
		Listen:  DefaultListen,
		DataDir: DefaultDataDir,
		Web: Web{
			ReadTimeout: DefaultReadTimeout, WriteTimeout: DefaultWriteTimeout, IdleTimeout: DefaultIdleTimeout,
			MaxConnections: DefaultMaxConnections,
		},
		Watch: Watch{
			ServiceLabel:       DefaultServiceLabel,
			GroupLabel:         DefaultGroupLabel,
			ControlValue:       DefaultControlValue,
			ExperimentalValue:  DefaultExperimentalValue,
			Resync:             DefaultResync,
			CheckpointInterval: DefaultCheckpointInterval,
			HealthTolerance:    DefaultHealthTolerance,
		},
		Alerts: Alerts{
			MaxBodyBytes:     DefaultMaxBodyBytes,
			MaxBytesInFlight: DefaultMaxBytesInFlight,
			ServiceLabels:    slices.Clone(DefaultServiceLabels),
			NamespaceLabels:  slices.Clone(DefaultNamespaceLabels),
			GroupLabels:      slices.Clone(DefaultGroupLabels),
			NodeLabels:       slices.Clone(DefaultNodeLabels),
			SeverityLabel:    DefaultSeverityLabel,
			Detection: Detection{
				Window: DefaultDetectionWindow,
				Grace:  DefaultDetectionGrace,
				From:   DetectFromStartsAt,
			},
			Pull: Pull{Interval: DefaultPullInterval},
		},
		Verdicts: Verdicts{Interval: DefaultVerdictInterval},
		Reports: Reports{
			SeverityLevels: DefaultSeverityLevels(),
			ChaosLevel:     DefaultChaosLevel,
			NoisyWithin:    DefaultNoisyWithin,
			FlapCount:      DefaultFlapCount,
			Delivery: Delivery{
				Schedule:   Schedule{Weekday: DefaultDeliveryWeekday, Time: DefaultDeliveryTime, TimeZone: DefaultDeliveryTimeZone},
				MinBackoff: DefaultMinBackoff, MaxBackoff: DefaultMaxBackoff, MaxAge: DefaultMaxAge,
				Timeout: DefaultDeliveryTimeout,
			},
			DetectionBound: DefaultDetectionBound,
		},
	}
}

// Validate checks the configuration. It returns nil or the first problem found,
// in field order, as an [*Error] whose Path names the field, e.g.
// "watch.selector: unable to parse requirement: ...".
func (c *Config) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	if err := c.Kubernetes.LeaderElection.needsPostgres(c.Store); err != nil {
		return err
	}
	return nil
}

// validate returns a typed nil-able *Error so that Parse can add a location.
func (c *Config) validate() *Error {
	if err := contract.CheckCluster(c.Cluster); err != nil {
		return fieldErrorf("cluster", "%v", err)
	}
	k := &c.Kubernetes
	if q := float64(k.QPS); math.IsNaN(q) || math.IsInf(q, 0) || q <= 0 {
		return fieldErrorf("kubernetes.qps", "must be a number greater than 0, got %s",
			strconv.FormatFloat(q, 'g', -1, 32))
	}
	if k.Burst < 1 {
		return fieldErrorf("kubernetes.burst", "must be at least 1, got %d", k.Burst)
	}
	if k.Timeout <= 0 {
		return fieldErrorf("kubernetes.timeout", "must be greater than 0, got %s", k.Timeout)
	}
	if err := validateListen(c.Listen); err != nil {
		return err
	}
	if c.DataDir == "" {
		return fieldErrorf("data_dir", "must not be empty")
	}
	if err := validateStore(c.Store); err != nil {
		return err
	}
	if err := k.LeaderElection.validate(c.Store); err != nil {
		return err
	}
	if err := c.Web.validate(); err != nil {
		return err
	}
	if err := c.Watch.validate(); err != nil {
		return err
	}
	if err := c.Alerts.validate(); err != nil {
		return err
	}
	if err := c.Verdicts.validate(); err != nil {
		return err
	}
	return c.Reports.validate()
}

func (v *Verdicts) validate() *Error {
	for i, p := range v.Hypotheses {
		if p == "" {
			return fieldErrorf(fmt.Sprintf("verdicts.hypotheses[%d]", i), "must not be empty")
		}
	}
	if len(v.Hypotheses) > 0 && v.PrometheusURL == "" {
		err := fieldErrorf("verdicts.prometheus_url", "must be set to judge verdicts.hypotheses")
		err.Alt = []string{"verdicts.hypotheses"}
		return err
	}
	if err := validateURL("verdicts.prometheus_url", v.PrometheusURL); err != nil {
		return err
	}
	if err := v.PrometheusHTTPClient.validate("verdicts.prometheus_http_client"); err != nil {
		return err
	}
	if err := validateURL("verdicts.abort_alertmanager_url", v.AbortAlertmanagerURL); err != nil {
		return err
	}
	if err := v.AbortAlertmanagerHTTPClient.validate("verdicts.abort_alertmanager_http_client"); err != nil {
		return err
	}
	if v.Interval <= 0 {
		return fieldErrorf("verdicts.interval", "must be greater than 0, got %s", v.Interval)
	}
	return nil
}

// validateURL checks an optional http(s) URL, as the verdict command
// checks its flags (httpurl.Check).
func validateURL(path, u string) *Error {
	if u == "" {
		return nil
	}
	if err := httpurl.Check(u); err != nil {
		return &Error{Path: path, Err: err}
	}
	return nil
}

// validateStore checks the shape of a store DSN; the store itself says
// more when it is opened.
func validateStore(dsn string) *Error {
	if dsn == "" || !strings.Contains(dsn, "://") {
		return nil
	}
	scheme, _, _ := strings.Cut(dsn, "://")
	switch scheme {
	case "sqlite", "postgres", "postgresql":
		return nil
	}
	return fieldErrorf("store", "unsupported scheme %q: want sqlite:// or postgres://", scheme)
}

func (a *Alerts) validate() *Error {
	if a.MaxBodyBytes <= 0 {
		return fieldErrorf("alerts.max_body_bytes", "must be greater than 0, got %d", a.MaxBodyBytes)
	}
	if a.MaxBytesInFlight < a.MaxBodyBytes {
		err := fieldErrorf("alerts.max_bytes_in_flight", "must be at least alerts.max_body_bytes (%d), got %d", a.MaxBodyBytes, a.MaxBytesInFlight)
		err.Alt = []string{"alerts.max_body_bytes"}
		return err
	}
	for _, l := range []struct {
		path  string
		names []string
	}{
		{"alerts.service_labels", a.ServiceLabels},
		{"alerts.namespace_labels", a.NamespaceLabels},
		{"alerts.group_labels", a.GroupLabels},
		{"alerts.node_labels", a.NodeLabels},
	} {
		seen := make(map[string]int, len(l.names))
		for i, n := range l.names {
			path := fmt.Sprintf("%s[%d]", l.path, i)
			if err := validateLabelName(path, n); err != nil {
				return err
			}
			if j, ok := seen[n]; ok {
				return fieldErrorf(path, "duplicate label %q (also %s[%d])", n, l.path, j)
			}
			seen[n] = i
		}
	}
	if err := validateLabelName("alerts.severity_label", a.SeverityLabel); err != nil {
		return err
	}
	if a.Detection.Window <= 0 {
		return fieldErrorf("alerts.detection.window", "must be greater than 0, got %s", a.Detection.Window)
	}
	if a.Detection.Grace <= 0 {
		return fieldErrorf("alerts.detection.grace", "must be greater than 0, got %s", a.Detection.Grace)
	}
	switch a.Detection.From {
	case DetectFromStartsAt, DetectFromReceived:
	default:
		return fieldErrorf("alerts.detection.from", "%q is not one of %s, %s", a.Detection.From, DetectFromStartsAt, DetectFromReceived)
	}
	if err := validateURL("alerts.pull.alertmanager_url", a.Pull.AlertmanagerURL); err != nil {
		return err
	}
	if a.Pull.Interval <= 0 {
		return fieldErrorf("alerts.pull.interval", "must be greater than 0, got %s", a.Pull.Interval)
	}
	ba := a.Pull.BasicAuth
	switch {
	case ba.Username != "" && a.Pull.BearerTokenFile != "":
		err := fieldErrorf("alerts.pull.basic_auth", "at most one of basic_auth and bearer_token_file may be set")
		err.Alt = []string{"alerts.pull.bearer_token_file"}
		return err
	case ba.Username == "" && ba.PasswordFile != "":
		return fieldErrorf("alerts.pull.basic_auth.username", "must be set with password_file")
	case ba.Username != "" && ba.PasswordFile == "":
		return fieldErrorf("alerts.pull.basic_auth.password_file", "must be set with username")
	}
	if t := a.Pull.TLS; (t.CertFile == "") != (t.KeyFile == "") {
		return fieldErrorf("alerts.pull.tls.key_file", "cert_file and key_file must be set together")
	}
	if a.Pull.HTTPClient != nil && a.Pull.legacyClient() {
		err := fieldErrorf("alerts.pull.http_client", "replaces bearer_token_file, basic_auth and tls: set it alone")
		err.Alt = []string{"alerts.pull.bearer_token_file", "alerts.pull.basic_auth", "alerts.pull.tls"}
		return err
	}
	if a.Pull.HTTPClient != nil {
		return a.Pull.HTTPClient.validate("alerts.pull.http_client")
	}
	return nil
}

// validateLabelName checks a Prometheus label name.
func validateLabelName(path, n string) *Error {
	if n == "" {
		return fieldErrorf(path, "must not be empty")
	}
	if !model.LegacyValidation.IsValidLabelName(n) {
		return fieldErrorf(path, "%q is not a valid Prometheus label name: want [a-zA-Z_][a-zA-Z0-9_]*", n)
	}
	return nil
}

func (w *Web) validate() *Error {
	for _, d := range []struct {
		path string
		v    model.Duration
	}{
		{"web.read_timeout", w.ReadTimeout},
		{"web.write_timeout", w.WriteTimeout},
		{"web.idle_timeout", w.IdleTimeout},
	} {
		if d.v <= 0 {
			return fieldErrorf(d.path, "must be greater than 0, got %s", d.v)
		}
	}
	if w.MaxConnections <= 0 {
		return fieldErrorf("web.max_connections", "must be greater than 0, got %d", w.MaxConnections)
	}
	return nil
}

func validateListen(addr string) *Error {
	const path = "listen"
	if addr == "" {
		return fieldErrorf(path, "must not be empty")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		msg := err.Error()
		if ae, ok := errors.AsType[*net.AddrError](err); ok {
			msg = ae.Err
		}
		return fieldErrorf(path, "%q is not a valid host:port address: %s", addr, msg)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fieldErrorf(path, "invalid port %q in %q: must be a number between 0 and 65535", port, addr)
	}
	return nil
}

func (w *Watch) validate() *Error {
	seen := make(map[string]int, len(w.Namespaces))
	for i, ns := range w.Namespaces {
		path := fmt.Sprintf("watch.namespaces[%d]", i)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fieldErrorf(path, "%q is not a valid namespace name: %s", ns, strings.Join(errs, "; "))
		}
		if j, ok := seen[ns]; ok {
			return fieldErrorf(path, "duplicate namespace %q (also watch.namespaces[%d])", ns, j)
		}
		seen[ns] = i
	}
	if _, err := labels.Parse(w.Selector); err != nil {
		return &Error{Path: "watch.selector", Err: err}
	}
	if _, err := labels.Parse(w.NodeSelector); err != nil {
		return &Error{Path: "watch.node_selector", Err: err}
	}
	if errs := validation.IsQualifiedName(w.ServiceLabel); len(errs) > 0 {
		return fieldErrorf("watch.service_label", "%q is not a valid label key: %s", w.ServiceLabel, strings.Join(errs, "; "))
	}
	if errs := validation.IsQualifiedName(w.GroupLabel); len(errs) > 0 {
		return fieldErrorf("watch.group_label", "%q is not a valid label key: %s", w.GroupLabel, strings.Join(errs, "; "))
	}
	if w.GroupLabel == w.ServiceLabel {
		err := fieldErrorf("watch.group_label", "must differ from watch.service_label (both are %q)", w.GroupLabel)
		err.Alt = []string{"watch.service_label"}
		return err
	}
	if err := validateLabelValue("watch.control_value", w.ControlValue); err != nil {
		return err
	}
	if err := validateLabelValue("watch.experimental_value", w.ExperimentalValue); err != nil {
		return err
	}
	if w.ExperimentalValue == w.ControlValue {
		err := fieldErrorf("watch.experimental_value", "must differ from watch.control_value (both are %q)", w.ControlValue)
		err.Alt = []string{"watch.control_value"}
		return err
	}
	services := make(map[string]int, len(w.Services))
	for i, s := range w.Services {
		path := fmt.Sprintf("watch.services[%d]", i)
		if err := validateLabelValue(path, s); err != nil {
			return err
		}
		if j, ok := services[s]; ok {
			return fieldErrorf(path, "duplicate service %q (also watch.services[%d])", s, j)
		}
		services[s] = i
	}
	if w.Resync < 0 {
		return fieldErrorf("watch.resync", "must not be negative, got %s", w.Resync)
	}
	if w.CheckpointInterval <= 0 {
		return fieldErrorf("watch.checkpoint_interval", "must be greater than 0, got %s", w.CheckpointInterval)
	}
	if w.HealthTolerance < 0 {
		return fieldErrorf("watch.health_tolerance", "must not be negative, got %s", w.HealthTolerance)
	}
	return nil
}

// validateLabelValue checks a non-empty Kubernetes label value.
func validateLabelValue(path, v string) *Error {
	if v == "" {
		return fieldErrorf(path, "must not be empty")
	}
	if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
		return fieldErrorf(path, "%q is not a valid label value: %s", v, strings.Join(errs, "; "))
	}
	return nil
}

// Group classifies a pod by the value of its Watch.GroupLabel label: it
// returns [GroupControl], [GroupExperimental] or [GroupNone].
func (c Config) Group(value string) string {
	switch value {
	case "":
		return GroupNone
	case c.Watch.ControlValue:
		return GroupControl
	case c.Watch.ExperimentalValue:
		return GroupExperimental
	default:
		return GroupNone
	}
}

// Service maps the value of a pod's Watch.ServiceLabel label to the service
// name exported in metrics. The value is made valid UTF-8 (invalid bytes
// become U+FFFD) and cut to [MaxServiceLength] runes; when the Watch.Services
// allow-list is set and does not contain it, [ServiceOther] is returned. An
// empty value stays empty.
func (c Config) Service(value string) string {
	if value == "" {
		return ""
	}
	value = sanitize(value)
	if len(c.Watch.Services) == 0 {
		return value
	}
	if slices.Contains(c.Watch.Services, value) {
		return value
	}
	return ServiceOther
}

// sanitize returns s as valid UTF-8 of at most MaxServiceLength runes.
func sanitize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	if len(s) <= MaxServiceLength {
		return s // fewer bytes than the limit, so fewer runes too
	}
	n := 0
	for i := range s {
		if n == MaxServiceLength {
			return s[:i]
		}
		n++
	}
	return s
}
