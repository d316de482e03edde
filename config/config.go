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
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
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
)

// Config is the whole configuration file.
type Config struct {
	Kubernetes Kubernetes `yaml:"kubernetes"`
	// Listen is the host:port the HTTP server (metrics, health) listens on.
	Listen string `yaml:"listen"`
	// DataDir is where checkpoints are written. It must not be empty.
	DataDir string `yaml:"data_dir"`
	Watch   Watch  `yaml:"watch"`
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
	// Timeout bounds every API request (> 0).
	Timeout model.Duration `yaml:"timeout"`
}

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
}

// Default returns the default configuration. It is valid.
func Default() Config {
	return Config{
		Kubernetes: Kubernetes{
			QPS:     DefaultQPS,
			Burst:   DefaultBurst,
			Timeout: DefaultTimeout,
		},
		Listen:  DefaultListen,
		DataDir: DefaultDataDir,
		Watch: Watch{
			ServiceLabel:       DefaultServiceLabel,
			GroupLabel:         DefaultGroupLabel,
			ControlValue:       DefaultControlValue,
			ExperimentalValue:  DefaultExperimentalValue,
			Resync:             DefaultResync,
			CheckpointInterval: DefaultCheckpointInterval,
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
	return nil
}

// validate returns a typed nil-able *Error so that Parse can add a location.
func (c *Config) validate() *Error {
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
	return c.Watch.validate()
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
		err.alt = []string{"watch.service_label"}
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
		err.alt = []string{"watch.control_value"}
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
