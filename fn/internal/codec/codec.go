// Package codec is the function's gRPC codec: gRPC's protobuf codec, except
// that it encodes a RunFunctionResponse's resources, structpb.Structs that
// are most of every response's bytes, with vtprotobuf's code generated for
// structpb instead of protobuf-go's reflection. protobuf-go walks a
// Struct's map through package reflect and copies each key twice (once to
// size it, once to write it): on the full example that was a third of a
// create's CPU, paid by every function (docs/performance.md, ninth pass).
//
// The bytes are a protobuf encoding of the same message: decoded, it is
// proto.Equal to the response, and it is exactly as long as proto.Size says.
// Only map entries may come in another order, as they may from protobuf-go
// (gRPC encodes without Deterministic). Every other message, every request's
// decoding, and a response of a function-sdk-go whose messages have fields
// this package does not know, go through gRPC's own codec.
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

// Codec is gRPC's protobuf codec with RunFunctionResponses encoded by
// MarshalResponse. Install it with grpc.ForceServerCodecV2.
type Codec struct {
	proto encoding.CodecV2
}

// New returns the codec.
func New() Codec {
	return Codec{proto: encoding.GetCodecV2(grpcproto.Name)}
}

// Name is gRPC's protobuf codec's: clients ask for it by content subtype.
func (c Codec) Name() string { return c.proto.Name() }

// Marshal encodes v.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	rsp, ok := v.(*fnv1.RunFunctionResponse)
	if !ok || !known() {
		return c.proto.Marshal(v)
	}
	b, err := MarshalResponse(rsp)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// Unmarshal decodes data into v, as gRPC's protobuf codec does.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	return c.proto.Unmarshal(data, v)
}

// The fields MarshalResponse writes, by message: a RunFunctionResponse's
// desired state's resources; the rest of the response is copied field by
// field into a message protobuf-go encodes.
var fields = map[protoreflect.FullName]map[protoreflect.FieldNumber]protoreflect.Name{
	"apiextensions.fn.proto.v1.RunFunctionResponse": {
		1: "meta", 2: "desired", 3: "results", 4: "context", 5: "requirements", 6: "conditions", 7: "output",
	},
	"apiextensions.fn.proto.v1.State":    {1: "composite", 2: "resources"},
	"apiextensions.fn.proto.v1.Resource": {1: "resource", 2: "connection_details", 3: "ready"},
}

// The field numbers MarshalResponse writes.
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

// known reports whether the messages MarshalResponse writes have exactly the
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

