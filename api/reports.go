package api

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/report"
	"github.com/steadywatch/steadywatch/store"
)

// WeeklyReportPath serves the weekly report.
const WeeklyReportPath = "/api/v1/reports/weekly"

// Defaults of WeeklyReportPath's query parameters.
const (
	DefaultReportFormat = "json"
	DefaultReportTZ     = "UTC"
)

// reportParams are WeeklyReportPath's query parameters.
var reportParams = []string{"week", "from", "to", "tz", "format", ClusterParam}

// WeeklyReportOptions configure WeeklyReport.
type WeeklyReportOptions struct {
	// Source is the store the report reads.
	Source report.Source
	// Base are the report's options but its range (see
	// report.Options.Configure).
	Base report.Options
	// Now is the time a default week is the last whole one before
	// (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Clusters reads the other clusters the cluster parameter asks for;
	// nil is a serve of one cluster.
	Clusters *Clusters
}

// WeeklyReport serves WeeklyReportPath: the report of an ISO week (week,
// default the last whole one) or of a range (from and to, RFC 3339), in
// the time zone tz (default UTC), as format (md, json — the default —,
// csv, or any report.Write knows), with format's Content-Type. The query
// is checked as "steadywatch report weekly" checks its flags
// (report.Request); a bad parameter gets 400 naming it, a store that
// cannot be read 500, logged. cluster (ClusterParam) reports another
// cluster of the store, or with * every one, grouped by cluster.
func WeeklyReport(o WeeklyReportOptions) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := reportRequest(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{Error: err.Error()})
			return
		}
		opts, err := req.Options(now())
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{Error: "query parameter " + err.Error()})
			return
		}
		source := o.Source
		view, err := o.Clusters.View(r)
		if err != nil {
			WriteClusterError(w, err)
			return
		} else if view != nil {
			source = view
		}
		base := o.Base
		base.Range, base.Now, base.TrendRanges = opts.Range, opts.Now, opts.TrendRanges
		var write func(io.Writer) error
		var names []string
		all := r.URL.Query().Get(ClusterParam) == store.AllClusters
		if all {
			if names, err = view.Clusters(r.Context()); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, Error{Error: "store unavailable: " + err.Error()})
				return
			}
			if req.Format == "html" {
				// A page shows one cluster: the only one there is (or
				// the own one, before any row), as the CLI gives it.
				switch {
				case len(names) > 1:
					writeJSON(w, http.StatusBadRequest, Error{Error: "query parameter format: html shows one cluster; give cluster=NAME, one of " + strings.Join(names, ", ")})
					return
				case len(names) == 1:
					if source, err = view.ForCluster(names[0]); err != nil {
						writeJSON(w, http.StatusServiceUnavailable, Error{Error: "store unavailable: " + err.Error()})
						return
					}
				default:
					source = o.Source
				}
				all = false
			}
		}
		if all {
			// Every cluster: a report each, from its own rows.
			c, err := report.WeeklyClusters(r.Context(), names, func(name string) (report.Source, error) { return view.ForCluster(name) }, base)
			if err != nil {
				log.Error("computing the weekly report", "range", opts.Range.String(), "err", err)
				writeJSON(w, http.StatusInternalServerError, Error{Error: "computing the report: " + err.Error()})
				return
			}
			write = func(w io.Writer) error { return report.WriteClustered(w, c, req.Format) }
		} else {
			rep, err := report.Weekly(r.Context(), source, base)
			if err != nil {
				log.Error("computing the weekly report", "range", opts.Range.String(), "err", err)
				writeJSON(w, http.StatusInternalServerError, Error{Error: "computing the report: " + err.Error()})
				return
			}
			write = func(w io.Writer) error { return report.Write(w, rep, req.Format) }
		}
		// Written whole first, so that a failure is a 500, not a 200 cut
		// short.
		var body bytes.Buffer
		if err := write(&body); err != nil {
			log.Error("writing the weekly report", "format", req.Format, "err", err)
			writeJSON(w, http.StatusInternalServerError, Error{Error: "writing the report: " + err.Error()})
			return
		}
		w.Header().Set("Content-Type", report.ContentType(req.Format))
		w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
		w.WriteHeader(http.StatusOK)
		_, _ = body.WriteTo(w) // the client went away: nothing to tell it
	})
}

// reportRequest reads the query, refusing parameters it does not know or
// given twice.
func reportRequest(r *http.Request) (report.Request, error) {
	values := r.URL.Query()
	for name, v := range values {
		if !slices.Contains(reportParams, name) {
			return report.Request{}, fmt.Errorf("unknown query parameter %s: want week, from, to, tz, format or cluster", quote(name))
		}
		if len(v) > 1 {
			return report.Request{}, fmt.Errorf("query parameter %s: given %d times, want at most once", name, len(v))
		}
	}
	req := report.Request{
		Week: values.Get("week"), From: values.Get("from"), To: values.Get("to"),
		TZ: DefaultReportTZ, Format: DefaultReportFormat,
		Given: values.Has,
	}
	if values.Has("tz") {
		req.TZ = values.Get("tz")
	}
	if values.Has("format") {
		req.Format = values.Get("format")
	}
	return req, nil
}
