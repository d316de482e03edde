package rules

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// matchers writes label matchers: pairs of name and value, each value an
// equality unless it starts with "=~".
func matchers(pairs ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		op, v := "=", pairs[i+1]
		if rest, ok := strings.CutPrefix(v, "=~"); ok {
			op, v = "=~", rest
		}
		b.WriteString(pairs[i] + op + quote(v))
	}
	b.WriteByte('}')
	return b.String()
}

// quote writes a PromQL string literal.
func quote(s string) string { return strconv.Quote(s) }

// number writes a float as PromQL reads it back.
func number(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// duration writes a duration in Prometheus' syntax, whole days in days
// ("7d" rather than "1w", as the SRE Workbook and the record names say).
func duration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return model.Duration(d).String()
}

// seconds writes a duration's seconds as a PromQL number.
func seconds(d time.Duration) string { return number(d.Seconds()) }
