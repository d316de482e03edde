package server

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	amalert "github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/abort"
	"github.com/steadywatch/steadywatch/hypothesis"
	"github.com/steadywatch/steadywatch/internal/testenv/promtest"
	"github.com/steadywatch/steadywatch/verdict"
)

// scriptedJudge returns its verdicts in turn, the last one for ever.
type scriptedJudge struct {
	mu     sync.Mutex
	script []verdict.Verdict
	calls  int
}

func (j *scriptedJudge) Judge(_ context.Context, h *hypothesis.Hypothesis, at time.Time) (verdict.Verdict, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.script[min(j.calls, len(j.script)-1)]
	j.calls++
	v.Hypothesis, v.At = h.Name, at
	return v, nil
}

func TestTheVerdictLoopRaisesAndResolvesTheAbortAndStopsAtTheFinalVerdict(t *testing.T) {
	hs, err := hypothesis.Parse([]byte(`apiVersion: steadywatch.io/v1alpha1
kind: Hypothesis
metadata: {name: kill-postgres}
spec:
  service: postgres
  groups: {control: 'g="c"', experimental: 'g="e"'}
  window: {fixed: {start: 2026-11-21T10:00:00Z, end: 2026-11-21T10:30:00Z}}
  metrics:
    - name: errors
      query: 'sum(rate(errors_total{ {{ .Group }} }[1m]))'
      slo: {max: 1}
`), "kill.yaml")
	require.NoError(t, err)
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerOptions{})
	poster, err := abort.New(abort.Options{URL: am.URL()})
	require.NoError(t, err)

	judge := &scriptedJudge{script: []verdict.Verdict{
		{Result: verdict.Fail, Running: true, Abort: true, AbortReasons: []string{"errors above 1"}},
		{Result: verdict.Inconclusive, Running: true},
		{Result: verdict.Fail},
	}}
	start := time.Date(2026, 11, 21, 10, 10, 0, 0, time.UTC)
	var clock sync.Mutex
	now := start
	l := &verdictLoop{
		judge: judge, hypotheses: hs, verdicts: verdict.NewBoard(), abort: poster,
		interval: time.Minute, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now },
	}
	l.final = map[string]bool{}
	alerts := func() int {
		got, err := am.Client().Alert.GetAlerts(amalert.NewGetAlertsParamsWithContext(t.Context()))
		require.NoError(t, err)
		return len(got.Payload)
	}

	l.judgeAll(t.Context())
	v, ok := l.verdicts.Get("kill-postgres")
	require.True(t, ok)
	require.True(t, v.Abort)
	require.True(t, poster.Aborting("kill-postgres"))
	// The alert is dated by the judgement's clock, in the past here: it is
	// held until now + 3 intervals of that clock, so not visible as active
	// in Alertmanager unless that is in the future.
	clock.Lock()
	now = time.Now()
	clock.Unlock()
	l.judge = &scriptedJudge{script: judge.script}
	l.judgeAll(t.Context()) // aborts again, with a current clock
	require.Equal(t, 1, alerts())

	l.judgeAll(t.Context()) // the bound holds again: resolved
	require.False(t, poster.Aborting("kill-postgres"))

	// Past the window's end the verdict is final and not judged again.
	clock.Lock()
	now = time.Date(2026, 11, 21, 10, 31, 0, 0, time.UTC)
	clock.Unlock()
	l.judgeAll(t.Context())
	calls := l.judge.(*scriptedJudge).calls
	l.judgeAll(t.Context())
	require.Equal(t, calls, l.judge.(*scriptedJudge).calls, "a final verdict is kept")
	v, _ = l.verdicts.Get("kill-postgres")
	require.Equal(t, verdict.Fail, v.Result)
	require.False(t, v.Running)
}
