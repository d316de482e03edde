package yamlnode

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// CheckEncoding finds the first byte of data that cannot be in a UTF-8
// YAML file — an invalid UTF-8 sequence, or a character outside YAML's
// printable set (a control character other than tab, line feed, carriage
// return and NEL; a surrogate; U+FFFE, U+FFFF) — and returns it as a
// FieldError naming its line and column (in characters, from 1). yaml.v3
// refuses the same bytes without saying where. A file starting with a
// UTF-16 byte-order mark is left to yaml.v3, which reads UTF-16.
func CheckEncoding(file string, data []byte) *FieldError {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil
	}
	line, col := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		col++
		var msg string
		switch {
		case r == utf8.RuneError && size <= 1:
			msg = fmt.Sprintf("invalid UTF-8 (byte %#x): the file must be UTF-8", data[i])
		case r == '\n':
			line, col = line+1, 0
		case r == '\t', r == '\r', r == 0x85, r == 0xfeff:
		case r < 0x20, r >= 0x7f && r < 0xa0:
			msg = fmt.Sprintf("control character %U is not allowed in YAML", r)
		case r == 0xfffe, r == 0xffff:
			msg = fmt.Sprintf("character %U is not allowed in YAML", r)
		}
		if msg != "" {
			return &FieldError{File: file, Line: line, Err: fmt.Errorf("column %d: %s", col, msg)}
		}
		i += size
	}
	return nil
}
