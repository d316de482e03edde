package hypothesis

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Load reads hypotheses from files and directories. A directory stands for
// every *.yaml and *.yml file in it (not its subdirectories, nor hidden
// files), in lexical order. Hypothesis names must be unique across all of
// them.
//
// An error reading a file is returned as is (so errors.Is(err,
// fs.ErrNotExist) works); other errors are [*Error] values.
func Load(paths ...string) ([]Hypothesis, error) {
	if len(paths) == 0 {
		return nil, errors.New("no hypothesis files given")
	}
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := filesIn(p)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	var all []Hypothesis
	seen := make(map[string]Source)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		hs, err := Parse(data, f)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if err := checkUnique(&h, seen); err != nil {
				return nil, err
			}
		}
		all = append(all, hs...)
	}
	return all, nil
}

// filesIn lists the hypothesis files of a directory.
func filesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || (filepath.Ext(name) != ".yaml" && filepath.Ext(name) != ".yml") {
			continue
		}
		p := filepath.Join(dir, name)
		// Follow symbolic links, as in a mounted ConfigMap.
		if fi, err := os.Stat(p); err != nil {
			return nil, err
		} else if fi.IsDir() {
			continue
		}
		files = append(files, p)
	}
	if len(files) == 0 {
		return nil, &Error{File: dir, Err: errors.New("no *.yaml or *.yml files in the directory")}
	}
	slices.Sort(files)
	return files, nil
}

// checkUnique records h's name in seen, or reports that it was already
// there.
func checkUnique(h *Hypothesis, seen map[string]Source) *Error {
	at := h.Position("metadata.name")
	if prev, dup := seen[h.Name]; dup {
		return &Error{File: at.File, Line: at.Line, Path: "metadata.name", Err: fmt.Errorf("duplicate hypothesis %q (also %s)", h.Name, prev)}
	}
	seen[h.Name] = at
	return nil
}

// Parse parses the hypotheses of one file: one per YAML document, separated
// by "---"; empty documents are skipped but a file without a hypothesis is
// an error. filename is only used in positions and error messages.
//
// Decoding is strict: unknown fields, values of the wrong type and
// duplicate keys are errors, and every document is validated in full,
// PromQL included. Anchors, aliases and merge keys ("<<") are supported.
func Parse(data []byte, filename string) ([]Hypothesis, error) {
	if err := yamlnode.CheckEncoding(filename, data); err != nil {
		return nil, yamlnode.As[hypothesisFile](err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var src []string // the file's lines, read only to place errors
	var out []Hypothesis
	seen := make(map[string]Source)
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, yamlnode.As[hypothesisFile](yamlnode.SyntaxError(filename, err))
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Resolve(doc.Content[0])) {
			continue
		}
		if src == nil {
			src = strings.Split(string(data), "\n")
		}
		h, err := parseDocument(doc.Content[0], filename, src)
		if err != nil {
			return nil, err
		}
		if err := checkUnique(&h, seen); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, &Error{File: filename, Err: errors.New("no hypothesis in the file")}
	}
	return out, nil
}

func parseDocument(root *yaml.Node, filename string, src []string) (Hypothesis, *Error) {
	f := defaultFile()
	d := newDecoder(filename)
	if err := decode(d, root, "", reflect.ValueOf(&f).Elem()); err != nil {
		return Hypothesis{}, err
	}
	h, err := f.build()
	if err != nil {
		err.File = filename
		locate(d, err, root, src)
		return Hypothesis{}, err
	}
	h.Source = Source{File: filename, Line: root.Line}
	h.lines = d.Lines()
	return h, nil
}

// locate sets the line of a validation error: that of the field it names,
// refined to the line inside a multi-line value for an error at an offset
// of the value, else the document's.
func locate(d *yamlnode.Decoder, err *Error, root *yaml.Node, src []string) {
	if err.Line = d.Line(err.Path, err.Alt); err.Line == 0 {
		err.Line = root.Line
	}
	pe, ok := errors.AsType[*posError](err.Err)
	n := d.Node(err.Path)
	if !ok || n == nil {
		return
	}
	if line, col, ok := valuePosition(n, pe.pos, src); ok {
		err.Line, pe.col = line, col
	}
}
