package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/steadywatch/steadywatch/chaos"
	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/tracker"
)

// ExperimentsPath lists the chaos tools' experiments serve recorded.
const ExperimentsPath = "/api/v1/experiments"

// MaxObservedEvents is how many of the events observed during an
// experiment are listed; all are counted.
const MaxObservedEvents = 100

// Experiment is a chaos tool's experiment as the API shows it, with what
// steadywatch observed during it. Times are RFC 3339 with nanoseconds, in
// UTC.
type Experiment struct {
	// Cluster is the cluster it ran in, left out for the unnamed one.
	Cluster   string          `json:"cluster,omitempty"`
	Tool      experiment.Tool `json:"tool"`
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	UID       string          `json:"uid"`
	Fault     string          `json:"fault"`
	Target    string          `json:"target"`
	Start     time.Time       `json:"start"`
	// End is null while the experiment runs.
	End *time.Time `json:"end"`
	// Result and Detail are the tool's own verdict (experiment.Experiment).
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
	// Labels are the object's, which a hypothesis window's selector is
	// matched against; left out when it has none.
	Labels   map[string]string `json:"labels,omitempty"`
	Observed Observed          `json:"observed"`
}

// Observed is what steadywatch recorded in the experiment's namespace
// during it: the chaos events whose time lies in [From, To], and the
// incidents that started then. A node's events and incidents belong to no
// namespace and are not joined.
type Observed struct {
	// From is the experiment's start; To its end, or the time of the
	// request while it runs.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Events counts the events, Kinds them by kind.
	Events int                `json:"events"`
	Kinds  map[chaos.Kind]int `json:"kinds"`
	// EventList is the first MaxObservedEvents of them, oldest first;
	// EventsTruncated is set when there were more.
	EventList       []ObservedEvent `json:"event_list"`
	EventsTruncated bool            `json:"events_truncated"`
	// Incidents are those that started in the window, oldest first: see
	// IncidentsPath for the whole of one.
	Incidents []ObservedIncident `json:"incidents"`
}

// ObservedEvent is a chaos event observed during an experiment.
type ObservedEvent struct {
	Kind    chaos.Kind `json:"kind"`
	At      time.Time  `json:"at"`
	Service string     `json:"service"`
	Group   string     `json:"group"`
	Object  Object     `json:"object"`
	// Missed: inferred from a relist rather than seen happening; At is
	// then an estimate.
	Missed bool `json:"missed"`
}

// ObservedIncident is an incident that started during an experiment.
type ObservedIncident struct {
	ID      string     `json:"id"`
	Kind    chaos.Kind `json:"kind"`
	Service string     `json:"service"`
	Group   string     `json:"group"`
	Start   time.Time  `json:"start"`
	// End is null while the incident is open.
	End *time.Time `json:"end"`
}

// ExperimentList is the response of ExperimentsPath.
type ExperimentList struct {
	Experiments []Experiment `json:"experiments"`
	// Truncated is set when more experiments matched than the limit; the
	// oldest are returned, so ask again with since set past the last one.
	Truncated bool `json:"truncated"`
}

// ExperimentSource reads the recorded experiments; store.Store is one.
type ExperimentSource interface {
	Experiments(ctx context.Context, f store.ExperimentFilter) ([]experiment.Experiment, error)
}

