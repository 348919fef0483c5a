package jsonmap

import (
	"math"
	"reflect"
	"slices"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// AppendStruct appends to b the protobuf encoding of the *structpb.Struct
// that structpb.NewStruct makes of Of(v), less its members named in omit,
// with the same error: Of's walk, written as it goes, without the maps,
// the structpb messages, or a second walk to encode them. A
// RunFunctionResponse carries composed resources as Structs; building them
// and encoding them was about two fifths of a create's CPU
// (docs/performance.md, eleventh pass).
//
// The encoding is protobuf's ("Encoding", protobuf.dev/programming-guides/
// encoding): the Struct's map is a repeated message of key 1 and value 2,
// in Go's field order rather than protobuf-go's map order ("Maps": in no
// particular order), and each length-delimited field's length is the
// shortest varint, as protobuf-go writes it; decoded, it is proto.Equal to
// that Struct (TestAppendStructAsOf), and as long as protobuf-go's
// encoding of it. Whatever the walk leaves to Of's round trip is written
// from Of's value; a value the walk cannot encode (invalid UTF-8, NaN), or
// v of another shape than a struct, goes through Of and AppendObject, so
// the outcome and the error are always theirs.
func AppendStruct(b []byte, v any, omit ...string) ([]byte, error) {
	start := len(b)
	if rv, ok := structValue(v); ok {
		out, err := wireStructOf(rv.Type()).get()(b, rv, omit)
		if err == nil {
			return out, nil
		}
	}
	obj, err := Object(v)
	if err != nil {
		return nil, err
	}
	for _, name := range omit {
		delete(obj, name)
	}
	return AppendObject(b[:start], obj) // The walk's bytes share b's array.
}

// AppendMember appends to b a member of a Struct's encoding: name and the
// JSON-shaped value x (map[string]any, []any, string, float64, bool, nil),
// as structpb.NewValue converts it. Anything else, or a string that is
// not UTF-8, is an error: the caller builds x.
func AppendMember(b []byte, name string, x any) ([]byte, error) {
	start := len(b)
	b, err := appendEntry(b, name, func(b []byte) ([]byte, error) { return appendJSON(b, x) })
	if err != nil {
		return b[:start], errors.Errorf("cannot encode %q: not a JSON value of valid UTF-8", name)
	}
	return b, nil
}

// AppendObject appends to b the protobuf encoding of the Struct that
// structpb.NewStruct(m) returns, with the same error.
func AppendObject(b []byte, m map[string]any) ([]byte, error) {
	start := len(b)
	out, err := appendJSONFields(b, m)
	if err == nil {
		return out, nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, err
	}
	out, err = proto.MarshalOptions{}.MarshalAppend(b[:start], s)
	return out, errors.Wrap(err, "cannot encode the object")
}

// structValue is the struct v points to, through pointers, if none is nil.
func structValue(v any) (reflect.Value, bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}, false
		}
		rv = rv.Elem()
	}
	return rv, rv.Kind() == reflect.Struct
}

// The fields of google/protobuf/struct.proto's messages.
const (
	structMembers = 1 // Struct: map<string, Value> fields = 1.
	entryKey      = 1 // A map entry's key and value.
	entryValue    = 2
	valueNull     = 1 // Value's kinds, a oneof: one is always written.
	valueNumber   = 2
	valueString   = 3
	valueBool     = 4
	valueStruct   = 5
	valueList     = 6
	listValues    = 1 // ListValue: repeated Value values = 1.
)

// wireFunc appends v's encoding as a Value's fields (its one kind).
type wireFunc func(b []byte, v reflect.Value) ([]byte, error)

type wireEncoder = lazyEncoder[wireFunc]

var wireEncoders encoderCache[wireFunc]

func wireEncoderOf(t reflect.Type) *wireEncoder {
	return wireEncoders.of(t, buildWire)
}

// wireFieldsFunc appends a struct's members, less those named in omit, as
// a Struct's fields.
type wireFieldsFunc func(b []byte, v reflect.Value, omit []string) ([]byte, error)

var wireStructs encoderCache[wireFieldsFunc]

