package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

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

// decodeMap decodes a JSON object of strings; an empty one is a nil map.
// What the store wrote (encodeMap's text, or PostgreSQL's jsonb text) is
// read by decodeFlat, which costs a fifth of encoding/json (labels are
// most of the time of reading alerts); anything it does not take is left
// to encoding/json, which also says what is wrong.
func decodeMap(s string) (map[string]string, error) {
	if m, ok := decodeFlat(s); ok {
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// decodeFlat decodes, as encoding/json would, a JSON object whose keys and
// values are strings without escapes, control characters or invalid UTF-8;
// ok is false for any other input. Keys and values are substrings of s.
func decodeFlat(s string) (m map[string]string, ok bool) {
	i := skipSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return nil, false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return nil, skipSpace(s, i+1) == len(s)
	}
	// Stack room for the usual labels: the map is made once, to size.
	pairs := make([][2]string, 0, 16)
	for {
		k, j, ok := flatString(s, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(s, j)
		if i == len(s) || s[i] != ':' {
			return nil, false
		}
		v, j, ok := flatString(s, skipSpace(s, i+1))
		if !ok {
			return nil, false
		}
		pairs = append(pairs, [2]string{k, v})
		i = skipSpace(s, j)
		if i == len(s) {
			return nil, false
		}
		if s[i] == '}' {
			if skipSpace(s, i+1) != len(s) {
				return nil, false
			}
			break
		}
		if s[i] != ',' {
			return nil, false
		}
		i = skipSpace(s, i+1)
	}
	m = make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p[0]] = p[1]
	}
	return m, true
}

// flatString reads the JSON string at s[i:] if it needs no unescaping,
// returning it and the index after it.
func flatString(s string, i int) (v string, next int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v = s[i+1 : j]
			return v, j + 1, utf8.ValidString(v)
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte from i on that is not
// JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
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
