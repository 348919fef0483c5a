// Package codec is the function's gRPC codec: gRPC's protobuf codec, except
// for the structpb.Structs that are most of every request's and response's
// bytes. protobuf-go walks a Struct's map through package reflect, one
// entry at a time (and, encoding, copies each key twice: once to size it,
// once to write it): on the full example that was a third of a create's
// CPU and two fifths of a reconcile's, paid by every function
// (docs/performance.md, ninth and tenth passes).
//
// It encodes a RunFunctionResponse's desired resources with vtprotobuf's
// code generated for structpb. The bytes are a protobuf encoding of the
// same message: decoded, it is proto.Equal to the response, and it is
// exactly as long as protobuf-go's encoding. The order differs, as
// protobuf allows ("Encoding", protobuf.dev/programming-guides/encoding:
// "Field Order": parsers must accept fields in any order; "Maps": a map is
// a repeated message of key 1 and value 2, in no particular order): the
// desired state comes after the response's other fields, and map entries
// come in whatever order Go's maps give (as from protobuf-go without
// Deterministic, which gRPC uses). What vtprotobuf would encode otherwise
// than protobuf-go goes through protobuf-go instead (see structSize), as
// does every other message, and a response of a function-sdk-go whose
// messages have fields this package does not know.
//
// A Response carries desired composed resources already encoded (the
// function writes them in its typed walk, jsonmap.AppendStruct); the codec
// copies their bytes into the desired state, so their Structs are never
// built or walked (eleventh pass).
//
// It decodes a RunFunctionRequest's fields that hold Structs itself
// (decodeRequest), to the message protobuf-go would decode, and everything
// else, and every request protobuf-go would decode otherwise than a plain
// reading, with protobuf-go.
package codec

import (
	"sync"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	vtstructpb "github.com/planetscale/vtprotobuf/types/known/structpb"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

// Codec is gRPC's protobuf codec with a RunFunctionResponse's desired state
// written by this package. Install it with grpc.ForceServerCodecV2.
type Codec struct {
	proto encoding.CodecV2
}

// New returns the codec.
func New() Codec {
	return Codec{proto: encoding.GetCodecV2(grpcproto.Name)}
}

// Name is gRPC's protobuf codec's: clients ask for it by content subtype.
func (c Codec) Name() string { return c.proto.Name() }

// Marshal encodes v: a RunFunctionResponse, or a Response, that plan takes
// with write; a Response it does not take decoded, then with gRPC's codec;
// anything else with gRPC's codec.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	switch v := v.(type) {
	case *fnv1.RunFunctionResponse:
		if data, ok := write(v, nil); ok {
			return data, nil
		}
	case *Response:
		if v != nil {
			if data, ok := write(v.Msg, v.Resources); ok {
				return data, nil
			}
		}
		rsp, err := v.Decoded()
		if err != nil {
			return nil, err
		}
		return c.proto.Marshal(rsp)
	}
	return c.proto.Marshal(v)
}

// write encodes rsp with the encoded resources added to its desired state
// into a buffer from gRPC's pool (gRPC returns it once the response is
// written), as gRPC's codec does; false if plan leaves it to protobuf-go
// or the encoding came out at another size than planned.
func write(rsp *fnv1.RunFunctionResponse, encoded map[string]Encoded) (mem.BufferSlice, bool) {
	e, ok := plan(rsp, encoded)
	if !ok {
		return nil, false
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(e.size)
	b, err := e.append((*buf)[:0])
	if err != nil {
		pool.Put(buf)
		return nil, false
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, true
}

// Response is a RunFunctionResponse and desired composed resources whose
// Structs are already encoded (jsonmap.AppendStruct), which the codec
// writes into the response's desired state as they are: a gRPC handler
// returns it (fn/main.go), so that a function that builds its resources as
// protobuf need not build structpb messages for the codec to walk again.
type Response struct {
	Msg *fnv1.RunFunctionResponse
	// Resources are desired composed resources, by name, added to Msg's
	// desired state (replacing one of the same name).
	Resources map[string]Encoded
}

// Encoded is a desired composed resource: the protobuf encoding of its
// structpb.Struct, and whether it is ready.
type Encoded struct {
	Struct []byte
	Ready  fnv1.Ready
}

// Decoded returns the response with Resources decoded into its desired
// state: the message a client decodes from the codec's encoding of r.
func (r *Response) Decoded() (*fnv1.RunFunctionResponse, error) {
	if r == nil {
		return &fnv1.RunFunctionResponse{}, nil
	}
	rsp := r.Msg
	if rsp == nil {
		rsp = &fnv1.RunFunctionResponse{}
	}
	if len(r.Resources) == 0 {
		return rsp, nil
	}
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = make(map[string]*fnv1.Resource, len(r.Resources))
	}
	for name, e := range r.Resources {
		s := &structpb.Struct{}
		if err := proto.Unmarshal(e.Struct, s); err != nil {
			return nil, errors.Wrapf(err, "cannot decode the desired composed resource %s", name)
		}
		rsp.Desired.Resources[name] = &fnv1.Resource{Resource: s, Ready: e.Ready}
	}
	r.Msg, r.Resources = rsp, nil
	return rsp, nil
}

// Unmarshal decodes data into v, as gRPC's protobuf codec does: a
// RunFunctionRequest's Structs by decodeRequest, unless it leaves the
// request to protobuf-go; anything else with gRPC's codec.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if req, ok := v.(*fnv1.RunFunctionRequest); ok && req != nil {
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		defer buf.Free()
		proto.Reset(req)
		if decodeRequest(buf.ReadOnlyData(), req) {
			return nil
		}
		proto.Reset(req)
	}
	return c.proto.Unmarshal(data, v)
}