func wireStructOf(t reflect.Type) *lazyEncoder[wireFieldsFunc] {
	return wireStructs.of(t, buildWireFields)
}

// begin starts a length-delimited field's contents, leaving a byte for
// its length: most contents here are shorter than 128 bytes. end writes
// the length, moving the contents up when it takes more bytes.
func begin(b []byte) ([]byte, int) { return append(b, 0), len(b) }

func end(b []byte, at int) []byte {
	n := len(b) - at - 1
	size := uint64(n) //nolint:gosec // A length: not negative.
	if k := protowire.SizeVarint(size); k > 1 {
		b = slices.Grow(b, k-1)[:len(b)+k-1]
		copy(b[at+k:], b[at+1:at+1+n])
	}
	protowire.AppendVarint(b[at:at], size) // In place: b has room.
	return b
}

// appendMessage appends field num, a message: its length, then what
// contents appends.
func appendMessage(b []byte, num protowire.Number, contents func([]byte) ([]byte, error)) ([]byte, error) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b, at := begin(b)
	b, err := contents(b)
	if err != nil {
		return b, err
	}
	return end(b, at), nil
}

// appendEntry appends a Struct's member: its map entry of name and the
// Value value appends.
func appendEntry(b []byte, name string, value func([]byte) ([]byte, error)) ([]byte, error) {
	return appendMessage(b, structMembers, func(b []byte) ([]byte, error) {
		b = protowire.AppendTag(b, entryKey, protowire.BytesType)
		b = protowire.AppendString(b, name)
		return appendMessage(b, entryValue, value)
	})
}

// appendList appends a ListValue of n Values, the ith of which elem
// appends, as a Value's kind.
func appendList(b []byte, n int, elem func(b []byte, i int) ([]byte, error)) ([]byte, error) {
	return appendMessage(b, valueList, func(b []byte) ([]byte, error) {
		for i := range n {
			var err error
			if b, err = appendMessage(b, listValues, func(b []byte) ([]byte, error) { return elem(b, i) }); err != nil {
				return b, err
			}
		}
		return b, nil
	})
}

// emptyWire reports whether a Value's fields are null, "", {} or [], which
// omitempty omits (empty's test, on the encoding): the kind's tag and
// a zero, the null enum's or a length's. false is 4<<3 and a zero: kept.
func emptyWire(v []byte) bool {
	if len(v) != 2 || v[1] != 0 {
		return false
	}
	// A tag is the field number << 3 | the wire type ("Encoding",
	// "Message Structure").
	switch v[0] {
	case valueNull<<3 | byte(protowire.VarintType),
		valueString<<3 | byte(protowire.BytesType),
		valueStruct<<3 | byte(protowire.BytesType),
		valueList<<3 | byte(protowire.BytesType):
		return true
	}
	return false
}

func appendNull(b []byte) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, valueNull, protowire.VarintType), uint64(structpb.NullValue_NULL_VALUE))
}

// appendJSON appends a JSON-shaped value as structpb.NewValue converts it;
// errUnencodable for anything else, or a string that is not UTF-8.
func appendJSON(b []byte, x any) ([]byte, error) {
	switch x := x.(type) {
	case nil:
		return appendNull(b), nil
	case bool:
		return protowire.AppendVarint(protowire.AppendTag(b, valueBool, protowire.VarintType), protowire.EncodeBool(x)), nil
	case float64:
		return protowire.AppendFixed64(protowire.AppendTag(b, valueNumber, protowire.Fixed64Type), math.Float64bits(x)), nil
	case string:
		if !utf8.ValidString(x) {
			return b, errUnencodable
		}
		return protowire.AppendString(protowire.AppendTag(b, valueString, protowire.BytesType), x), nil
	case map[string]any:
		return appendMessage(b, valueStruct, func(b []byte) ([]byte, error) { return appendJSONFields(b, x) })
	case []any:
		return appendList(b, len(x), func(b []byte, i int) ([]byte, error) { return appendJSON(b, x[i]) })
	default:
		return b, errUnencodable
	}
}

