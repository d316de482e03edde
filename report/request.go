package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steadywatch/steadywatch/config"
)

// Request is what a report is asked for, in the words of "steadywatch
// report weekly"'s flags and of the API's query parameters alike: a week,
// or from and to, in a time zone, in a format. Checking it in one place
// makes the command and the API refuse the same input the same way.
type Request struct {
	// Week is an ISO week, "2026-W48"; From and To are RFC 3339 times.
	// None given is the last whole ISO week.
	Week, From, To string
	// TZ is the time zone of the week's boundaries and the times shown
	// (time.LoadLocation's names: UTC, Local, Europe/Berlin).
	TZ string
	// Format is one of Formats.
	Format string
	// Given says which of "week", "from" and "to" were given, even empty.
	Given func(param string) bool
	// Name spells a parameter in errors: "--week" for a flag, "week" for a
	// query parameter (the default).
	Name func(param string) string
}

// RequestError is a Request's bad parameter.
type RequestError struct {
	// Param is the parameter at fault: week, from, to, tz or format.
	Param string
	// Message says what is wrong with it, the parameters it names spelled
	// by Request.Name.
	Message string
	name    string
}

func (e *RequestError) Error() string { return e.name + ": " + e.Message }

// Options checks the request and returns the options of the report it
// asks for, Range and Now set (the rest left for Configure and the
// defaults); now is the time a default week is the last whole one before.
// Its error is a *RequestError.
func (q Request) Options(now time.Time) (Options, error) {
	name := q.Name
	if name == nil {
		name = func(p string) string { return p }
	}
	given := q.Given
	if given == nil {
		given = func(p string) bool {
			return p == "week" && q.Week != "" || p == "from" && q.From != "" || p == "to" && q.To != ""
		}
	}
	bad := func(param, format string, a ...any) (Options, error) {
		return Options{}, &RequestError{Param: param, Message: fmt.Sprintf(format, a...), name: name(param)}
	}
	if !slices.Contains(Formats, q.Format) {
		return bad("format", "%q is not one of %s", q.Format, strings.Join(Formats, ", "))
	}
	loc, err := time.LoadLocation(q.TZ)
	if err != nil || q.TZ == "" {
		return bad("tz", "%q is not a time zone such as UTC, Local or Europe/Berlin", q.TZ)
	}
	var rg Range
	switch {
	case given("week") && (given("from") || given("to")):
		return bad("week", "give either %s or %s and %s, not both", name("week"), name("from"), name("to"))
	case given("from") != given("to"):
		if given("from") {
			return bad("to", "required with %s", name("from"))
		}
		return bad("from", "required with %s", name("to"))
	case given("from"):
		from, err := time.Parse(time.RFC3339Nano, q.From)
		if err != nil {
			return bad("from", "%q is not an RFC 3339 time such as 2026-03-23T00:00:00+01:00", q.From)
		}
		to, err := time.Parse(time.RFC3339Nano, q.To)
		if err != nil {
			return bad("to", "%q is not an RFC 3339 time such as 2026-03-30T00:00:00+02:00", q.To)
		}
		if rg, err = Between(from, to, loc); err != nil {
			return bad("from", "%s is not before %s %s", q.From, name("to"), q.To)
		}
	case given("week"):
		if rg, err = ParseWeek(q.Week, loc); err != nil {
			return bad("week", "%v", err)
		}
	default:
		rg = LastWeek(now, loc)
	}
	o := Options{Range: rg, Now: func() time.Time { return now }}
	if q.Format == "html" {
		o.TrendRanges = HTMLTrendRanges
	}
	return o, nil
}

// HTMLTrendRanges is how many ranges, the reported one last, the HTML
// report's MTTR/MTTD trend covers: Request sets Options.TrendRanges to it
// for the html format.
const HTMLTrendRanges = 8

// Configure sets the options the configuration holds: the alert labels
// (alerts.service_labels, alerts.severity_label) and the reports section.
func (o *Options) Configure(cfg *config.Config) {
	o.ServiceLabels = cfg.Alerts.ServiceLabels
	o.SeverityLabel = cfg.Alerts.SeverityLabel
	o.ChaosLevel = Level(cfg.Reports.ChaosLevel)
	o.NoisyWithin = time.Duration(cfg.Reports.NoisyWithin)
	o.FlapCount = cfg.Reports.FlapCount
	o.DetectionBound = time.Duration(cfg.Reports.DetectionBound)
	o.Levels = []Severity{}
	for _, s := range cfg.Reports.SeverityLevels {
		o.Levels = append(o.Levels, Severity{Severity: s.Severity, Level: Level(s.Level)})
	}
}
