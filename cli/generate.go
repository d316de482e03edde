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
	"github.com/steadywatch/steadywatch/dashboards"
	"github.com/steadywatch/steadywatch/generate"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/rules"
)

type generateFlags struct {
	configFile      string
	hypotheses      stringList
	out             string
	externalURL     string
	credentialsFile string
	matchers        stringList
	abortReceiver   string
	namespace       string
	image           string
	sev             stringList
	ruleLabels      stringList
	job             string
	cluster         string
	configData      []byte
}

// generators are the kinds of output, in the order "all" writes them.
var generators = []struct {
	name string
	run  func(f *generateFlags, cfg config.Config, hyps []hypothesis.Hypothesis) (map[string][]byte, error)
}{
	{"rules", func(f *generateFlags, cfg config.Config, hyps []hypothesis.Hypothesis) (map[string][]byte, error) {
		sev, err := keyValues("--sev", f.sev)
		if err != nil {
			return nil, err
		}
		for k := range sev {
			if k != "page" && k != "ticket" {
				return nil, usagef("--sev %s=…: the severities are page and ticket", k)
			}
		}
		labels, err := keyValues("--rule-label", f.ruleLabels)
		if err != nil {
			return nil, err
		}
		files, err := rules.Generate(cfg, hyps, rules.Options{Namespace: f.namespace, SEV: sev, Labels: labels, Job: f.job})
		if err != nil {
			return nil, usagef("rules: %v", err)
		}
		out := map[string][]byte{}
		for _, file := range files {
			out[file.Name] = file.Data
		}
		return out, nil
	}},
	{"dashboards", func(f *generateFlags, cfg config.Config, hyps []hypothesis.Hypothesis) (map[string][]byte, error) {
		files, err := dashboards.Generate(dashboards.Options{Config: cfg, Hypotheses: hyps, Namespace: f.namespace})
		if err != nil {
			return nil, usagef("dashboards: %v", err)
		}
		return files, nil
	}},
	{"alertmanager", func(f *generateFlags, _ config.Config, _ []hypothesis.Hypothesis) (map[string][]byte, error) {
		out, err := generate.Alertmanager(generate.AlertmanagerOptions{
			ExternalURL: f.externalURL, CredentialsFile: f.credentialsFile,
			Matchers: f.matchers, AbortReceiver: f.abortReceiver,
		})
		if err != nil {
			return nil, usagef("alertmanager: %v", err)
		}
		return map[string][]byte{"alertmanager.yml": out}, nil
	}},
	{"kubernetes", func(f *generateFlags, cfg config.Config, _ []hypothesis.Hypothesis) (map[string][]byte, error) {
		port, err := generate.ListenPort(cfg.Listen)
		if err != nil {
			return nil, usagef("listen %q: %v", cfg.Listen, err)
		}
		data := f.configData
		if data == nil {
			data = []byte("# The defaults: see config/example.yml.\n")
		}
		files, err := hypothesisFiles(f.hypotheses)
		if err != nil {
			return nil, err
		}
		out, err := generate.Kubernetes(generate.KubernetesOptions{
			Namespace: f.namespace, Image: f.image, Config: data, Port: port, Hypotheses: files, Cluster: f.cluster,
		})
		if err != nil {
			return nil, usageError{err}
		}
		return map[string][]byte{"steadywatch.yaml": out}, nil
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
	fs.Var(&f.hypotheses, "hypotheses", "hypothesis file or directory; repeat for several (default: the configuration's verdicts.hypotheses)")
	fs.StringVar(&f.out, "out", "", `output directory, or "-" for stdout (required)`)
	fs.StringVar(&f.externalURL, "external-url", "http://steadywatch:9477", "steadywatch's URL as Alertmanager and Prometheus reach it")
	fs.StringVar(&f.credentialsFile, "alertmanager.credentials-file", "", "file on Alertmanager's side holding a bearer token steadywatch accepts")
	fs.Var(&f.matchers, "alertmanager.matcher", `Alertmanager matcher selecting the alerts sent to steadywatch, e.g. 'severity=~"page|ticket"'; repeat for several (default: every alert)`)
	fs.StringVar(&f.abortReceiver, "abort-receiver", generate.DefaultAbortReceiver, "the Alertmanager receiver of the people who halt an experiment")
	fs.StringVar(&f.namespace, "namespace", "monitoring", "Kubernetes namespace steadywatch runs in")
	fs.StringVar(&f.image, "image", "ghcr.io/steadywatch/steadywatch:latest", "steadywatch's container image")
	fs.Var(&f.sev, "sev", "SEV level of a severity in the generated alerts, e.g. page=sev1; repeat (default page=sev2, ticket=sev4)")
	fs.Var(&f.ruleLabels, "rule-label", "label of the PrometheusRule object, e.g. release=prometheus for an operator's ruleSelector; repeat")
	fs.StringVar(&f.job, "job", "steadywatch", "job label of Prometheus' scrape of steadywatch, for SteadywatchWatcherDown")
	fs.StringVar(&f.cluster, "cluster", "", "kubernetes: the cluster's name, written into the configuration's cluster (on every series and stored row; default: the configuration's)")
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
		if f.configData, err = os.ReadFile(f.configFile); err != nil {
			return err
		}
	}
	var hyps []hypothesis.Hypothesis
	if len(f.hypotheses) == 0 {
		f.hypotheses = cfg.Verdicts.Hypotheses // those serve judges
	}
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
		if what == "all" { // each kind in a directory of its own
			for name, data := range out {
				files[g.name+"/"+name] = data
			}
			continue
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

// hypothesisFiles reads the hypothesis files of paths (files, or the
// *.yaml and *.yml of directories, as hypothesis.Load does) by base name.
func hypothesisFiles(paths []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, p := range paths {
		names := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			names = names[:0]
			for _, e := range entries {
				if ext := filepath.Ext(e.Name()); !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && (ext == ".yaml" || ext == ".yml") {
					names = append(names, filepath.Join(p, e.Name()))
				}
			}
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, err
			}
			if _, dup := out[filepath.Base(n)]; dup {
				return nil, usagef("--hypotheses: two files named %s", filepath.Base(n))
			}
			out[filepath.Base(n)] = data
		}
	}
	return out, nil
}

// keyValues parses repeated key=value flags.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, usagef("%s %q: want key=value", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}
