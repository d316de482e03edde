package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracing"
	"github.com/steadywatch/steadywatch/verdict"
	"github.com/steadywatch/steadywatch/verdict/promsource"
)

// Exit codes of verdict, so that CI jobs and Argo can gate on it.
const (
	ExitFail         = 1
	ExitInconclusive = 2
)

// troubled marks an error that kept verdict from judging — a store or a
// Prometheus that does not answer, a timeout: inconclusive (exit 2), for
// only a judged failure may exit 1.
func troubled(err error) error { return codedError{code: ExitInconclusive, err: err} }

// exitCode ends a command with a code and no further message: what it had
// to say is on stdout.
type exitCode int

func (e exitCode) Error() string { return "exit " + strconv.Itoa(int(e)) }

type verdictFlags struct {
	files      stringList
	names      stringList
	prometheus string
	httpConfig string
	client     *http.Client // of httpConfig, nil without it
	at         string
	output     string
	store      string
	dataDir    string
	cluster    string
	record     bool
	timeout    time.Duration
	scrape     time.Duration
	log        logFlags
}

// runVerdict judges the hypotheses of the files against Prometheus (and
// the store, if given), writes the verdicts and ends with their exit code.
func runVerdict(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	f, err := parseVerdictFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	at, err := f.check()
	if err != nil {
		return err
	}
	if err := f.loadHTTPClient(); err != nil {
		return err
	}
	hyps, err := f.loadHypotheses()
	if err != nil {
		return err
	}

	shutdown, err := tracing.Setup(ctx, version.Version)
	if err != nil {
		return usagef("tracing (OTEL_* environment): %v", err)
	}
	defer flushTraces(shutdown, log)
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	// The store first: a missing one is the user's to fix, before anything
	// is asked of Prometheus.
	judge, db, closeStore, err := f.newJudge(ctx, log)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := f.checkLearntIntervals(ctx, hyps, log); err != nil {
		return err
	}
	verdicts, err := judgeAll(ctx, judge, hyps, at)
	if err != nil {
		// No verdict could be given: trouble, never a judged failure.
		return troubled(err)
	}
	if err := writeOutput(stdout, f.output, verdicts); err != nil {
		return troubled(err)
	}
	if f.record {
		if err := recordVerdicts(ctx, db, hyps, verdicts); err != nil {
			// Judged, but not kept: trouble, whatever the verdicts.
			return troubled(fmt.Errorf("--record: %w", err))
		}
	}
	return verdictsExit(verdicts)
}

