package stats

import (
	"errors"
	"fmt"
	"math"
)

var (
	// ErrEmpty is returned (wrapped in a *SampleError) for a sample with no values.
	ErrEmpty = errors.New("sample is empty")
	// ErrNotFinite is returned (wrapped in a *SampleError) for a NaN or ±Inf value.
	ErrNotFinite = errors.New("value is not a finite number")
	// ErrTooLarge is returned (wrapped in a *SampleError) for a sample of
	// more than MaxValues values.
	ErrTooLarge = fmt.Errorf("sample has more than %d values", MaxValues)
)

// MaxValues bounds a sample's size: the selection of differences keeps its
// per-row counts in 32 bits, half the memory its passes over the rows
// stream (2³¹ − 1 values are 16 GB).
const MaxValues = math.MaxInt32

// SampleError names the sample ("x" or "y") and, for a bad value, its index.
type SampleError struct {
	Sample string
	Index  int // -1 when the error is about the whole sample
	Value  float64
	Err    error // ErrEmpty, ErrNotFinite or ErrTooLarge
}

func (e *SampleError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("%s: %v", e.Sample, e.Err)
	}
	return fmt.Sprintf("%s[%d] = %v: %v", e.Sample, e.Index, e.Value, e.Err)
}

func (e *SampleError) Unwrap() error { return e.Err }

func checkSample(name string, v []float64) error {
	if len(v) == 0 {
		return &SampleError{Sample: name, Index: -1, Err: ErrEmpty}
	}
	if err := checkSize(name, len(v)); err != nil {
		return err
	}
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return &SampleError{Sample: name, Index: i, Value: f, Err: ErrNotFinite}
		}
	}
	return nil
}

func checkSize(name string, n int) error {
	if n > MaxValues {
		return &SampleError{Sample: name, Index: -1, Err: ErrTooLarge}
	}
	return nil
}

func checkConfidence(c float64) error {
	if !(c > 0 && c < 1) {
		return fmt.Errorf("confidence %v: must be in (0, 1)", c)
	}
	return nil
}
