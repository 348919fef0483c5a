// Package jsonmap converts a typed Go value into the JSON-shaped value
// (map[string]any, []any, string, float64, bool, nil) that encoding it with
// github.com/go-json-experiment/json and decoding the JSON into an any
// gives, without the JSON. The SDK's composed.From converts composed
// resources that way; doing it in one reflection walk saves the encode, the
// decode and most of their allocations.
//
// The walk follows go-json-experiment/json (v2) at the version in go.mod,
// not encoding/json: an embedded struct without a JSON name is inlined,
// omitempty omits a field whose value encodes as null, "", {} or [] (so a
// pointer to "" or a struct with nothing to encode is omitted, a zero
// number is not), and a nil slice or map without omitempty is [] or {}.
// Whatever the walk does not model it leaves to the JSON round trip for
// that value: types with their own JSON or text marshalers
// (metav1.Time, resource.Quantity), the time package's types, byte slices
// (base64), maps with non-string keys, interfaces and structs with tag
// options other than omitempty, omitzero and inline or with conflicting
// names. A
// value the walk finds it cannot encode (invalid UTF-8, NaN) is also
// converted by the round trip, so the caller gets the round trip's error.
//
// Struct makes the same walk into a *structpb.Struct, the form a
// RunFunctionResponse carries, without the maps; AppendStruct writes that
// Struct's protobuf encoding as it walks, without the Struct.
package jsonmap

import (
	"encoding"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/go-json-experiment/json"
)

// Of returns v as a JSON-shaped value: what json.Unmarshal into an any of
// json.Marshal(v) returns, with the same error when that fails.
func Of(v any) (any, error) {
	if v == nil {
		return nil, nil //nolint:nilnil // nil is JSON's null, a value.
	}
	rv := reflect.ValueOf(v)
	out, err := encoderOf(rv.Type()).get()(rv)
	if err != nil {
		// The round trip decides, and words, every error.
		return RoundTrip(v)
	}
	return out, nil
}

// RoundTrip is the conversion Of replaces: json.Marshal, then json.Unmarshal
// into an any. Tests compare the two.
func RoundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// errUnencodable makes Of hand the whole value to the round trip, which
// returns the error in its own words.
var errUnencodable = errors.New("value the walk does not encode")

// roundTrip converts one value through JSON. json.Marshal of a pointer
// encodes what it points to as addressable, as json does for every value it
// reaches inside another (methods on *T apply).
func roundTrip(v reflect.Value) (any, error) {
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	return RoundTrip(p.Interface())
}

type encodeFunc func(v reflect.Value) (any, error)

// customEncoder converts a type with its own JSON encoding through JSON, and
// its zero value (ObjectMeta's creationTimestamp, deletionTimestamp: every
// resource has them) once: a marshaling method is taken to encode the same
// value the same way. Only a scalar result is kept, as it can be shared.
func customEncoder() encodeFunc {
	var (
		once    sync.Once
		zero    any
		hasZero bool
	)
	return func(v reflect.Value) (any, error) {
		if !v.IsZero() {
			return roundTrip(v)
		}
		once.Do(func() {
			e, err := roundTrip(v)
			switch e.(type) {
			case nil, string, bool, float64:
				zero, hasZero = e, err == nil
			}
		})
		if hasZero {
			return zero, nil
		}
		return roundTrip(v)
	}
}

// lazyEncoder is one type's encoder, a function F. It is built on first
// use, so that a recursive type's encoder can refer to itself.
type lazyEncoder[F any] struct {
	t     reflect.Type
	build func(reflect.Type) F
	once  sync.Once
	fn    F
}

func (e *lazyEncoder[F]) get() F {
	e.once.Do(func() { e.fn = e.build(e.t) })
	return e.fn
}

// encoderCache holds one lazyEncoder per type, built by build on first use.
type encoderCache[F any] struct {
	m sync.Map // reflect.Type -> *lazyEncoder[F]
}

func (c *encoderCache[F]) of(t reflect.Type, build func(reflect.Type) F) *lazyEncoder[F] {
	if e, ok := c.m.Load(t); ok {
		le, _ := e.(*lazyEncoder[F]) // The map holds nothing else.
		return le
	}
	e, _ := c.m.LoadOrStore(t, &lazyEncoder[F]{t: t, build: build})
	le, _ := e.(*lazyEncoder[F])
	return le
}

// typeEncoder encodes one type to what decoding its JSON into an any gives.
type typeEncoder = lazyEncoder[encodeFunc]

var encoders encoderCache[encodeFunc]

func encoderOf(t reflect.Type) *typeEncoder {
	return encoders.of(t, build)
}

