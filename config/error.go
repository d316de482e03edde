package config

import "github.com/steadywatch/steadywatch/internal/yamlnode"

// Error is a configuration error, e.g. "steadywatch.yml:3: field listne not
// found in type config.Config"; File is empty for a configuration that was
// not read from a file (see [Config.Validate]). It is the hypothesis files'
// error type too, told apart by its document.
type Error = yamlnode.Error[configuration]

type configuration struct{}

func (configuration) Invalid() string { return "invalid configuration" }

var fieldErrorf = yamlnode.Errorf[configuration]
