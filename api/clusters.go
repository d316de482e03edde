package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/steadywatch/steadywatch/store"
)

// ClusterParam is the query parameter that picks the cluster an endpoint
// reads: absent, the serve's own; "*", every cluster in the store; a name,
// that cluster's (read-only).
const ClusterParam = "cluster"

// ClusterViews is what reads other clusters: the store (store.Store is
// one).
type ClusterViews interface {
	ForCluster(name string) (store.Store, error)
	Clusters(ctx context.Context) ([]string, error)
}

// Clusters tells the API which cluster the serve is and how to read the
// others of its store. A nil *Clusters is a serve of one cluster, the
// unnamed one, that reads no other.
type Clusters struct {
	// Own is the serve's cluster (config cluster:), "" for the unnamed one.
	Own string
	// Views reads the other clusters.
	Views ClusterViews
}

// own returns the serve's cluster.
func (c *Clusters) own() string {
	if c == nil {
		return ""
	}
	return c.Own
}

// View returns the store the request's cluster parameter asks for: nil for
// the serve's own (absent, or its name), a view otherwise. A name the store
// holds no rows of is an error naming the parameter and the clusters
// known; a store that cannot list them is a *storeError.
func (c *Clusters) View(r *http.Request) (store.Store, error) {
	values := r.URL.Query()
	if !values.Has(ClusterParam) {
		return nil, nil
	}
	name := values.Get(ClusterParam)
	if len(values[ClusterParam]) > 1 {
		return nil, fmt.Errorf("query parameter %s: given %d times, want at most once", ClusterParam, len(values[ClusterParam]))
	}
	if name == c.own() {
		return nil, nil
	}
	if c == nil || c.Views == nil {
		return nil, fmt.Errorf("query parameter %s: %s is not this serve's cluster, and it reads no other", ClusterParam, quote(name))
	}
	if name != store.AllClusters {
		// Every cluster (*) needs no check; a name must have rows.
		_, err := store.ResolveClusters(r.Context(), c.Views, c.own(), name)
		if err != nil {
			if errors.As(err, new(*store.ClusterError)) {
				return nil, fmt.Errorf("query parameter %s: %w", ClusterParam, err)
			}
			return nil, &storeError{err}
		}
	}
	v, err := c.Views.ForCluster(name)
	if err != nil {
		return nil, fmt.Errorf("query parameter %s: %w", ClusterParam, err)
	}
	return v, nil
}

// storeError is a store that failed to answer: 503, not 400.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store unavailable: " + e.err.Error() }

// WriteClusterError answers a failed Clusters.View: 400, or 503 for a
// store that failed.
func WriteClusterError(w http.ResponseWriter, err error) {
	if _, ok := err.(*storeError); ok { //nolint:errorlint // View returns it unwrapped
		writeJSON(w, http.StatusServiceUnavailable, Error{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
}

// OwnName returns the serve's cluster, "" for a nil *Clusters.
func (c *Clusters) OwnName() string { return c.own() }