var (
	marshalerV1Type   = reflect.TypeFor[json.MarshalerV1]()
	marshalerV2Type   = reflect.TypeFor[json.MarshalerV2]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// custom reports whether json encodes t some other way than by its kind:
// t or *t has a marshaling method, or json knows t specially.
func custom(t reflect.Type) bool {
	for _, m := range []reflect.Type{marshalerV1Type, marshalerV2Type, textMarshalerType} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	pkg := t.PkgPath()
	return pkg == "time" || strings.HasPrefix(pkg, "github.com/go-json-experiment/json")
}

func build(t reflect.Type) encodeFunc {
	if custom(t) {
		return customEncoder()
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(v reflect.Value) (any, error) { return v.Bool(), nil }
	case reflect.String:
		return func(v reflect.Value) (any, error) {
			s := v.String()
			if !utf8.ValidString(s) {
				return nil, errUnencodable
			}
			return s, nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		// json writes the exact decimal, which decodes to the nearest
		// float64, as the conversion rounds.
		return func(v reflect.Value) (any, error) { return float64(v.Int()), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(v reflect.Value) (any, error) { return float64(v.Uint()), nil }
	case reflect.Float64:
		return func(v reflect.Value) (any, error) {
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, errUnencodable
			}
			return f, nil
		}
	case reflect.Float32:
		// json writes a float32's shortest decimal, which decodes to a
		// float64 that need not equal float64(f).
		return func(v reflect.Value) (any, error) {
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, errUnencodable
			}
			return strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		}
	case reflect.Pointer:
		elem := encoderOf(t.Elem())
		return func(v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			return elem.get()(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return roundTrip // base64
		}
		elem := encoderOf(t.Elem())
		return func(v reflect.Value) (any, error) {
			out := make([]any, v.Len())
			for i := range out {
				e, err := elem.get()(v.Index(i))
				if err != nil {
					return nil, err
				}
				out[i] = e
			}
			return out, nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || custom(t.Key()) {
			return roundTrip
		}
		elem := encoderOf(t.Elem())
		return func(v reflect.Value) (any, error) {
			out := make(map[string]any, v.Len())
			err := eachEntry(t, v, func(k string, val reflect.Value) error {
				e, err := elem.get()(val)
				out[k] = e
				return err
			})
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	case reflect.Struct:
		return structEncoder(t)
	default:
		// Interfaces (json encodes the dynamic value), and what json
		// cannot encode at all (funcs, channels, complex numbers).
		return roundTrip
	}
}

// eachEntry calls fn with each entry of v, a map of type t whose keys are
// strings, until fn fails; a key that is not UTF-8 is errUnencodable. One
// key and one value are set in place for each entry: MapRange's Key and
// Value allocate a copy each.
func eachEntry(t reflect.Type, v reflect.Value, fn func(k string, val reflect.Value) error) error {
	key := reflect.New(t.Key()).Elem()
	val := reflect.New(t.Elem()).Elem()
	for it := v.MapRange(); it.Next(); {
		key.SetIterKey(it)
		val.SetIterValue(it)
		k := key.String()
		if !utf8.ValidString(k) {
			return errUnencodable
		}
		if err := fn(k, val); err != nil {
			return err
		}
	}
	return nil
}

// Object is Of(v), which must be a JSON object.
func Object(v any) (map[string]any, error) {
	m, err := Of(v)
	if err != nil {
		return nil, err
	}
	obj, ok := m.(map[string]any)
	if !ok {
		return nil, errors.Errorf("%T is not a JSON object", v)
	}
	return obj, nil
}

// field is one JSON member of a struct: the Go field at index (through
// inlined structs), its name, and whether omitempty applies.
type field struct {
	index     []int
	name      string
	omitEmpty bool
	// kind is the Go field's kind; custom if json encodes it otherwise.
	kind   reflect.Kind
	custom bool
	enc    *typeEncoder
	// isZero, for omitzero, reports that the field is omitted.
	isZero func(v reflect.Value) bool
}

type isZeroer interface{ IsZero() bool }

// zeroByMethod calls x's IsZero, which isZero has checked it has.
func zeroByMethod(x any) bool {
	z, ok := x.(isZeroer)
	return ok && z.IsZero()
}

var isZeroerType = reflect.TypeFor[isZeroer]()

// isZero is how json decides omitzero for a field of type t: by t's (or
// *t's) IsZero method where it has one (metav1.Time's), else by Go's zero
// value.
func isZero(t reflect.Type) func(v reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) || zeroByMethod(v.Interface())
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || zeroByMethod(v.Interface()) }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return zeroByMethod(v.Interface()) }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				p := reflect.New(t)
				p.Elem().Set(v)
				v = p.Elem()
			}
			return zeroByMethod(v.Addr().Interface())
		}
	default:
		return reflect.Value.IsZero
	}
}

// value is f's value in struct v, and whether it may be encoded: not in a
// nil inlined struct, nor omitted by omitzero, nor by omitempty where the
// value is plainly empty (omitempty's other cases are known once encoded).
func (f *field) value(v reflect.Value) (reflect.Value, bool) {
	fv, ok := fieldByIndex(v, f.index)
	if !ok || (f.isZero != nil && f.isZero(fv)) || (f.omitEmpty && f.plainEmpty(fv)) {
		return reflect.Value{}, false
	}
	return fv, true
}

