package api

import (
	"net/http"
	"strconv"

	"github.com/steadywatch/steadywatch/verdict"
)

// Verdict paths: every hypothesis's current verdict, or one's.
const (
	VerdictsPath = "/api/v1/verdicts"
	VerdictPath  = "/api/v1/verdicts/{hypothesis}"
)

// VerdictSource holds the current verdicts; *verdict.Board is one.
type VerdictSource interface {
	Latest() []verdict.Verdict
	Get(name string) (verdict.Verdict, bool)
}

// VerdictList is the response of VerdictsPath.
type VerdictList struct {
	Verdicts []verdict.Verdict `json:"verdicts"`
}

// Verdicts serves VerdictsPath: every current verdict with its evidence,
// by hypothesis name. The one query parameter is cluster (ClusterParam),
// which the caller has read to pick s (Clusters.View).
func Verdicts(s VerdictSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.URL.Query() {
			if name != ClusterParam {
				writeJSON(w, http.StatusBadRequest, Error{Error: "unknown query parameter " + quote(name) +
					": want cluster; ask " + VerdictsPath + "/NAME for one hypothesis"})
				return
			}
		}
		list := s.Latest()
		if list == nil {
			list = []verdict.Verdict{}
		}
		writeJSON(w, http.StatusOK, VerdictList{Verdicts: list})
	})
}

// Verdict serves VerdictPath: one hypothesis's current verdict; 404 naming
// it if there is none (not loaded, or not judged yet).
func Verdict(s VerdictSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("hypothesis")
		v, ok := s.Get(name)
		if !ok {
			writeJSON(w, http.StatusNotFound, Error{Error: "no verdict for hypothesis " + quote(name) + ": not loaded, or not judged yet"})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// quote quotes a name taken from a request, cut to a sane length.
func quote(s string) string {
	if len(s) > 253 {
		s = s[:253] + "…"
	}
	return strconv.Quote(s)
}
