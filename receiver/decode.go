package receiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/steadywatch/steadywatch/alert"
	"github.com/steadywatch/steadywatch/contract"
	"github.com/steadywatch/steadywatch/store/limits"
)

// Version is the only webhook protocol version Alertmanager has sent since
// 0.x; the receiver rejects any other rather than guess at its meaning.
const Version = "4"

// Source is what Decode puts in alert.Alert.Source.
const Source = alert.SourceWebhook

// MaxLabelValueBytes bounds an alert's label values. Prometheus and
// Alertmanager set no bound; 16 KiB is far more than a label meant to
// identify an alert holds (texts belong in annotations) and keeps one alert
// from filling the store.
const MaxLabelValueBytes = 16 << 10

// AlertError is why Decode rejected one alert of a notification.
type AlertError struct {
	// Index is the alert's in the notification's alerts.
	Index int
	// Field is the alert's field at fault as the JSON names it, e.g.
	// "startsAt"; Path (e.g. `labels["foo bar"]`) and Msg tell more.
	Field, Path, Msg string
}

func (e *AlertError) Error() string {
	return "alerts[" + strconv.Itoa(e.Index) + "]." + e.Path + ": " + e.Msg
}

// Reason is e's reason label of steadywatch_alerts_rejected_total.
func (e *AlertError) Reason() string {
	switch e.Field {
	case "fingerprint":
		return contract.RejectedFingerprint
	case "status":
		return contract.RejectedStatus
	case "labels":
		return contract.RejectedLabels
	case "annotations":
		return contract.RejectedAnnotations
	case "startsAt":
		return contract.RejectedStartsAt
	case "endsAt":
		return contract.RejectedEndsAt
	default:
		return contract.RejectedGeneratorURL
	}
}

// Decode decodes, validates and converts an Alertmanager webhook body to
// domain alerts received at receivedAt. It uses Alertmanager's own wire
// types, so it reads what Alertmanager writes. Fields it does not know are
// ignored: newer Alertmanagers may add some, and the protocol version
// would change if their meaning did.
//
// A body that is not what Alertmanager's encoder writes (not JSON, a field
// of the wrong type, a null for a string, invalid UTF-8 or an escaped lone
// surrogate that decoding would silently turn into U+FFFD), or whose
// envelope is wrong (version, receiver, group key), is an error: nothing
// of it is trusted. An alert that decodes but that Alertmanager would not
// send or the store could not keep is rejected alone, with the others
// returned: no retry would make it pass, and it must not cost them.
// Errors name the offending field by its JSON path, e.g.
// "alerts[2].fingerprint: missing".
func Decode(body []byte, receivedAt time.Time) (alerts []alert.Alert, rejected []*AlertError, err error) {
	if len(body) == 0 {
		return nil, nil, errors.New("empty body: want an Alertmanager webhook notification (a JSON object)")
	}
	if err := checkEncoding(body); err != nil {
		return nil, nil, err
	}
	var msg webhook.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, nil, explain(body, err)
	}
	if err := checkNulls(body, &msg); err != nil {
		return nil, nil, err
	}
	if err := validate(&msg); err != nil {
		return nil, nil, err
	}
	alerts = make([]alert.Alert, 0, len(msg.Alerts))
	for i := range msg.Alerts {
		if e := validateAlert(&msg.Alerts[i]); e != nil {
			e.Index = i
			rejected = append(rejected, e)
			continue
		}
		alerts = append(alerts, convert(&msg, &msg.Alerts[i], receivedAt))
	}
	return alerts, rejected, nil
}

func validate(msg *webhook.Message) error {
	switch msg.Version {
	case Version:
	case "":
		return fmt.Errorf("version: missing: want %q", Version)
	default:
		return fmt.Errorf("unsupported webhook version %q: want %q", msg.Version, Version)
	}
	if msg.Data == nil || msg.Alerts == nil {
		return errors.New("alerts: missing")
	}
	// Stored with every alert.
	if err := limits.Text(msg.Receiver); err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	if err := limits.Text(msg.GroupKey); err != nil {
		return fmt.Errorf("groupKey: %w", err)
	}
	return nil
}

