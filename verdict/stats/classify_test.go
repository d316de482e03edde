package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	higherIsWorse := Criteria{Direction: Increase, AllowedRelative: 0.2}
	cases := []struct {
		name      string
		effect    Effect
		reference float64
		criteria  Criteria
		want      Class
		reason    string
	}{
		{
			"an interval containing 0 passes",
			Effect{0.01, -0.02, 0.04},
			0.1, higherIsWorse, Pass,
			"no significant change: the interval [-0.02, 0.04] contains 0",
		},
		{
			"an infinite interval (too few values) passes",
			Effect{0.5, math.Inf(-1), math.Inf(1)},
			0.1, higherIsWorse, Pass,
			"no significant change: the interval [-Inf, +Inf] contains 0",
		},
		{
			"a significant increase beyond the allowance is high",
			Effect{0.05, 0.03, 0.07},
			0.1, higherIsWorse, High,
			"significant increase of 0.05 (50 % of the control's 0.1) exceeds the allowed 0.02",
		},
		{
			"a significant increase within the allowance passes",
			Effect{0.015, 0.005, 0.025},
			0.1, higherIsWorse, Pass,
			"significant increase of 0.015 (15 % of the control's 0.1) within the allowed 0.02",
		},
		{
			"a decrease passes when only increases are harmful",
			Effect{-0.05, -0.07, -0.03},
			0.1, higherIsWorse, Pass,
			"significant decrease of 0.05, but only increases are harmful",
		},
		{
			"a large decrease is low when lower is worse",
			Effect{-50, -70, -30},
			100,
			Criteria{Direction: Decrease, AllowedRelative: 0.2},
			Low,
			"significant decrease of 50 (50 % of the control's 100) exceeds the allowed 20",
		},
		{
			"either direction catches an increase",
			Effect{50, 30, 70},
			100,
			Criteria{Direction: Either, AllowedRelative: 0.2},
			High,
			"significant increase of 50 (50 % of the control's 100) exceeds the allowed 20",
		},
		{
			"a relative allowance against a zero control is inconclusive",
			Effect{2, 1, 3},
			0, higherIsWorse, Inconclusive,
			"significant increase of 2, but the control's location is 0: a relative allowance of 0.2 cannot size it (set an absolute one)",
		},
		{
			"an absolute allowance sizes a change against a zero control",
			Effect{2, 1, 3},
			0,
			Criteria{Direction: Increase, AllowedRelative: 0.2, AllowedAbsolute: 1},
			High,
			"significant increase of 2 exceeds the allowed 1",
		},
		{
			"the larger allowance applies",
			Effect{0.05, 0.03, 0.07},
			0.1,
			Criteria{Direction: Increase, AllowedRelative: 0.2, AllowedAbsolute: 0.06},
			Pass,
			"significant increase of 0.05 (50 % of the control's 0.1) within the allowed 0.06",
		},
		{
			"no allowance fails any significant harmful change, even at a zero control",
			Effect{2, 1, 3},
			0,
			Criteria{Direction: Increase},
			High,
			"significant increase of 2 exceeds the allowed 0",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Classify(c.effect, c.reference, c.criteria)
			require.NoError(t, err)
			require.Equal(t, c.want, got.Class)
			require.Equal(t, c.reason, got.Reason)
		})
	}
}

func TestClassifyRejectsWhatIsNotAnInterval(t *testing.T) {
	_, err := Classify(Effect{0, 1, -1}, 1, Criteria{})
	require.EqualError(t, err, "effect 0 [1, -1]: not an interval")
	_, err = Classify(Effect{0, -1, 1}, math.NaN(), Criteria{})
	require.EqualError(t, err, "reference NaN: not a finite number")
	_, err = Classify(Effect{0, -1, 1}, 1, Criteria{AllowedRelative: -0.1})
	require.EqualError(t, err, "allowed change -0.1 (relative), 0 (absolute): must be finite and ≥ 0")
	_, err = Classify(Effect{0, -1, 1}, 1, Criteria{Direction: Direction(5)})
	require.EqualError(t, err, "direction Direction(5): unknown")
}
