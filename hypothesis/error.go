package hypothesis

import (
	"fmt"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Error is a problem in a hypothesis file. Its message reads
//
//	file:line: path: message
//
// where the parts that are unknown are left out: File is empty for data
// parsed without a name, Line is 0 when the problem has no place in the file
// (or for some YAML syntax errors) and Path is empty for errors about a
// document as a whole, e.g. "kill.yaml:3: field kidn not found" for a
// misspelt top-level key. Path is relative to the document, e.g.
// "spec.metrics[0].query".
type Error struct {
	// File is the name given to Parse or the path Load read.
	File string
	// Line is the 1-based line of the offending value, or 0.
	Line int
	// Path is the YAML path of the field within its document.
	Path string
	// Err is the underlying problem.
	Err error

	// alt lists other fields whose line also locates the problem, used when
	// Path itself is not in the file.
	alt []string
}

func (e *Error) Error() string {
	return yamlnode.Message(e.File, e.Line, e.Path, e.Err, "invalid hypothesis")
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
