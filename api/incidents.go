// Package api serves steadywatch's read-only JSON API: what the watcher
// recorded, for people and scripts (dashboards read the metrics instead).
package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/tracker"
)

// IncidentsPath lists incidents.
const IncidentsPath = "/api/v1/incidents"

// Limits of the incidents listing.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// Incident is an incident as the API shows it. Times are RFC 3339 with
// nanoseconds, in UTC; durations are seconds.
type Incident struct {
	// Cluster is the cluster it happened in, left out for the unnamed one.
	Cluster   string     `json:"cluster,omitempty"`
	ID        string     `json:"id"`
	Kind      chaos.Kind `json:"kind"`
	Namespace string     `json:"namespace"`
	Service   string     `json:"service"`
	Group     string     `json:"group"`
	Object    Object     `json:"object"`
	Start     time.Time  `json:"start"`
	// End is null while the incident is open.
	End *time.Time `json:"end"`
	// RecoverySeconds (MTTR sample) is null while the incident is open.
	RecoverySeconds *float64 `json:"recovery_seconds"`
	Events          int      `json:"events"`
	Evicted         int      `json:"evicted,omitempty"`
	Baseline        int32    `json:"baseline_replicas,omitempty"`
	// Missed is set when the fault happened while steadywatch was not
	// watching and its start was inferred.
	Missed bool `json:"missed"`
	// Detection is the alert that detected the fault: null while
	// undecided (within the detection window), {"undetected": true} once
	// the window passed without one. Only failures are detected.
	Detection *Detection `json:"detection"`
}

// Detection is how an incident's fault was detected.
type Detection struct {
	// At is the alert's start or its receipt, as configured.
	At *time.Time `json:"at,omitempty"`
	// DetectionSeconds (MTTD sample) is At − the incident's start.
	DetectionSeconds *float64 `json:"detection_seconds,omitempty"`
	Alert            string   `json:"alertname,omitempty"`
	Fingerprint      string   `json:"fingerprint,omitempty"`
	Undetected       bool     `json:"undetected"`
}

