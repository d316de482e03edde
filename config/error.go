package config

import (
	"fmt"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Error is a configuration error. Its message reads
//
//	file:line: path: message
//
// where the parts that are unknown are left out: File is empty for a
// configuration that was not read from a file (see [Config.Validate]), Line
// is 0 when the field is not in the file (or for some YAML syntax errors) and
// Path is empty for errors about the document as a whole or about the
// top-level mapping, e.g. "steadywatch.yml:3: field listne not found in type
// config.Config".
type Error struct {
	// File is the name given to Parse or the path given to Load.
	File string
	// Line is the 1-based line of the offending value, or 0.
	Line int
	// Path is the YAML path of the field, e.g. "watch.namespaces[1]".
	Path string
	// Err is the underlying problem.
	Err error

	// alt lists other fields whose line also locates the problem, used when
	// Path itself is not in the file (e.g. the control value for a clash
	// between the control and experimental values).
	alt []string
}

func (e *Error) Error() string {
	return yamlnode.Message(e.File, e.Line, e.Path, e.Err, "invalid configuration")
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func fieldErrorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Err: fmt.Errorf(format, args...)}
}

// fromYAML is yamlnode's error as this package's, nil as nil.
func fromYAML(e *yamlnode.FieldError) *Error {
	if e == nil {
		return nil
	}
	return &Error{File: e.File, Line: e.Line, Path: e.Path, Err: e.Err}
}
