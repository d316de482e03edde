package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/internal/timex"
	"github.com/steadywatch/steadywatch/tracker"
	"github.com/steadywatch/steadywatch/verdict"
)

// Source is what a report reads: the store is one.
type Source interface {
	alert.Stream
	verdict.History
	// List returns the incidents matching f, oldest start first.
	List(ctx context.Context, f tracker.Filter) ([]chaos.Incident, error)
}

// Defaults of Options.
const (
	DefaultNoisyWithin = 5 * time.Minute
	DefaultFlapCount   = 3
	DefaultTop         = 20
	DefaultLookback    = 7 * 24 * time.Hour
	// DefaultChaosLevel is the level of a chaos incident no alert with a
	// mapped severity detected: a fault was injected and hurt a service,
	// so it is more than a warning, but it was planned, so it is no SEV1.
	DefaultChaosLevel Level = "SEV2"
)

// NoService names the service of alerts that carry none of the service
// labels.
const NoService = "(no service)"

// DefaultLevels map Prometheus's usual severities to SEV levels.
var DefaultLevels = []Severity{
	{Severity: "critical", Level: "SEV1"},
	{Severity: "error", Level: "SEV2"},
	{Severity: "warning", Level: "SEV3"},
}

// DefaultVolatileLabels are the labels that change from one firing of the
// same alert to the next (the scrape target, the pod, its replica) and so
// do not identify an alert among a service's most frequent.
var DefaultVolatileLabels = []string{
	"instance", "pod", "pod_name", "pod_ip", "container_id", "uid",
	"exported_instance", "exported_pod", "prometheus_replica", "replica",
}

// Options configure a report. Range is required; the rest default.
type Options struct {
	// Range is the range reported; it is compared with Range.Previous().
	Range Range
	// ServiceLabels are the labels tried, in order, for an alert's service
	// (default config.DefaultServiceLabels).
	ServiceLabels []string
	// SeverityLabel is the label holding an alert's severity (default
	// config.DefaultSeverityLabel).
	SeverityLabel string
	// Levels map severities to SEV levels (default DefaultLevels); nil
	// takes the default, an empty non-nil slice maps none.
	Levels []Severity
	// ChaosLevel is the level of a chaos incident whose detecting alert
	// has no mapped severity (default DefaultChaosLevel).
	ChaosLevel Level
	// NoisyWithin is how soon after its start an alert that resolves has
	// resolved by itself (default DefaultNoisyWithin).
	NoisyWithin time.Duration
	// FlapCount is how many firings of one fingerprint in a range make it
	// flap (default DefaultFlapCount).
	FlapCount int
	// Top is how many of each service's most frequent alerts are listed
	// (default DefaultTop).
	Top int
	// VolatileLabels are left out of an alert's identity among the most
	// frequent (default DefaultVolatileLabels).
	VolatileLabels []string
	// Lookback is how long before the previous range an alert may have
	// started and still count (default DefaultLookback).
	Lookback time.Duration
	// Now clips the firing time of alerts still firing (default time.Now).
	Now func() time.Time
	// DetectionBound is how soon after its start a chaos fault detected by
	// an alert was detected in time (default DefaultDetectionBound).
	DetectionBound time.Duration
	// TrendRanges is how many ranges, ending with Range (each the
	// Previous of the next), Report.Trend covers; 0 leaves Trend out.
	TrendRanges int
}