// validateAlert reports the first field of a that Alertmanager would not
// send or the store could not keep (package limits, the store's own
// definition).
func validateAlert(a *template.Alert) *AlertError {
	bad := func(field, path, format string, args ...any) *AlertError {
		return &AlertError{Field: field, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case a.Fingerprint == "":
		return bad("fingerprint", "fingerprint", "missing")
	case limits.Fingerprint(a.Fingerprint) != nil:
		return bad("fingerprint", "fingerprint", "%v", limits.Fingerprint(a.Fingerprint))
	case controlAt(a.Fingerprint, false) != "":
		return bad("fingerprint", "fingerprint", "%s", controlAt(a.Fingerprint, false))
	case a.Status == "":
		return bad("status", "status", "missing")
	case a.Status != string(alert.Firing) && a.Status != string(alert.Resolved):
		return bad("status", "status", "%q is neither %q nor %q", a.Status, alert.Firing, alert.Resolved)
	case len(a.Labels) == 0:
		// Alertmanager refuses alerts without labels; one without them
		// could not be matched to anything.
		return bad("labels", "labels", "missing")
	}
	if e := validateLabels(a.Labels); e != nil {
		return e
	}
	switch {
	case a.StartsAt.IsZero():
		return bad("startsAt", "startsAt", "missing")
	case limits.Time(a.StartsAt) != nil:
		return bad("startsAt", "startsAt", "%v", limits.Time(a.StartsAt))
	case a.EndsAt.IsZero():
	case limits.Time(a.EndsAt) != nil:
		return bad("endsAt", "endsAt", "%v", limits.Time(a.EndsAt))
	case a.EndsAt.Before(a.StartsAt):
		// Alertmanager refuses such alerts.
		return bad("endsAt", "endsAt", "%s is before startsAt %s",
			a.EndsAt.UTC().Format(time.RFC3339Nano), a.StartsAt.UTC().Format(time.RFC3339Nano))
	}
	if err := limits.Map("annotations", a.Annotations); err != nil {
		if pe, ok := errors.AsType[*limits.PathError](err); ok {
			return bad("annotations", pe.Path, "%v", pe.Err)
		}
		return bad("annotations", "annotations", "%v", err)
	}
	if err := limits.Text(a.GeneratorURL); err != nil {
		return bad("generatorURL", "generatorURL", "%v", err)
	}
	return nil
}

// validateLabels checks labels by Prometheus' legacy label name rules,
// which are Alertmanager 0.25's (UTF-8 names came with 0.28, behind a flag;
// prometheus/common's package default is UTF-8 now, so the scheme is named
// here rather than taken from it), and bounds their values: at most
// MaxLabelValueBytes, no NUL (package limits) and no other control
// character but tab, line feed and carriage return. It names the first bad
// label in sorted order; the labels are sorted only when one is bad, as
// sorting costs every alert allocations.
func validateLabels(labels template.KV) *AlertError {
	bad := false
	for name, value := range labels {
		if bad = labelProblem(name, value) != ""; bad {
			break
		}
	}
	if !bad {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		if msg := labelProblem(name, labels[name]); msg != "" {
			return &AlertError{Field: "labels", Path: "labels" + limits.Key(name), Msg: msg}
		}
	}
	return nil
}

// labelProblem is what is wrong with a label, or "".
func labelProblem(name, value string) string {
	if err := limits.Text(name); err != nil {
		return err.Error()
	}
	if !model.LegacyValidation.IsValidLabelName(name) {
		return "invalid label name: want letters, digits and underscores, not starting with a digit"
	}
	if len(value) > MaxLabelValueBytes {
		return fmt.Sprintf("%d bytes: want at most %d", len(value), MaxLabelValueBytes)
	}
	if err := limits.Text(value); err != nil {
		return err.Error()
	}
	return controlAt(value, true)
}

// controlAt describes the first control character (C0, DEL or C1) in s,
// tab, line feed and carriage return allowed if text; "" if there is none.
func controlAt(s string, text bool) string {
	for i, r := range s {
		if text && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("control character %U at byte %d", r, i)
		}
	}
	return ""
}

func convert(msg *webhook.Message, a *template.Alert, receivedAt time.Time) alert.Alert {
	return alert.Alert{
		Fingerprint:  a.Fingerprint,
		Status:       alert.Status(a.Status),
		Labels:       a.Labels,
		Annotations:  a.Annotations,
		StartsAt:     a.StartsAt.UTC(),
		EndsAt:       utcOrZero(a.EndsAt),
		GeneratorURL: a.GeneratorURL,
		Receiver:     msg.Receiver,
		GroupKey:     msg.GroupKey,
		ReceivedAt:   receivedAt,
		Source:       Source,
	}
}