// The fields of the messages the codec knows: it writes a
// RunFunctionResponse's desired state itself, and copies the response's
// other fields into a message protobuf-go encodes (plan).
var fields = map[protoreflect.FullName]map[protoreflect.FieldNumber]protoreflect.Name{
	"apiextensions.fn.proto.v1.RunFunctionResponse": {
		1: "meta", responseDesired: "desired", 3: "results", 4: "context", 5: "requirements", 6: "conditions", 7: "output",
	},
	"apiextensions.fn.proto.v1.State":    {stateComposite: "composite", stateResources: "resources"},
	"apiextensions.fn.proto.v1.Resource": {resourceStruct: "resource", resourceConnection: "connection_details", resourceReady: "ready"},
}

// The field numbers the codec writes itself.
const (
	responseDesired          = 2
	stateComposite           = 1
	stateResources           = 2
	resourceStruct           = 1
	resourceConnection       = 2
	resourceReady            = 3
	mapKey, mapValue         = 1, 2
	tagSize                  = 1 // Every tag above: field number < 16.
	maxFieldNumberOneByteTag = 15
)

// known reports whether the messages the codec writes have exactly the
// fields it knows (so a function-sdk-go that added one falls back to
// protobuf-go, and TestKnowsEveryField fails).
var known = sync.OnceValue(func() bool {
	for _, m := range []proto.Message{&fnv1.RunFunctionResponse{}, &fnv1.State{}, &fnv1.Resource{}} {
		d := m.ProtoReflect().Descriptor()
		want, ok := fields[d.FullName()]
		if !ok || d.Fields().Len() != len(want) {
			return false
		}
		for i := range d.Fields().Len() {
			f := d.Fields().Get(i)
			if want[f.Number()] != f.Name() || f.Number() > maxFieldNumberOneByteTag {
				return false
			}
		}
	}
	return true
})

// response is a RunFunctionResponse sized for encoding: the fields
// protobuf-go encodes (rest, sized by proto.Size), the desired state the
// codec writes, and the response's unknown fields.
type response struct {
	rest    *fnv1.RunFunctionResponse
	desired *state
	unknown []byte
	size    int
}

// plan sizes rsp with the encoded resources added to its desired state,
// or reports that it is left to protobuf-go: a function-sdk-go whose
// messages have fields this package does not know, a desired state
// vtprotobuf would encode otherwise (see structSize), or an encoded
// resource of the same name as one of rsp's.
func plan(rsp *fnv1.RunFunctionResponse, encoded map[string]Encoded) (*response, bool) {
	if rsp == nil || !known() {
		return nil, false
	}
	e := &response{
		rest: &fnv1.RunFunctionResponse{
			Meta:         rsp.GetMeta(),
			Results:      rsp.GetResults(),
			Context:      rsp.Context, // Optional: a nil Context is unset.
			Requirements: rsp.GetRequirements(),
			Conditions:   rsp.GetConditions(),
			Output:       rsp.Output, // Optional, as Context.
		},
		unknown: rsp.ProtoReflect().GetUnknown(),
	}
	d := rsp.GetDesired()
	if d == nil && len(encoded) > 0 {
		d = &fnv1.State{}
	}
	if d != nil {
		var ok bool
		if e.desired, ok = sizeState(d, encoded); !ok {
			return nil, false
		}
		e.size += tagSize + protowire.SizeBytes(e.desired.size)
	}
	e.size += proto.Size(e.rest) + len(e.unknown)
	return e, true
}

