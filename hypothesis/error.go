package hypothesis

import "github.com/steadywatch/steadywatch/internal/yamlnode"

// Error is a problem in a hypothesis file, e.g. "kill.yaml:12:
// spec.metrics[0].query: parse error …"; Path is relative to the document.
// It is the configuration's error type too, told apart by its document.
type Error = yamlnode.Error[hypothesisFile]

type hypothesisFile struct{}

func (hypothesisFile) Invalid() string { return "invalid hypothesis" }

var fieldErrorf = yamlnode.Errorf[hypothesisFile]