// utcOrZero maps Alertmanager's "no end yet" (0001-01-01T00:00:00Z, Go's
// zero time) to the zero time.Time, and everything else to UTC.
func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// explain turns an encoding/json error into one that names the field by its
// JSON path with the alert's index. encoding/json leaves the index out
// ("Go struct field Alert.Data.alerts.labels") and, for errors from a
// field's own UnmarshalJSON such as time.Time's, the field too, so the
// body is decoded again piece by piece to find it. This only runs for bodies
// already known to be bad.
func explain(body []byte, err error) error {
	if syntax, ok := errors.AsType[*json.SyntaxError](err); ok {
		// encoding/json's offset is past the offending byte, or the length
		// of the body if it ended too soon.
		at := syntax.Offset
		if at > 0 && at <= int64(len(body)) && !strings.Contains(syntax.Error(), "unexpected end") {
			at--
		}
		line, col := position(body, at)
		return fmt.Errorf("invalid JSON at line %d, column %d (byte offset %d): %s", line, col, at, strings.TrimPrefix(syntax.Error(), "json: "))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return fmt.Errorf("body: want a JSON object (an Alertmanager webhook notification), got %s", typeErr.Value)
		}
		return err
	}
	// The envelope without the alerts: Alertmanager's own type, with its
	// alerts shadowed by a shallower field so they can be decoded one by one.
	var envelope struct {
		webhook.Message
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fieldError("", err)
	}
	for i, raw := range envelope.Alerts {
		var a template.Alert
		if err := json.Unmarshal(raw, &a); err != nil {
			return fieldError("alerts["+strconv.Itoa(i)+"]", locate(raw, err))
		}
	}
	// Not localised; encoding/json's own message is still the best there is.
	return err
}

// locate finds what in an alert encoding/json's error is about when the
// error does not say: the label (or annotation) whose value is not a
// string, or which of the times time.Time.UnmarshalJSON rejected.
func locate(raw json.RawMessage, err error) error {
	if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if typeErr.Field == "labels" || typeErr.Field == "annotations" {
			return kvError(raw, typeErr)
		}
		return err
	}
	var times struct {
		StartsAt json.RawMessage `json:"startsAt"`
		EndsAt   json.RawMessage `json:"endsAt"`
	}
	if json.Unmarshal(raw, &times) != nil {
		return err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"startsAt", times.StartsAt}, {"endsAt", times.EndsAt}} {
		if f.raw == nil {
			continue
		}
		var t time.Time
		if terr := json.Unmarshal(f.raw, &t); terr != nil {
			return &pathError{path: f.name, msg: timeMessage(f.raw, terr)}
		}
	}
	return err
}

// kvError names the first key, in sorted order, of the labels or
// annotations whose value is not a string.
func kvError(raw json.RawMessage, typeErr *json.UnmarshalTypeError) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return typeErr
	}
	var kv map[string]json.RawMessage
	for k, v := range fields {
		if strings.EqualFold(k, typeErr.Field) && json.Unmarshal(v, &kv) == nil {
			break
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		var s string
		if json.Unmarshal(kv[k], &s) != nil {
			return &pathError{
				path: typeErr.Field + limits.Key(k),
				msg:  "want a string, got " + jsonKind(kv[k]),
			}
		}
	}
	return typeErr
}

func timeMessage(raw json.RawMessage, err error) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "want an RFC 3339 time string, got " + jsonKind(raw)
	}
	if _, ok := errors.AsType[*time.ParseError](err); ok {
		return fmt.Sprintf("want an RFC 3339 time, got %q", s)
	}
	return err.Error()
}

// jsonKind names the JSON type of a valid JSON value.
func jsonKind(raw json.RawMessage) string {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	if s == "" {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

type pathError struct {
	path string
	msg  string
}

func (e *pathError) Error() string { return e.path + ": " + e.msg }

// fieldError prefixes err with the JSON path of the field it is about.
func fieldError(prefix string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var pe *pathError
	var path, msg string
	switch {
	case errors.As(err, &typeErr):
		path = jsonPath(typeErr.Field)
		msg = fmt.Sprintf("want %s, got %s (byte offset %d)", goKind(typeErr.Type), typeErr.Value, typeErr.Offset)
		if prefix != "" {
			// The offset is within the alert, not the body: leave it out.
			msg = fmt.Sprintf("want %s, got %s", goKind(typeErr.Type), typeErr.Value)
		}
	case errors.As(err, &pe):
		path, msg = pe.path, pe.msg
	default:
		if prefix == "" {
			return err
		}
		return errors.New(prefix + ": " + err.Error())
	}
	switch {
	case prefix == "":
	case path == "":
		path = prefix
	default:
		path = prefix + "." + path
	}
	if path == "" {
		return errors.New(msg)
	}
	return errors.New(path + ": " + msg)
}

// jsonPath turns encoding/json's field path ("Data.alerts", with the names
// of embedded structs) into the JSON one ("alerts").
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p == "Data" || p == "Message" {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

// goKind describes a Go type as the JSON it decodes from.
func goKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return goKind(t.Elem())
	default:
		return "a value of type " + t.String()
	}
}

// position converts a byte offset into a 1-based line and column.
func position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	line, col = 1, 1
	for _, b := range body[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
