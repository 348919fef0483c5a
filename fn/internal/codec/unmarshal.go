package codec

import (
	"math"
	"unicode/utf8"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// The field numbers of a RunFunctionRequest the codec decodes itself: the
// ones that hold Structs (TestKnowsTheRequestFields).
const (
	requestObserved          = 2
	requestDesired           = 3
	requestInput             = 4
	requestContext           = 5
	requestExtraResources    = 6
	requestRequiredResources = 8
	resourcesItems           = 1
	structFields             = 1
	listValues               = 1
)

// The fields of a structpb.Value, a oneof.
const (
	valueNull = iota + 1
	valueNumber
	valueString
	valueBool
	valueStruct
	valueList
)

// maxDepth bounds how deep the codec decodes nested messages, so that
// whatever it decodes protobuf-go would too; deeper goes to protobuf-go,
// which refuses it past its default recursion limit (10,000). The codec
// counts a level per message, protobuf-go per message and per map entry:
// a Struct in a Struct costs protobuf-go 3 levels, the codec 2, a list in
// a list both 2 (TestUnmarshal's TooDeep cases).
const maxDepth = 5000

// decodeRequest decodes b into req, which must be empty, as protobuf-go
// would, or reports that it is left to protobuf-go. It decodes the fields
// that hold Structs itself (the observed and desired states, the input,
// the context, the required and extra resources: nearly all of a request's
// bytes), and the rest with protobuf-go. protobuf-go decodes a Struct's
// map through package reflect, one entry at a time: on the full example's
// reconcile that was two fifths of the function's CPU (docs/performance.md,
// tenth pass).
//
// Whatever protobuf-go would decode otherwise than a plain reading of the
// fields goes to protobuf-go whole, so the outcome is always protobuf-go's
// (TestUnmarshal, FuzzUnmarshal): a string that is not UTF-8 (protobuf-go
// refuses it), a field of a State, Resource, Resources, Struct, ListValue
// or Value that is unknown or of another wire type (kept as unknown
// fields), a map entry with such a field (dropped), without its key or
// value (zero) or with one twice, a message field written twice (merged)
// or a Value with two kinds, nesting deeper than maxDepth, and any
// encoding error. Protobuf's encoder writes none of these. vtprotobuf's
// decoding of structpb is not used: it takes strings that are not UTF-8
// and drops unknown fields without a trace, so the codec could not tell
// when to leave a request to protobuf-go.
func decodeRequest(b []byte, req *fnv1.RunFunctionRequest) bool {
	var rest []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		if typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, b[n:])
			if m < 0 {
				return false
			}
			rest = append(rest, b[:n+m]...)
			b = b[n+m:]
			continue
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return false
		}
		ok := true
		switch num {
		case requestObserved:
			req.Observed, ok = decodeOnce(req.Observed, v, decodeState)
		case requestDesired:
			req.Desired, ok = decodeOnce(req.Desired, v, decodeState)
		case requestInput:
			req.Input, ok = decodeOnce(req.Input, v, decodeStruct)
		case requestContext:
			req.Context, ok = decodeOnce(req.Context, v, decodeStruct)
		case requestExtraResources:
			req.ExtraResources, ok = decodeEntry(req.ExtraResources, v, 1, decodeResources) //nolint:staticcheck // Deprecated, still sent by Crossplane.
		case requestRequiredResources:
			req.RequiredResources, ok = decodeEntry(req.RequiredResources, v, 1, decodeResources)
		default:
			rest = append(rest, b[:n+m]...)
		}
		if !ok {
			return false
		}
		b = b[n+m:]
	}
	if len(rest) == 0 {
		return true
	}
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(rest, req) == nil
}

// decodeOnce decodes a singular message field, unless it was already
// decoded: protobuf-go merges the two.
func decodeOnce[M any](was *M, b []byte, decode func([]byte, int) (*M, bool)) (*M, bool) {
	if was != nil {
		return nil, false
	}
	return decode(b, 1)
}

// decodeEntry decodes a map<string, message> entry into m.
func decodeEntry[M any](m map[string]*M, b []byte, depth int, decode func([]byte, int) (*M, bool)) (map[string]*M, bool) {
	key, value, ok := entry(b)
	if !ok {
		return nil, false
	}
	v, ok := decode(value, depth+1)
	if !ok {
		return nil, false
	}
	if m == nil {
		m = map[string]*M{}
	}
	m[key] = v // The last entry of a key wins, as in protobuf-go.
	return m, true
}

// entry is a map entry's key (a UTF-8 string) and value (bytes), each
// written once.
func entry(b []byte) (string, []byte, bool) {
	var key, value []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			return "", nil, false
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return "", nil, false
		}
		switch {
		case num == mapKey && key == nil:
			key = v
		case num == mapValue && value == nil:
			value = v
		default:
			return "", nil, false
		}
		b = b[n+m:]
	}
	if key == nil || value == nil || !utf8.Valid(key) {
		return "", nil, false
	}
	return string(key), value, true
}

