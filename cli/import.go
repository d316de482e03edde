package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/steadywatch/steadywatch/importer/chaostoolkit"
)

// ExitSkipped is import's exit code when it wrote the hypothesis but
// skipped some of the experiment's steady-state probes.
const ExitSkipped = 2

const importUsage = `Usage: steadywatch import chaostoolkit [flags] EXPERIMENT

Reads a Chaos Toolkit experiment (JSON or YAML) and writes a steadywatch
hypothesis of its steady-state probes that query Prometheus
(chaosprometheus.probes query, query_interval, compute_mean and
nodes_cpu_usage_mean) with a range tolerance ([low, high] or
{type: range, range: [low, high]}): each becomes a metric whose slo is that
range. Every other probe is skipped, one line on stderr each with its
reason; the method and rollbacks, which steadywatch does not run, are named
too. The output always loads as a hypothesis file.

Chaos Toolkit has no control group: each query gets the --control or
--experimental label matchers in every selector. stderr says what it
assumed (spec.service, spec.groups) for you to check.

Exit code: 0 every steady-state probe was imported; 2 the hypothesis was
written but some probes were skipped (stderr names them); 1 the output could
not be written; 3 bad flags, an experiment that cannot be read, or nothing
to import (nothing is written).

Flags:
`

type importFlags struct {
	out, name, service, control, experimental string
}

// runImport runs "import chaostoolkit", the one format there is.
func runImport(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var f importFlags
	fs := newFlagSet("import chaostoolkit", stderr)
	fs.StringVar(&f.out, "o", "-", `the hypothesis file to write, or "-" for stdout`)
	fs.StringVar(&f.name, "name", "", "the hypothesis's name (default: the experiment's title as a DNS label)")
	fs.StringVar(&f.service, "service", "", "the service label of the chaos events that make the window (default: the name)")
	fs.StringVar(&f.control, "control", "", "label matchers of the control group's series (default: "+chaostoolkit.DefaultControl+")")
	fs.StringVar(&f.experimental, "experimental", "", "label matchers of the experimental group's series (default: "+chaostoolkit.DefaultExperimental+")")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), importUsage)
		fs.PrintDefaults()
	}
	switch {
	case len(args) == 0:
		return usagef("what to import: chaostoolkit")
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
		fs.Usage()
		return flag.ErrHelp
	case args[0] != "chaostoolkit":
		return usagef("unknown format %q: want chaostoolkit", args[0])
	}
	file, err := parseImportArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if (f.control == "") != (f.experimental == "") {
		return usagef("--control and --experimental go together: set both, or neither for %s and %s",
			chaostoolkit.DefaultControl, chaostoolkit.DefaultExperimental)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return usageError{err}
	}
	res, err := chaostoolkit.Import(data, file, chaostoolkit.Options{
		Name: f.name, Service: f.service, Control: f.control, Experimental: f.experimental,
	})
	if res != nil {
		for _, n := range res.Skipped {
			fmt.Fprintln(stderr, n)
		}
	}
	if optErr, ok := errors.AsType[*chaostoolkit.OptionError](err); ok {
		return usagef("--%s: %v", optErr.Option, optErr.Err)
	}
	if err != nil {
		return usageError{err}
	}
	for _, n := range res.Ignored {
		fmt.Fprintln(stderr, n)
	}
	where := "stdout"
	if f.out != "-" {
		where = f.out
	}
	for _, n := range res.Assumed {
		n.File = where
		fmt.Fprintln(stderr, n)
	}
	if f.out == "-" {
		if _, err := stdout.Write(res.File); err != nil {
			return err
		}
	} else if err := os.WriteFile(f.out, res.File, 0o644); err != nil { //nolint:gosec // a hypothesis file, read by others as the examples are
		return err
	}
	total := len(res.Metrics) + len(res.Skipped)
	summary := fmt.Sprintf("imported %d of %d steady-state probes", len(res.Metrics), total)
	if f.out != "-" {
		summary += " into " + f.out
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(stderr, "steadywatch import chaostoolkit: %s; %d skipped\n", summary, len(res.Skipped))
		return exitCode(ExitSkipped)
	}
	fmt.Fprintf(stderr, "steadywatch import chaostoolkit: %s\n", summary)
	return nil
}

// parseImportArgs parses flags before and after the one experiment file,
// which it returns.
func parseImportArgs(fs *flag.FlagSet, args []string) (string, error) {
	var file string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		if file != "" {
			return "", usagef("unexpected argument %q: one experiment at a time", fs.Arg(0))
		}
		file, args = fs.Arg(0), fs.Args()[1:]
	}
	if strings.TrimSpace(file) == "" {
		return "", usagef("the experiment file to import is missing: steadywatch import chaostoolkit [flags] EXPERIMENT")
	}
	return file, nil
}
