// Package dashboards generates steadywatch's Grafana dashboards from its
// configuration and hypothesis files: an experiment dashboard, a
// reliability overview and the weekly review, as JSON and as ConfigMaps for
// Grafana's sidecar.
package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/hypothesis"
)

// Dashboard is Grafana's classic dashboard model, the one Grafana's
// dashboard sidecar and file provisioning load and the SDK's JSON schemas
// describe. The SDK deprecates it in favour of its v2 model, which only
// Grafana 12 with feature flags reads; these aliases keep that one
// deprecation in one place.
type Dashboard = dashboard.Dashboard //nolint:staticcheck // the classic model is the one provisioning loads, see above

type dashboardBuilder = dashboard.DashboardBuilder //nolint:staticcheck // as Dashboard

func newDashboard(title string) *dashboardBuilder {
	return dashboard.NewDashboardBuilder(title) //nolint:staticcheck // as Dashboard
}

// Options are what the dashboards are generated from.
type Options struct {
	// Config is steadywatch's configuration; the watched services'
	// allow-list (watch.services) fills the service variable.
	Config config.Config
	// Hypotheses each get a row of the experiment dashboard, in order.
	Hypotheses []hypothesis.Hypothesis
	// Namespace of the ConfigMaps; empty leaves it to kubectl's.
	Namespace string
	// Folder, if set, is the Grafana folder the sidecar puts the
	// dashboards in, through the ConfigMaps' grafana_folder annotation
	// (the sidecar's folderAnnotation must be set to it).
	Folder string
}

// File names of the generated files, relative to the output directory.
const (
	ExperimentJSON       = "steadywatch-experiment.json"
	ReliabilityJSON      = "steadywatch-reliability.json"
	WeeklyJSON           = "steadywatch-weekly-review.json"
	ExperimentConfigMap  = "steadywatch-experiment-configmap.yaml"
	ReliabilityConfigMap = "steadywatch-reliability-configmap.yaml"
	WeeklyConfigMap      = "steadywatch-weekly-review-configmap.yaml"
)

// Generate builds the dashboards and renders them, by file name: each as
// dashboard JSON and as a ConfigMap labelled grafana_dashboard: "1" for
// Grafana's sidecar. The same options give byte-identical files.
func Generate(o Options) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, d := range []struct {
		build         func(Options) (Dashboard, error)
		json, cm, key string
	}{
		{Experiment, ExperimentJSON, ExperimentConfigMap, "experiment"},
		{Reliability, ReliabilityJSON, ReliabilityConfigMap, "reliability"},
		{Weekly, WeeklyJSON, WeeklyConfigMap, "weekly-review"},
	} {
		db, err := d.build(o)
		if err != nil {
			return nil, fmt.Errorf("%s dashboard: %w", d.key, err)
		}
		data, err := marshal(db)
		if err != nil {
			return nil, fmt.Errorf("%s dashboard: %w", d.key, err)
		}
		cm, err := configMap("steadywatch-dashboard-"+d.key, d.json, data, o)
		if err != nil {
			return nil, fmt.Errorf("%s dashboard: %w", d.key, err)
		}
		files[d.json], files[d.cm] = data, cm
	}
	return files, nil
}

// Write writes files (as Generate returns them) into dir, creating it, in
// the order of their names.
func Write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// build builds the dashboard and numbers its panels: Grafana needs ids that
// are unique within the dashboard, and numbering in order keeps them stable
// across generations.
func build(b *dashboardBuilder) (Dashboard, error) {
	d, err := b.Build()
	if err != nil {
		var be cog.BuildErrors
		if errors.As(err, &be) && len(be) > 0 {
			return d, be
		}
		return d, err
	}
	id := uint32(0)
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			id++
			p.Panel.Id = new(id)
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = new(id)
			}
		}
	}
	return d, nil
}

// marshal renders a dashboard as indented JSON. Maps are written with
// sorted keys, so the output depends on the dashboard only.
func marshal(d Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// configMap is the Kubernetes ConfigMap that Grafana's dashboard sidecar
// (kiwigrid k8s-sidecar, as in the Grafana and kube-prometheus-stack Helm
// charts) loads: it watches ConfigMaps labelled grafana_dashboard: "1".
type configMapDoc struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   configMapMeta     `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
}

type configMapMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// SidecarLabel is the label Grafana's sidecar selects dashboards by.
const SidecarLabel = "grafana_dashboard"

// FolderAnnotation is the annotation the ConfigMaps name their Grafana
// folder in, when Options.Folder is set.
const FolderAnnotation = "grafana_folder"

// MaxConfigMapBytes is the most a ConfigMap's data may hold.
const MaxConfigMapBytes = 1 << 20

// configMap wraps a dashboard in a ConfigMap. The dashboard is compacted:
// the JSON file is the one to read, and `kubectl apply` copies the whole
// object into an annotation limited to 256 KiB (larger dashboards need
// `kubectl apply --server-side`).
func configMap(name, file string, dashboardJSON []byte, o Options) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, dashboardJSON); err != nil {
		return nil, err
	}
	if compact.Len() > MaxConfigMapBytes {
		return nil, fmt.Errorf("ConfigMap %s: the dashboard takes %d bytes, more than a ConfigMap holds (%d): split the hypotheses",
			name, compact.Len(), MaxConfigMapBytes)
	}
	doc := configMapDoc{
		APIVersion: "v1",
		Kind:       "ConfigMap",
		Metadata: configMapMeta{
			Name:      name,
			Namespace: o.Namespace,
			Labels: map[string]string{
				SidecarLabel:                  "1",
				"app.kubernetes.io/name":      "steadywatch",
				"app.kubernetes.io/component": "dashboards",
			},
		},
		Data: map[string]string{file: compact.String()},
	}
	if o.Folder != "" {
		doc.Metadata.Annotations = map[string]string{FolderAnnotation: o.Folder}
	}
	var buf bytes.Buffer
	buf.WriteString("# Generated by steadywatch from its configuration and hypothesis files; do not edit.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