// eachField calls field with each field of a message of only length-delimited
// fields, and reports whether b was such a message and field accepted
// every field.
func eachField(b []byte, field func(num protowire.Number, v []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			return false
		}
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 || !field(num, v) {
			return false
		}
		b = b[n+m:]
	}
	return true
}

func decodeState(b []byte, depth int) (*fnv1.State, bool) {
	if depth > maxDepth {
		return nil, false
	}
	s := &fnv1.State{}
	ok := eachField(b, func(num protowire.Number, v []byte) bool {
		var ok bool
		switch num {
		case stateComposite:
			if s.Composite != nil {
				return false
			}
			s.Composite, ok = decodeResource(v, depth+1)
		case stateResources:
			s.Resources, ok = decodeEntry(s.Resources, v, depth+1, decodeResource)
		}
		return ok
	})
	return s, ok
}

func decodeResources(b []byte, depth int) (*fnv1.Resources, bool) {
	items, ok := decodeRepeated(b, depth, resourcesItems, decodeResource)
	return &fnv1.Resources{Items: items}, ok
}

// decodeRepeated decodes a message whose only field, num, is a repeated
// message field (Resources, ListValue).
func decodeRepeated[M any](b []byte, depth int, num protowire.Number, decode func([]byte, int) (*M, bool)) ([]*M, bool) {
	if depth > maxDepth {
		return nil, false
	}
	var out []*M
	ok := eachField(b, func(n protowire.Number, v []byte) bool {
		if n != num {
			return false
		}
		m, ok := decode(v, depth+1)
		out = append(out, m)
		return ok
	})
	return out, ok
}

func decodeResource(b []byte, depth int) (*fnv1.Resource, bool) {
	if depth > maxDepth {
		return nil, false
	}
	r := &fnv1.Resource{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		if num == resourceReady && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, false
			}
			r.Ready = fnv1.Ready(int32(v)) //nolint:gosec // An enum is an int32 on the wire, truncated as protobuf-go does.
			b = b[m:]
			continue
		}
		if typ != protowire.BytesType {
			return nil, false
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return nil, false
		}
		switch num {
		case resourceStruct:
			var ok bool
			if r.Resource != nil {
				return nil, false
			}
			if r.Resource, ok = decodeStruct(v, depth+1); !ok {
				return nil, false
			}
		case resourceConnection:
			key, value, ok := entry(v)
			if !ok {
				return nil, false
			}
			if r.ConnectionDetails == nil {
				r.ConnectionDetails = map[string][]byte{}
			}
			r.ConnectionDetails[key] = append([]byte{}, value...) // Not the request's buffer, which gRPC reuses.
		default:
			return nil, false
		}
		b = b[m:]
	}
	return r, true
}

func decodeStruct(b []byte, depth int) (*structpb.Struct, bool) {
	if depth > maxDepth {
		return nil, false
	}
	s := &structpb.Struct{}
	ok := eachField(b, func(num protowire.Number, v []byte) bool {
		if num != structFields {
			return false
		}
		var ok bool
		s.Fields, ok = decodeEntry(s.Fields, v, depth, decodeValue)
		return ok
	})
	return s, ok
}

func decodeList(b []byte, depth int) (*structpb.ListValue, bool) {
	values, ok := decodeRepeated(b, depth, listValues, decodeValue)
	return &structpb.ListValue{Values: values}, ok
}

func decodeValue(b []byte, depth int) (*structpb.Value, bool) {
	if depth > maxDepth {
		return nil, false
	}
	v := &structpb.Value{}
	if len(b) == 0 {
		return v, true
	}
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return nil, false
	}
	b = b[n:]
	var m int
	switch {
	case num == valueNull && typ == protowire.VarintType:
		var x uint64
		x, m = protowire.ConsumeVarint(b)
		v.Kind = &structpb.Value_NullValue{NullValue: structpb.NullValue(int32(x))} //nolint:gosec // As Ready.
	case num == valueNumber && typ == protowire.Fixed64Type:
		var x uint64
		x, m = protowire.ConsumeFixed64(b)
		v.Kind = &structpb.Value_NumberValue{NumberValue: math.Float64frombits(x)}
	case num == valueBool && typ == protowire.VarintType:
		var x uint64
		x, m = protowire.ConsumeVarint(b)
		v.Kind = &structpb.Value_BoolValue{BoolValue: protowire.DecodeBool(x)}
	case typ == protowire.BytesType && (num == valueString || num == valueStruct || num == valueList):
		var s []byte
		if s, m = protowire.ConsumeBytes(b); m < 0 {
			return nil, false
		}
		var ok bool
		switch num {
		case valueString:
			ok = utf8.Valid(s)
			v.Kind = &structpb.Value_StringValue{StringValue: string(s)}
		case valueStruct:
			var st *structpb.Struct
			st, ok = decodeStruct(s, depth+1)
			v.Kind = &structpb.Value_StructValue{StructValue: st}
		default:
			var l *structpb.ListValue
			l, ok = decodeList(s, depth+1)
			v.Kind = &structpb.Value_ListValue{ListValue: l}
		}
		if !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	// One kind, written once: a second would replace or merge with it.
	if m < 0 || m != len(b) {
		return nil, false
	}
	return v, true
}
