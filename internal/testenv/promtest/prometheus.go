package promtest

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"go.yaml.in/yaml/v3"
)

// SelfAddr in PrometheusOptions.Config is replaced by the server's own
// host:port, which is only known once a free port is found.
const SelfAddr = "PROMTEST_SELF"

// DefaultPrometheusConfig is the configuration of a Prometheus started with
// an empty PrometheusOptions.Config: it scrapes itself and evaluates rules
// every second.
const DefaultPrometheusConfig = `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [` + SelfAddr + `]
`

// resendDelayFlag sets how long Prometheus waits before it sends a firing
// alert again (1m by default). Prometheus drops the alerts it has no
// Alertmanager for, and finds its Alertmanagers only about 5 s after it
// starts: unless Args set it, the harness makes it 1s, so that an alert
// firing from the first evaluation reaches the Alertmanager within seconds.
const resendDelayFlag = "--rules.alert.resend-delay"

// PrometheusOptions configure a Prometheus server.
type PrometheusOptions struct {
	// Config is the body of prometheus.yml; empty means
	// DefaultPrometheusConfig. SelfAddr in it stands for the server's
	// host:port.
	Config string
	// Rules are rule files, by file name, written to the server's RulesDir.
	// The configuration's rule_files always gets RulesDir/*, so the
	// caller's rule_files entries are kept, and files written to RulesDir
	// later are loaded by Reload.
	Rules map[string]string
	// Alertmanagers are the host:port of Alertmanagers the server sends
	// its alerts to, added to the configuration's alerting.alertmanagers.
	// Prometheus finds them about 5 s after it starts.
	Alertmanagers []string
	// Args are extra command-line flags. They must not repeat the ones the
	// harness sets: --config.file, --storage.tsdb.path,
	// --web.listen-address, --web.enable-lifecycle. The harness also sets
	// --rules.alert.resend-delay=1s unless Args set it.
	Args []string
	// OpenMetrics, if set, is data the server starts with: OpenMetrics
	// text (timestamps in seconds, ending with "# EOF") that the harness
	// turns into TSDB blocks with `promtool tsdb create-blocks-from
	// openmetrics` before it starts the server, so that tests query
	// deterministic series at their own, past, times. The harness then
	// also sets --storage.tsdb.retention.time=10y unless Args set it:
	// Prometheus drops the blocks older than the retention counted back
	// from its newest block, so data spread over more than the default
	// 15 days, or old data next to the block the head writes after a few
	// hours, would otherwise go. A configuration that scrapes nothing
	// (e.g. "global: {}") keeps the data alone in the TSDB.
	OpenMetrics string
	// WebConfig, if set, is the body of the --web.config.file
	// (exporter-toolkit's: tls_server_config, basic_auth_users; its files
	// are relative to the server's directory, Dir).
	WebConfig string
	// Username and Password are the basic-auth credentials the readiness
	// probe, API and Reload send, for a WebConfig that requires them.
	Username, Password string
	// RootCAs, for a WebConfig with tls_server_config, verify the server's
	// certificate: URL is then https, and the readiness probe, API and
	// Reload trust them.
	RootCAs *x509.CertPool
}

// access is how the harness reaches the server.
func (o PrometheusOptions) access() access {
	return access{user: o.Username, password: o.Password, rootCAs: o.RootCAs}
}

// retentionFlag is Prometheus' time retention flag, set for OpenMetrics
// data unless Args set it.
const retentionFlag = "--storage.tsdb.retention.time"

// openMetricsFile is where the harness writes PrometheusOptions.OpenMetrics
// in the server's directory.
const openMetricsFile = "backfill.om"

// backfill turns OpenMetrics text into TSDB blocks in dataDir with promtool.
func backfill(ctx context.Context, dir, dataDir, text string) error {
	bin, err := binary(promtoolBin)
	if err != nil {
		return err
	}
	path, err := writeFile(dir, openMetricsFile, text)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	if out, err := run(ctx, bin, []string{"tsdb", "create-blocks-from", "openmetrics", path, dataDir}); err != nil {
		return fmt.Errorf("loading the OpenMetrics data: %w\n%s", err, out)
	}
	return nil
}