func parseVerdictFlags(args []string, stderr io.Writer) (*verdictFlags, error) {
	fs := newFlagSet("verdict", stderr)
	var f verdictFlags
	fs.Var(&f.files, "f", "hypothesis file or directory; repeat for several (required)")
	fs.Var(&f.names, "hypothesis", "judge only this hypothesis; repeat for several (default: all in the files)")
	fs.StringVar(&f.prometheus, "prometheus", "", "Prometheus base URL, e.g. http://127.0.0.1:9090 (required)")
	fs.StringVar(&f.httpConfig, "prometheus-http-config", "", "file of Prometheus's own HTTP client configuration to reach --prometheus with: basic_auth, authorization, oauth2, tls_config, proxy_url, http_headers (X-Scope-OrgID), as in a scrape config; its relative file names are relative to its directory (default: no credentials)")
	fs.StringVar(&f.at, "at", "", "time of judgement, RFC 3339 or Unix seconds (default: now)")
	fs.StringVar(&f.output, "output", "table", "output format: table or json")
	fs.StringVar(&f.store, "store", "", "store DSN with the chaos events, experiments, incidents, alerts and watch coverage, for event and experiment windows and recovery expectations; a window steadywatch did not wholly watch does not pass (default: the SQLite file in --data-dir, if given)")
	fs.StringVar(&f.dataDir, "data-dir", "", "steadywatch's data directory, whose store to read")
	fs.StringVar(&f.cluster, "cluster", "", "the cluster of the store to read (its chaos events, incidents and watch coverage) and to --record in, for many clusters in one store (config cluster:); default: the unnamed one")
	fs.BoolVar(&f.record, "record", false, "record the verdicts in the store's history of verdicts, which the weekly report reads, as serve does: a verdict is recorded if it changes the hypothesis's verdict in force at its time (result, running, final) (needs --store or --data-dir)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "bound on the whole judgement")
	fs.DurationVar(&f.scrape, "scrape-interval", 0, "the Prometheus's scrape interval: a hypothesis whose step is shorter is refused (default: learnt from Prometheus's configuration, per job its queries select; not checked if Prometheus cannot tell)")
	f.log.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: steadywatch verdict -f FILE --prometheus URL [--prometheus-http-config FILE] [flags]

Judges each hypothesis: pass, fail or inconclusive, with the evidence.
Exit code: 0 all passed; 1 one failed (only a judged failure exits 1);
2 none failed but one was inconclusive, or nothing could be judged (a
store or Prometheus that did not answer, --timeout), or --record could
not record the verdicts; 3 bad flags or
hypothesis files, or no store where --store or --data-dir says.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return &f, nil
}

// check checks the flags that need no file and returns the time of
// judgement.
func (f *verdictFlags) check() (time.Time, error) {
	if len(f.files) == 0 {
		return time.Time{}, usagef("-f: a hypothesis file or directory is required")
	}
	if f.output != "table" && f.output != "json" {
		return time.Time{}, usagef("--output: %q is not one of table, json", f.output)
	}
	at := time.Now()
	if f.at != "" {
		var err error
		if at, err = parseAt(f.at); err != nil {
			return time.Time{}, usagef("--at: %v", err)
		}
	}
	if f.prometheus == "" {
		return time.Time{}, usagef("--prometheus: the Prometheus URL is required")
	}
	if f.record && f.store == "" && f.dataDir == "" {
		return time.Time{}, usagef("--record: needs the store to record in, --store or --data-dir")
	}
	if f.cluster == store.AllClusters {
		return time.Time{}, usagef("--cluster: a hypothesis is judged on one cluster's watch, not on every cluster's (*)")
	}
	if f.cluster != "" && f.store == "" && f.dataDir == "" {
		return time.Time{}, usagef("--cluster: needs the store to read, --store or --data-dir")
	}
	if err := contract.CheckCluster(f.cluster); err != nil {
		return time.Time{}, usagef("--cluster: %v", err)
	}
	if err := promsource.CheckURL(f.prometheus); err != nil {
		return time.Time{}, usagef("--prometheus: %v", err)
	}
	return at, nil
}

// loadHTTPClient builds the client of --prometheus-http-config, if given,
// as Prometheus reads such a file (promtool's --http.config.file).
func (f *verdictFlags) loadHTTPClient() error {
	if f.httpConfig == "" {
		return nil
	}
	cfg, _, err := promconfig.LoadHTTPConfigFile(f.httpConfig)
	if err != nil {
		return usagef("--prometheus-http-config: %v", err)
	}
	if f.client, err = promconfig.NewClientFromConfig(*cfg, "steadywatch"); err != nil {
		return usagef("--prometheus-http-config: %v", err)
	}
	return nil
}

// loadHypotheses loads the files' hypotheses, those --hypothesis names if
// any, and refuses a step shorter than --scrape-interval.
func (f *verdictFlags) loadHypotheses() ([]hypothesis.Hypothesis, error) {
	hyps, err := hypothesis.Load(f.files...)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return nil, usagef("-f: %v", err)
	case err != nil:
		return nil, usageError{err}
	}
	if hyps, err = selectHypotheses(hyps, f.names); err != nil {
		return nil, err
	}
	for i := range hyps {
		if err := hyps[i].CheckScrapeInterval(f.scrape); err != nil {
			return nil, usageError{fmt.Errorf("%w (--scrape-interval)", err)}
		}
	}
	return hyps, nil
}

// checkLearntIntervals refuses, unless --scrape-interval is given, a step
// shorter than the intervals --prometheus samples the hypotheses' series
// at, as its configuration says. A Prometheus that cannot tell (Thanos,
// Mimir, an error) is logged and checks nothing.
func (f *verdictFlags) checkLearntIntervals(ctx context.Context, hyps []hypothesis.Hypothesis, log *slog.Logger) error {
	if f.scrape > 0 {
		return nil
	}
	iv, ok := promsource.KnownIntervals(ctx, promsource.Options{URL: f.prometheus, HTTPClient: f.client, Logger: log})
	if !ok {
		return nil
	}
	for i := range hyps {
		if err := hyps[i].CheckIntervals(iv); err != nil {
			return usageError{fmt.Errorf("%w (--prometheus; --scrape-interval overrides)", err)}
		}
	}
	return nil
}