func (o Options) withDefaults() (Options, error) {
	if o.Range.From.IsZero() || !o.Range.From.Before(o.Range.To) {
		return o, errors.New("report: Options.Range: not set, or From is not before To")
	}
	if o.ServiceLabels == nil {
		o.ServiceLabels = config.DefaultServiceLabels
	}
	if o.SeverityLabel == "" {
		o.SeverityLabel = config.DefaultSeverityLabel
	}
	if o.Levels == nil {
		o.Levels = DefaultLevels
	}
	seen := map[string]bool{}
	for i, s := range o.Levels {
		switch {
		case s.Severity == "":
			return o, fmt.Errorf("report: Options.Levels[%d].Severity: empty", i)
		case seen[s.Severity]:
			return o, fmt.Errorf("report: Options.Levels[%d].Severity: %q mapped twice", i, s.Severity)
		case !s.Level.Valid():
			return o, fmt.Errorf("report: Options.Levels[%d].Level: %q is not SEV1, SEV2, …", i, s.Level)
		}
		seen[s.Severity] = true
	}
	if o.ChaosLevel == "" {
		o.ChaosLevel = DefaultChaosLevel
	}
	if !o.ChaosLevel.Valid() {
		return o, fmt.Errorf("report: Options.ChaosLevel: %q is not SEV1, SEV2, …", o.ChaosLevel)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"NoisyWithin", &o.NoisyWithin, DefaultNoisyWithin},
		{"Lookback", &o.Lookback, DefaultLookback},
		{"DetectionBound", &o.DetectionBound, DefaultDetectionBound},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return o, fmt.Errorf("report: Options.%s: must not be negative, got %s", d.name, *d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    *int
		def  int
	}{{"FlapCount", &o.FlapCount, DefaultFlapCount}, {"Top", &o.Top, DefaultTop}, {"TrendRanges", &o.TrendRanges, 0}} {
		switch {
		case *n.v == 0:
			*n.v = n.def
		case *n.v < 0:
			return o, fmt.Errorf("report: Options.%s: must not be negative, got %d", n.name, *n.v)
		}
	}
	if o.VolatileLabels == nil {
		o.VolatileLabels = DefaultVolatileLabels
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Weekly computes the report of o.Range from src. It reads the incidents
// that started from the previous range's start (or the oldest trend
// range's) minus o.Lookback, and streams the alerts that started from then
// until the range's end, in one pass, keeping aggregates, not the alerts:
// its memory grows with the services, the distinct alerts (fingerprints,
// identities), the alerts resolved in the two ranges (one duration each)
// and the SEVs, not with the alerts' labels.
func Weekly(ctx context.Context, src Source, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	cur := o.Range
	ranges := []Range{cur, cur.Previous()}
	for len(ranges) < o.TrendRanges {
		ranges = append(ranges, ranges[len(ranges)-1].Previous())
	}
	span := ranges[len(ranges)-1].From.Add(-o.Lookback)

	incs, err := src.List(ctx, tracker.Filter{Since: span, Until: cur.To})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	a := newAggregator(o, ranges, incs)
	err = src.EachAlert(ctx, alert.Filter{Since: span, Until: cur.To, NoAnnotations: true}, func(al *alert.Alert) error {
		a.add(al)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := a.report()
	if es, ok := src.(ExperimentSource); ok {
		if err := nameRuns(ctx, es, r, o.Now()); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	if r.Experiments, err = experiments(ctx, src, cur); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if a.seen == 0 && len(incs) == 0 && len(r.Experiments) == 0 {
		if r.Empty, err = storeEmpty(ctx, src); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	return r, nil
}

var errStop = errors.New("stop")

// storeEmpty reports whether src holds no alert, no incident and no
// verdict at all.
func storeEmpty(ctx context.Context, src Source) (bool, error) {
	err := src.EachAlert(ctx, alert.Filter{}, func(*alert.Alert) error { return errStop })
	switch {
	case errors.Is(err, errStop):
		return false, nil
	case err != nil:
		return false, err
	}
	incs, err := src.List(ctx, tracker.Filter{})
	if err != nil || len(incs) > 0 {
		return false, err
	}
	verdicts, err := hasVerdicts(ctx, src)
	return !verdicts, err
}

// period is what is aggregated of one range.
type period struct {
	r        Range
	services map[string]*serviceAgg
	// flaps counts the firings of each fingerprint.
	flaps map[string]*flap
}

type flap struct {
	service, alert string
	firings        int
	// top is the entry of alert among the most frequent of topOf, kept
	// so that a firing does not hash the long identity again.
	top   *topAgg
	topOf *serviceAgg
}

type serviceAgg struct {
	fig Figures
	ttr []time.Duration
	// top, open and daily are kept for the current range only.
	top   map[string]*topAgg
	open  []OpenAlert
	daily []int
}

type topAgg struct {
	count, self, notifications int
	firing                     time.Duration
}

// alertPeriods is how many of the aggregator's ranges have alert figures:
// the current and the previous; older ones (the trend's) have only SEVs.
const alertPeriods = 2

type aggregator struct {
	o   Options
	now time.Time
	// periods are the current range, the previous one, and the older
	// ranges of the trend, each the previous of the one before.
	periods []period
	// days are the starts of the current range's local days, the first
	// one its From.
	days   []time.Time
	levels map[string]Level
	// detections maps a detecting alert's fingerprint to the incidents it
	// detected (indexes into incs).
	detections map[string][]int
	incs       []chaos.Incident
	// incLevel is the level of each incident's detecting alert, if seen
	// and mapped.
	incLevel []Level
	// chaosOpen lists, per service, the failures' [start, end] (end zero
	// while open), for telling organic SEVs from chaos ones.
	chaosOpen map[string]*failureSpans
	// organic is each service's organic SEV still taking alerts.
	organic  map[string]*SEV
	sevs     []SEV
	volatile map[string]bool
	seen     int
	// rules aggregates the current range's firings by alert rule.
	rules map[string]*ruleAgg
}

func newAggregator(o Options, ranges []Range, incs []chaos.Incident) *aggregator {
	a := &aggregator{
		o: o, now: o.Now(), incs: incs, incLevel: make([]Level, len(incs)),
		periods:    make([]period, len(ranges)),
		levels:     map[string]Level{},
		detections: map[string][]int{},
		chaosOpen:  map[string]*failureSpans{},
		organic:    map[string]*SEV{},
		volatile:   map[string]bool{},
	}
	for i, r := range ranges {
		a.periods[i] = period{r: r, services: map[string]*serviceAgg{}, flaps: map[string]*flap{}}
	}
	for _, d := range days(ranges[0]) {
		a.days = append(a.days, d.From)
	}
	for _, s := range o.Levels {
		a.levels[s.Severity] = s.Level
	}
	for _, l := range o.VolatileLabels {
		a.volatile[l] = true
	}
	for i := range incs {
		inc := &incs[i]
		if fp := inc.Detection.Fingerprint; fp != "" {
			a.detections[fp] = append(a.detections[fp], i)
		}
		if inc.Kind.IsFailure() {
			svc := serviceOf(inc)
			if a.chaosOpen[svc] == nil {
				a.chaosOpen[svc] = &failureSpans{}
			}
			a.chaosOpen[svc].add(inc)
		}
	}
	for _, f := range a.chaosOpen {
		f.index()
	}
	return a
}

// failureSpans are a service's failures as [start, end] spans (end the
// far future while open), sorted by start, with the latest end of each
// prefix: whether one contains t is a binary search, not a scan (10,000
// incidents made the scan 6 % of a report's time).
type failureSpans struct {
	starts, ends []time.Time
	// maxEnd[i] is the latest of ends[:i+1].
	maxEnd []time.Time
}

// forever is the end of a failure still open.
var forever = time.Unix(1<<62, 0)

func (f *failureSpans) add(inc *chaos.Incident) {
	end := inc.End
	if inc.Open() {
		end = forever
	}
	f.starts = append(f.starts, inc.Start)
	f.ends = append(f.ends, end)
}

func (f *failureSpans) index() {
	order := make([]int, len(f.starts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return f.starts[x].Compare(f.starts[y]) })
	starts, ends := make([]time.Time, len(order)), make([]time.Time, len(order))
	for i, j := range order {
		starts[i], ends[i] = f.starts[j], f.ends[j]
	}
	f.starts, f.ends = starts, ends
	f.maxEnd = make([]time.Time, len(ends))
	for i, e := range ends {
		f.maxEnd[i] = e
		if i > 0 && f.maxEnd[i-1].After(e) {
			f.maxEnd[i] = f.maxEnd[i-1]
		}
	}
}

// contains reports whether a span holds t: start ≤ t ≤ end.
func (f *failureSpans) contains(t time.Time) bool {
	// n spans start at or before t; one of them holds t if the latest end
	// among them is not before it.
	n, _ := slices.BinarySearchFunc(f.starts, t, func(s, t time.Time) int {
		if s.After(t) {
			return 1
		}
		return -1
	})
	return n > 0 && !t.After(f.maxEnd[n-1])
}

func (a *aggregator) service(p *period, name string) *serviceAgg {
	s := p.services[name]
	if s == nil {
		s = &serviceAgg{top: map[string]*topAgg{}}
		p.services[name] = s
	}
	return s
}

// joined reports whether al detected an incident, and records its level
// as theirs.
func (a *aggregator) joined(al *alert.Alert, level Level) bool {
	joined := false
	for _, i := range a.detections[al.Fingerprint] {
		at := a.incs[i].Detection.At
		if at.Equal(al.StartsAt) || at.Equal(al.ReceivedAt) {
			joined = true
			a.incLevel[i] = worse(a.incLevel[i], level)
		}
	}
	return joined
}

// serviceOf is an incident's service, NoService if it names none.
func serviceOf(inc *chaos.Incident) string {
	if inc.Subject.Service == "" {
		return NoService
	}
	return inc.Subject.Service
}

// silenced reports whether steadywatch knows al only from Alertmanager's
// API: a webhook notification would have set its receiver.
func silenced(al *alert.Alert) bool { return al.Source == alert.SourceAPI && al.Receiver == "" }

// resolvedAt is when al resolved; ok is false while it fires.
func resolvedAt(al *alert.Alert) (time.Time, bool) {
	if al.Status != alert.Resolved {
		return time.Time{}, false
	}
	if al.EndsAt.IsZero() || al.EndsAt.Before(al.StartsAt) {
		return al.StartsAt, true
	}
	return al.EndsAt, true
}

// active reports whether al fired at some time in r: it started before r's
// end, and had not resolved by r's start (an alert resolved the instant it
// started counts in the range it started in).
func active(al *alert.Alert, r Range) bool {
	if !al.StartsAt.Before(r.To) {
		return false
	}
	end, resolved := resolvedAt(al)
	return !resolved || end.After(r.From) || !al.StartsAt.Before(r.From)
}

func (a *aggregator) add(al *alert.Alert) {
	a.seen++
	svc := alert.FirstLabel(al.Labels, a.o.ServiceLabels)
	if svc == "" {
		svc = NoService
	}
	sev := al.Labels[a.o.SeverityLabel]
	level := a.levels[sev]
	hidden := silenced(al)
	joined := !hidden && a.joined(al, level)
	end, resolved := resolvedAt(al)
	self := resolved && end.Sub(al.StartsAt) <= a.o.NoisyWithin
	if cur := a.periods[0].r; !hidden && cur.Contains(al.StartsAt) {
		s := a.service(&a.periods[0], svc)
		if s.daily == nil {
			s.daily = make([]int, len(a.days))
		}
		// The last day starting at or before startsAt.
		d, found := slices.BinarySearchFunc(a.days, al.StartsAt, time.Time.Compare)
		if !found {
			d--
		}
		s.daily[d]++
	}
	for i := range a.periods[:alertPeriods] {
		p := &a.periods[i]
		if !hidden && resolved && p.r.Contains(end) {
			// Resolved in the range (endsAt in [From, To)), even if not
			// firing in it: one that started before From and resolved at
			// From.
			s := a.service(p, svc)
			s.ttr = append(s.ttr, end.Sub(al.StartsAt))
		}
		if !active(al, p.r) {
			continue
		}
		s := a.service(p, svc)
		if hidden {
			s.fig.Alerts.Silenced++
			continue
		}
		s.fig.Alerts.Firing++
		s.fig.Alerts.Notifications += al.Notifications
		f := p.flaps[al.Fingerprint]
		if f == nil {
			f = &flap{service: svc, alert: a.identity(al)}
			p.flaps[al.Fingerprint] = f
		}
		f.firings++
		if !resolved || !end.Before(p.r.To) {
			s.fig.Alerts.Open++
			if i == 0 {
				s.open = append(s.open, OpenAlert{Alert: f.alert, Fingerprint: al.Fingerprint, StartsAt: al.StartsAt, Severity: sev})
			}
		}
		if self && !joined {
			s.fig.Alerts.Noisy++
		}
		if i == 0 {
			t := f.top
			if t == nil || f.topOf != s {
				t = s.top[f.alert]
				if t == nil {
					t = &topAgg{}
					s.top[f.alert] = t
				}
				f.top, f.topOf = t, s
			}
			t.count++
			t.notifications += al.Notifications
			a.rule(al, joined)
			if self {
				t.self++
			}
			until := p.r.To
			if !resolved {
				until = timex.Min(timex.Max(al.StartsAt, a.now), until)
			} else {
				until = timex.Min(end, until)
			}
			// Zero, not negative, where now is before the range.
			t.firing += max(0, until.Sub(timex.Max(p.r.From, al.StartsAt)))
		}
	}
	// steadywatch's abort alert is an experiment's outcome, no outage.
	if !hidden && !joined && level != "" && al.Labels["alertname"] != contract.AbortAlertName && !a.underChaos(svc, al.StartsAt) {
		a.organicAlert(svc, al, level, end, resolved)
	}
}

// underChaos reports whether a failure of svc was open at t.
func (a *aggregator) underChaos(svc string, t time.Time) bool {
	f := a.chaosOpen[svc]
	return f != nil && f.contains(t)
}

// organicAlert adds an alert to its service's organic SEV if it starts
// before that SEV has ended (all its alerts resolved), else opens one.
func (a *aggregator) organicAlert(svc string, al *alert.Alert, level Level, end time.Time, resolved bool) {
	s := a.organic[svc]
	if s != nil && (s.End.IsZero() || !al.StartsAt.After(s.End)) {
		s.Level = worse(s.Level, level)
		s.Alerts++
		switch {
		case !resolved:
			s.End = time.Time{}
		case !s.End.IsZero() && end.After(s.End):
			s.End = end
		}
		return
	}
	if s != nil {
		a.sevs = append(a.sevs, *s)
	}
	s = &SEV{
		ID:   "organic:" + al.Fingerprint + ":" + strconv.FormatInt(al.StartsAt.UnixNano(), 10),
		Kind: KindOrganic, Service: svc, Level: level, Start: al.StartsAt,
		Alert: al.Name(), Alerts: 1,
	}
	if resolved {
		s.End = end
	}
	a.organic[svc] = s
}

// identity is an alert's name and identifying labels.
func (a *aggregator) identity(al *alert.Alert) string {
	keys := make([]string, 0, len(al.Labels))
	for k := range al.Labels {
		if k != "alertname" && !a.volatile[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(al.Name())
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString("=")
		writeQuoted(&b, al.Labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// writeQuoted writes strconv.Quote(v), without its allocation for the
// usual label value of printable ASCII but quotes and backslashes.
func writeQuoted(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b.WriteString(strconv.Quote(v))
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(v)
	b.WriteByte('"')
}

func (a *aggregator) report() *Report {
	for _, svc := range slices.Sorted(maps.Keys(a.organic)) {
		a.sevs = append(a.sevs, *a.organic[svc])
	}
	for i := range a.incs {
		inc := &a.incs[i]
		if !inc.Kind.IsFailure() {
			continue
		}
		level := a.incLevel[i]
		if level == "" {
			level = a.o.ChaosLevel
		}
		a.sevs = append(a.sevs, SEV{
			ID: inc.ID, Kind: KindChaos, Service: serviceOf(inc), Level: level, Fault: string(inc.Kind),
			Start: inc.Start, End: inc.End, DetectedAt: inc.Detection.At, Alert: inc.Detection.Alert, Missed: inc.Missed,
			namespace: inc.Subject.Namespace,
		})
	}
	slices.SortFunc(a.sevs, func(x, y SEV) int { return cmp.Or(x.Start.Compare(y.Start), cmp.Compare(x.ID, y.ID)) })

	r := &Report{
		Range: a.periods[0].r, Previous: a.periods[1].r,
		Settings: Settings{
			TimeZone: a.o.Range.Location().String(), NoisyWithin: Seconds(a.o.NoisyWithin), FlapCount: a.o.FlapCount,
			Lookback: Seconds(a.o.Lookback), Levels: a.o.Levels, ChaosLevel: a.o.ChaosLevel,
			ServiceLabels: a.o.ServiceLabels, SeverityLabel: a.o.SeverityLabel, Volatile: a.o.VolatileLabels,
			DetectionBound: Seconds(a.o.DetectionBound),
		},
		SEVs: []SEV{},
	}
	levels := map[Level]bool{a.o.ChaosLevel: true}
	for _, s := range a.o.Levels {
		levels[s.Level] = true
	}
	r.Levels = slices.SortedFunc(maps.Keys(levels), func(x, y Level) int { return cmp.Compare(x.rank(), y.rank()) })

	names := map[string]bool{}
	for i := range a.periods[:alertPeriods] {
		for n := range a.periods[i].services {
			names[n] = true
		}
	}
	// Each period's SEVs (in start order) and faults, grouped by service
	// once rather than scanned for each service.
	var sevsOf [alertPeriods]map[string][]*SEV
	var faultsOf [alertPeriods]map[string][]*chaos.Incident
	for p := range sevsOf {
		sevsOf[p] = map[string][]*SEV{}
		faultsOf[p] = a.faultsByService(a.periods[p].r)
	}
	for i := range a.sevs {
		s := &a.sevs[i]
		for p := range a.periods[:alertPeriods] {
			if a.periods[p].r.Contains(s.Start) {
				names[s.Service] = true
				sevsOf[p][s.Service] = append(sevsOf[p][s.Service], s)
			}
		}
		if a.periods[0].r.Contains(s.Start) {
			r.SEVs = append(r.SEVs, *s)
		}
	}
	var totals [alertPeriods]struct {
		ttr              []time.Duration
		mttd, mttr, mtbf []time.Duration
	}
	// The flapping fingerprints of each service, grouped once: looked up
	// by service for each of them, the fingerprints were 10 % of a report.
	var flaps [alertPeriods]map[string][]FlappingAlert
	for p := range flaps {
		flaps[p] = flapping(a.periods[p].flaps, a.o.FlapCount)
	}
	r.Daily = days(r.Range)
	for _, name := range slices.Sorted(maps.Keys(names)) {
		svc := Service{Name: name, Top: []TopAlert{}, Open: []OpenAlert{}, Flapping: []FlappingAlert{}, Undetected: []UndetectedFault{}}
		svc.Daily = days(r.Range)
		if agg := a.periods[0].services[name]; agg != nil {
			for d, n := range agg.daily {
				svc.Daily[d].Alerts = n
				r.Daily[d].Alerts += n
			}
			svc.ResolutionBuckets = buckets(agg.ttr)
		} else {
			svc.ResolutionBuckets = buckets(nil)
		}
		for p := range a.periods[:alertPeriods] {
			per := &a.periods[p]
			agg := per.services[name]
			if agg == nil {
				agg = &serviceAgg{}
			}
			fig := agg.fig
			fig.Alerts.Resolution = distribution(agg.ttr)
			totals[p].ttr = append(totals[p].ttr, agg.ttr...)
			fig.Alerts.Flapping = len(flaps[p][name])
			var mttd, mttr, mtbf []time.Duration
			fig.SEVs, mttd, mttr, mtbf = sevFigures(sevsOf[p][name], r.Levels)
			totals[p].mttd = append(totals[p].mttd, mttd...)
			totals[p].mttr = append(totals[p].mttr, mttr...)
			totals[p].mtbf = append(totals[p].mtbf, mtbf...)
			fig.Detection = a.coverage(faultsOf[p][name])
			if p == 0 {
				svc.Undetected = undetected(faultsOf[p][name])
				svc.Current = fig
				svc.Top = a.top(agg)
				svc.Open = agg.open
				if svc.Open == nil {
					svc.Open = []OpenAlert{}
				}
				if svc.Flapping = flaps[p][name]; svc.Flapping == nil {
					svc.Flapping = []FlappingAlert{}
				}
			} else {
				svc.Previous = fig
			}
		}
		r.Services = append(r.Services, svc)
	}
	if r.Services == nil {
		r.Services = []Service{}
	}
	r.ResolutionBuckets = buckets(totals[0].ttr)
	for p := range a.periods[:alertPeriods] {
		fig := Figures{SEVs: SEVFigures{ByLevel: map[Level]int{}}}
		for i := range r.Services {
			f := r.Services[i].Current
			if p == 1 {
				f = r.Services[i].Previous
			}
			fig.Alerts.Firing += f.Alerts.Firing
			fig.Alerts.Notifications += f.Alerts.Notifications
			fig.Detection = fig.Detection.plus(f.Detection)
			fig.Alerts.Silenced += f.Alerts.Silenced
			fig.Alerts.Open += f.Alerts.Open
			fig.Alerts.Noisy += f.Alerts.Noisy
			fig.Alerts.Flapping += f.Alerts.Flapping
			fig.SEVs.Total += f.SEVs.Total
			fig.SEVs.Chaos += f.SEVs.Chaos
			fig.SEVs.Organic += f.SEVs.Organic
			for l, n := range f.SEVs.ByLevel {
				fig.SEVs.ByLevel[l] += n
			}
		}
		for _, l := range r.Levels {
			fig.SEVs.ByLevel[l] += 0
		}
		fig.Detection = fig.Detection.withShare()
		fig.Alerts.Resolution = distribution(totals[p].ttr)
		fig.SEVs.MTTD, fig.SEVs.MTTR, fig.SEVs.MTBF = mean(totals[p].mttd), mean(totals[p].mttr), mean(totals[p].mtbf)
		if p == 0 {
			r.Total.Current = fig
		} else {
			r.Total.Previous = fig
		}
	}
	r.Changes = append(changes(r.Total.Current, r.Total.Previous, r.Levels), qualityChanges(r.Total.Current, r.Total.Previous)...)
	r.Rules = a.ruleFigures()
	if a.o.TrendRanges > 0 {
		r.Trend = make([]TrendPoint, a.o.TrendRanges)
		for i := range r.Trend {
			// Oldest first.
			r.Trend[i] = a.trendPoint(a.periods[a.o.TrendRanges-1-i].r)
		}
	}
	return r
}

// trendPoint is the SEV figures of rg pooled over all services.
func (a *aggregator) trendPoint(rg Range) TrendPoint {
	var mttd, mttr []time.Duration
	n := 0
	for i := range a.sevs {
		s := &a.sevs[i]
		if !rg.Contains(s.Start) {
			continue
		}
		n++
		if d, ok := s.timeToDetect(); ok {
			mttd = append(mttd, d)
		}
		if d, ok := s.timeToResolve(); ok {
			mttr = append(mttr, d)
		}
	}
	return TrendPoint{Range: rg, SEVs: n, MTTD: mean(mttd), MTTR: mean(mttr)}
}

// timeToDetect is a chaos SEV's detection − start, if it is a sample of
// MTTD: detected, and its start not inferred.
func (s *SEV) timeToDetect() (time.Duration, bool) {
	if s.Kind != KindChaos || s.Missed || s.DetectedAt.IsZero() {
		return 0, false
	}
	return s.DetectedAt.Sub(s.Start), true
}

// timeToResolve is a SEV's end − start, if it is a sample of MTTR: ended,
// and its start not inferred.
func (s *SEV) timeToResolve() (time.Duration, bool) {
	if s.Missed || s.End.IsZero() {
		return 0, false
	}
	return s.End.Sub(s.Start), true
}

// days splits rg at local midnight in its time zone: a whole day is 24
// hours, or 23 or 25 on a daylight saving change; the first and last may
// be parts of a day where rg does not start or end at midnight.
func days(rg Range) []DayCount {
	loc := rg.Location()
	var out []DayCount
	for from := rg.From.In(loc); from.Before(rg.To); {
		y, m, d := from.Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		// rg.To first: where it is the midnight, the last day ends at it.
		to := timex.Min(rg.To.In(loc), next)
		out = append(out, DayCount{Date: from.Format(time.DateOnly), From: from, To: to})
		from = to
	}
	return out
}

// ResolutionEdges are the bounds of the time-to-resolution buckets: a
// duration d falls in the first bucket whose edge is above it, or in the
// last (open) one; so the buckets are [0, 1m), [1m, 5m), … [24h, ∞).
var ResolutionEdges = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour, 24 * time.Hour,
}

// buckets counts ds in the ResolutionEdges buckets.
func buckets(ds []time.Duration) []Bucket {
	out := make([]Bucket, len(ResolutionEdges)+1)
	var lo time.Duration
	for i, hi := range ResolutionEdges {
		out[i] = Bucket{Label: shortDur(lo) + "–" + shortDur(hi), From: Seconds(lo), To: Seconds(hi)}
		lo = hi
	}
	out[0].Label = "<" + shortDur(ResolutionEdges[0])
	out[len(out)-1] = Bucket{Label: "≥" + shortDur(lo), From: Seconds(lo)}
	for _, d := range ds {
		i, _ := slices.BinarySearch(ResolutionEdges, d+1)
		out[i].Count++
	}
	return out
}

// shortDur writes d as 90s, 5m, 4h: the largest unit that divides it.
func shortDur(d time.Duration) string {
	switch {
	case d != 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d != 0 && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// sevFigures are the figures of a service's SEVs that started in a range,
// sevs in start order, and the samples of its MTTD, MTTR and MTBF.
func sevFigures(sevs []*SEV, levels []Level) (fig SEVFigures, mttd, mttr, mtbf []time.Duration) {
	fig.ByLevel = map[Level]int{}
	for _, l := range levels {
		fig.ByLevel[l] = 0
	}
	var last time.Time
	for _, s := range sevs {
		fig.Total++
		fig.ByLevel[s.Level]++
		if s.Kind == KindChaos {
			fig.Chaos++
		} else {
			fig.Organic++
		}
		if d, ok := s.timeToDetect(); ok {
			mttd = append(mttd, d)
		}
		if d, ok := s.timeToResolve(); ok {
			mttr = append(mttr, d)
		}
		// sevs are sorted by start: each SEV but the range's first of the
		// service is a sample of the time since the one before.
		if !last.IsZero() {
			mtbf = append(mtbf, s.Start.Sub(last))
		}
		last = s.Start
	}
	fig.MTTD, fig.MTTR, fig.MTBF = mean(mttd), mean(mttr), mean(mtbf)
	return fig, mttd, mttr, mtbf
}

func (a *aggregator) top(agg *serviceAgg) []TopAlert {
	out := make([]TopAlert, 0, len(agg.top))
	for k, t := range agg.top {
		out = append(out, TopAlert{
			Alert: k, Count: t.count, Notifications: t.notifications, FiringTime: Seconds(t.firing),
			SelfResolved: t.self, SelfResolvedShare: float64(t.self) / float64(t.count),
		})
	}
	slices.SortFunc(out, func(x, y TopAlert) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(y.FiringTime, x.FiringTime), cmp.Compare(x.Alert, y.Alert))
	})
	return out[:min(len(out), a.o.Top)]
}

// flapping groups by service the fingerprints of flaps that fired count
// times or more, most firings first, then by fingerprint.
func flapping(flaps map[string]*flap, count int) map[string][]FlappingAlert {
	out := map[string][]FlappingAlert{}
	for fp, f := range flaps {
		if f.firings >= count {
			out[f.service] = append(out[f.service], FlappingAlert{Alert: f.alert, Fingerprint: fp, Firings: f.firings})
		}
	}
	for _, fs := range out {
		slices.SortFunc(fs, func(x, y FlappingAlert) int {
			return cmp.Or(cmp.Compare(y.Firings, x.Firings), cmp.Compare(x.Fingerprint, y.Fingerprint))
		})
	}
	return out
}

// distribution summarises ds (sorting it) by nearest rank.
func distribution(ds []time.Duration) Distribution {
	if len(ds) == 0 {
		return Distribution{}
	}
	slices.Sort(ds)
	return Distribution{
		Samples: len(ds),
		Median:  Seconds(rank(ds, 50)),
		P90:     Seconds(rank(ds, 90)),
		Max:     Seconds(ds[len(ds)-1]),
	}
}

// rank is the pct-th percentile of sorted ds by nearest rank: the value at
// 1-based rank ⌈pct/100·n⌉.
func rank(ds []time.Duration, pct int) time.Duration {
	r := (pct*len(ds) + 99) / 100
	return ds[max(r, 1)-1]
}

func mean(ds []time.Duration) Mean {
	if len(ds) == 0 {
		return Mean{}
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Mean{Samples: len(ds), Mean: Seconds(sum / time.Duration(len(ds)))}
}

// changes lists the headline figures, current against previous.
func changes(cur, prev Figures, levels []Level) []Change {
	count := func(name string, c, p int) Change {
		return change(name, "count", new(float64(c)), new(float64(p)))
	}
	dist := func(name string, c, p Distribution, f func(Distribution) Seconds) Change {
		return change(name, "seconds", seconds(c.Samples, f(c)), seconds(p.Samples, f(p)))
	}
	mn := func(name string, c, p Mean) Change {
		return change(name, "seconds", seconds(c.Samples, c.Mean), seconds(p.Samples, p.Mean))
	}
	out := []Change{
		count("Alerts firing", cur.Alerts.Firing, prev.Alerts.Firing),
		count("Silenced or inhibited", cur.Alerts.Silenced, prev.Alerts.Silenced),
		count("Open at the end", cur.Alerts.Open, prev.Alerts.Open),
		count("Noisy", cur.Alerts.Noisy, prev.Alerts.Noisy),
		count("Flapping", cur.Alerts.Flapping, prev.Alerts.Flapping),
		dist("Time to resolution, median", cur.Alerts.Resolution, prev.Alerts.Resolution, func(d Distribution) Seconds { return d.Median }),
		dist("Time to resolution, p90", cur.Alerts.Resolution, prev.Alerts.Resolution, func(d Distribution) Seconds { return d.P90 }),
		count("SEVs", cur.SEVs.Total, prev.SEVs.Total),
	}
	for _, l := range levels {
		out = append(out, count(string(l), cur.SEVs.ByLevel[l], prev.SEVs.ByLevel[l]))
	}
	return append(out,
		mn("MTTD", cur.SEVs.MTTD, prev.SEVs.MTTD),
		mn("MTTR", cur.SEVs.MTTR, prev.SEVs.MTTR),
		mn("MTBF", cur.SEVs.MTBF, prev.SEVs.MTBF),
	)
}

func change(name, unit string, cur, prev *float64) Change {
	c := Change{Name: name, Unit: unit, Current: cur, Previous: prev}
	if cur != nil && prev != nil {
		c.Delta = new(*cur - *prev)
		if *prev != 0 {
			c.Percent = new(100 * (*cur - *prev) / *prev)
		}
	}
	return c
}

func seconds(samples int, s Seconds) *float64 {
	if samples == 0 {
		return nil
	}
	return new(time.Duration(s).Seconds())
}