// Prometheus is a running Prometheus server.
type Prometheus struct {
	// Version is the server's version, e.g. "2.42.0+ds".
	Version string
	// Addr is the server's host:port.
	Addr string
	// Dir holds the configuration, rules, TSDB and log.
	Dir string
	// ConfigPath is the configuration file.
	ConfigPath string
	// RulesDir holds the rule files.
	RulesDir string

	o    PrometheusOptions
	proc *process
	api  v1.API
}

// StartPrometheus starts a Prometheus server in a temporary directory for
// the test and stops it when the test ends. It fails the test if the server
// does not start, with the server's log; it skips the test if SkipEnv is 1.
func StartPrometheus(t testing.TB, o PrometheusOptions) *Prometheus {
	t.Helper()
	skipIfDisabled(t)
	began := time.Now()
	p, err := NewPrometheus(t.Context(), t.TempDir(), o)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	t.Cleanup(func() { cleanup(t, p.proc) })
	t.Logf("promtest: prometheus %s ready at %s in %s", p.Version, p.URL(), time.Since(began).Round(time.Millisecond))
	return p
}

// cleanup stops a server at the end of a test, and prints its log if the
// test failed: what the server said often explains why.
func cleanup(t testing.TB, p *process) {
	t.Helper()
	if t.Failed() {
		t.Logf("promtest: %s log (%s):\n%s", p.Name, p.LogPath, p.logTail())
	}
	if err := p.stop(); err != nil {
		t.Errorf("promtest: %v", err)
	}
}

// NewPrometheus starts a Prometheus server with its files in dir, an
// existing directory, and waits until it is ready. ctx bounds the start,
// not the server's life: the caller must Stop it. The error of a server that
// did not start includes its log.
func NewPrometheus(ctx context.Context, dir string, o PrometheusOptions) (*Prometheus, error) {
	bin, err := binary(prometheusBin)
	if err != nil {
		return nil, err
	}
	p := &Prometheus{
		Dir:        dir,
		o:          o,
		ConfigPath: filepath.Join(dir, "prometheus.yml"),
		RulesDir:   filepath.Join(dir, "rules"),
	}
	if err := os.MkdirAll(p.RulesDir, 0o755); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if o.OpenMetrics != "" {
		if err := backfill(ctx, dir, dataDir, o.OpenMetrics); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.Rules)) {
		if name == "" || filepath.Base(name) != name {
			return nil, fmt.Errorf("rule file name %q: want a file name, without directories", name)
		}
		if _, err := writeFile(p.RulesDir, name, o.Rules[name]); err != nil {
			return nil, err
		}
	}
	args := func(addr string) ([]string, error) {
		config, err := prometheusConfig(o, addr, p.RulesDir)
		if err != nil {
			return nil, err
		}
		if _, err := writeFile(dir, filepath.Base(p.ConfigPath), config); err != nil {
			return nil, err
		}
		argv := []string{
			"--config.file=" + p.ConfigPath,
			"--storage.tsdb.path=" + dataDir,
			"--web.listen-address=" + addr,
			"--web.enable-lifecycle",
		}
		if o.WebConfig != "" {
			webConfig, err := writeFile(dir, "web.yml", o.WebConfig)
			if err != nil {
				return nil, err
			}
			argv = append(argv, "--web.config.file="+webConfig)
		}
		if !slices.ContainsFunc(o.Args, func(a string) bool { return strings.HasPrefix(a, resendDelayFlag) }) {
			argv = append(argv, resendDelayFlag+"=1s")
		}
		if o.OpenMetrics != "" && !slices.ContainsFunc(o.Args, func(a string) bool { return strings.HasPrefix(a, retentionFlag) }) {
			argv = append(argv, retentionFlag+"=10y")
		}
		return append(argv, o.Args...), nil
	}
	p.proc, p.Addr, err = launch(ctx, "prometheus", filepath.Join(dir, "prometheus.log"), bin, args,
		getOK("/-/ready", o.access()))
	if err != nil {
		return nil, err
	}
	client, err := api.NewClient(api.Config{Address: p.URL(), Client: o.access().client()})
	if err != nil {
		return nil, errors.Join(err, p.Stop())
	}
	p.api = v1.NewAPI(client)
	info, err := p.api.Buildinfo(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("prometheus build info: %w", err), p.Stop())
	}
	p.Version = info.Version
	return p, nil
}

