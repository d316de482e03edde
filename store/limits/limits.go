// Package limits is what the store can keep, defined once: the store
// enforces it on every save, and the webhook receiver checks alerts against
// it before saving, so that one alert beyond it is rejected alone, its field
// named, rather than failing the save of its whole notification. It imports
// nothing from the module, so that the receiver checks without the database
// drivers.
package limits

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Times are stored as Unix nanoseconds (int64), which reach from
// 1677-09-21 to 2262-04-11.
var (
	MinTime = time.Unix(0, math.MinInt64).UTC()
	MaxTime = time.Unix(0, math.MaxInt64).UTC()
)

// MaxFingerprintBytes bounds an alert's fingerprint. With the start it is
// the alerts table's primary key, and PostgreSQL refuses a B-tree index
// entry over 2,704 bytes (after compression, so the refusal depends on the
// content). Alertmanager's fingerprints are 16 hex digits; the rest is
// room for other senders.
const MaxFingerprintBytes = 64

// Time reports why t, which must be set, cannot be stored.
func Time(t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return fmt.Errorf("%s is out of range (years %d to %d)",
			t.Format(time.RFC3339Nano), MinTime.Year()+1, MaxTime.Year()-1)
	}
	return nil
}

// Text reports why s cannot be stored in a text or JSON column: PostgreSQL
// refuses NUL (U+0000) in both, where SQLite would keep it, and the two
// databases must keep the same.
func Text(s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("NUL character at byte %d: the store cannot keep it", i)
	}
	return nil
}

// Fingerprint reports why a non-empty fingerprint cannot be stored.
func Fingerprint(fp string) error {
	if len(fp) > MaxFingerprintBytes {
		return fmt.Errorf("%d bytes: want at most %d", len(fp), MaxFingerprintBytes)
	}
	return Text(fp)
}

// PathError is an error about the value at Path, e.g. labels["a b"].
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *PathError) Unwrap() error { return e.Err }

// Map reports, as a *PathError naming it field.name or field["a b"], the
// first name or value of m, in sorted order of names, that cannot be
// stored (see Text). The names are sorted only when one of them or their
// values is bad: every alert saved or received is checked.
func Map(field string, m map[string]string) error {
	bad := false
	for k, v := range m {
		if bad = Text(k) != nil || Text(v) != nil; bad {
			break
		}
	}
	if !bad {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		err := Text(k)
		if err == nil {
			err = Text(m[k])
		}
		if err != nil {
			return &PathError{Path: field + Key(k), Err: err}
		}
	}
	return nil
}

// Key is the path element that names the map key k in errors: .name for
// identifiers, ["a.b/c"] (quoted as Go quotes) for any other key. The
// receiver names the fields of a webhook body the same way.
func Key(k string) string {
	ident := k != ""
	for i := 0; i < len(k) && ident; i++ {
		c := k[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		digit := '0' <= c && c <= '9'
		ident = letter || i > 0 && digit
	}
	if ident {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}