// errSized is an encoding that came out at another size than planned,
// which leaves the response to protobuf-go.
var errSized = errors.New("encoded at another size than planned")

// append appends the encoding to b, which must have room for e.size bytes.
func (e *response) append(b []byte) ([]byte, error) {
	start := len(b)
	// proto.Size has just cached the sizes MarshalAppend would compute.
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, e.rest)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode the response")
	}
	if e.desired != nil {
		b = protowire.AppendTag(b, responseDesired, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(e.desired.size))
		if b, err = e.desired.append(b); err != nil {
			return nil, err
		}
	}
	b = append(b, e.unknown...)
	if len(b)-start != e.size {
		return nil, errSized
	}
	return b, nil
}

// state is a State with its encoded sizes: its resources in the order
// they were sized, so that they are written in the same order.
type state struct {
	msg       *fnv1.State
	composite *resource
	resources []resource
	size      int
}

// resource is a Resource, under name in a State's resources (or the
// composite resource), with its encoded size and its Struct's; or an
// encoded resource.
type resource struct {
	name       string
	msg        *fnv1.Resource
	encoded    Encoded
	isEncoded  bool
	structSize int
	size       int
}

// sizeState sizes s, or reports that vtprotobuf would encode it otherwise
// than protobuf-go: a resource name or connection detail key that is not
// UTF-8 (protobuf-go refuses it), or a Struct structSize refuses.
func sizeState(s *fnv1.State, encoded map[string]Encoded) (*state, bool) {
	st := &state{msg: s, resources: make([]resource, 0, len(s.GetResources())+len(encoded))}
	if c := s.GetComposite(); c != nil {
		r, ok := sizeResource("the composite resource", c)
		if !ok {
			return nil, false
		}
		st.composite = &r
		st.size += tagSize + protowire.SizeBytes(r.size)
	}
	for name, r := range s.GetResources() {
		res, ok := sizeResource(name, r)
		if !ok || !utf8.ValidString(name) {
			return nil, false
		}
		st.resources = append(st.resources, res)
		st.size += tagSize + protowire.SizeBytes(entrySize(len(name), res.size))
	}
	for name, e := range encoded {
		if _, twice := s.GetResources()[name]; twice || !utf8.ValidString(name) {
			return nil, false
		}
		res := resource{name: name, encoded: e, isEncoded: true, structSize: len(e.Struct)}
		res.size = tagSize + protowire.SizeBytes(res.structSize)
		if e.Ready != 0 {
			res.size += tagSize + protowire.SizeVarint(uint64(e.Ready))
		}
		st.resources = append(st.resources, res)
		st.size += tagSize + protowire.SizeBytes(entrySize(len(name), res.size))
	}
	st.size += len(s.ProtoReflect().GetUnknown())
	return st, true
}

// entrySize is the size of a map entry of a key and a value (a string or
// bytes, or a message) of these lengths: both are written, even when
// empty, as protobuf-go writes them.
func entrySize(key, value int) int {
	return tagSize + protowire.SizeBytes(key) + tagSize + protowire.SizeBytes(value)
}

func sizeResource(name string, r *fnv1.Resource) (resource, bool) {
	res := resource{name: name, msg: r}
	if s := r.GetResource(); s != nil {
		var ok bool
		if res.structSize, ok = structSize(s); !ok {
			return resource{}, false
		}
		res.size += tagSize + protowire.SizeBytes(res.structSize)
	}
	for k, v := range r.GetConnectionDetails() {
		if !utf8.ValidString(k) {
			return resource{}, false
		}
		res.size += tagSize + protowire.SizeBytes(entrySize(len(k), len(v)))
	}
	if ready := r.GetReady(); ready != 0 {
		res.size += tagSize + protowire.SizeVarint(uint64(ready))
	}
	res.size += len(r.ProtoReflect().GetUnknown())
	return res, true
}

func (st *state) append(b []byte) ([]byte, error) {
	var err error
	if st.composite != nil {
		b = protowire.AppendTag(b, stateComposite, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(st.composite.size))
		if b, err = st.composite.append(b); err != nil {
			return nil, err
		}
	}
	for i := range st.resources {
		r := &st.resources[i]
		b = protowire.AppendTag(b, stateResources, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(entrySize(len(r.name), r.size)))
		b = protowire.AppendTag(b, mapKey, protowire.BytesType)
		b = protowire.AppendString(b, r.name)
		b = protowire.AppendTag(b, mapValue, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(r.size))
		if b, err = r.append(b); err != nil {
			return nil, err
		}
	}
	return append(b, st.msg.ProtoReflect().GetUnknown()...), nil
}

