package receiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"

	"github.com/steadywatch/steadywatch/store/limits"
)

// checkEncoding refuses a body with invalid UTF-8 or an escaped lone UTF-16
// surrogate (\ud800 not followed by a low half) in a string, naming the
// string by its path: encoding/json would silently turn either into
// U+FFFD, which would then be stored as if Alertmanager had sent it, and
// Alertmanager's encoder never writes them. The walk only runs for bodies
// that may hold one.
func checkEncoding(body []byte) error {
	valid := utf8.Valid(body)
	if valid && !mayHaveSurrogate(body) {
		return nil
	}
	if err := findBadString(body); err != nil {
		return err
	}
	if !valid {
		// Not in a string of a well-formed body: decoding tells why.
		return fmt.Errorf("invalid UTF-8 at byte offset %d", invalidUTF8Offset(body))
	}
	return nil
}

// mayHaveSurrogate reports whether body holds \uD800-\uDFFF, escaped or
// not (\\ud800 is a backslash and "ud800").
func mayHaveSurrogate(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`\u`))
		if j < 0 {
			return false
		}
		i += j + 2
		if r := hex4(body[i:]); 0xD800 <= r && r <= 0xDFFF {
			return true
		}
	}
}

// hex4 is the value of the 4 hex digits b starts with, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

// findBadString walks body's JSON tokens, keeping the path to each, and
// reports the first string, a key or a value, with invalid UTF-8 or a lone
// surrogate. It stops silently where body stops being JSON.
func findBadString(body []byte) error {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []*frame
	path := func() string {
		var b []byte
		for _, f := range stack {
			if f.object {
				b = append(b, limits.Key(f.key)...)
			} else {
				b = append(b, '[')
				b = strconv.AppendInt(b, int64(f.index), 10)
				b = append(b, ']')
			}
		}
		return string(bytes.TrimPrefix(b, []byte(".")))
	}
	done := func() { // a value of the innermost container ended
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.object {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		from := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				stack = append(stack, &frame{object: tok == '{', wantKey: true})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
		case string:
			to := dec.InputOffset()
			at := from + int64(bytes.IndexByte(body[from:to], '"'))
			key := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
			if key {
				f := stack[len(stack)-1]
				f.key, f.wantKey = tok, false
			}
			if off, what, why := badInString(body[at:to]); off >= 0 {
				p := path()
				if p == "" {
					p = "body"
				}
				return fmt.Errorf("%s: %s at byte offset %d%s", p, what, at+int64(off), why)
			}
			if !key {
				done()
			}
		default:
			done()
		}
	}
}

// badInString returns the offset in lit, a JSON string literal with its
// quotes, of the first invalid UTF-8 or escaped lone surrogate, what it is
// and why that is bad if it may not be plain; -1 if there is none.
func badInString(lit []byte) (off int, what, why string) {
	for i := 1; i < len(lit)-1; {
		switch c := lit[i]; {
		case c == '\\' && lit[i+1] == 'u':
			r := hex4(lit[i+2:])
			switch {
			case 0xD800 <= r && r <= 0xDBFF:
				if lo := lit[i+6:]; len(lo) >= 6 && lo[0] == '\\' && lo[1] == 'u' {
					if r2 := hex4(lo[2:]); 0xDC00 <= r2 && r2 <= 0xDFFF {
						i += 12
						continue
					}
				}
				return i, "lone surrogate " + string(lit[i:i+6]), ": not a character"
			case 0xDC00 <= r && r <= 0xDFFF:
				return i, "lone surrogate " + string(lit[i:i+6]), ": not a character"
			}
			i += 6
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(lit[i:])
			if r == utf8.RuneError && size == 1 {
				return i, "invalid UTF-8", ""
			}
			i += size
		}
	}
	return -1, "", ""
}

// checkNulls refuses null as a label or annotation value, which
// encoding/json decodes into a map of strings as "" without a word.
// Alertmanager never writes it. It only decodes body, which decoded into
// msg, again if it holds "null" and one of msg's labels or annotations is
// "": the word alone, in any annotation's text, would nearly double the
// cost of decoding.
func checkNulls(body []byte, msg *webhook.Message) error {
	if !bytes.Contains(body, []byte("null")) || !hasEmptyValue(msg) {
		return nil
	}
	var nullable struct {
		Alerts []struct {
			Labels      map[string]*string `json:"labels"`
			Annotations map[string]*string `json:"annotations"`
		} `json:"alerts"`
	}
	if json.Unmarshal(body, &nullable) != nil {
		return nil // decoded once already; cannot happen
	}
	for i, a := range nullable.Alerts {
		for _, kv := range []struct {
			field string
			m     map[string]*string
		}{{"labels", a.Labels}, {"annotations", a.Annotations}} {
			for _, k := range slices.Sorted(maps.Keys(kv.m)) {
				if kv.m[k] == nil {
					return fmt.Errorf("alerts[%d].%s%s: want a string, got null", i, kv.field, limits.Key(k))
				}
			}
		}
	}
	return nil
}

// hasEmptyValue reports whether a label or annotation of msg's alerts is "".
func hasEmptyValue(msg *webhook.Message) bool {
	if msg.Data == nil { // no alerts
		return false
	}
	for i := range msg.Alerts {
		for _, kv := range []template.KV{msg.Alerts[i].Labels, msg.Alerts[i].Annotations} {
			for _, v := range kv {
				if v == "" {
					return true
				}
			}
		}
	}
	return false
}