// newJudge builds the judge of --prometheus's samples, with the store of
// --store or --data-dir if one is given (db, nil if none); closeStore
// closes that store.
func (f *verdictFlags) newJudge(ctx context.Context, log *slog.Logger) (judge *verdict.Judge, db store.Store, closeStore func(), err error) {
	opts := verdict.Options{Logger: log, ScrapeInterval: f.scrape}
	closeStore = func() {}
	if f.store != "" || f.dataDir != "" {
		// A reading command: the store must be there (issue 13 #8).
		db, err = store.Open(ctx, f.store, store.Options{Logger: log, DataDir: f.dataDir, Existing: true, Cluster: f.cluster})
		if err != nil {
			flag := "--store"
			if f.store == "" {
				flag = "--data-dir"
			}
			if errors.Is(err, iofs.ErrNotExist) || errors.As(err, new(*store.SchemaTooNewError)) {
				return nil, nil, nil, usagef("%s: %v", flag, err)
			}
			return nil, nil, nil, troubled(fmt.Errorf("%s: %w", flag, err))
		}
		closeStore = func() {
			if err := db.Close(); err != nil {
				log.Warn("closing the store", "err", err)
			}
		}
		opts.Store, opts.Alerts, opts.Coverage, opts.Experiments = db, db, db, db
	}
	judge, err = promsource.NewJudge(promsource.Options{URL: f.prometheus, HTTPClient: f.client}, opts)
	if err != nil {
		closeStore()
		return nil, nil, nil, troubled(err)
	}
	return judge, db, closeStore, nil
}

