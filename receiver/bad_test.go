package receiver_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/receiver"
)

// okAlert is a valid alert to put next to a bad one.
const okAlert = `{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"f0"}`

// withLabels is okAlert with other labels.
func withLabels(labels string) string {
	return strings.Replace(okAlert, `{"alertname":"A"}`, labels, 1)
}

// withField is okAlert with one more field (before its fingerprint).
func withField(field string) string {
	return strings.Replace(okAlert, `"fingerprint"`, field+`,"fingerprint"`, 1)
}

func notification(alerts ...string) string {
	return `{"version":"4","receiver":"hook","alerts":[` + strings.Join(alerts, ",") + `]}`
}

type badRequest struct {
	name        string
	encoding    string
	method      string // POST if empty
	contentType string // application/json if empty; "-" for none
	body        string
	chunked     bool // no Content-Length
	code        int
	msg         string
}

func badRequests() []badRequest {
	return []badRequest{
		{
			name: "a truncated JSON object is a syntax error with its position",
			body: `{"version":"4","alerts":[`,
			code: 400, msg: "invalid JSON at line 1, column 26 (byte offset 25): unexpected end of JSON input",
		},
		{
			name: "a syntax error in a pretty-printed body names its line and column",
			body: "{\n  \"version\": \"4\",\n  \"alerts\": [}\n}",
			code: 400, msg: "invalid JSON at line 3, column 14 (byte offset 33): invalid character '}' looking for beginning of value",
		},
		{
			name: "a JSON string is not a notification",
			body: `"hello"`,
			code: 400, msg: "body: want a JSON object (an Alertmanager webhook notification), got string",
		},
		{
			name: "an array at the top level is not a notification",
			body: `[` + notification(okAlert) + `]`,
			code: 400, msg: "body: want a JSON object (an Alertmanager webhook notification), got array",
		},
		{
			name: "null is a notification without a version",
			body: `null`,
			code: 400, msg: `version: missing: want "4"`,
		},
		{
			name: "another protocol version is refused rather than guessed at",
			body: strings.Replace(notification(okAlert), `"version":"4"`, `"version":"3"`, 1),
			code: 400, msg: `unsupported webhook version "3": want "4"`,
		},
		{
			name: "a missing version is refused",
			body: `{"alerts":[` + okAlert + `]}`,
			code: 400, msg: `version: missing: want "4"`,
		},
		{
			name: "a version that is a number names the field and offset",
			body: `{"version":4,"alerts":[]}`,
			code: 400, msg: "version: want a string, got number (byte offset 12)",
		},
		{
			name: "a notification without alerts is refused",
			body: `{"version":"4","receiver":"hook"}`,
			code: 400, msg: "alerts: missing",
		},
		{
			name: "null alerts are missing alerts",
			body: `{"version":"4","alerts":null}`,
			code: 400, msg: "alerts: missing",
		},
		{
			name: "alerts that are not an array name the field",
			body: `{"version":"4","alerts":{"0":{}}}`,
			code: 400, msg: "alerts: want an array, got object (byte offset 25)",
		},
		{
			name: "an alert that is not an object names its index",
			body: notification(okAlert, `"SLOBurn"`),
			code: 400, msg: "alerts[1]: want an object, got string",
		},
		{
			name: "an alert without a fingerprint names its index",
			body: notification(`{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-21T15:35:57Z"}`),
			code: 400, msg: "alerts[0].fingerprint: missing",
		},
		{
			name: "an alert with an empty fingerprint is missing it",
			body: notification(strings.Replace(okAlert, `"f0"`, `""`, 1)),
			code: 400, msg: "alerts[0].fingerprint: missing",
		},
		{
			name: "a status other than firing or resolved is refused",
			body: notification(strings.Replace(okAlert, `"firing"`, `"pending"`, 1)),
			code: 400, msg: `alerts[0].status: "pending" is neither "firing" nor "resolved"`,
		},
		{
			name: "an alert without a status is refused",
			body: notification(`{"labels":{"alertname":"A"},"startsAt":"2026-11-21T15:35:57Z","fingerprint":"f0"}`),
			code: 400, msg: "alerts[0].status: missing",
		},
		{
			name: "an alert without a start is refused",
			body: notification(`{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f0"}`),
			code: 400, msg: "alerts[0].startsAt: missing",
		},
		{
			name: "an alert starting at Go's zero time has no start",
			body: notification(strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `0001-01-01T00:00:00Z`, 1)),
			code: 400, msg: "alerts[0].startsAt: missing",
		},
		{
			name: "a startsAt that is not a time names the field",
			body: notification(okAlert, strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `yesterday`, 1)),
			code: 400, msg: `alerts[1].startsAt: want an RFC 3339 time, got "yesterday"`,
		},
		{
			name: "a startsAt that is a number names the field",
			body: notification(strings.Replace(okAlert, `"2026-11-21T15:35:57Z"`, `1763739357`, 1)),
			code: 400, msg: "alerts[0].startsAt: want an RFC 3339 time string, got number",
		},
		{
			name: "an endsAt that is not a time names the field",
			body: notification(strings.Replace(okAlert, `"fingerprint"`, `"endsAt":"2026-13-01T00:00:00Z","fingerprint"`, 1)),
			code: 400, msg: `alerts[0].endsAt: want an RFC 3339 time, got "2026-13-01T00:00:00Z"`,
		},
		{
			name: "labels that are not an object name the field",
			body: notification(strings.Replace(okAlert, `{"alertname":"A"}`, `["alertname","A"]`, 1)),
			code: 400, msg: "alerts[0].labels: want an object, got array",
		},
		{
			name: "a label value that is not a string names the labels",
			body: notification(strings.Replace(okAlert, `{"alertname":"A"}`, `{"alertname":"A","replicas":3}`, 1)),
			code: 400, msg: "alerts[0].labels.replicas: want a string, got number",
		},
		{
			name: "a label whose name is not an identifier is quoted in the path",
			body: notification(strings.Replace(okAlert, `{"alertname":"A"}`, `{"alertname":"A","app.kubernetes.io/name":true}`, 1)),
			code: 400, msg: `alerts[0].labels["app.kubernetes.io/name"]: want a string, got boolean`,
		},
		{
			name: "an alert without labels is refused",
			body: notification(strings.Replace(okAlert, `{"alertname":"A"}`, `{}`, 1)),
			code: 400, msg: "alerts[0].labels: missing",
		},
		{
			name: "annotations that are not an object name the field",
			body: notification(strings.Replace(okAlert, `"fingerprint"`, `"annotations":"x","fingerprint"`, 1)),
			code: 400, msg: "alerts[0].annotations: want an object, got string",
		},
		{
			name: "group labels that are not an object name the field",
			body: `{"version":"4","groupLabels":"alertname","alerts":[]}`,
			code: 400, msg: "groupLabels: want an object, got string (byte offset 40)",
		},
		{
			name: "a negative count of truncated alerts names the field",
			body: `{"version":"4","truncatedAlerts":-1,"alerts":[]}`,
			code: 400, msg: "truncatedAlerts: want a non-negative integer, got number -1 (byte offset 35)",
		},
		{
			name: "trailing garbage after the object is a syntax error",
			body: notification(okAlert) + ` x`,
			code: 400, msg: "invalid character 'x' after top-level value",
		},
		{
			name: "a second object after the first is a syntax error",
			body: notification(okAlert) + notification(okAlert),
			code: 400, msg: "invalid character '{' after top-level value",
		},
		{
			name: "deeply nested junk in an unknown field is refused",
			body: `{"version":"4","junk":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `,"alerts":[]}`,
			code: 400, msg: "exceeded max depth",
		},
		{
			name: "invalid UTF-8 in a label value is refused with its offset",
			body: notification(strings.Replace(okAlert, `"A"`, "\"A\xff\"", 1)),
			code: 400, msg: "alerts[0].labels.alertname: invalid UTF-8 at byte offset 86",
		},
		{
			name: "invalid UTF-8 in a label name names the label as decoding would spell it",
			body: notification(withLabels("{\"alertname\":\"A\",\"p\xffd\":\"web\"}")),
			code: 400, msg: "alerts[0].labels[\"p\uFFFDd\"]: invalid UTF-8 at byte offset 90",
		},
		{
			name: "invalid UTF-8 in the receiver name is refused",
			body: "{\"version\":\"4\",\"receiver\":\"ho\xc3\",\"alerts\":[]}",
			code: 400, msg: "receiver: invalid UTF-8 at byte offset 29",
		},
		{
			name: "an escaped lone high surrogate in a label value is refused, not turned into U+FFFD",
			body: notification(withLabels(`{"alertname":"A\ud800"}`)),
			code: 400, msg: `alerts[0].labels.alertname: lone surrogate \ud800 at byte offset 86: not a character`,
		},
		{
			name: "an escaped lone low surrogate in an annotation is refused",
			body: notification(withField(`"annotations":{"summary":"x\uDFFF"}`)),
			code: 400, msg: `alerts[0].annotations.summary: lone surrogate \uDFFF at byte offset 150: not a character`,
		},
		{
			name: "a high surrogate followed by something else than a low one is lone",
			body: notification(withLabels(`{"alertname":"\ud83d\u0041"}`)),
			code: 400, msg: `alerts[0].labels.alertname: lone surrogate \ud83d at byte offset 85: not a character`,
		},
		{
			name: "two high surrogates in a row are both lone",
			body: notification(withLabels(`{"alertname":"\ud83d\ud83d\ude00"}`)),
			code: 400, msg: `alerts[0].labels.alertname: lone surrogate \ud83d at byte offset 85: not a character`,
		},
		{
			name: "a lone surrogate in a label name is refused",
			body: notification(withLabels(`{"alertname":"A","\ud800":"x"}`)),
			code: 400, msg: "alerts[0].labels[\"\uFFFD\"]: lone surrogate \\ud800 at byte offset 89: not a character",
		},
		{
			name: "a lone surrogate in the group key is refused",
			body: `{"version":"4","groupKey":"{}:\udc00","alerts":[]}`,
			code: 400, msg: `groupKey: lone surrogate \udc00 at byte offset 30: not a character`,
		},
		{
			name: "a null label value is not a string",
			body: notification(withLabels(`{"alertname":"A","pod":null}`)),
			code: 400, msg: "alerts[0].labels.pod: want a string, got null",
		},
		{
			name: "a null annotation value is not a string",
			body: notification(okAlert, withField(`"annotations":{"summary":null}`)),
			code: 400, msg: "alerts[1].annotations.summary: want a string, got null",
		},
		{
			name: "a NUL in a label value is what the store cannot keep",
			body: notification(withLabels(`{"alertname":"A\u0000"}`)),
			code: 400, msg: "alerts[0].labels.alertname: NUL character at byte 1: the store cannot keep it",
		},
		{
			name: "a NUL in an annotation is what the store cannot keep",
			body: notification(withField(`"annotations":{"summary":"\u0000"}`)),
			code: 400, msg: "alerts[0].annotations.summary: NUL character at byte 0: the store cannot keep it",
		},
		{
			name: "a NUL in an annotation whose name holds a colon names it quoted",
			body: notification(withField(`"annotations":{"a: b":"x\u0000"}`)),
			code: 400, msg: `alerts[0].annotations["a: b"]: NUL character at byte 1: the store cannot keep it`,
		},
		{
			name: "a NUL in the generator URL is what the store cannot keep",
			body: notification(withField(`"generatorURL":"http://x/\u0000"`)),
			code: 400, msg: "alerts[0].generatorURL: NUL character at byte 9: the store cannot keep it",
		},
		{
			name: "a NUL in the receiver name is what the store cannot keep",
			body: `{"version":"4","receiver":"\u0000","alerts":[` + okAlert + `]}`,
			code: 400, msg: "receiver: NUL character at byte 0: the store cannot keep it",
		},
		{
			name: "a NUL in the group key is what the store cannot keep",
			body: `{"version":"4","groupKey":"{}:\u0000","alerts":[` + okAlert + `]}`,
			code: 400, msg: "groupKey: NUL character at byte 3: the store cannot keep it",
		},
		{
			name: "a bell character in a label value is refused",
			body: notification(withLabels(`{"alertname":"A\u0007"}`)),
			code: 400, msg: "alerts[0].labels.alertname: control character U+0007 at byte 1",
		},
		{
			name: "a terminal escape sequence in a label value is refused",
			body: notification(withLabels(`{"alertname":"A","pod":"\u001b[31mweb"}`)),
			code: 400, msg: "alerts[0].labels.pod: control character U+001B at byte 0",
		},
		{
			name: "DEL in a label value is refused",
			body: notification(withLabels(`{"alertname":"A","pod":"web\u007f"}`)),
			code: 400, msg: "alerts[0].labels.pod: control character U+007F at byte 3",
		},
		{
			name: "a C1 control character in a label value is refused",
			body: notification(withLabels(`{"alertname":"A","pod":"w\u0085"}`)),
			code: 400, msg: "alerts[0].labels.pod: control character U+0085 at byte 1",
		},
		{
			name: "a label value over 16 KiB is refused",
			body: notification(withLabels(`{"alertname":"A","pod":"` + strings.Repeat("x", 16<<10+1) + `"}`)),
			code: 400, msg: "alerts[0].labels.pod: 16385 bytes: want at most 16384",
		},
		{
			name: "a label name with a space is not a Prometheus label name",
			body: notification(withLabels(`{"alertname":"A","foo bar":"x"}`)),
			code: 400, msg: `alerts[0].labels["foo bar"]: invalid label name: want letters, digits and underscores, not starting with a digit`,
		},
		{
			name: "a label name starting with a digit is refused",
			body: notification(withLabels(`{"alertname":"A","1x":"x"}`)),
			code: 400, msg: `alerts[0].labels["1x"]: invalid label name`,
		},
		{
			name: "an empty label name is refused",
			body: notification(withLabels(`{"alertname":"A","":"x"}`)),
			code: 400, msg: `alerts[0].labels[""]: invalid label name`,
		},
		{
			name: "a UTF-8 label name is refused: Alertmanager 0.25 sends legacy names only",
			body: notification(withLabels(`{"alertname":"A","région":"eu"}`)),
			code: 400, msg: `alerts[0].labels["région"]: invalid label name`,
		},
		{
			name: "a dotted label name is refused",
			body: notification(withLabels(`{"alertname":"A","app.kubernetes.io/name":"web"}`)),
			code: 400, msg: `alerts[0].labels["app.kubernetes.io/name"]: invalid label name`,
		},
		{
			name: "of many bad labels the first in sorted order is named",
			body: notification(withLabels(`{"alertname":"A","z":"\u0007","y":"\u0000","x x":"1","w w":"1","v v":"1","u u":"1","1t":"1","s s":"1"}`)),
			code: 400, msg: `alerts[0].labels["1t"]: invalid label name`,
		},
		{
			name: "a 500 KB fingerprint is refused",
			body: notification(strings.Replace(okAlert, `"f0"`, `"`+strings.Repeat("f", 500<<10)+`"`, 1)),
			code: 400, msg: "alerts[0].fingerprint: 512000 bytes: want at most 64",
		},
		{
			name: "a fingerprint with a NUL is refused",
			body: notification(strings.Replace(okAlert, `"f0"`, `"f\u0000"`, 1)),
			code: 400, msg: "alerts[0].fingerprint: NUL character at byte 1: the store cannot keep it",
		},
		{
			name: "a fingerprint with a line break is refused",
			body: notification(strings.Replace(okAlert, `"f0"`, `"f\n"`, 1)),
			code: 400, msg: "alerts[0].fingerprint: control character U+000A at byte 1",
		},
		{
			name: "an alert starting after 2262 is beyond what the store keeps",
			body: notification(strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `2300-01-01T00:00:00Z`, 1)),
			code: 400, msg: "alerts[0].startsAt: 2300-01-01T00:00:00Z is out of range (years 1678 to 2261)",
		},
		{
			name: "an alert starting before 1678 is beyond what the store keeps",
			body: notification(strings.Replace(okAlert, `2026-11-21T15:35:57Z`, `1600-01-01T00:00:00Z`, 1)),
			code: 400, msg: "alerts[0].startsAt: 1600-01-01T00:00:00Z is out of range (years 1678 to 2261)",
		},
		{
			name: "an alert ending in 9999 is beyond what the store keeps",
			body: notification(withField(`"endsAt":"9999-12-31T23:59:59Z"`)),
			code: 400, msg: "alerts[0].endsAt: 9999-12-31T23:59:59Z is out of range (years 1678 to 2261)",
		},
		{
			name: "an alert ending before it starts is refused",
			body: notification(withField(`"endsAt":"2026-11-21T16:35:56+01:00"`)),
			code: 400, msg: "alerts[0].endsAt: 2026-11-21T15:35:56Z is before startsAt 2026-11-21T15:35:57Z",
		},
		{
			name: "every bad alert of a notification is reported when none is good",
			body: notification(withLabels(`{"alertname":"A","1x":"x"}`), withField(`"endsAt":"9999-12-31T23:59:59Z"`)),
			code: 400, msg: "alerts[0].labels[\"1x\"]: invalid label name: want letters, digits and underscores, not starting with a digit\n" +
				"alerts[1].endsAt: 9999-12-31T23:59:59Z is out of range (years 1678 to 2261)\n",
		},
		{
			name: "an empty body is refused",
			body: "",
			code: 400, msg: "empty body",
		},
		{
			name: "a body over the limit with a Content-Length is refused before reading it",
			body: notification(okAlert) + strings.Repeat(" ", receiver.DefaultMaxBodyBytes),
			code: 413, msg: "body larger than 1048576 bytes",
		},
		{
			name:    "a chunked body over the limit is refused once it is",
			body:    notification(okAlert) + strings.Repeat(" ", receiver.DefaultMaxBodyBytes),
			chunked: true,
			code:    413, msg: "body larger than 1048576 bytes",
		},
		{
			name:   "a GET is not allowed",
			method: http.MethodGet,
			body:   "",
			code:   405, msg: "method GET not allowed: want POST",
		},
		{
			name:   "a PUT is not allowed",
			method: http.MethodPut,
			body:   notification(okAlert),
			code:   405, msg: "method PUT not allowed: want POST",
		},
		{
			name:        "a plain text body is not JSON",
			contentType: "text/plain",
			body:        notification(okAlert),
			code:        415, msg: `content type "text/plain" not supported: want application/json`,
		},
		{
			name:        "a form is not JSON",
			contentType: "application/x-www-form-urlencoded",
			body:        "version=4",
			code:        415, msg: `content type "application/x-www-form-urlencoded" not supported`,
		},
		{
			name:        "JSON in another charset is refused",
			contentType: "application/json; charset=latin1",
			body:        notification(okAlert),
			code:        415, msg: `charset "latin1" not supported: want utf-8`,
		},
		{
			name:     "a compressed body is refused",
			encoding: "gzip",
			body:     "\x1f\x8b\x08\x00",
			code:     415, msg: `content encoding "gzip" not supported: send the body uncompressed`,
		},
		{
			name:        "a malformed content type is refused",
			contentType: "application/json; ;;",
			body:        notification(okAlert),
			code:        415, msg: `content type "application/json; ;;": mime: invalid media parameter`,
		},
	}
}

func TestBadRequestsAreRefusedWithTheirReasonAndNothingIsStored(t *testing.T) {
	cases := badRequests()
	require.GreaterOrEqual(t, len(cases), 20)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, receiver.Options{})

			w := f.do(tc.request(t.Context()))

			require.Equal(t, tc.code, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), tc.msg)
			require.Empty(t, f.sink.saved())
			if tc.code == http.StatusMethodNotAllowed {
				require.Equal(t, "POST", w.Header().Get("Allow"))
			}
		})
	}
}

func (tc badRequest) request(ctx context.Context) *http.Request {
	method := tc.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = strings.NewReader(tc.body)
	if tc.chunked {
		body = io.MultiReader(body) // hides the length from NewRequest
	}
	req := httptest.NewRequestWithContext(ctx, method, receiver.Path, body)
	if tc.encoding != "" {
		req.Header.Set("Content-Encoding", tc.encoding)
	}
	switch tc.contentType {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", tc.contentType)
	}
	return req
}

func TestAMissingContentTypeIsAccepted(t *testing.T) {
	f := newFixture(t, receiver.Options{})
	req := badRequest{contentType: "-", body: notification(okAlert)}.request(t.Context())

	w := f.do(req)

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Len(t, f.sink.saved(), 1)
}

func TestJSONWithAUTF8CharsetIsAccepted(t *testing.T) {
	f := newFixture(t, receiver.Options{})
	req := badRequest{contentType: "application/json; charset=utf-8", body: notification(okAlert)}.request(t.Context())

	w := f.do(req)

	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

func TestAnErrorQuotingAHugeValueIsCut(t *testing.T) {
	f := newFixture(t, receiver.Options{})
	body := `{"version":"` + strings.Repeat("9", 100000) + `","alerts":[]}`

	w := f.post([]byte(body))

	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Less(t, w.Body.Len(), 1100)
	require.True(t, bytes.HasPrefix(w.Body.Bytes(), []byte(`unsupported webhook version "999`)))
}
