package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/api"
	"github.com/steadywatch/steadywatch/store"
	"github.com/steadywatch/steadywatch/verdict"
)

// latestVerdicts reads the last verdict the history keeps of each
// hypothesis; store.Store is one.
type latestVerdicts interface {
	LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error)
}

// verdictHandlers serve api.VerdictsPath and api.VerdictPath: on the
// leader from its board; on a follower, which judges nothing, from the
// store's history of verdicts (the last verdict kept of each hypothesis in
// names, the ones loaded: the verdict in force since it last changed, as
// the leader judged it), or 503 naming the leader when the store fails.
//
// The cluster query parameter (api.ClusterParam) reads another cluster's,
// or every cluster's, last verdicts from the store instead.
func verdictHandlers(board *verdict.Board, history latestVerdicts, ship *leadership, names func() []string,
	clusters *api.Clusters,
) (list, one http.Handler) {
	serve := func(h func(api.VerdictSource) http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			view, err := clusters.View(r)
			if err != nil {
				api.WriteClusterError(w, err)
				return
			}
			if view != nil && r.PathValue("hypothesis") != "" && r.URL.Query().Get(api.ClusterParam) == store.AllClusters {
				api.WriteClusterError(w, fmt.Errorf("query parameter %s: * is every cluster, and one hypothesis's verdict is one cluster's: ask %s?%s=* for all",
					api.ClusterParam, api.VerdictsPath, api.ClusterParam))
				return
			}
			if view != nil {
				stored, err := storedVerdicts(r.Context(), view, nil)
				if err != nil {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_ = json.NewEncoder(w).Encode(api.Error{Error: "store unavailable: " + err.Error()})
					return
				}
				h(stored).ServeHTTP(w, r)
				return
			}
			if ship.Leading() || history == nil {
				h(ownVerdicts{board, clusters.OwnName()}).ServeHTTP(w, r)
				return
			}
			stored, err := storedVerdicts(r.Context(), history, names())
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "5")
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = json.NewEncoder(w).Encode(api.Error{Error: fmt.Sprintf(
					"the leader (%s) judges the hypotheses; this follower reads the verdicts from the store, which failed: %v",
					strconv.Quote(ship.leader()), err)})
				return
			}
			h(stored).ServeHTTP(w, r)
		})
	}
	return serve(api.Verdicts), serve(api.Verdict)
}

// storedVerdicts is the last verdict kept of each hypothesis in names (of
// each hypothesis for nil names), each of its cluster.
func storedVerdicts(ctx context.Context, history latestVerdicts, names []string) (verdictList, error) {
	latest, err := history.LatestVerdicts(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	var out verdictList
	for _, t := range latest {
		if names != nil && !slices.Contains(names, t.Hypothesis) {
			continue
		}
		var v verdict.Verdict
		if err := json.Unmarshal(t.Verdict, &v); err != nil {
			return nil, fmt.Errorf("the verdict of %s at %s: %w", t.Hypothesis, t.At.Format(time.RFC3339), err)
		}
		v.Cluster = t.Cluster
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b verdict.Verdict) int {
		return cmp.Or(strings.Compare(a.Hypothesis, b.Hypothesis), strings.Compare(a.Cluster, b.Cluster))
	})
	return out, nil
}

// ownVerdicts is the board's verdicts, each of the serve's cluster.
type ownVerdicts struct {
	board   *verdict.Board
	cluster string
}

func (o ownVerdicts) Latest() []verdict.Verdict {
	list := o.board.Latest()
	for i := range list {
		list[i].Cluster = o.cluster
	}
	return list
}

func (o ownVerdicts) Get(name string) (verdict.Verdict, bool) {
	v, ok := o.board.Get(name)
	v.Cluster = o.cluster
	return v, ok
}

// verdictList is an api.VerdictSource over verdicts sorted by hypothesis.
type verdictList []verdict.Verdict

func (l verdictList) Latest() []verdict.Verdict { return l }

func (l verdictList) Get(name string) (verdict.Verdict, bool) {
	for _, v := range l {
		if v.Hypothesis == name {
			return v, true
		}
	}
	return verdict.Verdict{}, false
}
