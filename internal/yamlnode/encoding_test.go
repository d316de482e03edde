package yamlnode

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A file yaml.v3 refuses for its bytes ("invalid leading UTF-8 octet",
// "control characters are not allowed") is refused with the line and
// column of the first bad byte (issue 13 #11).
func TestCheckEncodingNamesTheLineAndColumnOfTheFirstBadByte(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string // "" for none
	}{
		{"plain UTF-8 with tabs, CRLF and non-ASCII letters", "a: b\r\n\tc: \"é ✓ 𝄞\"\n", ""},
		{"a byte-order mark first", "\ufeffa: b\n", ""},
		{"UTF-16 is left to the YAML parser", "\xff\xfea\x00:\x00", ""},
		{"an invalid byte", "a: b\n# x\xff\n", "f.yaml:2: column 4: invalid UTF-8 (byte 0xff): the file must be UTF-8"},
		{"a truncated sequence at the end", "a: \xe2\x9c", "f.yaml:1: column 4: invalid UTF-8 (byte 0xe2): the file must be UTF-8"},
		{"a NUL byte", "spec:\n  a: b\x00c\n", "f.yaml:2: column 7: control character U+0000 is not allowed in YAML"},
		{"an escape character", "a: \x1b[31m\n", "f.yaml:1: column 4: control character U+001B is not allowed in YAML"},
		{"a DEL", "a: \x7f\n", "f.yaml:1: column 4: control character U+007F is not allowed in YAML"},
		{"a C1 control other than NEL", "a: \u0090\n", "f.yaml:1: column 4: control character U+0090 is not allowed in YAML"},
		{"a lone surrogate in CESU-style bytes", "a: \xed\xa0\x80\n", "f.yaml:1: column 4: invalid UTF-8 (byte 0xed): the file must be UTF-8"},
		{"a noncharacter", "a: \uffff\n", "f.yaml:1: column 4: character U+FFFF is not allowed in YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEncoding("f.yaml", []byte(tc.data))
			if tc.want == "" {
				require.Nil(t, err)
				return
			}
			require.NotNil(t, err)
			require.Equal(t, tc.want, Message(err.File, err.Line, err.Path, err.Err, "bad"))
		})
	}
}
