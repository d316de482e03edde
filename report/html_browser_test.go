package report_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/img/weekly-report.png with the browser test's screenshot")

// sentinel is the console message a test writes last: once it has come,
// every message the page wrote before it has too (a target's events come in
// order).
const sentinel = "steadywatch-test-sentinel"

// chromiumPath finds Debian's chromium (or another Chrome). Without one
// the test skips, unless CI is "true", where Chromium must be installed
// (scripts/install-tools.sh installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium binary on PATH (chromium, chromium-browser, google-chrome, headless_shell): " +
		"install it with scripts/install-tools.sh or apt-get install chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true: the HTML report must be checked in a browser")
	}
	t.Skip(msg)
	return ""
}

// browser runs a headless Chromium and records what the page wrote to
// its console, threw, or logged, and the URLs it requested.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	messages []string
	requests []string
	done     chan struct{}
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(1100, 900),
		chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancelAlloc)
	b := &browser{done: make(chan struct{}, 1)}
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithListener(b.listen))
	t.Cleanup(cancelTab)
	b.ctx = ctx
	return b
}

func (b *browser) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			args = append(args, string(a.Value)+a.Description)
		}
		if len(args) == 1 && args[0] == `"`+sentinel+`"` {
			select {
			case b.done <- struct{}{}:
			default:
			}
			return
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if e := ev.ExceptionDetails.Exception; e != nil {
			msg += " " + e.Description
		}
	case *log.EventEntryAdded:
		msg = fmt.Sprintf("log %s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	case *network.EventRequestWillBeSent:
		b.mu.Lock()
		b.requests = append(b.requests, ev.Request.URL)
		b.mu.Unlock()
		return
	default:
		return
	}
	b.mu.Lock()
	b.messages = append(b.messages, msg)
	b.mu.Unlock()
}

// open loads file in the tab and waits for its load event.
func (b *browser) open(t *testing.T, file string) {
	t.Helper()
	b.mu.Lock()
	b.messages, b.requests = nil, nil
	b.mu.Unlock()
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate("file://"+file)))
}

// written waits, until the deadline, for the sentinel, and returns the
// messages before it and the URLs requested.
func (b *browser) written(t *testing.T) (messages, requests []string) {
	t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](`console.debug("`+sentinel+`")`))
	require.NoError(t, err)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the console message written last did not come within 30 s")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.messages, b.requests
}

func TestTheHTMLReportInChromium(t *testing.T) {
	b := newBrowser(t)

	t.Run("the check sees console errors, exceptions and failed loads", func(t *testing.T) {
		page := filepath.Join(t.TempDir(), "bad.html")
		require.NoError(t, os.WriteFile(page, []byte(`<!DOCTYPE html><html><body><img src="missing.png">`+
			`<script>console.error("boom"); throw new Error("bang")</script></body></html>`), 0o600))
		b.open(t, page)
		messages, requests := b.written(t)
		joined := strings.Join(messages, "\n")
		require.Contains(t, joined, "console.error")
		require.Contains(t, joined, "boom")
		require.Contains(t, joined, "bang")
		require.Contains(t, strings.Join(requests, "\n"), "missing.png")
	})

	r, page := htmlReport(t)
	file := filepath.Join(t.TempDir(), "weekly-report.html")
	require.NoError(t, os.WriteFile(file, page, 0o600))
	b.open(t, file)

	// What the browser drew: per chart, the bars and points with an area.
	type drawn struct {
		Bars, Points, Drawn int
		Title, Desc         bool
	}
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]drawn](`Object.fromEntries(
		[...document.querySelectorAll("svg[data-chart]")].map(svg => {
			const marks = [...svg.querySelectorAll(".bar, .point")];
			return [svg.dataset.chart, {
				Bars: svg.querySelectorAll(".bar").length,
				Points: svg.querySelectorAll(".point").length,
				Drawn: marks.filter(m => { const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length,
				Title: !!svg.querySelector(":scope > title") && svg.querySelector(":scope > title").textContent.length > 0,
				Desc: !!svg.querySelector(":scope > desc") && svg.querySelector(":scope > desc").textContent.length > 0,
			}];
		}))`))
	require.NoError(t, err)
	want := wantMarks(r)
	require.Len(t, got, len(chartMark))
	for chart, mark := range chartMark {
		g, ok := got[chart]
		require.True(t, ok, "no <svg data-chart=%q>", chart)
		require.True(t, g.Title && g.Desc, "%s: a title and a description", chart)
		require.Positive(t, want[chart], "%s: the fixture gives it nothing to draw", chart)
		n := g.Bars
		if mark == "point" {
			n = g.Points
		}
		require.Equal(t, want[chart], n, "%s: %ss", chart, mark)
		require.Equal(t, n, g.Drawn, "%s: each %s drawn with an area", chart, mark)
	}

	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(shot), "\x89PNG"), "a PNG")
	require.NoError(t, os.WriteFile(filepath.Join(t.ArtifactDir(), "weekly-report.png"), shot, 0o600))
	if *update {
		// The docs show the page down to the last chart's table, not the
		// long per-service tables after it.
		bottom, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](
			`document.querySelector('svg[data-chart="detection-coverage"]').closest("figure").getBoundingClientRect().bottom + window.scrollY + 16`))
		require.NoError(t, err)
		full, err := png.Decode(bytes.NewReader(shot))
		require.NoError(t, err)
		rect := full.Bounds()
		rect.Max.Y = min(rect.Max.Y, int(bottom))
		cropped, ok := full.(interface {
			SubImage(image.Rectangle) image.Image
		})
		require.True(t, ok)
		var out bytes.Buffer
		require.NoError(t, png.Encode(&out, cropped.SubImage(rect)))
		require.NoError(t, os.WriteFile(filepath.Join("..", "docs", "img", "weekly-report.png"), out.Bytes(), 0o644))
	}

	messages, requests := b.written(t)
	require.Empty(t, messages, "console messages, exceptions or log entries")
	require.Equal(t, []string{"file://" + file}, requests, "the report fetches nothing")
}
