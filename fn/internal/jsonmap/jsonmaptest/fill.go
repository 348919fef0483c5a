// Package jsonmaptest fills typed Go values with random contents, for tests
// that compare jsonmap.Of with the JSON round trip it replaces.
package jsonmaptest

import (
	"math"
	"math/rand/v2"
	"reflect"
)

// A Filler sets every exported field it reaches to a random value, with the
// values where JSON encodings differ most often: nil against empty slices,
// maps and pointers, empty strings, zero numbers, large integers.
type Filler struct {
	Rand *rand.Rand
	// MaxDepth bounds nesting; deeper pointers, slices and maps stay nil.
	MaxDepth int
	// Special, when it returns true, fills a value of a type the filler
	// should not fill field by field (one with its own JSON encoding).
	Special func(r *rand.Rand, v reflect.Value) bool
}

var strs = []string{"", "a", "Name", "x<y>&z", "ünïcødé", "with space", "0", "null", "a\"b\\c"}

// Fill fills v, which must be settable.
func (f Filler) Fill(v reflect.Value) { f.fill(v, 0) }

func (f Filler) fill(v reflect.Value, depth int) {
	r := f.Rand
	if f.Special != nil && f.Special(r, v) {
		return
	}
	deep := depth >= f.MaxDepth
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.String:
		v.SetString(strs[r.IntN(len(strs))])
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		ints := []int64{0, 1, -1, 42, math.MaxInt8, 1<<53 + 1, math.MinInt64, r.Int64()}
		i := ints[r.IntN(len(ints))]
		if v.OverflowInt(i) {
			i = int64(r.IntN(100))
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := []uint64{0, 1, 255, 1<<53 + 1, math.MaxUint64, r.Uint64()}[r.IntN(6)]
		if v.OverflowUint(u) {
			u = r.Uint64N(100)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		fs := []float64{0, math.Copysign(0, -1), 1, 0.1, -2.5, 1e21, 1e-7, 123456789.125, r.NormFloat64() * 1e6}
		v.SetFloat(fs[r.IntN(len(fs))])
	case reflect.Pointer:
		if deep || r.IntN(4) == 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		n := r.IntN(5) - 1 // nil, empty, 1-3 items.
		if deep || n < 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		n := r.IntN(5) - 1
		if deep || n < 0 {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), n)
		for range n {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				f.fill(v.Field(i), depth+1)
			}
		}
	}
}
