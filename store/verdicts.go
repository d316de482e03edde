package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/steadywatch/steadywatch/store/limits"
	"github.com/steadywatch/steadywatch/verdict"
)

// MaxHypothesisBytes bounds a hypothesis's name, part of the verdicts
// table's key: a Kubernetes object name (a DNS subdomain) is at most 253.
const MaxHypothesisBytes = 253

const upsertVerdict = `INSERT INTO verdicts (hypothesis, at_ns, result, score, running, final, reason, verdict, cluster)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (cluster, hypothesis, at_ns) DO UPDATE SET result = excluded.result, score = excluded.score,
	running = excluded.running, final = excluded.final, reason = excluded.reason, verdict = excluded.verdict`

// SaveVerdict implements Store.
func (s *sqlStore) SaveVerdict(ctx context.Context, t verdict.Transition) error {
	at, err := checkTransition(&t)
	if err != nil {
		return fmt.Errorf("store: saving verdict of %s: %w", quoteName(t.Hypothesis), err)
	}
	if err := s.writable("saving verdict of " + quoteName(t.Hypothesis)); err != nil {
		return err
	}
	var score any
	if !math.IsNaN(t.Score) && !math.IsInf(t.Score, 0) {
		score = t.Score
	}
	if err := s.exec(ctx, upsertVerdict, t.Hypothesis, at, string(t.Result), score, t.Running, t.Final,
		t.Reason, string(t.Verdict), s.cluster); err != nil {
		return fmt.Errorf("store: saving verdict of %s: %w", quoteName(t.Hypothesis), err)
	}
	return nil
}

// quoteName shows a hypothesis's name in an error, unless it is too long
// to be one.
func quoteName(name string) string {
	if len(name) > MaxHypothesisBytes {
		return fmt.Sprintf("a hypothesis named by %d bytes", len(name))
	}
	return fmt.Sprintf("%q", name)
}

// checkTransition refuses what the store cannot keep, naming the field,
// and returns the time encoded.
func checkTransition(t *verdict.Transition) (int64, error) {
	switch {
	case t.Hypothesis == "":
		return 0, errors.New("hypothesis: not set")
	case len(t.Hypothesis) > MaxHypothesisBytes:
		return 0, fmt.Errorf("hypothesis: %d bytes: want at most %d", len(t.Hypothesis), MaxHypothesisBytes)
	case t.Result != verdict.Pass && t.Result != verdict.Fail && t.Result != verdict.Inconclusive:
		return 0, fmt.Errorf("result: %q is not one of %s, %s, %s", t.Result, verdict.Pass, verdict.Fail, verdict.Inconclusive)
	case !json.Valid(t.Verdict):
		return 0, errors.New("verdict: not valid JSON")
	}
	for _, f := range []struct{ name, value string }{
		{"hypothesis", t.Hypothesis}, {"reason", t.Reason}, {"verdict", string(t.Verdict)},
	} {
		if err := limits.Text(f.value); err != nil {
			return 0, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nanos("at", t.At)
}

const verdictColumns = `cluster, hypothesis, at_ns, result, score, running, final, reason, verdict`

func scanVerdict(rows *sql.Rows) (verdict.Transition, error) {
	var (
		t            verdict.Transition
		at           int64
		result, data string
		score        sql.NullFloat64
	)
	if err := rows.Scan(&t.Cluster, &t.Hypothesis, &at, &result, &score, &t.Running, &t.Final, &t.Reason, &data); err != nil {
		return t, err
	}
	t.At, t.Result, t.Verdict = timeOf(at), verdict.Result(result), json.RawMessage(data)
	var fields struct {
		HypothesisDigest string `json:"hypothesis_digest"`
		Abort            bool   `json:"abort"`
	}
	if err := json.Unmarshal(t.Verdict, &fields); err != nil {
		return t, fmt.Errorf("the verdict of %s: %w", t.Hypothesis, err)
	}
	t.HypothesisDigest, t.Abort = fields.HypothesisDigest, fields.Abort
	t.Score = math.NaN()
	if score.Valid {
		t.Score = score.Float64
	}
	return t, nil
}

// EachVerdict implements Store.
func (s *sqlStore) EachVerdict(ctx context.Context, since, until time.Time, fn func(*verdict.Transition) error) error {
	var w where
	s.inCluster(&w)
	if err := w.timeRange("at_ns", since, until); err != nil {
		return fmt.Errorf("store: listing verdicts: %w", err)
	}
	return each(ctx, s.reader, "listing verdicts", w.query(`SELECT `+verdictColumns+` FROM verdicts`,
		`ORDER BY at_ns, hypothesis, cluster`), w.args, func(rows *sql.Rows) error {
		t, err := scanVerdict(rows)
		if err != nil {
			return fmt.Errorf("store: listing verdicts: %w", err)
		}
		return fn(&t)
	})
}

// LatestVerdicts implements Store. One row per hypothesis: the table's
// key orders a hypothesis's rows by time.
func (s *sqlStore) LatestVerdicts(ctx context.Context, before time.Time) ([]verdict.Transition, error) {
	var w where
	s.inCluster(&w)
	if err := w.timeRange("at_ns", time.Time{}, before); err != nil {
		return nil, fmt.Errorf("store: reading the latest verdicts: %w", err)
	}
	inner := w.query(`SELECT `+verdictColumns+`,
	row_number() OVER (PARTITION BY cluster, hypothesis ORDER BY at_ns DESC) AS nth
FROM verdicts`, "")
	return list(ctx, s.reader, "reading the latest verdicts",
		`SELECT `+verdictColumns+` FROM (`+inner+`) AS latest WHERE nth = 1 ORDER BY hypothesis, cluster`, w.args,
		func(rows *sql.Rows) (verdict.Transition, bool, error) {
			t, err := scanVerdict(rows)
			return t, err == nil, err
		})
}
