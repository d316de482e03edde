package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/steadywatch/steadywatch/experiment"
	"github.com/steadywatch/steadywatch/store/limits"
)

// ExperimentFilter selects stored experiments (experiment.Filter): a
// name of the store's for it, the filter itself in package experiment so
// that the verdict judge can read experiments without importing the store.
type ExperimentFilter = experiment.Filter

const upsertExperiment = `INSERT INTO experiments (cluster, tool, namespace, name, uid, fault, kind, target, start_ns, end_ns, result, detail, labels)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (cluster, tool, namespace, name, uid, fault) DO UPDATE SET kind = excluded.kind, target = excluded.target,
	start_ns = excluded.start_ns, end_ns = excluded.end_ns, result = excluded.result, detail = excluded.detail, labels = excluded.labels`

// SaveExperiment implements Store.
func (s *sqlStore) SaveExperiment(ctx context.Context, e experiment.Experiment) error {
	start, end, err := checkExperiment(&e)
	if err != nil {
		return fmt.Errorf("store: saving experiment %s/%s: %w", e.Namespace, e.Name, err)
	}
	lbls, err := encodeMap(e.Labels)
	if err != nil {
		return fmt.Errorf("store: saving experiment %s/%s: labels: %w", e.Namespace, e.Name, err)
	}
	if err := s.writable(fmt.Sprintf("saving experiment %s/%s", e.Namespace, e.Name)); err != nil {
		return err
	}
	if err := s.exec(ctx, upsertExperiment, s.cluster, string(e.Tool), e.Namespace, e.Name, e.UID, e.Fault, e.Kind, e.Target,
		start, end, e.Result, e.Detail, lbls); err != nil {
		return fmt.Errorf("store: saving experiment %s/%s: %w", e.Namespace, e.Name, err)
	}
	return nil
}

// checkExperiment refuses what the store cannot keep, naming the field,
// and returns the times encoded (end nil while it runs).
func checkExperiment(e *experiment.Experiment) (start int64, end any, err error) {
	switch {
	case e.Tool != experiment.Litmus && e.Tool != experiment.ChaosMesh:
		return 0, nil, fmt.Errorf("tool: %q is not one of %s, %s", e.Tool, experiment.Litmus, experiment.ChaosMesh)
	case e.Name == "":
		return 0, nil, errors.New("name: not set")
	case e.Start.IsZero():
		return 0, nil, errors.New("start: not set")
	case !e.End.IsZero() && e.End.Before(e.Start):
		return 0, nil, fmt.Errorf("end: %s is before start, %s", e.End.UTC().Format(time.RFC3339Nano), e.Start.UTC().Format(time.RFC3339Nano))
	}
	for _, f := range []struct{ name, value string }{
		{"namespace", e.Namespace},
		{"name", e.Name},
		{"uid", e.UID},
		{"fault", e.Fault},
		{"kind", e.Kind},
		{"target", e.Target},
		{"result", e.Result},
		{"detail", e.Detail},
	} {
		if err := limits.Text(f.value); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if start, err = nanos("start", e.Start); err != nil {
		return 0, nil, err
	}
	if e.End.IsZero() {
		return start, nil, nil
	}
	endNs, err := nanos("end", e.End)
	return start, endNs, err
}

// Experiments implements Store: oldest start first. f.Selector is applied
// to the rows the rest of f selects, after the query (see migration 0009).
func (s *sqlStore) Experiments(ctx context.Context, f ExperimentFilter) ([]experiment.Experiment, error) {
	var w where
	s.inCluster(&w)
	for _, c := range []struct{ column, value string }{
		{"tool", string(f.Tool)}, {"namespace", f.Namespace}, {"name", f.Name},
	} {
		if c.value != "" {
			w.add(c.column+" = %s", c.value)
		}
	}
	if !f.Since.IsZero() {
		ns, err := nanos("since", clampTime(f.Since))
		if err != nil {
			return nil, fmt.Errorf("store: listing experiments: %w", err)
		}
		w.add("(end_ns IS NULL OR end_ns >= %s)", ns)
	}
	if !f.Until.IsZero() {
		ns, err := nanos("until", clampTime(f.Until))
		if err != nil {
			return nil, fmt.Errorf("store: listing experiments: %w", err)
		}
		w.add("start_ns < %s", ns)
	}
	return list(ctx, s.reader, "listing experiments", w.query(`SELECT cluster, tool, namespace, name, uid, fault, kind, target,
	start_ns, end_ns, result, detail, labels FROM experiments`, s.orderBy("start_ns, tool, namespace, name, uid, fault")), w.args,
		func(rows *sql.Rows) (e experiment.Experiment, keep bool, err error) {
			var (
				tool, lbls string
				start      int64
				end        sql.NullInt64
			)
			if err = rows.Scan(&e.Cluster, &tool, &e.Namespace, &e.Name, &e.UID, &e.Fault, &e.Kind, &e.Target, &start, &end,
				&e.Result, &e.Detail, &lbls); err != nil {
				return e, false, err
			}
			e.Tool, e.Start = experiment.Tool(tool), timeOf(start)
			if end.Valid {
				e.End = timeOf(end.Int64)
			}
			if e.Labels, err = decodeMap(lbls); err != nil {
				return e, false, fmt.Errorf("experiment %s/%s: labels: %w", e.Namespace, e.Name, err)
			}
			return e, f.Selector == nil || f.Selector.Matches(labels.Set(e.Labels)), nil
		})
}