// ExperimentsOptions configure Experiments.
type ExperimentsOptions struct {
	// Experiments are read from Source, the faults observed from Faults
	// (serve gives its write-behind queue, whose reads wait for what was
	// recorded before them), both of the serve's own cluster.
	Source ExperimentSource
	Faults tracker.Store
	// Clusters picks another cluster's store for both; nil: one cluster.
	Clusters *Clusters
	// Now ends the window of a running experiment (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Experiments serves ExperimentsPath. Query parameters, all optional:
//
//	tool             litmus or chaos-mesh
//	namespace, name  exact match
//	selector         the experiment object's labels match this label
//	                 selector (kubectl's syntax: a=b, a!=b, a in (b,c), !a)
//	since, until     the experiment ran at some time in [since, until):
//	                 RFC 3339 or Unix seconds
//	limit            at most this many (default 1000, max 10000), oldest start first
//	cluster          that cluster's experiments (default the serve's own;
//	                 not *: the faults are joined within one cluster)
//
// A bad parameter gets 400 naming it.
func Experiments(o ExperimentsOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseExperimentQuery(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
			return
		}
		source, faults := o.Source, o.Faults
		if r.URL.Query().Get(ClusterParam) == store.AllClusters {
			writeJSON(w, http.StatusBadRequest, Error{Error: fmt.Sprintf(
				"query parameter %s: %s is not served here: the faults are joined within one cluster; name one", ClusterParam, store.AllClusters)})
			return
		}
		if view, err := o.Clusters.View(r); err != nil {
			WriteClusterError(w, err)
			return
		} else if view != nil {
			source, faults = view, view
		}
		list, err := source.Experiments(r.Context(), q.filter)
		if err != nil {
			o.Logger.Error("listing experiments", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, Error{Error: "store unavailable: " + err.Error()})
			return
		}
		out := ExperimentList{Experiments: []Experiment{}}
		if len(list) > q.limit {
			list, out.Truncated = list[:q.limit], true
		}
		now := o.Now()
		for _, x := range list {
			observed, err := observe(r.Context(), faults, x, now)
			if err != nil {
				o.Logger.Error("listing the faults observed during experiments", "err", err)
				writeJSON(w, http.StatusServiceUnavailable, Error{Error: "store unavailable: " + err.Error()})
				return
			}
			out.Experiments = append(out.Experiments, toExperiment(x, observed))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// observe joins x to the events and incidents of its namespace in its
// window, [Start, End] (End: now while it runs).
func observe(ctx context.Context, faults tracker.Store, x experiment.Experiment, now time.Time) (Observed, error) {
	to := x.End
	if to.IsZero() {
		to = now
	}
	o := Observed{
		From: x.Start.UTC(), To: to.UTC(), Kinds: map[chaos.Kind]int{},
		EventList: []ObservedEvent{}, Incidents: []ObservedIncident{},
	}
	if to.Before(x.Start) {
		return o, nil // started after now, by a clock ahead of serve's
	}
	// The stores' bounds are [since, until): the nanosecond after To
	// includes it.
	window := tracker.Filter{Since: x.Start, Until: to.Add(time.Nanosecond)}
	events, err := faults.Events(ctx, window)
	if err != nil {
		return o, err
	}
	for _, e := range events {
		at := e.At.Best()
		if e.Subject.Namespace != x.Namespace || at.Before(x.Start) || at.After(to) {
			continue
		}
		o.Events++
		o.Kinds[e.Kind]++
		if len(o.EventList) == MaxObservedEvents {
			o.EventsTruncated = true
			continue
		}
		o.EventList = append(o.EventList, ObservedEvent{
			Kind: e.Kind, At: at.UTC(), Service: e.Subject.Service, Group: string(e.Subject.Group),
			Object: Object{Kind: e.Object.Kind, Namespace: e.Object.Namespace, Name: e.Object.Name}, Missed: e.Missed,
		})
	}
	incidents, err := faults.List(ctx, window)
	if err != nil {
		return o, err
	}
	for _, inc := range incidents {
		if inc.Subject.Namespace != x.Namespace || inc.Start.Before(x.Start) || inc.Start.After(to) {
			continue
		}
		oi := ObservedIncident{
			ID: inc.ID, Kind: inc.Kind, Service: inc.Subject.Service, Group: string(inc.Subject.Group), Start: inc.Start.UTC(),
		}
		if !inc.Open() {
			end := inc.End.UTC()
			oi.End = &end
		}
		o.Incidents = append(o.Incidents, oi)
	}
	return o, nil
}

func toExperiment(x experiment.Experiment, observed Observed) Experiment {
	out := Experiment{
		Cluster: x.Cluster, Tool: x.Tool, Kind: x.Kind, Namespace: x.Namespace, Name: x.Name, UID: x.UID,
		Fault: x.Fault, Target: x.Target, Start: x.Start.UTC(), Result: x.Result, Detail: x.Detail, Labels: x.Labels, Observed: observed,
	}
	if !x.Running() {
		end := x.End.UTC()
		out.End = &end
	}
	return out
}

type experimentQuery struct {
	filter store.ExperimentFilter
	limit  int
}

func parseExperimentQuery(r *http.Request) (experimentQuery, error) {
	q := experimentQuery{limit: DefaultLimit}
	values := r.URL.Query()
	for name, v := range values {
		if len(v) > 1 {
			return q, fmt.Errorf("query parameter %s: given %d times, want at most once", name, len(v))
		}
	}
	for name := range values {
		switch name {
		case "tool", "namespace", "name", "selector", "since", "until", "limit", ClusterParam:
		default:
			return q, fmt.Errorf("unknown query parameter %q: want tool, namespace, name, selector, since, until, limit or cluster", name)
		}
	}
	switch tool := experiment.Tool(values.Get("tool")); tool {
	case "", experiment.Litmus, experiment.ChaosMesh:
		q.filter.Tool = tool
	default:
		return q, fmt.Errorf("query parameter tool: %q is not one of %s, %s", tool, experiment.Litmus, experiment.ChaosMesh)
	}
	q.filter.Namespace, q.filter.Name = values.Get("namespace"), values.Get("name")
	var err error
	if sel := values.Get("selector"); sel != "" {
		if q.filter.Selector, err = labels.Parse(sel); err != nil {
			return q, fmt.Errorf("query parameter selector: %q is not a label selector: %w", sel, err)
		}
	}
	if q.filter.Since, q.filter.Until, err = parseSpan(values); err != nil {
		return q, err
	}
	if q.limit, err = parseLimit(values, q.limit); err != nil {
		return q, err
	}
	return q, nil
}
