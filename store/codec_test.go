package store

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeMapJSON is what decodeMap must always answer: encoding/json's
// reading of a JSON object of strings, an empty one being nil.
func decodeMapJSON(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

var decodeMapCases = []string{
	`{}`, ` { } `, `null`, ``, `{`, `}`, `[]`, `"x"`,
	`{"alertname":"HighErrorRate","service":"api"}`,
	// PostgreSQL's jsonb text: a space after every colon and comma.
	`{"service": "api", "severity": "page"}`,
	" {\t\"a\" :\n\"b\" ,\r\"c\":\"\"} ",
	`{"a":"b","a":"c"}`,
	`{"a":"b",}`, `{"a":"b"`, `{"a":"b"}x`, `{"a":"b"} {}`, `{"a" "b"}`, `{"a":}`, `{,}`, `{"a"}`,
	`{"a":1}`, `{"a":null}`, `{"a":["b"]}`, `{"a":{"b":"c"}}`, `{"a":true}`,
	`{"esc":"a\"b"}`, `{"u":"\u00e9\n"}`, `{"k\\":"v"}`, `{"a":"b\`,
	`{"utf8":"Grüße, 日本"}`, "{\"bad\":\"\xff\"}", "{\"\xc3\":\"x\"}",
	"{\"ctl\":\"a\x01b\"}", "{\"a\":\"b\"}\x00",
	`{"description":"error ratio above 1%, for 5m: {\"x\"}"}`,
}

func TestDecodeMapReadsAsEncodingJSONDoes(t *testing.T) {
	for _, s := range decodeMapCases {
		t.Run(s, func(t *testing.T) {
			checkDecodeMap(t, s)
		})
	}
}

func checkDecodeMap(t *testing.T, s string) {
	t.Helper()
	want, wantErr := decodeMapJSON(s)
	got, err := decodeMap(s)
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error(), "input %q", s)
		return
	}
	require.NoError(t, err, "input %q", s)
	require.Equal(t, want, got, "input %q", s)
}

func FuzzDecodeMap(f *testing.F) {
	for _, s := range decodeMapCases {
		f.Add(s)
	}
	f.Fuzz(checkDecodeMap)
}

func TestEncodedMapsDecodeWithoutEncodingJSON(t *testing.T) {
	// Not <, > or &, which json.Marshal escapes (\u003c): those take
	// encoding/json's path.
	m := map[string]string{"alertname": "HighErrorRate", "summary": "Grüße, 50% {of} [it]: 'up'", "empty": ""}
	s, err := encodeMap(m)
	require.NoError(t, err)
	got, ok := decodeFlat(s)
	require.True(t, ok, "what encodeMap writes takes the quick path: %s", s)
	require.Equal(t, m, got)
}

func BenchmarkDecodeMap(b *testing.B) {
	s := `{"alertname":"HighErrorRate","cluster":"prod-eu-1","container":"checkout","endpoint":"http-metrics",` +
		`"instance":"10.1.2.3:8080","job":"checkout","namespace":"shop-checkout","pod":"checkout-6f7d9c-x2x9q",` +
		`"prometheus":"monitoring/k8s","service":"checkout","severity":"warning","team":"checkout"}`
	for b.Loop() {
		if _, err := decodeMap(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMapJSON(b *testing.B) {
	s := `{"alertname":"HighErrorRate","cluster":"prod-eu-1","container":"checkout","endpoint":"http-metrics",` +
		`"instance":"10.1.2.3:8080","job":"checkout","namespace":"shop-checkout","pod":"checkout-6f7d9c-x2x9q",` +
		`"prometheus":"monitoring/k8s","service":"checkout","severity":"warning","team":"checkout"}`
	for b.Loop() {
		if _, err := decodeMapJSON(s); err != nil {
			b.Fatal(err)
		}
	}
}
