// Package chaostoolkit imports the steady-state hypothesis of a Chaos
// Toolkit experiment (JSON or YAML) into a steadywatch hypothesis file: each
// probe of the Prometheus extension (chaosprometheus.probes) whose
// tolerance is a range becomes a metric bounded by an SLO; what cannot be
// imported is named, one line each, with the reason.
package chaostoolkit

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// The group selectors of the output when Options leave them out: the
// labels steadywatch's own examples tell the groups apart by.
const (
	DefaultControl      = `steadywatch_io_group="control"`
	DefaultExperimental = `steadywatch_io_group="experimental"`
)

// ErrNothingImported is returned, wrapped, when no probe of the
// experiment could be imported; Result.Skipped says why.
var ErrNothingImported = errors.New("nothing to import")

// Options give what a Chaos Toolkit experiment does not say.
type Options struct {
	// Name is the hypothesis's metadata.name; by default the experiment's
	// title (or file name) made a DNS-1123 label.
	Name string
	// Service is the spec.service whose chaos events make the window; by
	// default the name.
	Service string
	// Control and Experimental are the label matchers of the groups; by
	// default DefaultControl and DefaultExperimental.
	Control, Experimental string
}

// Result is an import.
type Result struct {
	// File is the hypothesis file; nil when nothing was imported.
	File []byte
	// Metrics are the names of the metrics imported, in the file's order.
	Metrics []string
	// Skipped are the steady-state probes not imported, one each: the
	// hypothesis checks less than the experiment did.
	Skipped []Note
	// Ignored are the parts of the experiment that never carry a steady
	// state (its method, rollbacks, Prometheus URL), one each.
	Ignored []Note
	// Assumed are the choices the experiment could not make for the
	// output, which the user should check: the service and the groups.
	Assumed []Note
}

// Note is one line about the import, "file:line: path: message".
type Note struct {
	File string
	Line int
	Path string
	Msg  string
}

func (n Note) String() string {
	return yamlnode.Message(n.File, n.Line, n.Path, errors.New(n.Msg), "")
}

// Error is a problem in the experiment that stops the import, e.g.
// "exp.json:12: steady-state-hypothesis.probes[1] "p".tolerance.range:
// want two numbers [low, high], got 3 values".
type Error = yamlnode.Error[experimentFile]

type experimentFile struct{}

func (experimentFile) Invalid() string { return "invalid Chaos Toolkit experiment" }

// OptionError is a bad value of one of the Options, named by its field in
// lower case (name, service, control, experimental).
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Import reads the experiment in data (filename is only used in messages)
// and returns the hypothesis file of its importable probes. The file
// always loads with [hypothesis.Load]. Errors are [*Error] for the
// experiment, [*OptionError] for opts.
func Import(data []byte, filename string, opts Options) (*Result, error) {
	exp, err := decode(data, filename)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	name, service := opts.Name, opts.Service
	if name == "" {
		name = slug(exp.title, slug(strings.TrimSuffix(filepath.Base(filename), filepath.Ext(filename)), "chaostoolkit"))
	}
	if service == "" {
		service = name
		res.Assumed = append(res.Assumed, Note{Path: "spec.service", Msg: fmt.Sprintf(
			"%q (from the %s): set it to the service label of the chaos events steadywatch records for this experiment, or pass --service",
			service, exp.nameFrom(opts.Name))})
	}
	groups := [2]string{opts.Control, opts.Experimental}
	if groups[0] == "" && groups[1] == "" {
		groups = [2]string{DefaultControl, DefaultExperimental}
		res.Assumed = append(res.Assumed, Note{Path: "spec.groups", Msg: fmt.Sprintf(
			"the queries tell the groups apart by %s and %s: if your series carry other labels, edit spec.groups or pass --control and --experimental",
			DefaultControl, DefaultExperimental)})
	}
	out := newOutput(filename, exp, name, service, groups)
	if err := out.check(); err != nil {
		return nil, err
	}
	res.Ignored = exp.ignored
	names := map[string]bool{}
	for _, p := range exp.probes {
		if p.skip != "" {
			res.Skipped = append(res.Skipped, p.note(filename, "skipped: "+p.skip))
			continue
		}
		m := outMetric{Name: unique(slug(p.name, fmt.Sprintf("probe-%d", p.index)), names), Query: p.query, SLO: p.slo}
		if reason := out.checkMetric(m); reason != "" {
			res.Skipped = append(res.Skipped, p.note(filename, "skipped: "+reason))
			continue
		}
		names[m.Name] = true
		m.comment = p.comment()
		out.Spec.Metrics = append(out.Spec.Metrics, m)
		res.Metrics = append(res.Metrics, m.Name)
	}
	if len(res.Metrics) == 0 {
		return res, &Error{File: filename, Err: fmt.Errorf(
			"%w: none of the %d steady-state probes is a Prometheus query with a min/max tolerance", ErrNothingImported, len(exp.probes))}
	}
	file, err := out.encode()
	if err != nil {
		return nil, err
	}
	// Every metric loaded on its own; together they must too.
	if _, err := hypothesis.Parse(file, filename); err != nil {
		return nil, fmt.Errorf("the imported hypothesis does not load (a bug): %w", err)
	}
	res.File = file
	return res, nil
}

// unique returns name, or name-2, name-3… if taken is holding it.
func unique(name string, taken map[string]bool) string {
	if !taken[name] {
		return name
	}
	for i := 2; ; i++ {
		suffix := fmt.Sprintf("-%d", i)
		n := strings.TrimRight(name[:min(len(name), 63-len(suffix))], "-") + suffix
		if !taken[n] {
			return n
		}
	}
}

// slug makes s a DNS-1123 label (lower-case letters, digits and dashes,
// at most 63), or returns fallback if nothing of s is left.
func slug(s, fallback string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 63 {
			break
		}
	}
	out := strings.TrimRight(b.String()[:min(b.Len(), 63)], "-")
	if out == "" {
		return fallback
	}
	return out
}