func (r *resource) append(b []byte) ([]byte, error) {
	if r.isEncoded {
		e := &r.encoded
		b = protowire.AppendTag(b, resourceStruct, protowire.BytesType)
		b = protowire.AppendBytes(b, e.Struct)
		if e.Ready != 0 {
			b = protowire.AppendTag(b, resourceReady, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(e.Ready))
		}
		return b, nil
	}
	if s := r.msg.GetResource(); s != nil {
		b = protowire.AppendTag(b, resourceStruct, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(r.structSize))
		// vtprotobuf writes a message backwards into a buffer of exactly
		// its size.
		start := len(b)
		if cap(b) < start+r.structSize {
			return nil, errSized
		}
		b = b[:start+r.structSize]
		n, err := (*vtstructpb.Struct)(s).MarshalToSizedBufferVT(b[start:])
		if err != nil {
			return nil, errors.Wrapf(err, "cannot encode %s", r.name)
		}
		if n != r.structSize {
			return nil, errSized
		}
	}
	for k, v := range r.msg.GetConnectionDetails() {
		b = protowire.AppendTag(b, resourceConnection, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(entrySize(len(k), len(v))))
		b = protowire.AppendTag(b, mapKey, protowire.BytesType)
		b = protowire.AppendString(b, k)
		b = protowire.AppendTag(b, mapValue, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	if ready := r.msg.GetReady(); ready != 0 {
		b = protowire.AppendTag(b, resourceReady, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(ready))
	}
	return append(b, r.msg.ProtoReflect().GetUnknown()...), nil
}

// structSize is the size of s as vtprotobuf writes it (what its SizeVT
// computes, TestStructSize), and whether vtprotobuf writes s as
// protobuf-go does: every string in it is UTF-8 (protobuf-go refuses a
// proto3 string that is not; vtprotobuf does not check); no Value has a
// kind that is a nil pointer, or a nil Struct or ListValue (protobuf-go
// takes the one as unset and encodes the other as empty; vtprotobuf panics
// on the first and sizes the second wrong); and no Struct, Value or
// ListValue has unknown fields (vtprotobuf cannot reach them). The
// function builds none of these; protobuf-go encodes them all. Sizing and
// checking in one walk leaves each Struct walked twice (here, and by
// vtprotobuf writing it) rather than three times.
func structSize(s *structpb.Struct) (int, bool) {
	if len(s.ProtoReflect().GetUnknown()) > 0 {
		return 0, false
	}
	n := 0
	for k, v := range s.GetFields() {
		l, ok := valueSize(v)
		if !ok || !utf8.ValidString(k) {
			return 0, false
		}
		n += tagSize + protowire.SizeBytes(entrySize(len(k), l))
	}
	return n, true
}

func valueSize(v *structpb.Value) (int, bool) {
	if v == nil {
		return 0, true // Encoded as an empty Value by both.
	}
	if len(v.ProtoReflect().GetUnknown()) > 0 {
		return 0, false
	}
	switch k := v.GetKind().(type) {
	case nil:
		return 0, true
	case *structpb.Value_NullValue:
		if k == nil {
			return 0, false
		}
		// A oneof's member is written even when it is its zero value.
		return tagSize + protowire.SizeVarint(uint64(k.NullValue)), true
	case *structpb.Value_NumberValue:
		return tagSize + protowire.SizeFixed64(), k != nil
	case *structpb.Value_BoolValue:
		if k == nil {
			return 0, false
		}
		return tagSize + protowire.SizeVarint(protowire.EncodeBool(k.BoolValue)), true
	case *structpb.Value_StringValue:
		if k == nil || !utf8.ValidString(k.StringValue) {
			return 0, false
		}
		return tagSize + protowire.SizeBytes(len(k.StringValue)), true
	case *structpb.Value_StructValue:
		if k == nil || k.StructValue == nil {
			return 0, false
		}
		l, ok := structSize(k.StructValue)
		return tagSize + protowire.SizeBytes(l), ok
	case *structpb.Value_ListValue:
		if k == nil || k.ListValue == nil || len(k.ListValue.ProtoReflect().GetUnknown()) > 0 {
			return 0, false
		}
		n := 0
		for _, e := range k.ListValue.GetValues() {
			l, ok := valueSize(e)
			if !ok {
				return 0, false
			}
			n += tagSize + protowire.SizeBytes(l)
		}
		return tagSize + protowire.SizeBytes(n), true
	default:
		return 0, false
	}
}
