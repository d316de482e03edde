package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// Load reads the configuration file at path and parses it with [Parse].
// An error reading the file is returned as is (so errors.Is(err,
// fs.ErrNotExist) works); other errors are [*Error] values naming path.
// The relative file names of the HTTP client sections (verdicts.
// prometheus_http_client, verdicts.abort_alertmanager_http_client,
// alerts.pull.http_client) are made relative to path's directory, as
// Prometheus does with its own configuration.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return Config{}, err
	}
	cfg.SetDirectory(filepath.Dir(path))
	return cfg, nil
}

// SetDirectory makes the relative file names of c's HTTP client sections
// relative to dir. The older alerts.pull fields (bearer_token_file,
// basic_auth, tls) stay relative to the working directory, as they were.
func (c *Config) SetDirectory(dir string) {
	c.Verdicts.PrometheusHTTPClient.setDirectory(dir)
	c.Verdicts.AbortAlertmanagerHTTPClient.setDirectory(dir)
	c.Alerts.Pull.HTTPClient.setDirectory(dir)
}

// Parse parses a configuration file: it starts from [Default], decodes data
// strictly on top of it and validates the result. filename is only used in
// error messages.
//
// Decoding is strict: unknown fields, values of the wrong type, duplicate keys
// and more than one YAML document are errors. A field set to null keeps its
// default, except lists, which become empty. An empty document yields the
// defaults. Anchors, aliases and merge keys ("<<") are supported.
//
// Errors are [*Error] values reading "file:line: path: message", e.g.
//
//	steadywatch.yml:3: unknown field "listne" (did you mean "listen"?)
//	steadywatch.yml:7: watch.selector: unable to parse requirement: ...
func Parse(data []byte, filename string) (Config, error) {
	root, err := parseDocument(data, filename)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	d := newDecoder(filename)
	if root != nil {
		if err := decode(d, root, "", reflect.ValueOf(&cfg).Elem()); err != nil {
			return Config{}, err
		}
	}
	if err := cfg.validate(); err != nil {
		err.File = filename
		err.Line = d.Line(err.Path, err.Alt)
		return Config{}, err
	}
	return cfg, nil
}

// parseDocument parses data into a node tree and returns the content of its
// single document, or nil when there is no document or it is null.
func parseDocument(data []byte, filename string) (*yaml.Node, error) {
	if err := yamlnode.CheckEncoding(filename, data); err != nil {
		return nil, yamlnode.As[configuration](err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlnode.As[configuration](yamlnode.SyntaxError(filename, err))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlnode.As[configuration](yamlnode.SyntaxError(filename, err))
	default:
		return nil, &Error{File: filename, Line: next.Line, Err: errors.New("multiple YAML documents are not allowed")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || yamlnode.IsNull(yamlnode.Resolve(doc.Content[0])) {
		return nil, nil
	}
	return doc.Content[0], nil
}

func newDecoder(file string) *yamlnode.Decoder { return yamlnode.NewDecoder(file, yamlnode.UserStyle) }

// decode decodes n into v, which must be addressable.
func decode(d *yamlnode.Decoder, n *yaml.Node, path string, v reflect.Value) *Error {
	return yamlnode.As[configuration](d.Decode(n, path, v))
}