// Object is what an incident is about.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// IncidentList is the response of IncidentsPath.
type IncidentList struct {
	Incidents []Incident `json:"incidents"`
	// Truncated is set when more incidents matched than the limit; the
	// oldest are returned, so ask again with since set past the last one.
	Truncated bool `json:"truncated"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// Incidents serves IncidentsPath from s. Query parameters, all optional:
//
//	service, namespace, group, kind  exact match
//	open                             true: open only; false: closed only
//	since, until                     the incident's start lies in [since, until):
//	                                 RFC 3339 or Unix seconds
//	limit                            at most this many (default 1000, max 10000)
//	cluster                          the cluster's incidents (default the serve's own,
//	                                 * for every cluster's, oldest start first)
//
// A bad parameter gets 400 naming it; a cluster the store holds nothing of,
// 400 listing those it does. c nil is a serve of one cluster.
func Incidents(s tracker.Store, c *Clusters, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseIncidentQuery(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
			return
		}
		from := s
		if view, err := c.View(r); err != nil {
			WriteClusterError(w, err)
			return
		} else if view != nil {
			from = view
		}
		list, err := from.List(r.Context(), q.filter)
		if err != nil {
			log.Error("listing incidents", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, Error{Error: "store unavailable: " + err.Error()})
			return
		}
		out := IncidentList{Incidents: []Incident{}}
		for i := range list {
			if !q.match(&list[i]) {
				continue
			}
			if len(out.Incidents) == q.limit {
				out.Truncated = true
				break
			}
			out.Incidents = append(out.Incidents, toIncident(&list[i]))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

type incidentQuery struct {
	filter                 tracker.Filter
	namespace, group, kind string
	closedOnly             bool
	limit                  int
}

func (q *incidentQuery) match(inc *chaos.Incident) bool {
	switch {
	case q.namespace != "" && inc.Subject.Namespace != q.namespace:
		return false
	case q.group != "" && string(inc.Subject.Group) != q.group:
		return false
	case q.kind != "" && string(inc.Kind) != q.kind:
		return false
	case q.closedOnly && inc.Open():
		return false
	}
	return true
}

var kinds = chaos.Kinds

func parseIncidentQuery(r *http.Request) (incidentQuery, error) {
	q := incidentQuery{limit: DefaultLimit}
	values := r.URL.Query()
	for name, v := range values {
		if len(v) > 1 {
			return q, fmt.Errorf("query parameter %s: given %d times, want at most once", name, len(v))
		}
	}
	for name := range values {
		switch name {
		case "service", "namespace", "group", "kind", "open", "since", "until", "limit", ClusterParam:
		default:
			return q, fmt.Errorf("unknown query parameter %q: want service, namespace, group, kind, open, since, until, limit or cluster", name)
		}
	}
	q.filter.Service = values.Get("service")
	q.namespace = values.Get("namespace")
	q.group = values.Get("group")
	if g := q.group; g != "" && g != string(chaos.Control) && g != string(chaos.Experimental) && g != string(chaos.NoGroup) {
		return q, fmt.Errorf("query parameter group: %q is not one of control, experimental, none", g)
	}
	q.kind = values.Get("kind")
	if k := q.kind; k != "" && !slices.Contains(kinds, chaos.Kind(k)) {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		return q, fmt.Errorf("query parameter kind: %q is not one of %s", k, strings.Join(names, ", "))
	}
	if v := values.Get("open"); v != "" {
		open, err := strconv.ParseBool(v)
		if err != nil {
			return q, fmt.Errorf("query parameter open: %q is not true or false", v)
		}
		q.filter.OpenOnly, q.closedOnly = open, !open
	}
	var err error
	if q.filter.Since, q.filter.Until, err = parseSpan(values); err != nil {
		return q, err
	}
	if q.limit, err = parseLimit(values, q.limit); err != nil {
		return q, err
	}
	return q, nil
}

// parseTime reads RFC 3339 or Unix seconds (with a fraction), as
// Prometheus' API does.
func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("query parameter %s: %q is neither an RFC 3339 time nor Unix seconds", name, v)
}

func toIncident(inc *chaos.Incident) Incident {
	out := Incident{
		Cluster: inc.Cluster, ID: inc.ID, Kind: inc.Kind,
		Namespace: inc.Subject.Namespace, Service: inc.Subject.Service, Group: string(inc.Subject.Group),
		Object: Object{Kind: inc.Object.Kind, Namespace: inc.Object.Namespace, Name: inc.Object.Name},
		Start:  inc.Start.UTC(), Events: inc.Events, Evicted: inc.Evicted, Baseline: inc.Baseline, Missed: inc.Missed,
	}
	if !inc.Open() {
		end := inc.End.UTC()
		secs := inc.TimeToRecover().Seconds()
		out.End, out.RecoverySeconds = &end, &secs
	}
	if d := inc.Detection; d.Decided() {
		out.Detection = &Detection{Alert: d.Alert, Fingerprint: d.Fingerprint, Undetected: d.Undetected}
		if ttd, ok := inc.TimeToDetect(); ok {
			at, secs := d.At.UTC(), ttd.Seconds()
			out.Detection.At, out.Detection.DetectionSeconds = &at, &secs
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to tell it
}

// parseSpan reads the query parameters since and until (either may be
// absent); until must be after since.
func parseSpan(values url.Values) (since, until time.Time, err error) {
	if since, err = parseTime("since", values.Get("since")); err != nil {
		return since, until, err
	}
	if until, err = parseTime("until", values.Get("until")); err != nil {
		return since, until, err
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return since, until, fmt.Errorf("query parameters since and until: until (%s) must be after since (%s)",
			until.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
	}
	return since, until, nil
}

// parseLimit reads the query parameter limit, from 1 to MaxLimit; def
// without it.
func parseLimit(values url.Values, def int) (int, error) {
	v := values.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return def, fmt.Errorf("query parameter limit: %q is not a number from 1 to %d", v, MaxLimit)
	}
	return n, nil
}
