// Package report computes the weekly review of alerts and SEVs from the
// store: for a range (an ISO week in a time zone, or any [from, to)), by
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
//     ≤ end, or still open). Such alerts of one service merge while they
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
