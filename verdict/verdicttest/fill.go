package verdicttest

import (
	"reflect"

	"github.com/steadywatch/steadywatch/verdict"
)

// FillFloats sets every float64 reachable from v — through pointers,
// slices and the verdict package's structs, allocating what is nil or empty
// — to f, and returns how many it set: a verdict with every number
// present, for the tests of what renders verdicts.
func FillFloats(v *verdict.Verdict, f float64) int {
	return fillFloats(reflect.ValueOf(v).Elem(), f)
}

func fillFloats(v reflect.Value, f float64) int {
	switch v.Kind() {
	case reflect.Float64:
		v.SetFloat(f)
		return 1
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return fillFloats(v.Elem(), f)
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		n := 0
		for i := range v.Len() {
			n += fillFloats(v.Index(i), f)
		}
		return n
	case reflect.Struct:
		if v.Type().PkgPath() != reflect.TypeFor[verdict.Verdict]().PkgPath() {
			return 0
		}
		n := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += fillFloats(v.Field(i), f)
			}
		}
		return n
	default:
		return 0
	}
}
