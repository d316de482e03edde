// Package detect joins the alerts Alertmanager sent to the incidents they
// detected, records each failure's detection once in the store, and
// measures the time to detect (MTTD).
//
// An alert detects an incident when:
//
//   - the incident is a failure (chaos.Kind.IsFailure): an autoscaler
//     scaling is no fault to detect;
//   - the alert names the incident's service, or for a node's own
//     node_not_ready incident its node, through Options.Labels (a
//     service's share of a node fault is the service's);
//   - every other label the alert carries for the incident's namespace and
//     group (service incidents) or group (node incidents) agrees with it;
//     a node alert's namespace and service are usually the exporter's
//     (kube-state-metrics), so they are not compared;
//   - it started within [start, start+Window] of the fault, whatever its
//     status: an alert first delivered resolved (it fired and resolved
//     within group_wait) did fire;
//   - it started while the fault was still open, or within
//     Options.AfterRecovery of its recovery: an alert starting after the
//     fault was over did not detect it;
//   - its name is in Options.AlertNames, if set.
//
// Of those, the earliest (by the From time, then start, then fingerprint)
// is the detection. An incident with none once Window and Grace have passed
// is undetected. The store records either once and for all
// (tracker.DetectionStore), and the histogram and counter are observed by
// the one caller that recorded it, so restarts and replicas sharing a
// PostgreSQL store never count an incident twice.
//
// Incidents whose start the tracker inferred (Missed, found at a restart)
// are joined and recorded like the others, but left out of the metrics:
// their start, and so their MTTD, is a guess.
package detect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// Detector joins alerts to incidents. Its methods are safe for concurrent
// use: the store settles races between them.
type Detector struct {
	o       Options
	log     *slog.Logger
	m       *metrics
	names   map[string]bool
	failure []chaos.Kind
}

// New returns a Detector, or an error naming the invalid field of o.
func New(o Options) (*Detector, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Detector{o: o, log: o.Logger, m: newMetrics(o.Registerer)}
	if len(o.AlertNames) > 0 {
		d.names = map[string]bool{}
		for _, n := range o.AlertNames {
			d.names[n] = true
		}
	}
	for _, k := range chaos.Kinds {
		if k.IsFailure() {
			d.failure = append(d.failure, k)
		}
	}
	return d, nil
}

