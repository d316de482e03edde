package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/steadywatch/steadywatch/store/limits"
)

// nanos encodes a time that must be set, within limits.Time.
func nanos(field string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, fmt.Errorf("%s is not set", field)
	}
	if err := limits.Time(t); err != nil {
		return 0, fmt.Errorf("%s %w", field, err)
	}
	return t.UnixNano(), nil
}

// optNanos encodes a time whose zero value means "not yet" as NULL.
func optNanos(field string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	return nanos(field, t)
}

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func optTime(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return timeOf(ns.Int64)
}

// encodeMap encodes labels or annotations as a JSON object, never null.
func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// decodeMap decodes a JSON object; an empty one is a nil map.
func decodeMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// containsAll reports whether labels holds every pair of want.
func containsAll(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
