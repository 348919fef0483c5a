package jsonmap

import (
	"reflect"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	"google.golang.org/protobuf/types/known/structpb"
)

// Struct returns v, which must encode as a JSON object, as the
// *structpb.Struct that structpb.NewStruct makes of Of(v), with the same
// error, in one walk: a RunFunctionResponse carries composed resources as
// structpb, and building them without the intermediate maps saves their
// allocations. The walk is Of's: the same fields and omissions, and
// whatever Of leaves to the JSON round trip is converted by Of and then
// structpb.NewValue, so the two cannot disagree on a value Of encodes.
func Struct(v any) (*structpb.Struct, error) {
	if v == nil {
		return nil, errors.New("null is not a JSON object")
	}
	rv := reflect.ValueOf(v)
	out, err := valueEncoderOf(rv.Type()).get()(rv)
	if err != nil {
		// As Of: the round trip converts it, or gives its error.
		m, err := RoundTrip(v)
		if err != nil {
			return nil, err
		}
		if out, err = structpb.NewValue(m); err != nil {
			return nil, err
		}
	}
	s := out.GetStructValue()
	if s == nil {
		return nil, errors.Errorf("%T is not a JSON object", v)
	}
	return s, nil
}

type valueFunc func(v reflect.Value) (*structpb.Value, error)

// valueEncoder is typeEncoder's twin for structpb.
type valueEncoder = lazyEncoder[valueFunc]

var valueEncoders encoderCache[valueFunc]

func valueEncoderOf(t reflect.Type) *valueEncoder {
	return valueEncoders.of(t, buildValue)
}

// viaOf encodes a value with Of's encoder and converts the result: for
// what the provider's types seldom or never hold (custom marshalers, other
// numbers, byte slices), so only the common kinds have a walk of their own.
func viaOf(t reflect.Type) valueFunc {
	enc := encoderOf(t)
	return func(v reflect.Value) (*structpb.Value, error) {
		e, err := enc.get()(v)
		if err != nil {
			return nil, err
		}
		return structpb.NewValue(e)
	}
}

// buildValue follows build, kind for kind.
func buildValue(t reflect.Type) valueFunc {
	if custom(t) {
		return viaOf(t)
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(v reflect.Value) (*structpb.Value, error) { return structpb.NewBoolValue(v.Bool()), nil }
	case reflect.String:
		return func(v reflect.Value) (*structpb.Value, error) {
			s := v.String()
			if !utf8.ValidString(s) {
				return nil, errUnencodable
			}
			return structpb.NewStringValue(s), nil
		}
	case reflect.Pointer:
		elem := valueEncoderOf(t.Elem())
		return func(v reflect.Value) (*structpb.Value, error) {
			if v.IsNil() {
				return structpb.NewNullValue(), nil
			}
			return elem.get()(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return viaOf(t)
		}
		elem := valueEncoderOf(t.Elem())
		return func(v reflect.Value) (*structpb.Value, error) {
			out := make([]*structpb.Value, v.Len())
			for i := range out {
				e, err := elem.get()(v.Index(i))
				if err != nil {
					return nil, err
				}
				out[i] = e
			}
			return structpb.NewListValue(&structpb.ListValue{Values: out}), nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || custom(t.Key()) {
			return viaOf(t)
		}
		elem := valueEncoderOf(t.Elem())
		return func(v reflect.Value) (*structpb.Value, error) {
			out := make(map[string]*structpb.Value, v.Len())
			key := reflect.New(t.Key()).Elem()
			val := reflect.New(t.Elem()).Elem()
			for it := v.MapRange(); it.Next(); {
				key.SetIterKey(it)
				val.SetIterValue(it)
				k := key.String()
				if !utf8.ValidString(k) {
					return nil, errUnencodable
				}
				e, err := elem.get()(val)
				if err != nil {
					return nil, err
				}
				out[k] = e
			}
			return structpb.NewStructValue(&structpb.Struct{Fields: out}), nil
		}
	case reflect.Struct:
		return structValueEncoder(t)
	default:
		return viaOf(t)
	}
}

type valueMember struct {
	name  string
	value *structpb.Value
}

// structValueEncoder follows structEncoder.
func structValueEncoder(t reflect.Type) valueFunc {
	fields, ok := encodedFields(t)
	if !ok {
		return viaOf(t)
	}
	encs := make([]*valueEncoder, len(fields))
	for i := range fields {
		encs[i] = valueEncoderOf(fields[i].enc.t)
	}
	return func(v reflect.Value) (*structpb.Value, error) {
		var buf [16]valueMember
		members := buf[:0]
		for i := range fields {
			f := &fields[i]
			fv, ok := fieldByIndex(v, f.index)
			if !ok {
				continue // In a nil inlined struct.
			}
			if f.isZero != nil && f.isZero(fv) {
				continue
			}
			if f.omitEmpty && f.plainEmpty(fv) {
				continue
			}
			e, err := encs[i].get()(fv)
			if err != nil {
				return nil, err
			}
			if f.omitEmpty && emptyValue(e) {
				continue
			}
			members = append(members, valueMember{f.name, e})
		}
		out := make(map[string]*structpb.Value, len(members))
		for _, m := range members {
			out[m.name] = m.value
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: out}), nil
	}
}

// emptyValue is empty for a structpb value.
func emptyValue(e *structpb.Value) bool {
	switch k := e.GetKind().(type) {
	case *structpb.Value_NullValue:
		return true
	case *structpb.Value_StringValue:
		return k.StringValue == ""
	case *structpb.Value_StructValue:
		return len(k.StructValue.GetFields()) == 0
	case *structpb.Value_ListValue:
		return len(k.ListValue.GetValues()) == 0
	}
	return false
}