// Run sweeps now and every Interval until ctx ends. A failed sweep is
// logged, counted and retried at the next one.
func (d *Detector) Run(ctx context.Context) {
	tick := time.NewTicker(d.o.Interval)
	defer tick.Stop()
	for {
		if err := d.Sweep(ctx, d.o.Now()); err != nil && ctx.Err() == nil {
			d.log.Error("detection sweep failed; retrying at the next", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Sweep decides every undecided failure it can at now: it joins the stored
// alerts to each (catching alerts stored before their incident, and what
// a restart or a failed join left), and marks undetected those whose Window
// and Grace have passed without one.
func (d *Detector) Sweep(ctx context.Context, now time.Time) error {
	incs, err := d.undecided(ctx)
	if err != nil {
		return err
	}
	return d.decide(ctx, incs, now)
}

// Alerts joins alerts, just stored by the receiver, to the undecided
// failures they may detect. The join reads the store, not alerts, so an
// earlier alert stored before still wins; alerts only say which incidents
// to look at now rather than at the next sweep.
func (d *Detector) Alerts(ctx context.Context, alerts []alert.Alert) error {
	var cands []*alert.Alert
	for i := range alerts {
		a := &alerts[i]
		if d.named(a) && (d.value(a, d.o.Labels.Service) != "" || d.value(a, d.o.Labels.Node) != "") {
			cands = append(cands, a)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	incs, err := d.undecided(ctx)
	if err != nil {
		return err
	}
	incs = slices.DeleteFunc(incs, func(inc chaos.Incident) bool {
		return !slices.ContainsFunc(cands, func(a *alert.Alert) bool { return d.detects(a, &inc) })
	})
	return d.decide(ctx, incs, d.o.Now())
}

// AlertSaver saves a notification's alerts; receiver.Sink is one.
type AlertSaver interface {
	SaveAlerts(ctx context.Context, alerts []alert.Alert) (inserted int, err error)
}

// joinTimeout bounds the join Sink runs after a save.
const joinTimeout = 10 * time.Second

// Sink returns an AlertSaver that saves through next and, once the alerts
// are stored, joins them (Alerts). A failed join is logged and left to
// the next sweep: the alerts are stored, and the notification must be
// acknowledged, so it does not fail the save. The join outlives the
// request's context, so a sender hanging up does not leave it half done.
func (d *Detector) Sink(next AlertSaver) AlertSaver { return sink{d: d, next: next} }

type sink struct {
	d    *Detector
	next AlertSaver
}

func (s sink) SaveAlerts(ctx context.Context, alerts []alert.Alert) (int, error) {
	n, err := s.next.SaveAlerts(ctx, alerts)
	if err != nil {
		return n, err
	}
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), joinTimeout)
	defer cancel()
	if err := s.d.Alerts(jctx, alerts); err != nil {
		s.d.log.Warn("joining alerts to incidents failed; the next sweep retries", "alerts", len(alerts), "err", err)
	}
	return n, nil
}

func (d *Detector) undecided(ctx context.Context) ([]chaos.Incident, error) {
	incs, err := d.o.Store.List(ctx, tracker.Filter{Undecided: true, Kinds: d.failure})
	if err != nil {
		d.m.errors.Inc()
		return nil, fmt.Errorf("detect: listing undecided incidents: %w", err)
	}
	return incs, nil
}

// decide records what can be decided of incs (oldest start first) at now.
// Incidents whose windows overlap share one read of the alerts.
func (d *Detector) decide(ctx context.Context, incs []chaos.Incident, now time.Time) error {
	slices.SortStableFunc(incs, func(a, b chaos.Incident) int { return a.Start.Compare(b.Start) })
	var errs []error
	for len(incs) > 0 {
		n, end := 1, incs[0].Start.Add(d.o.Window)
		for n < len(incs) && !incs[n].Start.After(end) {
			end = incs[n].Start.Add(d.o.Window)
			n++
		}
		alerts, err := d.o.Alerts.Alerts(ctx, alert.Filter{Since: incs[0].Start, Until: end.Add(time.Nanosecond)})
		if err != nil {
			d.m.errors.Inc()
			errs = append(errs, fmt.Errorf("detect: reading alerts from %s: %w", incs[0].Start.Format(time.RFC3339), err))
		} else {
			for i := range incs[:n] {
				if err := d.decideOne(ctx, &incs[i], alerts, now); err != nil {
					d.m.errors.Inc()
					errs = append(errs, err)
				}
			}
		}
		incs = incs[n:]
	}
	return errors.Join(errs...)
}

func (d *Detector) decideOne(ctx context.Context, inc *chaos.Incident, alerts []alert.Alert, now time.Time) error {
	var best *alert.Alert
	for i := range alerts {
		a := &alerts[i]
		if d.detects(a, inc) && (best == nil || d.earlier(a, best)) {
			best = a
		}
	}
	var det chaos.Detection
	switch {
	case best != nil && (d.o.From == FromReceived || !now.Before(best.StartsAt.Add(d.o.Grace))):
		det = chaos.Detection{At: d.at(best), Alert: best.Name(), Fingerprint: best.Fingerprint}
	case best == nil && now.After(inc.Start.Add(d.o.Window+d.o.Grace)):
		det = chaos.Detection{Undetected: true}
	default:
		return nil // an earlier alert may still be on its way
	}
	updated, err := d.o.Store.SetDetection(ctx, inc.ID, det)
	if err != nil {
		return fmt.Errorf("detect: incident %s: %w", inc.ID, err)
	}
	if !updated {
		return nil // decided meanwhile, by another path or replica
	}
	inc.Detection = det
	ttd, detected := inc.TimeToDetect()
	if detected {
		d.log.Info("incident detected", "id", inc.ID, "alert", det.Alert, "fingerprint", det.Fingerprint,
			"time_to_detect", ttd, "missed", inc.Missed)
	} else {
		d.log.Info("incident undetected", "id", inc.ID, "window", d.o.Window, "missed", inc.Missed)
	}
	if inc.Missed {
		return nil
	}
	if detected {
		d.m.detection.WithLabelValues(labelValues(inc)...).Observe(ttd.Seconds())
	} else {
		d.m.undetected.WithLabelValues(labelValues(inc)...).Inc()
	}
	return nil
}

// at is the alert's time MTTD is measured to.
func (d *Detector) at(a *alert.Alert) time.Time {
	if d.o.From == FromReceived {
		return a.ReceivedAt
	}
	return a.StartsAt
}

func (d *Detector) earlier(a, b *alert.Alert) bool {
	return cmp.Or(d.at(a).Compare(d.at(b)), a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Fingerprint, b.Fingerprint)) < 0
}

// named reports whether a's name may detect a fault: steadywatch's own
// alerts (Steadywatch*, about its verdicts, incidents and itself) never
// do — an alert about an incident is not its detection.
func (d *Detector) named(a *alert.Alert) bool {
	if strings.HasPrefix(a.Name(), "Steadywatch") {
		return false
	}
	return d.names == nil || d.names[a.Name()]
}

// detects reports whether a qualifies as inc's detection.
func (d *Detector) detects(a *alert.Alert, inc *chaos.Incident) bool {
	if !d.named(a) || a.Fingerprint == "" ||
		a.StartsAt.Before(inc.Start) || a.StartsAt.After(inc.Start.Add(d.o.Window)) ||
		d.at(a).Before(inc.Start) ||
		!inc.End.IsZero() && a.StartsAt.After(inc.End.Add(d.o.AfterRecovery)) {
		return false
	}
	if g, ok := d.group(d.value(a, d.o.Labels.Group)); ok && g != inc.Subject.Group {
		return false
	}
	if inc.Kind == chaos.NodeNotReady && inc.Object.Kind == "Node" {
		return inc.Object.Name != "" && d.value(a, d.o.Labels.Node) == inc.Object.Name
	}
	if ns := d.value(a, d.o.Labels.Namespace); ns != "" && ns != inc.Subject.Namespace {
		return false
	}
	return inc.Subject.Service != "" && d.value(a, d.o.Labels.Service) == inc.Subject.Service
}

// value is the first of names a carries with a non-empty value.
func (d *Detector) value(a *alert.Alert, names []string) string {
	return alert.FirstLabel(a.Labels, names)
}

// group maps an alert's group label value to a group; ok is false for a
// value that names none (empty, or an unrelated "group" label such as
// group="frontend"), which is then not compared.
func (d *Detector) group(v string) (chaos.Group, bool) {
	if g, ok := d.o.GroupValues[v]; ok {
		return g, true
	}
	switch g := chaos.Group(v); g {
	case chaos.Control, chaos.Experimental, chaos.NoGroup:
		return g, true
	}
	return "", false
}
