package limits_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/store/limits"
)

func TestTimesAreKeptExactlyWithinUnixNanoseconds(t *testing.T) {
	require.NoError(t, limits.Time(limits.MinTime))
	require.NoError(t, limits.Time(limits.MaxTime))
	require.EqualError(t, limits.Time(limits.MinTime.Add(-time.Nanosecond)),
		"1677-09-21T00:12:43.145224191Z is out of range (years 1678 to 2261)")
	require.EqualError(t, limits.Time(limits.MaxTime.Add(time.Nanosecond)),
		"2262-04-11T23:47:16.854775808Z is out of range (years 1678 to 2261)")
	require.Equal(t, int64(-1<<63), limits.MinTime.UnixNano())
	require.Equal(t, int64(1<<63-1), limits.MaxTime.UnixNano())
}

func TestAFingerprintIsBoundedAndWithoutNUL(t *testing.T) {
	require.NoError(t, limits.Fingerprint("91f256e26f418daa"))
	require.NoError(t, limits.Fingerprint(strings.Repeat("f", limits.MaxFingerprintBytes)))
	require.EqualError(t, limits.Fingerprint(strings.Repeat("f", limits.MaxFingerprintBytes+1)), "65 bytes: want at most 64")
	require.EqualError(t, limits.Fingerprint("f\x00"), "NUL character at byte 1: the store cannot keep it")
}

func TestAMapNamesTheFirstKeyOrValueWithNULInSortedOrder(t *testing.T) {
	require.NoError(t, limits.Map("labels", map[string]string{"a": "\t\n", "ü": "\u2028"}))
	require.NoError(t, limits.Map("labels", nil))
	require.EqualError(t, limits.Map("labels", map[string]string{"z": "\x00", "b\x00": "x", "a": "ok"}),
		`labels["b\x00"]: NUL character at byte 1: the store cannot keep it`)
	require.EqualError(t, limits.Map("annotations", map[string]string{"summary": "ab\x00"}),
		"annotations.summary: NUL character at byte 2: the store cannot keep it")
}

func TestKeyQuotesWhatIsNotAnIdentifier(t *testing.T) {
	for k, want := range map[string]string{
		"alertname": ".alertname", "_x9": "._x9", "9x": `["9x"]`, "": `[""]`,
		"foo bar": `["foo bar"]`, "app.kubernetes.io/name": `["app.kubernetes.io/name"]`, "ü": `["ü"]`,
	} {
		require.Equal(t, want, limits.Key(k), k)
	}
}
