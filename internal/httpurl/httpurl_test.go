package httpurl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:9090", ""},
		{"https://prometheus.example.com/prefix", ""},
		{"not a url", `"not a url": want an http:// or https:// URL`},
		{"prometheus:9090", `"prometheus:9090": want an http:// or https:// URL`},
		{"ftp://p:21", `"ftp://p:21": want an http:// or https:// URL`},
		{"http://", `"http://" has no host`},
		{"http:///path", `"http:///path" has no host`},
		{"http://[::1", `parse "http://[::1": missing ']' in host`},
	} {
		err := Check(tc.url)
		if tc.want == "" {
			require.NoError(t, err, tc.url)
			continue
		}
		require.EqualError(t, err, tc.want, tc.url)
	}
}