// prometheusConfig returns o's configuration for a server at addr: SelfAddr
// replaced, rulesDir/* added to rule_files, o.Alertmanagers to
// alerting.alertmanagers. The caller's configuration is edited as a YAML
// tree, so its order and comments are kept.
func prometheusConfig(o PrometheusOptions, addr, rulesDir string) (string, error) {
	body := strings.ReplaceAll(o.Config, SelfAddr, addr)
	if strings.TrimSpace(body) == "" {
		body = strings.ReplaceAll(DefaultPrometheusConfig, SelfAddr, addr)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
		return "", fmt.Errorf("prometheus configuration: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", errors.New("prometheus configuration: want a YAML mapping")
	}
	root := doc.Content[0]
	ruleFiles, err := entry(root, "rule_files", yaml.SequenceNode)
	if err != nil {
		return "", fmt.Errorf("prometheus configuration: %w", err)
	}
	ruleFiles.Content = append(ruleFiles.Content, scalar(filepath.Join(rulesDir, "*")))
	if len(o.Alertmanagers) > 0 {
		alerting, err := entry(root, "alerting", yaml.MappingNode)
		if err != nil {
			return "", fmt.Errorf("prometheus configuration: %w", err)
		}
		ams, err := entry(alerting, "alertmanagers", yaml.SequenceNode)
		if err != nil {
			return "", fmt.Errorf("prometheus configuration: alerting: %w", err)
		}
		targets := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, a := range o.Alertmanagers {
			targets.Content = append(targets.Content, scalar(a))
		}
		static := mapping("targets", targets)
		ams.Content = append(ams.Content, mapping("static_configs",
			&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{static}}))
	}
	var out strings.Builder
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", fmt.Errorf("prometheus configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("prometheus configuration: %w", err)
	}
	return out.String(), nil
}

// entry returns the value of key in mapping m, adding an empty one of kind
// if there is none (or it is null).
func entry(m *yaml.Node, key string, kind yaml.Kind) (*yaml.Node, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			*v = yaml.Node{Kind: kind}
		}
		if v.Kind != kind {
			return nil, fmt.Errorf("%s: want a %s", key, kindName(kind))
		}
		return v, nil
	}
	v := &yaml.Node{Kind: kind}
	m.Content = append(m.Content, scalar(key), v)
	return v, nil
}

func kindName(k yaml.Kind) string {
	if k == yaml.SequenceNode {
		return "list"
	}
	return "mapping"
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func mapping(key string, value *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar(key), value}}
}

// URL is the server's base URL, http://127.0.0.1:port (https with
// RootCAs).
func (p *Prometheus) URL() string { return p.o.access().scheme() + "://" + p.Addr }

// API is a client of the server's HTTP API.
func (p *Prometheus) API() v1.API { return p.api }

// Pid is the server's process ID.
func (p *Prometheus) Pid() int { return p.proc.Pid() }

// Log returns the end of the server's log.
func (p *Prometheus) Log() string { return p.proc.logTail() }

// Reload makes the server reload its configuration and rule files, and
// fails if it rejects them.
func (p *Prometheus) Reload(ctx context.Context) error {
	return p.proc.reload(ctx, p.URL(), p.o.access())
}

// Crashed receives, once, why the server exited if it did so by itself
// (killed, crashed, gave up): its exit status and the end of its log.
// Stop is not a crash.
func (p *Prometheus) Crashed() <-chan error { return p.proc.crashed }

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited within
// 10 s. It leaves Dir alone.
func (p *Prometheus) Stop() error { return p.proc.stop() }
