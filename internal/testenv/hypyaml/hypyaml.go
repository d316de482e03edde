// Package hypyaml writes the pod-kill hypothesis that the demo and the
// end-to-end tests judge, in the file format users write (one template,
// not a copy in each).
package hypyaml

import (
	"fmt"
	"strings"
)

// PodKill is a hypothesis about Service (web if empty) in Namespace: its
// experimental group keeps at least 90 % of its replicas ready around a
// pod deletion, against its control group.
type PodKill struct {
	Name, Namespace, Service string
	// Description is optional.
	Description string
	// Recovery adds the recovery expectations (MTTR and the replacement
	// ready within 60 s) and the abort on a hard bound.
	Recovery bool
	// Alerts are alerts expected to detect the fault within 30 s (with
	// Recovery).
	Alerts []string
}

// YAML is the hypothesis file.
func (p PodKill) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata:
  name: %s
spec:
`, p.Name)
	if p.Description != "" {
		fmt.Fprintf(&b, "  description: %s\n", p.Description)
	}
	service := p.Service
	if service == "" {
		service = "web"
	}
	fmt.Fprintf(&b, `  service: %[2]s
  namespace: %[1]s
  groups:
    control: group="control"
    experimental: group="experimental"
  window:
    events: {kinds: [pod_deleted], lookback: 10m, before: 10s, after: 15s}
  step: 1s
  metrics:
    - name: ready-ratio
      query: 'min(steadywatch_workload_ready_ratio{namespace="%[1]s", service="%[2]s", {{ .Group }} })'
      slo: {min: 0.9}
`, p.Namespace, service)
	if !p.Recovery {
		return b.String()
	}
	b.WriteString("  recovery:\n    mttr: 60s\n    replacementReady: 60s\n")
	if len(p.Alerts) > 0 {
		alerts := make([]string, len(p.Alerts))
		for i, a := range p.Alerts {
			alerts[i] = fmt.Sprintf("{name: %s, within: 30s}", a)
		}
		fmt.Fprintf(&b, "    alerts: [%s]\n", strings.Join(alerts, ", "))
	}
	b.WriteString("  judgement: {abortOnHardBound: true}\n")
	return b.String()
}
