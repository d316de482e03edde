package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/store"
)

const storeUsage = `Usage: steadywatch store adopt-cluster [flags]

Moves every row of the cluster --from (default "", the unnamed cluster:
the history of an installation that named none) to the cluster --to
(default the configuration's cluster:), in one transaction. After
cluster: is set on an installation with history, serve refuses to start
until its history is adopted, rather than hide it (docs/multi-cluster.md).
Stop that cluster's steadywatch first: rows it writes after the move stay
--from's.

Exit code: 0 the rows were moved (or there were none); 1 the store
failed; 3 bad flags, a bad --config, no store where --store, --data-dir
or --config says, or --to has rows already (nothing is moved).

Flags:
`

type adoptFlags struct {
	storeFlags
	to, from string
	timeout  time.Duration
}

func newAdoptFlagSet(stderr io.Writer, f *adoptFlags) *flag.FlagSet {
	fs := newFlagSet("store adopt-cluster", stderr)
	fs.StringVar(&f.to, "to", "", "the cluster to move the rows to, which has none yet (default: the configuration's cluster:)")
	fs.StringVar(&f.from, "from", "", `the cluster whose rows to move (default: "", the unnamed cluster)`)
	fs.StringVar(&f.store, "store", "", "store DSN: a SQLite file or postgres://… (default: the configuration's)")
	fs.StringVar(&f.dataDir, "data-dir", "", "steadywatch's data directory, whose SQLite store to change (default: the configuration's, "+config.DefaultDataDir+")")
	fs.StringVar(&f.configFile, "config", "", "steadywatch's configuration file: its store and cluster:")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "bound on the move")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), storeUsage)
		fs.PrintDefaults()
	}
	return fs
}

// runStore runs "store adopt-cluster", the one store command there is.
func runStore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, storeUsage)
		newAdoptFlagSet(stderr, &adoptFlags{}).PrintDefaults()
		if len(args) == 0 {
			return usagef("which store command? The one there is: adopt-cluster")
		}
		return flag.ErrHelp
	}
	if args[0] != "adopt-cluster" {
		return usagef("unknown store command %q: the one there is is adopt-cluster", args[0])
	}
	var f adoptFlags
	fs := newAdoptFlagSet(stderr, &f)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := f.config(fs)
	if err != nil {
		return err
	}
	to := cfg.Cluster
	if isSet(fs, "to") {
		to = f.to
	}
	if err := contract.CheckCluster(f.from); err != nil {
		return usagef("--from: %v", err)
	}
	if err := contract.CheckCluster(to); err != nil {
		return usagef("--to: %v", err)
	}
	if to == f.from {
		return usagef("--to: the rows are cluster %q's already: give the cluster to move them to (--to, or cluster: in --config)", to)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	db, err := openExisting(ctx, cfg, to, f.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close() //nolint:errcheck // the move is committed or not by now
	a, err := db.AdoptCluster(ctx, f.from)
	if errors.Is(err, store.ErrClusterHasRows) {
		return usagef("--to: %v: adopting would merge two histories", err)
	}
	if err != nil {
		return err
	}
	if a.Total() == 0 {
		fmt.Fprintf(stdout, "no rows of cluster %q to move\n", a.From)
		return nil
	}
	var tables []string
	for _, t := range slices.Sorted(maps.Keys(a.Rows)) {
		if a.Rows[t] > 0 {
			tables = append(tables, fmt.Sprintf("%s %d", t, a.Rows[t]))
		}
	}
	fmt.Fprintf(stdout, "moved %d rows of cluster %q to %q: %s\n", a.Total(), a.From, a.To, strings.Join(tables, ", "))
	return nil
}
