package watcher

import (
	"strings"
	"unicode/utf8"

	"github.com/steadywatch/steadywatch/chaos"
)

// Subjects maps an object's labels to the service and group it is exported
// under. Label values come from users, so they are sanitised and, when an
// allow-list is given, bounded: metric cardinality must not follow the cluster.
type Subjects struct {
	ServiceLabel      string
	GroupLabel        string
	ControlValue      string
	ExperimentalValue string
	// Services, when non-empty, is the allow-list of service names; any
	// other value is exported as "other".
	Services map[string]struct{}
}

// DefaultSubjects uses the labels steadywatch documents as defaults.
func DefaultSubjects() Subjects {
	return Subjects{
		ServiceLabel:      "app.kubernetes.io/name",
		GroupLabel:        "steadywatch.io/group",
		ControlValue:      "control",
		ExperimentalValue: "experimental",
	}
}

// OtherService is exported for services outside the allow-list.
const OtherService = "other"

// subject resolves labels, falling back to a second set (a workload's pod
// template) for whichever label the first lacks.
func (s *Subjects) subject(namespace string, labels, fallback map[string]string) chaos.Subject {
	service, ok := labels[s.ServiceLabel]
	if !ok {
		service = fallback[s.ServiceLabel]
	}
	group, ok := labels[s.GroupLabel]
	if !ok {
		group = fallback[s.GroupLabel]
	}
	return chaos.Subject{Namespace: namespace, Service: s.service(service), Group: s.group(group)}
}

func (s *Subjects) group(v string) chaos.Group {
	switch v {
	case "":
		return chaos.NoGroup
	case s.ControlValue:
		return chaos.Control
	case s.ExperimentalValue:
		return chaos.Experimental
	}
	return chaos.NoGroup
}

const maxServiceLen = 63

func (s *Subjects) service(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "_")
	}
	if len(v) > maxServiceLen {
		v = v[:maxServiceLen]
		for !utf8.ValidString(v) {
			v = v[:len(v)-1]
		}
	}
	if len(s.Services) > 0 && v != "" {
		if _, ok := s.Services[v]; !ok {
			return OtherService
		}
	}
	return v
}
