package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/generate"
	"github.com/steadywatch/steadywatch/hypothesis"
)

type generateFlags struct {
	configFile      string
	hypotheses      stringList
	out             string
	externalURL     string
	credentialsFile string
	matchers        stringList
	abortReceiver   string
}

// generators are the kinds of output, in the order "all" writes them.
var generators = []struct {
	name string
	run  func(f *generateFlags, cfg config.Config, hyps []hypothesis.Hypothesis) (map[string][]byte, error)
}{
	{"alertmanager", func(f *generateFlags, _ config.Config, _ []hypothesis.Hypothesis) (map[string][]byte, error) {
		out, err := generate.Alertmanager(generate.AlertmanagerOptions{
			ExternalURL: f.externalURL, CredentialsFile: f.credentialsFile,
			Matchers: f.matchers, AbortReceiver: f.abortReceiver,
		})
		if err != nil {
			return nil, usagef("alertmanager: %v", err)
		}
		return map[string][]byte{"alertmanager/alertmanager.yml": out}, nil
	}},
}

func generatorNames() []string {
	names := make([]string, 0, len(generators)+1)
	for _, g := range generators {
		names = append(names, g.name)
	}
	return append(names, "all")
}

func runGenerate(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	var f generateFlags
	fs.StringVar(&f.configFile, "config", "", "steadywatch configuration file (default: the defaults)")
	fs.Var(&f.hypotheses, "hypotheses", "hypothesis file or directory; repeat for several")
	fs.StringVar(&f.out, "out", "", `output directory, or "-" for stdout (required)`)
	fs.StringVar(&f.externalURL, "external-url", "http://steadywatch:9477", "steadywatch's URL as Alertmanager and Prometheus reach it")
	fs.StringVar(&f.credentialsFile, "alertmanager.credentials-file", "", "file on Alertmanager's side holding a bearer token steadywatch accepts")
	fs.Var(&f.matchers, "alertmanager.matcher", `Alertmanager matcher selecting the alerts sent to steadywatch, e.g. 'severity=~"page|ticket"'; repeat for several (default: every alert)`)
	fs.StringVar(&f.abortReceiver, "abort-receiver", generate.DefaultAbortReceiver, "the Alertmanager receiver of the people who halt an experiment")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: steadywatch generate %s --out DIR|- [flags]

Writes, from the configuration and the hypothesis files, what is deployed
beside steadywatch. The same input gives byte-identical files.

Flags:
`, strings.Join(generatorNames(), "|"))
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return usagef("what to generate: one of %s", strings.Join(generatorNames(), ", "))
	}
	what := args[0]
	if !slices.Contains(generatorNames(), what) {
		return usagef("unknown output %q: want one of %s", what, strings.Join(generatorNames(), ", "))
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if f.out == "" {
		return usagef("--out: an output directory, or - for stdout, is required")
	}
	cfg := config.Default()
	if f.configFile != "" {
		var err error
		if cfg, err = config.Load(f.configFile); err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				return usagef("--config: %v", err)
			}
			return usageError{err}
		}
	}
	var hyps []hypothesis.Hypothesis
	if len(f.hypotheses) > 0 {
		var err error
		hyps, err = hypothesis.Load(f.hypotheses...)
		switch {
		case errors.Is(err, iofs.ErrNotExist):
			return usagef("--hypotheses: %v", err)
		case err != nil:
			return usageError{err}
		}
	}
	files := map[string][]byte{}
	for _, g := range generators {
		if what != "all" && what != g.name {
			continue
		}
		out, err := g.run(&f, cfg, hyps)
		if err != nil {
			return err
		}
		maps.Copy(files, out)
	}
	return writeFiles(f.out, files, stdout)
}

// writeFiles writes files under dir, in name order, or to stdout (one
// file as it is; several each after a "# file: NAME" line).
func writeFiles(dir string, files map[string][]byte, stdout io.Writer) error {
	names := slices.Sorted(maps.Keys(files))
	if dir == "-" {
		for _, name := range names {
			if len(names) > 1 {
				fmt.Fprintf(stdout, "# file: %s\n", name)
			}
			if _, err := stdout.Write(files[name]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
