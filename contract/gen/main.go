// Command gen writes README.md's metrics table from package contract,
// between the marker comments Begin and End, so the table lists every
// family steadywatch exports with the help it exposes. make generate runs
// it; make check-generated fails if README.md differs.
//
//	go run ./contract/gen [-in README.md] [-out README.md]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/steadywatch/steadywatch/contract"
)

// The markers around the generated table.
const (
	Begin = "<!-- BEGIN METRICS TABLE: written by go run ./contract/gen from package contract; edit contract/contract.go, not this table -->"
	End   = "<!-- END METRICS TABLE -->"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	in := fs.String("in", "README.md", "the README to read")
	out := fs.String("out", "README.md", "where to write it with the table rewritten")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := rewriteFile(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "contract/gen:", err)
		return 1
	}
	return 0
}

func rewriteFile(in, out string) error {
	doc, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s, err := rewrite(string(doc), table(contract.Metrics))
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, []byte(s), 0o644) //nolint:gosec // G703: the file named on the command line, by make generate
}

// rewrite replaces what lies between the markers in doc with tbl.
func rewrite(doc, tbl string) (string, error) {
	before, rest, ok := strings.Cut(doc, Begin+"\n")
	if !ok {
		return "", errors.New("no line " + Begin)
	}
	_, after, ok := strings.Cut(rest, End)
	if !ok {
		return "", errors.New("no line " + End + " after " + Begin)
	}
	if strings.Contains(after, Begin) {
		return "", errors.New("more than one " + Begin)
	}
	return before + Begin + "\n" + tbl + End + after, nil
}

// table is the Markdown table of ms, then the label no row lists: the
// cluster every series carries once the configuration names one.
func table(ms []contract.Metric) string {
	var b strings.Builder
	b.WriteString("| metric | type | labels | help |\n|---|---|---|---|\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.Name, m.Type, strings.Join(m.Labels, ", "), cell(m.Help))
	}
	fmt.Fprintf(&b, "\nEvery series above, and the Go runtime's and process metrics, also carries `%s` when the\n"+
		"configuration names a `cluster` (see [docs/multi-cluster.md](docs/multi-cluster.md)).\n", contract.LabelCluster)
	return b.String()
}

// cell escapes what would end a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
