// Package yamlnode holds what the strict YAML decoders of the configuration
// (config) and the hypothesis files (hypothesis) share: reading yaml.v3's
// nodes and errors, and writing "file:line: path: message".
package yamlnode

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlLine matches the location yaml.v3 puts in front of its messages.
var yamlLine = regexp.MustCompile(`^line (\d+): `)

// StripYAML removes the "yaml: " and "line N: " prefixes of a yaml.v3 error
// message and returns the line number, or 0.
func StripYAML(msg string) (string, int) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return msg, line
}

// Syntax turns a yaml.v3 decoding error into a message without yaml.v3's
// prefixes (several type errors joined by "; ") and the line of the first.
func Syntax(err error) (msg string, line int) {
	var msgs []string
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		for _, e := range te.Errors {
			m, l := StripYAML(e)
			if line == 0 {
				line = l
			}
			msgs = append(msgs, m)
		}
	} else {
		m, l := StripYAML(err.Error())
		msgs, line = []string{m}, l
	}
	return NonEmpty(strings.Join(msgs, "; "), err), line
}

// NonEmpty returns msg, or err's message if msg is blank.
func NonEmpty(msg string, err error) string {
	if strings.TrimSpace(msg) == "" {
		return err.Error()
	}
	return msg
}

// Message formats "file:line: path: message", leaving out what is unknown;
// without err the message is fallback.
func Message(file string, line int, path string, err error, fallback string) string {
	var b strings.Builder
	switch {
	case file != "" && line > 0:
		b.WriteString(file)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(line))
		b.WriteString(": ")
	case file != "":
		b.WriteString(file)
		b.WriteString(": ")
	case line > 0:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(line))
		b.WriteString(": ")
	}
	if path != "" {
		b.WriteString(path)
		b.WriteString(": ")
	}
	if err != nil {
		b.WriteString(err.Error())
	} else {
		b.WriteString(fallback)
	}
	return b.String()
}

// JoinPath appends a field name to a YAML path.
func JoinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Resolve follows aliases.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// IsInteger reports whether k is an integer kind.
func IsInteger(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// IsNull reports whether n is a null scalar.
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// IsMerge reports whether n is a merge key, as yaml.v3 does.
func IsMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" &&
		(n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

// Describe names a node in yaml.v3's style: "!!str `abc`" or "!!seq".
func Describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return n.ShortTag()
	}
	v := []rune(n.Value)
	if len(v) > 10 {
		return n.ShortTag() + " `" + string(v[:7]) + "...`"
	}
	return n.ShortTag() + " `" + string(v) + "`"
}
