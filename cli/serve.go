package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/common/version"
	"k8s.io/klog/v2"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/server"
	"github.com/steadywatch/steadywatch/tracing"
)

// serveFlags override the configuration file; an unset flag leaves the
// file's value.
type serveFlags struct {
	configFile   string
	kubeconfig   string
	kubeContext  string
	listen       string
	dataDir      string
	namespaces   stringList
	selector     string
	nodeSelector string
	store        string
	webConfig    string
	bearerTokens string
	alertmanager string
	lifecycle    bool
	// leaderElection is a flag as well as a field so that a Helm chart
	// can turn it on with its replica count, whatever file it mounts.
	leaderElection bool
	newCluster     bool
	log            logFlags
}

func runServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var f serveFlags
	fs.StringVar(&f.configFile, "config", "", "configuration file (YAML); flags override it")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&f.kubeContext, "context", "", "kubeconfig context")
	fs.StringVar(&f.listen, "listen", "", "address of the HTTP server (default "+config.DefaultListen+")")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for state (default "+config.DefaultDataDir+")")
	fs.Var(&f.namespaces, "namespace", "namespace to watch; repeat for several (default: all)")
	fs.StringVar(&f.selector, "selector", "", "label selector for watched pods")
	fs.StringVar(&f.nodeSelector, "node-selector", "", "label selector for watched nodes")
	fs.StringVar(&f.store, "store", "", "store DSN: a SQLite file or postgres://user:pass@host/db (default: steadywatch.db in the data directory)")
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web configuration file: TLS and basic auth")
	fs.StringVar(&f.bearerTokens, "web.bearer-token-file", "", "YAML file of accepted bearer tokens (bearer_tokens or bearer_token_file)")
	fs.BoolVar(&f.lifecycle, "web.enable-lifecycle", false, "answer POST /-/reload (behind the API's authentication); SIGHUP reloads either way")
	fs.StringVar(&f.alertmanager, "alertmanager.url", "", "Alertmanager base URL to pull alerts from its v2 API, silenced and inhibited ones too (default: no pull)")
	fs.BoolVar(&f.leaderElection, "leader-election", false,
		"elect one leader among several replicas on a Lease (kubernetes.leader_election.enabled; needs a PostgreSQL --store)")
	fs.BoolVar(&f.newCluster, "new-cluster", false,
		`start a named cluster: on a store that holds the unnamed cluster's history alone, another steadywatch's (without it serve refuses, as that history would be this cluster's to adopt: steadywatch store adopt-cluster)`)
	f.log.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	cfg, err := f.config(fs)
	if err != nil {
		return err
	}
	shutdown, err := tracing.Setup(ctx, version.Version)
	if err != nil {
		return err
	}
	defer flushTraces(shutdown, log)
	klog.SetSlogLogger(log.With("component", "client-go"))
	// SIGHUP reloads the configuration and the hypotheses, the file read
	// again and the flags applied over it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	err = server.Run(ctx, server.Options{
		Config: cfg, Logger: log, ReloadSignals: hup, NewCluster: f.newCluster,
		Reload: func() (config.Config, error) { return f.config(fs) },
	})
	if errors.As(err, new(*server.ConfigError)) {
		return usageError{err}
	}
	return err
}

// flushTraces sends the spans not yet exported, for at most 5 seconds.
func flushTraces(shutdown func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		log.Warn("exporting the last spans", "err", err)
	}
}

// loadConfig loads the --config file, or the defaults without one; a
// missing or bad file is a usage error.
func loadConfig(file string) (config.Config, error) {
	if file == "" {
		return config.Default(), nil
	}
	cfg, err := config.Load(file)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return cfg, usagef("--config: %v", err)
	case err != nil:
		return cfg, usageError{err}
	}
	return cfg, nil
}

// config loads the file, then applies the flags that were set.
func (f *serveFlags) config(fs *flag.FlagSet) (config.Config, error) {
	cfg, err := loadConfig(f.configFile)
	if err != nil {
		return cfg, err
	}
	storeFromEnv := applyStoreEnv(&cfg)
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "kubeconfig":
			cfg.Kubernetes.Kubeconfig = f.kubeconfig
		case "context":
			cfg.Kubernetes.Context = f.kubeContext
		case "listen":
			cfg.Listen = f.listen
		case "data-dir":
			cfg.DataDir = f.dataDir
		case "namespace":
			cfg.Watch.Namespaces = f.namespaces
		case "selector":
			cfg.Watch.Selector = f.selector
		case "node-selector":
			cfg.Watch.NodeSelector = f.nodeSelector
		case "store":
			cfg.Store, storeFromEnv = f.store, false
		case "web.config.file":
			cfg.Web.ConfigFile = f.webConfig
		case "web.bearer-token-file":
			cfg.Web.BearerTokenFile = f.bearerTokens
		case "alertmanager.url":
			cfg.Alerts.Pull.AlertmanagerURL = f.alertmanager
		case "web.enable-lifecycle":
			cfg.Web.EnableLifecycle = f.lifecycle
		case "leader-election":
			cfg.Kubernetes.LeaderElection.Enabled = f.leaderElection
		}
	})
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{storeEnvError(err, storeFromEnv)}
	}
	return cfg, nil
}

// StoreEnv names the environment variable holding the store's DSN when
// --store is not given: a PostgreSQL password in it stays out of the
// process's command line, which every process of the node can read (the
// Helm chart sets it from a Secret).
const StoreEnv = "STEADYWATCH_STORE"

// applyStoreEnv sets cfg.Store from $STEADYWATCH_STORE, over the file's,
// and reports whether it did.
func applyStoreEnv(cfg *config.Config) bool {
	dsn := os.Getenv(StoreEnv)
	if dsn == "" {
		return false
	}
	cfg.Store = dsn
	return true
}

// storeEnvError says that a bad store came from $STEADYWATCH_STORE.
func storeEnvError(err error, fromEnv bool) error {
	var cerr *config.Error
	if fromEnv && errors.As(err, &cerr) && cerr.Path == "store" {
		return fmt.Errorf("$%s: %w", StoreEnv, err)
	}
	return err
}