// plainEmpty reports, without encoding v, that it encodes as null, "", []
// or {}, as json's own shortcut for omitempty does: a nil pointer or
// interface, or an empty string, slice, array or map, of a type without
// its own encoding.
func (f *field) plainEmpty(v reflect.Value) bool {
	if f.custom {
		return false
	}
	switch f.kind {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return v.Len() == 0
	}
	return false
}

type member struct {
	name  string
	value any
}

// encodedFields returns the fields the walk encodes of struct type t, or
// false when the round trip must encode it: options the walk does not
// model, or conflicting names (json picks a dominant field or drops both).
func encodedFields(t reflect.Type) ([]field, bool) {
	fields, ok := structFields(t, nil, map[reflect.Type]bool{t: true})
	if !ok {
		return nil, false
	}
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if seen[f.name] {
			return nil, false
		}
		seen[f.name] = true
	}
	return fields, true
}

func structEncoder(t reflect.Type) encodeFunc {
	fields, ok := encodedFields(t)
	if !ok {
		return roundTrip
	}
	return func(v reflect.Value) (any, error) {
		// Most fields of a provider struct are omitted: collect the members
		// first, so the map is made at its size.
		var buf [16]member
		members := buf[:0]
		for i := range fields {
			f := &fields[i]
			fv, ok := f.value(v)
			if !ok {
				continue // Most fields: nil or empty, so omitted.
			}
			e, err := f.enc.get()(fv)
			if err != nil {
				return nil, err
			}
			if f.omitEmpty && empty(e) {
				continue
			}
			members = append(members, member{f.name, e})
		}
		out := make(map[string]any, len(members))
		for _, m := range members {
			out[m.name] = m.value
		}
		return out, nil
	}
}

// structFields lists t's JSON members, with inlined structs' members in
// place; ok is false for what the walk leaves to json.
func structFields(t reflect.Type, parent []int, inlining map[reflect.Type]bool) (fields []field, ok bool) {
	var anyTag, anyField bool
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("json")
		anyTag = anyTag || hasTag
		if tag == "-" {
			continue
		}
		if !sf.IsExported() {
			if sf.Anonymous || hasTag {
				return nil, false // json rejects it.
			}
			continue
		}
		anyField = true
		tg, ok := parseTag(tag)
		if !ok {
			return nil, false
		}
		name := tg.name
		if name == "" {
			name = sf.Name
		}
		omitEmpty, omitZero := tg.omitEmpty, tg.omitZero
		index := append(append(make([]int, 0, len(parent)+1), parent...), i)
		if tg.inline || (sf.Anonymous && tg.name == "") {
			if omitEmpty || omitZero {
				return nil, false // json rejects options on an inlined field.
			}
			it := sf.Type
			if it.Kind() == reflect.Pointer && it.Name() == "" {
				it = it.Elem()
			}
			if it.Kind() != reflect.Struct || custom(it) || inlining[it] {
				return nil, false
			}
			inlining[it] = true
			sub, ok := structFields(it, index, inlining)
			delete(inlining, it)
			if !ok {
				return nil, false
			}
			fields = append(fields, sub...)
			continue
		}
		f := field{
			index: index, name: name, omitEmpty: omitEmpty,
			kind: sf.Type.Kind(), custom: custom(sf.Type), enc: encoderOf(sf.Type),
		}
		if omitZero {
			f.isZero = isZero(sf.Type)
		}
		fields = append(fields, f)
	}
	if t.NumField() > 0 && !anyTag && !anyField {
		return nil, false // json: "Go struct has no exported fields".
	}
	return fields, true
}

// tag is a struct field's json tag.
type tag struct {
	name                        string
	inline, omitEmpty, omitZero bool
}

// parseTag parses a json tag; ok is false for what the walk leaves to json:
// a quoted or escaped name, or an option other than inline, omitempty and
// omitzero.
func parseTag(s string) (tag, bool) {
	name, opts, hasOpts := strings.Cut(s, ",")
	if strings.ContainsAny(name, "\\'\"`") || !utf8.ValidString(name) {
		return tag{}, false
	}
	t := tag{name: name}
	for hasOpts {
		var opt string
		opt, opts, hasOpts = strings.Cut(opts, ",")
		switch opt {
		case "inline":
			t.inline = true
		case "omitempty":
			t.omitEmpty = true
		case "omitzero":
			t.omitZero = true
		default:
			return tag{}, false
		}
	}
	return t, true
}

// fieldByIndex follows index from struct v; ok is false where it passes a
// nil pointer to an inlined struct.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// empty reports whether json would have written e as null, "", {} or [],
// which omitempty omits.
func empty(e any) bool {
	switch e := e.(type) {
	case nil:
		return true
	case string:
		return e == ""
	case map[string]any:
		return len(e) == 0
	case []any:
		return len(e) == 0
	}
	return false
}
