package yamlnode

import "fmt"

// Document names what kind of document an [Error] is about, for the
// message of an error that has no cause: "invalid configuration".
type Document interface{ Invalid() string }

// Error is a problem in a document of kind D. Its message reads
//
//	file:line: path: message
//
// where the parts that are unknown are left out: File is empty for data
// parsed without a name, Line is 0 when the problem has no place in the file
// (or for some YAML syntax errors) and Path is empty for errors about a
// document as a whole, e.g. "kill.yaml:3: field kidn not found" for a
// misspelt top-level key. The configuration and the hypothesis files share
// this one type, each with its own D.
type Error[D Document] struct {
	// File is the name given to Parse or the path Load read.
	File string
	// Line is the 1-based line of the offending value, or 0.
	Line int
	// Path is the YAML path of the field within its document, e.g.
	// "watch.namespaces[1]" or "spec.metrics[0].query".
	Path string
	// Err is the underlying problem.
	Err error
	// Alt lists other fields whose line also locates the problem, used when
	// Path itself is not in the file (e.g. the control value for a clash
	// between the control and experimental values).
	Alt []string
}

func (e *Error[D]) Error() string {
	var d D
	return Message(e.File, e.Line, e.Path, e.Err, d.Invalid())
}

// Unwrap returns the underlying error.
func (e *Error[D]) Unwrap() error { return e.Err }

// Errorf is an [Error] at path, of a document not yet located in a file.
func Errorf[D Document](path, format string, args ...any) *Error[D] {
	return &Error[D]{Path: path, Err: fmt.Errorf(format, args...)}
}

// As is the decoder's e as an [Error] of D, nil as nil.
func As[D Document](e *FieldError) *Error[D] {
	if e == nil {
		return nil
	}
	return &Error[D]{File: e.File, Line: e.Line, Path: e.Path, Err: e.Err}
}