// MarshalResponse encodes rsp: its desired resources' Structs with
// vtprotobuf, the rest of it with protobuf-go. vtprotobuf does not check
// that strings are UTF-8, as protobuf-go does for proto3 strings, so a
// response with a string that is not is left to protobuf-go, which refuses
// it with its own error.
func MarshalResponse(rsp *fnv1.RunFunctionResponse) ([]byte, error) {
	if !desiredUTF8(rsp.GetDesired()) {
		return proto.Marshal(rsp)
	}
	rest := &fnv1.RunFunctionResponse{
		Meta:         rsp.GetMeta(),
		Results:      rsp.GetResults(),
		Context:      rsp.Context,
		Requirements: rsp.GetRequirements(),
		Conditions:   rsp.GetConditions(),
		Output:       rsp.Output,
	}
	unknown := rsp.ProtoReflect().GetUnknown()
	size := proto.Size(rest) + len(unknown)
	var desired *state
	if rsp.GetDesired() != nil {
		desired = sizeState(rsp.GetDesired())
		size += tagSize + protowire.SizeBytes(desired.size)
	}
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(make([]byte, 0, size), rest)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode the response")
	}
	if desired != nil {
		b = protowire.AppendTag(b, responseDesired, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(desired.size))
		if b, err = desired.append(b); err != nil {
			return nil, err
		}
	}
	b = append(b, unknown...)
	if len(b) != size {
		return nil, errors.Errorf("cannot encode the response: %d bytes written, %d sized", len(b), size)
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

// resource is a Resource, under name in a State's resources, with its
// encoded size and its Struct's.
type resource struct {
	name       string
	msg        *fnv1.Resource
	structSize int
	size       int
}

func sizeState(s *fnv1.State) *state {
	st := &state{msg: s, resources: make([]resource, 0, len(s.GetResources()))}
	if c := s.GetComposite(); c != nil {
		r := sizeResource("", c)
		st.composite = &r
		st.size += tagSize + protowire.SizeBytes(r.size)
	}
	for name, r := range s.GetResources() {
		res := sizeResource(name, r)
		st.resources = append(st.resources, res)
		st.size += tagSize + protowire.SizeBytes(res.entrySize())
	}
	st.size += len(s.ProtoReflect().GetUnknown())
	return st
}

// entrySize is the size of a map entry holding r under its name: both key
// and value are written, even when empty, as protobuf-go writes them.
func (r *resource) entrySize() int {
	return tagSize + protowire.SizeBytes(len(r.name)) + tagSize + protowire.SizeBytes(r.size)
}

func sizeResource(name string, r *fnv1.Resource) resource {
	res := resource{name: name, msg: r}
	if s := r.GetResource(); s != nil {
		res.structSize = (*vtstructpb.Struct)(s).SizeVT()
		res.size += tagSize + protowire.SizeBytes(res.structSize)
	}
	for k, v := range r.GetConnectionDetails() {
		entry := tagSize + protowire.SizeBytes(len(k)) + tagSize + protowire.SizeBytes(len(v))
		res.size += tagSize + protowire.SizeBytes(entry)
	}
	if ready := r.GetReady(); ready != 0 {
		res.size += tagSize + protowire.SizeVarint(uint64(ready))
	}
	res.size += len(r.ProtoReflect().GetUnknown())
	return res
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
		b = protowire.AppendVarint(b, uint64(r.entrySize()))
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
	if s := r.msg.GetResource(); s != nil {
		b = protowire.AppendTag(b, resourceStruct, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(r.structSize))
		// vtprotobuf writes a message backwards into a buffer of exactly
		// its size.
		start := len(b)
		b = b[:start+r.structSize]
		n, err := (*vtstructpb.Struct)(s).MarshalToSizedBufferVT(b[start:])
		if err != nil {
			return nil, errors.Wrapf(err, "cannot encode resource %q", r.name)
		}
		if n != r.structSize {
			return nil, errors.Errorf("cannot encode resource %q: %d bytes written, %d sized", r.name, n, r.structSize)
		}
	}
	for k, v := range r.msg.GetConnectionDetails() {
		b = protowire.AppendTag(b, resourceConnection, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(tagSize+protowire.SizeBytes(len(k))+tagSize+protowire.SizeBytes(len(v))))
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

// desiredUTF8 reports whether every string MarshalResponse writes itself is
// valid UTF-8: resource names, connection detail keys, and the Structs'
// keys and string values.
func desiredUTF8(s *fnv1.State) bool {
	ok := func(r *fnv1.Resource) bool {
		for k := range r.GetConnectionDetails() {
			if !utf8.ValidString(k) {
				return false
			}
		}
		return structUTF8(r.GetResource())
	}
	if !ok(s.GetComposite()) {
		return false
	}
	for name, r := range s.GetResources() {
		if !utf8.ValidString(name) || !ok(r) {
			return false
		}
	}
	return true
}

func structUTF8(s *structpb.Struct) bool {
	for k, v := range s.GetFields() {
		if !utf8.ValidString(k) || !valueUTF8(v) {
			return false
		}
	}
	return true
}

func valueUTF8(v *structpb.Value) bool {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return utf8.ValidString(k.StringValue)
	case *structpb.Value_StructValue:
		return structUTF8(k.StructValue)
	case *structpb.Value_ListValue:
		for _, e := range k.ListValue.GetValues() {
			if !valueUTF8(e) {
				return false
			}
		}
	}
	return true
}
