package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
)

const reportUsage = `Usage: steadywatch report weekly [flags]

Writes the weekly review of alerts and SEVs from steadywatch's store, by
service and against the previous range: an ISO week (--week; default the
last whole week) or any --from/--to range, in the time zone --tz.
docs/reports.md defines every figure. --format html writes one
self-contained page (inline SVG charts, nothing fetched, no script) with
the MTTR/MTTD trend of the last 8 ranges; md, json and csv have no trend.

Exit code: 0 the report was written (also for a store with no data: the
report says so); 1 the store could not be read or the output not written;
3 bad flags (an unknown week format, --from not before --to, an unknown
--format or --tz), a bad --config, or no store where --store, --data-dir
or --config says (a report never creates one).

Flags:
`

type reportFlags struct {
	storeFlags
	week, from, to string
	tz             string
	format         string
	output         string
	cluster        string
	timeout        time.Duration
}

// runReport runs "report weekly", the one report there is so far.
func runReport(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, reportUsage)
		newReportFlagSet(stderr, &reportFlags{}).PrintDefaults()
		if len(args) == 0 {
			return usagef("which report? The one there is: weekly")
		}
		return flag.ErrHelp
	}
	if args[0] != "weekly" {
		return usagef("unknown report %q: the one there is is weekly", args[0])
	}
	var f reportFlags
	fs := newReportFlagSet(stderr, &f)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	opts, err := f.options(fs, time.Now())
	if err != nil {
		return err
	}
	cfg, err := f.config(fs)
	if err != nil {
		return err
	}
	opts.Configure(&cfg)

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	db, err := openExisting(ctx, cfg, cfg.Cluster, f.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close() //nolint:errcheck // read only: nothing to lose
	names := []string{cfg.Cluster}
	if isSet(fs, "cluster") {
		if names, err = clustersToRead(ctx, db, cfg.Cluster, f.cluster); err != nil {
			return err
		}
	}
	source := func(name string) (report.Source, error) {
		if name == cfg.Cluster {
			return db, nil
		}
		return db.ForCluster(name)
	}
	if len(names) > 1 {
		if f.format == "html" {
			return usagef("--format html: a page shows one cluster; give --cluster NAME, one of %s", strings.Join(quoteAll(names), ", "))
		}
		c, err := report.WeeklyClusters(ctx, names, source, opts)
		if err != nil {
			return err
		}
		return writeReport(stdout, f.output, func(w io.Writer) error { return report.WriteClustered(w, c, f.format) })
	}
	src, err := source(names[0])
	if err != nil {
		return err
	}
	r, err := report.Weekly(ctx, src, opts)
	if err != nil {
		return err
	}
	return writeReport(stdout, f.output, func(w io.Writer) error { return report.Write(w, r, f.format) })
}

// isSet says whether the flag name was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// clustersToRead returns the clusters --cluster asks for
// (store.ResolveClusters), a mistake in it a usage error.
func clustersToRead(ctx context.Context, db store.Store, own, name string) ([]string, error) {
	names, err := store.ResolveClusters(ctx, db, own, name)
	if errors.As(err, new(*store.ClusterError)) {
		return nil, usagef("--cluster: %v", err)
	}
	return names, err
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

func newReportFlagSet(stderr io.Writer, f *reportFlags) *flag.FlagSet {
	fs := newFlagSet("report weekly", stderr)
	fs.StringVar(&f.week, "week", "", "ISO week, e.g. 2026-W48 (default: the last whole week)")
	fs.StringVar(&f.from, "from", "", "start of the range, RFC 3339 (with --to, instead of --week)")
	fs.StringVar(&f.to, "to", "", "end of the range, RFC 3339, excluded")
	fs.StringVar(&f.tz, "tz", "UTC", "time zone of the week's boundaries and the times shown, e.g. Europe/Berlin or Local")
	fs.StringVar(&f.format, "format", "md", "output format: "+strings.Join(report.Formats, ", "))
	fs.StringVar(&f.output, "o", "", "file to write the report to (default: standard output)")
	fs.StringVar(&f.store, "store", "", "store DSN: a SQLite file or postgres://… (default: the configuration's)")
	fs.StringVar(&f.dataDir, "data-dir", "", "steadywatch's data directory, whose SQLite store to read (default: the configuration's, "+config.DefaultDataDir+")")
	fs.StringVar(&f.configFile, "config", "", "steadywatch's configuration file: its store, alert labels and reports section")
	fs.StringVar(&f.cluster, "cluster", "", "the cluster to report, for many clusters in one store, or * for every cluster, a section each (default: the configuration's cluster:)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "bound on reading the store")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), reportUsage)
		fs.PrintDefaults()
	}
	return fs
}

// options checks the range flags and returns the report's range.
func (f *reportFlags) options(fs *flag.FlagSet, now time.Time) (report.Options, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	opts, err := report.Request{
		Week: f.week, From: f.from, To: f.to, TZ: f.tz, Format: f.format,
		Given: func(p string) bool { return set[p] },
		Name:  func(p string) string { return "--" + p },
	}.Options(now)
	if err != nil {
		return opts, usagef("%v", err)
	}
	return opts, nil
}

// storeFlags are the flags of a command that reads an existing store:
// --store, --data-dir and --config.
type storeFlags struct{ store, dataDir, configFile string }

// config loads --config (or the defaults) and applies $STEADYWATCH_STORE,
// --store and --data-dir.
func (f storeFlags) config(fs *flag.FlagSet) (config.Config, error) {
	cfg, err := loadConfig(f.configFile)
	if err != nil {
		return cfg, err
	}
	applyStoreEnv(&cfg)
	if isSet(fs, "data-dir") {
		// The SQLite file in that directory, whatever store the file names.
		cfg.DataDir, cfg.Store = f.dataDir, ""
	}
	if isSet(fs, "store") {
		cfg.Store = f.store
	}
	return cfg, nil
}

// openExisting opens the store cfg names, as cluster's, never creating
// one; an error names the flag (or file, or variable) that said where.
func openExisting(ctx context.Context, cfg config.Config, cluster string, f storeFlags) (store.Store, error) {
	db, err := store.Open(ctx, cfg.Store, store.Options{DataDir: cfg.DataDir, Existing: true, Cluster: cluster})
	if err == nil {
		return db, nil
	}
	flag := "--config"
	switch {
	case f.store != "":
		flag = "--store"
	case f.dataDir != "":
		flag = "--data-dir"
	case os.Getenv(StoreEnv) != "":
		flag = "$" + StoreEnv
	case f.configFile == "":
		flag = "--data-dir (default " + config.DefaultDataDir + ")"
	}
	if errors.Is(err, iofs.ErrNotExist) || errors.As(err, new(*store.SchemaTooNewError)) {
		return nil, usagef("%s: %v", flag, err)
	}
	return nil, fmt.Errorf("%s: %w", flag, err)
}

// writeReport writes with write to the file output, or to stdout.
func writeReport(stdout io.Writer, output string, write func(io.Writer) error) error {
	if output == "" {
		return write(stdout)
	}
	file, err := os.Create(output)
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	if err := write(file); err != nil {
		file.Close() //nolint:errcheck,gosec // the write error is the one to report
		return fmt.Errorf("-o: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}
