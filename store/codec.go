package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Times are stored as Unix nanoseconds, which reach from 1677 to 2262.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos encodes a time that must be set.
func nanos(field string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, fmt.Errorf("%s is not set", field)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%s %s is out of range (years 1678 to 2261)", field, t.Format(time.RFC3339))
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