func appendJSONFields(b []byte, m map[string]any) ([]byte, error) {
	for k, e := range m {
		if !utf8.ValidString(k) {
			return b, errUnencodable
		}
		var err error
		if b, err = appendEntry(b, k, func(b []byte) ([]byte, error) { return appendJSON(b, e) }); err != nil {
			return b, err
		}
	}
	return b, nil
}

// wireViaOf writes what Of's encoder gives: for what the provider's types
// seldom or never hold (custom marshalers, numbers, byte slices), so only
// the common kinds have a walk of their own.
func wireViaOf(t reflect.Type) wireFunc {
	enc := encoderOf(t)
	return func(b []byte, v reflect.Value) ([]byte, error) {
		e, err := enc.get()(v)
		if err != nil {
			return b, err
		}
		return appendJSON(b, e)
	}
}

// buildWire follows build, kind for kind.
func buildWire(t reflect.Type) wireFunc {
	if custom(t) {
		return wireViaOf(t)
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendJSON(b, v.Bool()) }
	case reflect.String:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendJSON(b, v.String()) }
	case reflect.Pointer:
		elem := wireEncoderOf(t.Elem())
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return appendNull(b), nil
			}
			return elem.get()(b, v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return wireViaOf(t)
		}
		elem := wireEncoderOf(t.Elem())
		return func(b []byte, v reflect.Value) ([]byte, error) {
			return appendList(b, v.Len(), func(b []byte, i int) ([]byte, error) { return elem.get()(b, v.Index(i)) })
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || custom(t.Key()) {
			return wireViaOf(t)
		}
		elem := wireEncoderOf(t.Elem())
		return func(b []byte, v reflect.Value) ([]byte, error) {
			return appendMessage(b, valueStruct, func(b []byte) ([]byte, error) {
				err := eachEntry(t, v, func(k string, val reflect.Value) error {
					var err error
					b, err = appendEntry(b, k, func(b []byte) ([]byte, error) { return elem.get()(b, val) })
					return err
				})
				return b, err
			})
		}
	case reflect.Struct:
		fields := wireStructOf(t)
		return func(b []byte, v reflect.Value) ([]byte, error) {
			return appendMessage(b, valueStruct, func(b []byte) ([]byte, error) { return fields.get()(b, v, nil) })
		}
	default:
		return wireViaOf(t)
	}
}

// buildWireFields follows structEncoder; a struct it leaves to the round
// trip is written from Of's value. A struct with its own JSON encoding,
// which buildWire writes from Of's value, is left to Of and AppendObject
// when AppendStruct is given it.
func buildWireFields(t reflect.Type) wireFieldsFunc {
	if custom(t) {
		return func(b []byte, _ reflect.Value, _ []string) ([]byte, error) { return b, errUnencodable }
	}
	fields, ok := encodedFields(t)
	if !ok {
		enc := encoderOf(t)
		return func(b []byte, v reflect.Value, omit []string) ([]byte, error) {
			e, err := enc.get()(v)
			if err != nil {
				return b, err
			}
			m, ok := e.(map[string]any)
			if !ok {
				return b, errUnencodable
			}
			for _, name := range omit {
				delete(m, name)
			}
			return appendJSONFields(b, m)
		}
	}
	encs := make([]*wireEncoder, len(fields))
	for i := range fields {
		encs[i] = wireEncoderOf(fields[i].enc.t)
	}
	return func(b []byte, v reflect.Value, omit []string) ([]byte, error) {
		for i := range fields {
			f := &fields[i]
			if slices.Contains(omit, f.name) {
				continue
			}
			fv, ok := f.value(v)
			if !ok {
				continue
			}
			mark := len(b)
			enc := encs[i].get()
			var (
				empty bool
				err   error
			)
			b, err = appendEntry(b, f.name, func(b []byte) ([]byte, error) {
				start := len(b)
				b, err := enc(b, fv)
				empty = f.omitEmpty && emptyWire(b[start:])
				return b, err
			})
			if err != nil {
				return b, err
			}
			if empty {
				b = b[:mark]
			}
		}
		return b, nil
	}
}