// recordVerdicts records in db's history each verdict that changes its
// hypothesis's verdict in force at its time (verdict.Transition.Changes),
// as serve does: judging again records nothing new.
func recordVerdicts(ctx context.Context, db store.Store, hyps []hypothesis.Hypothesis, verdicts []verdict.Verdict) error {
	// The history in force at each time of judgement (the last transition
	// before, or at, it), read once per time: judgeAll gives them one.
	inForce := map[time.Time]map[string]*verdict.Transition{}
	for i := range verdicts {
		v := &verdicts[i]
		t, err := verdict.NewTransition(*v, verdict.IsFinal(&hyps[i], v))
		if err != nil {
			return err
		}
		at := v.At.UTC()
		latest, ok := inForce[at]
		if !ok {
			list, err := db.LatestVerdicts(ctx, v.At.Add(time.Nanosecond))
			if err != nil {
				return err
			}
			latest = make(map[string]*verdict.Transition, len(list))
			for j := range list {
				latest[list[j].Hypothesis] = &list[j]
			}
			inForce[at] = latest
		}
		if t.Changes(latest[v.Hypothesis]) {
			if err := db.SaveVerdict(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// judgeAll judges each hypothesis at at, in order.
func judgeAll(ctx context.Context, judge *verdict.Judge, hyps []hypothesis.Hypothesis, at time.Time) ([]verdict.Verdict, error) {
	verdicts := make([]verdict.Verdict, 0, len(hyps))
	for i := range hyps {
		v, err := judge.Judge(ctx, &hyps[i], at)
		if err != nil {
			return nil, fmt.Errorf("judging %s: %w", hyps[i].Name, err)
		}
		verdicts = append(verdicts, v)
	}
	return verdicts, nil
}

// writeOutput writes the verdicts as --output says: tables or JSON.
func writeOutput(w io.Writer, output string, verdicts []verdict.Verdict) error {
	if output != "json" {
		writeVerdicts(w, verdicts)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Verdicts []verdict.Verdict `json:"verdicts"`
	}{verdicts})
}

// verdictsExit is the exit status of a set of verdicts: fail wins over
// inconclusive, which wins over pass.
func verdictsExit(vs []verdict.Verdict) error {
	code := ExitOK
	for _, v := range vs {
		switch v.Result {
		case verdict.Fail:
			return exitCode(ExitFail)
		case verdict.Inconclusive:
			code = ExitInconclusive
		}
	}
	if code == ExitOK {
		return nil
	}
	return exitCode(code)
}

func selectHypotheses(hyps []hypothesis.Hypothesis, names []string) ([]hypothesis.Hypothesis, error) {
	if len(names) == 0 {
		return hyps, nil
	}
	var out []hypothesis.Hypothesis
	for _, n := range names {
		i := slices.IndexFunc(hyps, func(h hypothesis.Hypothesis) bool { return h.Name == n })
		if i < 0 {
			have := make([]string, len(hyps))
			for j := range hyps {
				have[j] = hyps[j].Name
			}
			return nil, usagef("--hypothesis: no hypothesis %q in the files (they have %s)", n, strings.Join(have, ", "))
		}
		out = append(out, hyps[i])
	}
	return out, nil
}

// parseAt reads RFC 3339 or Unix seconds.
func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor Unix seconds", s)
}

// writeVerdicts writes verdicts as readable tables: per hypothesis its
// result and reason, then one row per metric and per recovery expectation.
func writeVerdicts(w io.Writer, vs []verdict.Verdict) {
	for i, v := range vs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		state := strings.ToUpper(string(v.Result))
		if v.Running {
			state += " (running: provisional)"
		}
		fmt.Fprintf(w, "%s  %s  score %s", v.Hypothesis, state, number(v.Score))
		if v.Source != "" {
			fmt.Fprintf(w, "  (%s)", v.Source)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "window %s – %s, at %s\n", stamp(v.Window.Start), stamp(v.Window.End), stamp(v.At))
		for _, e := range v.Experiments {
			fmt.Fprintf(w, "experiment %s, %s – %s\n", e.String(), stamp(e.Start), running(e.End))
		}
		if v.Reason != "" {
			fmt.Fprintf(w, "reason: %s\n", v.Reason)
		}
		if v.ToolDisagrees != "" {
			fmt.Fprintf(w, "tool disagrees: %s\n", v.ToolDisagrees)
		}
		if v.Abort {
			fmt.Fprintf(w, "ABORT: %s\n", strings.Join(v.AbortReasons, "; "))
		}
		if len(v.Metrics) > 0 {
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			// The standardized effects: P(E>C), a value metric's, the
			// probability that an experimental sample exceeds a control one
			// (0.5: none); COHEN'S H, a ratio metric's, the difference of
			// the error ratios on the arcsine scale (0: none; |h| 0.2
			// small, 0.5 medium, 0.8 large).
			fmt.Fprintln(tw, "METRIC\tRESULT\tCONTROL\tEXPERIMENTAL\tEFFECT\tINTERVAL\tP(E>C)\tCOHEN'S H\tALLOWED\tSLO\tREASON")
			for _, m := range v.Metrics {
				effect, interval, superiority, cohensH, allowed := "-", "-", "-", "-", "-"
				if e := m.Effect; e != nil {
					effect = signed(e.Estimate)
					interval = fmt.Sprintf("[%s, %s] %s%%", signed(e.Low), signed(e.High), number(100*e.Confidence))
					allowed = signed(e.Allowed)
					if e.Superiority != nil {
						superiority = strconv.FormatFloat(*e.Superiority, 'f', 2, 64)
					}
					if e.CohensH != nil {
						cohensH = fmt.Sprintf("%+.2f", *e.CohensH)
					}
				}
				slo := string(m.SLO)
				if slo == "" {
					slo = "-"
				}
				name := m.Name
				if m.Critical {
					name += " (critical)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, m.Result,
					summary(m.Control), summary(m.Experimental), effect, interval, superiority, cohensH, allowed, slo, m.Reason)
			}
			tw.Flush() //nolint:errcheck,gosec // w reports its own errors
		}
		if len(v.Recovery) > 0 {
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RECOVERY\tRESULT\tOBSERVED\tBOUND\tREASON")
			for _, x := range v.Recovery {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Name, x.Result, seconds(x.Observed), seconds(x.Bound), x.Reason)
			}
			tw.Flush() //nolint:errcheck,gosec // w reports its own errors
		}
	}
}

func summary(s verdict.Summary) string {
	if s.Samples == 0 && s.Total == 0 {
		return "no data"
	}
	return fmt.Sprintf("%s (n=%d)", number(s.Value), s.Samples)
}

func number(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

func signed(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number(f)
	}
	if f >= 0 {
		return "+" + number(f)
	}
	return number(f)
}

func seconds(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond).String()
}

// running is an experiment's end, "running" while it has none.
func running(end time.Time) string {
	if end.IsZero() {
		return "running"
	}
	return stamp(end)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
