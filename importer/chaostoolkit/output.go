package chaostoolkit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/hypothesis"
)

// The output mirrors the hypothesis file format (hypothesis/file.go),
// whose wire types are the hypothesis package's own.

type outFile struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   outMetadata `yaml:"metadata"`
	Spec       outSpec     `yaml:"spec"`

	header string
}

type outMetadata struct {
	Name string `yaml:"name"`
}

type outSpec struct {
	Description string      `yaml:"description,omitempty"`
	Service     string      `yaml:"service"`
	Groups      outGroups   `yaml:"groups"`
	Window      outWindow   `yaml:"window"`
	Metrics     []outMetric `yaml:"metrics"`
}

type outGroups struct {
	Control      string `yaml:"control"`
	Experimental string `yaml:"experimental"`
}

type outWindow struct {
	Events outEvents `yaml:"events"`
}

type outEvents struct {
	Lookback string `yaml:"lookback"`
	After    string `yaml:"after"`
}

type outMetric struct {
	Name      string   `yaml:"name"`
	Query     string   `yaml:"query"`
	SLO       outBound `yaml:"slo"`
	Aggregate string   `yaml:"aggregate,omitempty"`

	comment string
}

type outBound struct {
	Min *float64 `yaml:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty"`
}

func newOutput(file string, e *experiment, name, service string, groups [2]string) *outFile {
	title := oneLine(e.title)
	header := fmt.Sprintf("Imported from the Chaos Toolkit experiment %s by steadywatch import chaostoolkit.", oneLine(file))
	if title != "" {
		header = fmt.Sprintf("Imported from the Chaos Toolkit experiment %q (%s)\nby steadywatch import chaostoolkit.", title, oneLine(file))
	}
	header += "\nChaos Toolkit checked these bounds before and after its method; steadywatch\n" +
		"checks them at every step of the window around the chaos events it records\n" +
		"for spec.service in the experimental group."
	return &outFile{
		APIVersion: hypothesis.APIVersion,
		Kind:       hypothesis.Kind,
		Metadata:   outMetadata{Name: name},
		Spec: outSpec{
			Description: title,
			Service:     service,
			Groups:      outGroups{Control: groups[0], Experimental: groups[1]},
			Window: outWindow{Events: outEvents{
				Lookback: hypothesis.FormatDuration(hypothesis.DefaultLookback),
				After:    hypothesis.FormatDuration(hypothesis.DefaultAfter),
			}},
		},
		header: header,
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// optionPaths names the option behind each field the options fill.
var optionPaths = map[string]string{
	"metadata.name":            "name",
	"spec.service":             "service",
	"spec.groups.control":      "control",
	"spec.groups.experimental": "experimental",
}

// check loads the hypothesis with a stand-in metric, so that a bad option
// is reported once, as the option's, rather than as every metric's.
func (o *outFile) check() error {
	probe := *o
	probe.Spec.Metrics = []outMetric{{Name: "m", Query: "up{ " + hypothesis.Placeholder + " }", SLO: outBound{Max: new(1.0)}}}
	err := probe.load()
	if herr, ok := errors.AsType[*hypothesis.Error](err); ok {
		if opt, ok := optionPaths[herr.Path]; ok {
			return &OptionError{Option: opt, Err: herr.Err}
		}
	}
	return err
}

// checkMetric loads the hypothesis with m alone and says why it does not
// load, if it does not.
func (o *outFile) checkMetric(m outMetric) string {
	probe := *o
	probe.Spec.Metrics = []outMetric{m}
	err := probe.load()
	if err == nil {
		return ""
	}
	if herr, ok := errors.AsType[*hypothesis.Error](err); ok && herr.Err != nil {
		return "it cannot be judged: " + strings.TrimPrefix(herr.Path+": ", "spec.metrics[0].") + herr.Err.Error()
	}
	return "it cannot be judged: " + err.Error()
}

func (o *outFile) load() error {
	data, err := o.encode()
	if err != nil {
		return err
	}
	_, err = hypothesis.Parse(data, "import.yaml")
	return err
}

func (o *outFile) encode() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(o); err != nil {
		return nil, err
	}
	doc.HeadComment = o.header
	if spec := valueOf(&doc, "spec"); spec != nil {
		if ms := valueOf(spec, "metrics"); ms != nil {
			for i, m := range ms.Content {
				if i < len(o.Spec.Metrics) {
					m.HeadComment = o.Spec.Metrics[i].comment
				}
				if slo := valueOf(m, "slo"); slo != nil {
					slo.Style = yaml.FlowStyle // as the examples write it
				}
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// valueOf returns the value of key in the mapping n.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
