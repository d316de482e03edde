package config

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"strings"

	promconfig "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

// HTTPClient configures an HTTP client to Prometheus or Alertmanager in
// Prometheus's own terms (prometheus/common/config.HTTPClientConfig, what
// a scrape config or a remote_write takes): basic_auth, authorization,
// oauth2, tls_config, proxy_url, http_headers (X-Scope-OrgID for Mimir or
// Cortex), follow_redirects, enable_http2. Credential files are read at
// each request, so rotated secrets are picked up. [Load] makes relative
// file names relative to the configuration file's directory.
type HTTPClient struct {
	promconfig.HTTPClientConfig
}

// DecodeNode decodes n strictly, as Prometheus reads its own
// configuration (yaml.v2's UnmarshalStrict, then HTTPClientConfig's
// Validate), after naming an unknown key at its path and line.
func (c *HTTPClient) DecodeNode(n *yaml.Node) error {
	if err := checkKeys(n, "", reflect.TypeFor[promconfig.HTTPClientConfig]()); err != nil {
		return err
	}
	budget := yamlnode.MaxSteps
	plain, err := expandAliases(n, &budget)
	if err != nil {
		return err
	}
	data, err := yaml.Marshal(plain)
	if err != nil {
		return err
	}
	cfg, err := promconfig.LoadHTTPConfig(string(data))
	if err != nil {
		// yaml.v2's messages name the lines of the re-encoded section and
		// the type "config.plain": keep only what they say.
		msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
		var msgs []string
		for l := range strings.Lines(msg) {
			m, _ := yamlnode.StripYAML(strings.TrimSpace(l))
			msgs = append(msgs, strings.ReplaceAll(m, "config.plain", "an HTTP client configuration"))
		}
		return errors.New(yamlnode.NonEmpty(strings.Join(msgs, "; "), err))
	}
	c.HTTPClientConfig = *cfg
	return nil
}

// NewHTTPClient is an HTTPClient of Prometheus's defaults
// (follow_redirects and enable_http2), for a section left out.
func NewHTTPClient() *HTTPClient {
	return &HTTPClient{HTTPClientConfig: promconfig.DefaultHTTPClientConfig}
}

// Config is c's HTTPClientConfig, Prometheus's defaults for a nil c.
func (c *HTTPClient) Config() promconfig.HTTPClientConfig {
	if c == nil {
		return promconfig.DefaultHTTPClientConfig
	}
	return c.HTTPClientConfig
}

// validate checks c (already checked when decoded, but a configuration
// built in code or edited by flags is not).
func (c *HTTPClient) validate(path string) *Error {
	if c == nil {
		return nil
	}
	if err := c.Validate(); err != nil {
		return &Error{Path: path, Err: err}
	}
	return nil
}

// setDirectory makes c's relative file names relative to dir.
func (c *HTTPClient) setDirectory(dir string) {
	if c != nil {
		c.SetDirectory(dir)
	}
}

var urlType = reflect.TypeFor[promconfig.URL]()

// checkKeys refuses a key of n, a value of type t at path (relative to
// the section), that names no field of t, in the configuration's words and
// at the key's line: yaml.v2's would say "field x not found in type
// config.plain" at a line of the re-encoded section. What else is wrong
// the strict decoding says after it.
func checkKeys(n *yaml.Node, path string, t reflect.Type) *yamlnode.FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r := yamlnode.Resolve(n)
	if r.Kind != yaml.MappingNode || (t.Kind() != reflect.Struct && t.Kind() != reflect.Map) || t == urlType {
		return nil
	}
	fields, names, free := yamlFields(t)
	for i := 0; i+1 < len(r.Content); i += 2 {
		k := yamlnode.Resolve(r.Content[i])
		if yamlnode.IsMerge(k) {
			continue
		}
		ft, ok := fields[k.Value]
		switch {
		case ok:
		case free != nil:
			ft = free
		default:
			return &yamlnode.FieldError{Line: k.Line, Path: path, Err: errors.New(yamlnode.UnknownField(k.Value, names))}
		}
		if err := checkKeys(r.Content[i+1], yamlnode.JoinPath(path, k.Value), ft); err != nil {
			return err
		}
	}
	return nil
}

// yamlFields maps the YAML names of t's fields, inline ones included, to
// their types and lists them in order. free is the type of the values of
// a map t, or of t's inline map, whose keys are anyone's (http_headers);
// nil if t has none.
func yamlFields(t reflect.Type) (fields map[string]reflect.Type, names []string, free reflect.Type) {
	if t.Kind() == reflect.Map {
		return nil, nil, t.Elem()
	}
	fields = map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" && strings.Contains(opts, "inline") {
			if f.Type.Kind() == reflect.Map {
				free = f.Type.Elem()
				continue
			}
			sub, subNames, subFree := yamlFields(f.Type)
			for _, n := range subNames {
				fields[n] = sub[n]
			}
			names = append(names, subNames...)
			free = cmp.Or(free, subFree)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	return fields, names, free
}

// expandAliases copies n with every alias replaced by a copy of what it
// stands for and no anchors, so that the copy stands alone when encoded;
// scalars keep their text and style, so that yaml.v2 reads them as written.
// budget bounds the nodes copied, as [yamlnode.MaxSteps] bounds an
// expansion.
func expandAliases(n *yaml.Node, budget *int) (*yaml.Node, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("document contains excessive aliasing: aliases and merge keys expand to more than %d entries", yamlnode.MaxSteps)
	}
	if n.Kind == yaml.AliasNode {
		return expandAliases(n.Alias, budget)
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		var err error
		if c.Content[i], err = expandAliases(e, budget); err != nil {
			return nil, err
		}
	}
	return &c, nil
}
