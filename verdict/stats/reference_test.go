package stats

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// reference is testdata/reference.json, written by testdata/gen.py from
// scipy 1.10 (see the script for how each value is computed).
type reference struct {
	Scipy       string `json:"scipy"`
	MannWhitney []struct {
		Name  string    `json:"name"`
		X     []float64 `json:"x"`
		Y     []float64 `json:"y"`
		Ties  bool      `json:"ties"`
		Tests []struct {
			Method      string  `json:"method"`
			Used        string  `json:"used"`
			Alternative string  `json:"alternative"`
			U           float64 `json:"u"`
			P           float64 `json:"p"`
		} `json:"tests"`
		Shifts []struct {
			Confidence float64  `json:"confidence"`
			Method     string   `json:"method"`
			K          int64    `json:"k"`
			Coverage   float64  `json:"coverage"`
			Estimate   float64  `json:"estimate"`
			Lo         *float64 `json:"lo"`
			Hi         *float64 `json:"hi"`
		} `json:"shifts"`
	} `json:"mannwhitney"`
	Rates []struct {
		Experiment [2]int64           `json:"experiment"`
		Control    [2]int64           `json:"control"`
		P          map[string]float64 `json:"p"`
		Intervals  []struct {
			Confidence float64 `json:"confidence"`
			Diff       float64 `json:"diff"`
			Lo         float64 `json:"lo"`
			Hi         float64 `json:"hi"`
		} `json:"intervals"`
	} `json:"rates"`
	MinTotal []struct {
		MaxRate    float64 `json:"max_rate"`
		Confidence float64 `json:"confidence"`
		Total      int64   `json:"total"`
	} `json:"min_total"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	require.NoError(t, err)
	var ref reference
	require.NoError(t, json.Unmarshal(b, &ref))
	require.Equal(t, "1.10.1", ref.Scipy, "regenerate with Debian bookworm's python3-scipy")
	require.NotEmpty(t, ref.MannWhitney)
	require.NotEmpty(t, ref.Rates)
	require.NotEmpty(t, ref.MinTotal)
	return ref
}

var alternatives = map[string]Alternative{"two-sided": TwoSided, "less": Less, "greater": Greater}

var methods = map[string]Method{"auto": Auto, "exact": Exact, "asymptotic": Asymptotic}

// requireClose compares within a relative tolerance (1e-15 absolute at 0).
func requireClose(t *testing.T, want, got, rel float64, msg string, args ...any) {
	t.Helper()
	tol := rel * math.Abs(want)
	if want == 0 {
		tol = 1e-15
	}
	require.InDeltaf(t, want, got, tol, msg+": want %v, got %v", append(args, want, got)...)
}

func TestMannWhitneyMatchesScipy(t *testing.T) {
	for _, c := range loadReference(t).MannWhitney {
		t.Run(c.Name, func(t *testing.T) {
			for _, want := range c.Tests {
				got, err := MannWhitneyMethod(c.X, c.Y, alternatives[want.Alternative], methods[want.Method])
				require.NoError(t, err)
				msg := want.Method + ", " + want.Alternative
				require.Equal(t, methods[want.Used], got.Method, msg)
				require.Equal(t, c.Ties, got.Ties, msg)
				require.InDelta(t, want.U, got.U, 0, msg)
				requireClose(t, want.P, got.PValue, 1e-9, msg)
			}
		})
	}
}

func TestHodgesLehmannMatchesTheBruteForceReference(t *testing.T) {
	for _, c := range loadReference(t).MannWhitney {
		t.Run(c.Name, func(t *testing.T) {
			for _, want := range c.Shifts {
				got, err := HodgesLehmann(c.X, c.Y, want.Confidence)
				require.NoError(t, err)
				require.Equal(t, methods[want.Method], got.Method, want.Confidence)
				require.Equal(t, want.K, got.K, want.Confidence)
				requireClose(t, want.Coverage, got.Coverage, 1e-9, "coverage")
				// numpy averages the middle pair as (a+b)/2, Go as a+(b−a)/2
				requireClose(t, want.Estimate, got.Estimate, 1e-12, "estimate")
				if want.K == 0 {
					require.True(t, math.IsInf(got.Lo, -1) && math.IsInf(got.Hi, 1), "(%v, %v)", got.Lo, got.Hi)
					continue
				}
				requireSameFloat(t, *want.Lo, got.Lo, "lo")
				requireSameFloat(t, *want.Hi, got.Hi, "hi")

				both, err := Compare(c.X, c.Y, TwoSided, want.Confidence)
				require.NoError(t, err)
				require.Equal(t, got, both.Shift)
			}
		})
	}
}

func TestRateTestMatchesScipy(t *testing.T) {
	for _, c := range loadReference(t).Rates {
		ex := Counts{Errors: c.Experiment[0], Total: c.Experiment[1]}
		ctl := Counts{Errors: c.Control[0], Total: c.Control[1]}
		for name, alt := range alternatives {
			got, err := RateTest(ex, ctl, alt, DefaultConfidence)
			require.NoError(t, err)
			requireClose(t, c.P[name], got.PValue, 1e-9, "%v against %v, %s", ex, ctl, name)
		}
		for _, want := range c.Intervals {
			got, err := RateTest(ex, ctl, TwoSided, want.Confidence)
			require.NoError(t, err)
			requireClose(t, want.Diff, got.Diff, 1e-12, "%v against %v: diff", ex, ctl)
			requireClose(t, want.Lo, got.Lo, 1e-9, "%v against %v at %v: lo", ex, ctl, want.Confidence)
			requireClose(t, want.Hi, got.Hi, 1e-9, "%v against %v at %v: hi", ex, ctl, want.Confidence)
		}
	}
}

func TestMinTotalMatchesClopperPearson(t *testing.T) {
	for _, c := range loadReference(t).MinTotal {
		got, err := MinTotal(c.MaxRate, c.Confidence)
		require.NoError(t, err)
		require.Equal(t, c.Total, got, "max rate %v at %v", c.MaxRate, c.Confidence)
	}
}
