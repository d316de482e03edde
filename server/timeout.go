package server

import (
	"context"
	"io"
	"net/http"
	"time"
)

// requestTimeout bounds every request to the API server but watches by d.
// rest.Config.Timeout would bound watches too (it is the http.Client's
// Timeout): every watch stream was cut after 30 s and started again.
func requestTimeout(d time.Duration) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		return &timeoutTransport{next: rt, d: d}
	}
}

type timeoutTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if w := req.URL.Query().Get("watch"); w == "true" || w == "1" {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	// The deadline covers reading the body too; closing it ends the timer.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
