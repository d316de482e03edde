package pgtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewestVersionIsComparedAsANumber(t *testing.T) {
	tests := []struct {
		name string
		dirs []string
		want string
	}{
		{"one version is the newest", []string{"/usr/lib/postgresql/15/bin"}, "/usr/lib/postgresql/15/bin"},
		{
			"16 is newer than 9.6, though it sorts first as text",
			[]string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin"},
			"/usr/lib/postgresql/16/bin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, newest(tt.dirs))
		})
	}
}
