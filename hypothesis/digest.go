package hypothesis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// Digest is a hash of what h is judged by: every field but its name, its
// description and where it is written. A verdict keeps the digest of the
// hypothesis it judged, so that a final verdict kept from before a restart
// is given again only to the hypothesis as it was then: an edited
// threshold, query or window is judged again.
func (h *Hypothesis) Digest() string {
	var b strings.Builder
	c := *h
	c.Name, c.Description, c.Source, c.lines = "", "", Source{}, nil
	writeDigest(&b, reflect.ValueOf(c))
	sum := sha256.Sum256([]byte(b.String()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	selectorType = reflect.TypeFor[labels.Selector]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
)

// writeDigest writes v unambiguously: the field names of structs, the
// lengths of slices, maps in key order, floats exactly (infinities
// included), and the types whose fields are all unexported (time,
// templates) and label selectors as their text. A String method is used for nothing else: it
// may leave fields out (an alert expectation's says nothing of Within). A
// pointer field tagged `digest:"omitnil"` is left out when nil: a field
// added later leaves the digests of the hypotheses without it as they
// were.
func writeDigest(b *strings.Builder, v reflect.Value) {
	switch {
	case v.Type() == timeType:
		b.WriteString(strconv.Quote(v.Interface().(time.Time).UTC().Format(time.RFC3339Nano)))
		return
	case v.Type() == selectorType && !v.IsNil():
		// Its canonical text: requirements in key order, values sorted.
		b.WriteString(strconv.Quote(v.Interface().(labels.Selector).String()))
		return
	case v.Kind() == reflect.Struct && !hasExported(v.Type()) && v.Type().Implements(stringerType):
		b.WriteString(strconv.Quote(v.Interface().(fmt.Stringer).String()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("&")
		writeDigest(b, v.Elem())
	case reflect.Struct:
		b.WriteString("{")
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("digest") == "omitnil" && v.Field(i).IsNil() {
				continue
			}
			b.WriteString(f.Name + ":")
			writeDigest(b, v.Field(i))
			b.WriteString(",")
		}
		b.WriteString("}")
	case reflect.Slice, reflect.Array:
		b.WriteString("[" + strconv.Itoa(v.Len()) + ":")
		for i := range v.Len() {
			writeDigest(b, v.Index(i))
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.Map:
		keys := v.MapKeys()
		texts := make([]string, len(keys))
		for i, k := range keys {
			var kb strings.Builder
			writeDigest(&kb, k)
			texts[i] = kb.String()
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, c int) int { return strings.Compare(texts[a], texts[c]) })
		b.WriteString("map[")
		for _, i := range order {
			b.WriteString(texts[i] + ":")
			writeDigest(b, v.MapIndex(keys[i]))
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.String:
		b.WriteString(strconv.Quote(v.String()))
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	default:
		// A kind hypotheses do not use (func, chan): its type, so that
		// adding one changes every digest rather than none.
		b.WriteString(v.Type().String())
	}
}

func hasExported(t reflect.Type) bool {
	for f := range t.Fields() {
		if f.IsExported() {
			return true
		}
	}
	return false
}
