// Package report computes the weekly review of alerts, SEVs and
// experiments from the store: for a range (an ISO week in a time zone, or any [from, to)), by
// service, and against the previous range. docs/reports.md is the user's
// version of what follows.
//
// # Ranges
//
// A range is half-open, [From, To). An ISO week runs from its Monday 00:00
// to the next Monday 00:00 local time in the report's time zone, so a week
// with a daylight saving change lasts 167 or 169 hours (Europe/Berlin's
// 2026-W13 is 167). The previous range of a week is the ISO week before, in
// the same zone; of a from/to range, the range of the same length ending at
// From.
//
// # Alerts
//
// An alert is one (fingerprint, startsAt), as the store keeps it. Its
// service is the first of Options.ServiceLabels it carries with a value
// (alert.FirstLabel, as the receiver and the detector read it), NoService
// if none. It is resolved if its status is resolved, at endsAt; otherwise
// it is still firing.
//
//   - Firing in a range: it started before To and had not resolved by
//     From (an alert resolved the instant it started counts in the range it
//     started in). An alert firing across two weeks counts in both.
//   - Silenced or inhibited: an alert the store knows only from
//     Alertmanager's API pull (source api, and no receiver, which a
//     webhook notification would have filled in). Alertmanager does not
//     notify silenced or inhibited alerts, so these are they, plus the
//     few pulled while still unprocessed that resolved before their
//     notification: an approximation. They count apart and in no other
//     figure.
//   - Time to resolution: endsAt − startsAt of the alerts resolved in the
//     range (endsAt in [From, To)); median and p90 by nearest rank (the
//     value at 1-based rank ⌈p·n⌉ of the sorted samples, so the median of
//     an even count is the lower middle one), max, and the number of
//     samples.
//   - Open: firing in the range and not resolved before To (a resolution
//     at or after To was still to come at the range's end).
//   - Resolved by itself: resolved within Options.NoisyWithin of its
//     start, quicker than anyone acts. Noisy: resolved by itself and joined
//     to no incident: no chaos incident's detection names its fingerprint
//     with its startsAt or receipt time.
//   - Notifications: the sum of alert.Alert.Notifications of the firing
//     alerts: the webhook notifications the store counted (the first,
//     repeats, the resolution), never an API pull, which
//     alert.Alert.Deliveries counts too. An alert firing in two ranges
//     brings all its notifications to both. Alerts stored before schema
//     version 6 have theirs estimated from their deliveries (see
//     docs/reports.md).
//   - Flapping: a fingerprint firing Options.FlapCount times or more in
//     the range.
//   - Most frequent: per service, alerts grouped by alertname and their
//     labels minus Options.VolatileLabels (the target, the pod, the
//     replica, which change from one firing of the same alert to the next);
//     count, firing time clipped to the range (and to Options.Now for
//     alerts still firing), and the share resolved by itself.
//
// Alerts are read from the previous range's start (or the trend's first
// range's) minus Options.Lookback: an alert that started earlier and is
// still firing is not seen.
//
// # SEVs
//
// A SEV is an incident with a level, SEV1 the worst.
//
//   - Chaos SEVs are the store's chaos incidents of a failure kind
//     (chaos.Kind.IsFailure: an autoscaler scaling is no SEV). Start is the
//     fault's start, detection the detector's (chaos.Detection.At), end its
//     recovery. Its level is the level of its detecting alert's severity,
//     if that alert is read and mapped, else Options.ChaosLevel.
//   - Organic SEVs are opened by alerts whose severity maps to a level
//     (Options.Levels), that are not silenced, joined to no incident, and
//     started while no failure of their service was open (start ≤ startsAt
//     ≤ end, or still open). steadywatch's abort alert
//     (contract.AbortAlertName) opens none: it is an experiment's outcome. Such alerts of one service merge while they
//     overlap: an alert starting before the SEV's end (the latest endsAt
//     of its alerts; none while one still fires) joins it. Start is the
//     first alert's startsAt, end the latest endsAt, level the worst of
//     its alerts'. An organic SEV has no detection: its alert is it.
//
// A SEV belongs to the range its start lies in. MTTD is the mean of
// detection − start over the chaos SEVs that were detected; MTTR the mean
// of end − start over the SEVs that have ended (whenever they did); MTBF
// the mean time between consecutive SEV starts of a service in the range,
// so a service's first SEV of the range is no sample, whatever came
// before, and n SEVs give n−1 samples. A chaos incident whose start was
// inferred (Missed) counts but is no sample of MTTD or MTTR. Each mean
// comes with its sample count; none is "no data". The figures for all
// services pool the services' samples.
//
// The weekly review dashboard (package dashboards) shows the figures
// Prometheus can compute from steadywatch's metrics; docs/reports.md ("In
// Grafana") says how they differ from these.
//
// # Requests and delivery
//
// Request checks what a report is asked for, the same way for "steadywatch
// report weekly"'s flags and the API's query parameters (api.WeeklyReport).
// Package report/delivery sends the previous week's report to webhooks on
// a schedule, each (webhook, week) recorded in the store before it is
// attempted.
//
// # Experiments
//
// The store keeps a history of verdicts, not every judgement: serve keeps
// a verdict when its result, its running flag or its finality differs
// from the hypothesis's verdict before it (verdict.Transition.Changes).
// Per hypothesis with a verdict in force at some time in the range:
//
//   - Result is the verdict in force at the range's end: its last verdict
//     in [From, To), else the last one before From. Score, reason,
//     running and final are that verdict's.
//   - Counts: the verdicts in the range whose result differs from the one
//     before (or that have none before), by result: how many times the
//     hypothesis became pass, fail, inconclusive. A window closing or a
//     verdict becoming final with the same result is no change.
//   - Previous is the result in force at the end of the previous range,
//     which ends at From: the last verdict before From. Changed is set
//     when Result differs from it, a hypothesis first judged in the range
//     included.
//
// The history is read from the verdicts in force at From on, streamed.
//
// # Alert quality
//
// A fault is a chaos incident of a failure kind; it belongs to the range
// its start lies in, and to its subject's service. It was detected if its
// Detection has a time (chaos.Detection.At).
//
//   - Coverage: of a range's faults, those whose start was inferred
//     (Missed) are counted but not judged; of the rest, detected within
//     the bound if detection − start ≤ Options.DetectionBound (a detection
//     exactly at the bound is in time), late if detected later, not
//     detected if recorded undetected, undecided if the detector has not
//     judged it yet (not judged either: the alert may still come).
//     Coverage is within / judged, no data (nil) without a judged fault.
//     The faults with no detection are listed, the inferred ones marked.
//     The bound is one for all: which hypothesis injected a fault, and so
//     its own bound, is not in the store.
//   - Alert rules, by alertname over all services, for the current range:
//     firings as above; joined, those joined to any chaos incident (the
//     join of Noisy); precision joined / firings. Its kinds are those of
//     the faults whose detection names it that started in the range or
//     the previous one; recall is the range's faults it detected over the
//     range's faults of those kinds (nil where there are none); time to
//     detect the nearest-rank distribution of detection − start of the
//     range's faults it detected, inferred starts left out. A rule is
//     listed if it fired in the range or has a kind; most firings first,
//     then by name, at most Options.Top.
//
// # Charts
//
// The HTML report (WriteHTML) draws, as inline SVG with no script and
// nothing fetched, charts of figures the other formats carry too:
//
//   - Daily: the range cut at local midnight in its time zone (a day of 23
//     or 25 hours on a daylight saving change, parts of a day at the ends
//     of a from/to range); each day counts the not silenced alerts that
//     started in it, so the days sum to Firing less the alerts that
//     started before the range.
//   - ResolutionBuckets: the time-to-resolution samples of the range in
//     the ResolutionEdges buckets, each [lower, upper).
//   - Trend (Options.TrendRanges, 0 for none): for each of the last
//     TrendRanges ranges, the reported one last, its SEVs and their MTTR
//     and MTTD pooled over the services. The same single pass over the
//     alerts computes it: alerts are then read from the trend's first
//     range's start minus Lookback.
//
// The store holds no verdicts, so the report has no experiments section.
package report
