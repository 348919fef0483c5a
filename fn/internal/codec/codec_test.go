package codec

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	fnv1beta1 "github.com/crossplane/function-sdk-go/proto/v1beta1"
	"github.com/google/go-cmp/cmp"
	vtstructpb "github.com/planetscale/vtprotobuf/types/known/structpb"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// recorded are the function's recorded responses (fn's
// TestResponsesUnchanged pins them): both scopes, every round.
func recorded(t testing.TB) map[string]*fnv1.RunFunctionResponse {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "responses")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*fnv1.RunFunctionResponse{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".binpb")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		rsp := &fnv1.RunFunctionResponse{}
		if err := proto.Unmarshal(b, rsp); err != nil {
			t.Fatal(err)
		}
		out[name] = rsp
	}
	if len(out) == 0 {
		t.Fatalf("no recorded responses in %s", dir)
	}
	return out
}

// everyField is a response with every field of every message set, and
// connection details, readiness and unknown fields where the codec writes
// them itself.
func everyField(t *testing.T) *fnv1.RunFunctionResponse {
	t.Helper()
	s := func(m map[string]any) *structpb.Struct {
		st, err := structpb.NewStruct(m)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	res := &fnv1.Resource{
		Resource:          s(map[string]any{"apiVersion": "v1", "spec": map[string]any{"list": []any{1.5, true, nil, "é", map[string]any{}}}}),
		ConnectionDetails: map[string][]byte{"password": []byte("secret"), "empty": nil, "": []byte("no key")},
		Ready:             fnv1.Ready_READY_FALSE,
	}
	unknown := protowire.AppendTag(nil, 99, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 7)
	res.ProtoReflect().SetUnknown(unknown)
	state := &fnv1.State{
		Composite: &fnv1.Resource{Resource: s(map[string]any{"status": map[string]any{"ok": true}}), Ready: fnv1.Ready_READY_TRUE},
		Resources: map[string]*fnv1.Resource{
			"a":     res,
			"empty": {},
			"nil":   nil,
			"":      {Resource: &structpb.Struct{}},
		},
	}
	state.ProtoReflect().SetUnknown(unknown)
	rsp := &fnv1.RunFunctionResponse{
		Meta:         &fnv1.ResponseMeta{Tag: "t", Ttl: durationpb.New(60e9)},
		Desired:      state,
		Results:      []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_WARNING, Message: "m", Reason: new("r")}},
		Context:      s(map[string]any{"k": "v"}),
		Requirements: &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{"x": {ApiVersion: "v1", Kind: "K"}}},
		Conditions:   []*fnv1.Condition{{Type: "Ready", Status: fnv1.Status_STATUS_CONDITION_TRUE, Reason: "r"}},
		Output:       s(map[string]any{"o": 1.0}),
	}
	rsp.ProtoReflect().SetUnknown(unknown)
	return rsp
}

// marshal is the codec's encoding of rsp, as gRPC writes it.
func marshal(rsp *fnv1.RunFunctionResponse) ([]byte, error) {
	data, err := New().Marshal(rsp)
	if err != nil {
		return nil, err
	}
	defer data.Free()
	return data.Materialize(), nil
}

// TestMarshal checks that the codec's encoding of a response decodes to the
// same message, exactly as long as protobuf-go's encoding of it, and that
// the codec wrote the desired state itself (after the response's other
// fields) unless vtprotobuf would have encoded it otherwise than
// protobuf-go.
func TestMarshal(t *testing.T) {
	type tc struct {
		rsp *fnv1.RunFunctionResponse
		// itself: the codec writes the desired state, not protobuf-go.
		itself bool
	}
	cases := map[string]tc{}
	for name, rsp := range recorded(t) {
		cases[name] = tc{rsp: rsp, itself: true}
	}
	with := func(v *structpb.Value) *fnv1.RunFunctionResponse {
		return &fnv1.RunFunctionResponse{
			Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{"a": {Resource: &structpb.Struct{Fields: map[string]*structpb.Value{"k": v}}}}},
			Results: []*fnv1.Result{{Message: "after desired"}},
		}
	}
	withUnknown := func(m proto.Message) proto.Message {
		m.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 7))
		return m
	}
	maps.Copy(cases, map[string]tc{
		"EveryField":        {rsp: everyField(t), itself: true},
		"NoDesiredState":    {rsp: &fnv1.RunFunctionResponse{Meta: &fnv1.ResponseMeta{Tag: "t"}}, itself: true},
		"EmptyDesiredState": {rsp: &fnv1.RunFunctionResponse{Desired: &fnv1.State{}, Results: []*fnv1.Result{{}}}, itself: true},
		"Empty":             {rsp: &fnv1.RunFunctionResponse{}, itself: true},
		"NilValue":          {rsp: with(nil), itself: true},
		"ValueWithoutKind":  {rsp: with(&structpb.Value{}), itself: true},
		"NilInAList":        {rsp: with(structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{nil, structpb.NewNullValue()}})), itself: true},
		// What vtprotobuf encodes otherwise than protobuf-go, or not at all.
		"NilStructValue":      {rsp: with(&structpb.Value{Kind: &structpb.Value_StructValue{}})},
		"NilListValue":        {rsp: with(&structpb.Value{Kind: &structpb.Value_ListValue{}})},
		"NilStringKind":       {rsp: with(&structpb.Value{Kind: (*structpb.Value_StringValue)(nil)})},
		"NilNumberKind":       {rsp: with(&structpb.Value{Kind: (*structpb.Value_NumberValue)(nil)})},
		"NilBoolKind":         {rsp: with(&structpb.Value{Kind: (*structpb.Value_BoolValue)(nil)})},
		"NilNullKind":         {rsp: with(&structpb.Value{Kind: (*structpb.Value_NullValue)(nil)})},
		"NilStructKind":       {rsp: with(&structpb.Value{Kind: (*structpb.Value_StructValue)(nil)})},
		"NilListKind":         {rsp: with(&structpb.Value{Kind: (*structpb.Value_ListValue)(nil)})},
		"UnknownInAValue":     {rsp: with(withUnknown(structpb.NewStringValue("v")).(*structpb.Value))},
		"UnknownInAStruct":    {rsp: with(structpb.NewStructValue(withUnknown(&structpb.Struct{}).(*structpb.Struct)))},
		"UnknownInAListValue": {rsp: with(structpb.NewListValue(withUnknown(&structpb.ListValue{}).(*structpb.ListValue)))},
	})
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, itself := plan(c.rsp, nil); itself != c.itself {
				t.Errorf("writes the desired state itself: %t, want %t", itself, c.itself)
			}
			b, err := marshal(c.rsp)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(b), proto.Size(c.rsp); got != want {
				t.Errorf("encoded %d bytes, protobuf-go %d", got, want)
			}
			got := &fnv1.RunFunctionResponse{}
			if err := proto.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.rsp, got, protocmp.Transform()); diff != "" {
				t.Errorf("decoded: -want, +got:\n%s", diff)
			}
			// protobuf-go writes fields in number order, desired second;
			// the codec writes desired after the others (but unknown
			// fields).
			order := fieldOrder(t, b)
			desired := slices.Index(order, responseDesired)
			after := slices.IndexFunc(order, func(n protowire.Number) bool { return n > responseDesired && n <= 7 })
			if c.itself && desired >= 0 && after >= 0 && desired < after {
				t.Errorf("fields in the order written: %v, want desired (%d) after 3-7: the codec did not write it", order, responseDesired)
			}
		})
	}
}

// fieldOrder is the numbers of the top-level fields encoded in b, in order.
func fieldOrder(t *testing.T, b []byte) []protowire.Number {
	t.Helper()
	var out []protowire.Number
	for len(b) > 0 {
		n, _, size := protowire.ConsumeField(b)
		if size < 0 {
			t.Fatalf("cannot parse the encoding: %v", protowire.ParseError(size))
		}
		out = append(out, n)
		b = b[size:]
	}
	return out
}

// TestMarshalRefusesWhatProtobufGoRefuses: a string that is not UTF-8
// anywhere the codec writes itself gets protobuf-go's error.
func TestMarshalRefusesWhatProtobufGoRefuses(t *testing.T) {
	bad := string([]byte{0xff, 'x'})
	str := func(v *structpb.Value) *fnv1.Resource {
		return &fnv1.Resource{Resource: &structpb.Struct{Fields: map[string]*structpb.Value{"k": v}}}
	}
	for name, state := range map[string]*fnv1.State{
		"ResourceName":        {Resources: map[string]*fnv1.Resource{bad: {}}},
		"ConnectionDetailKey": {Resources: map[string]*fnv1.Resource{"a": {ConnectionDetails: map[string][]byte{bad: nil}}}},
		"StructKey":           {Composite: &fnv1.Resource{Resource: &structpb.Struct{Fields: map[string]*structpb.Value{bad: structpb.NewNullValue()}}}},
		"StringValue":         {Resources: map[string]*fnv1.Resource{"a": str(structpb.NewStringValue(bad))}},
		"InAList":             {Resources: map[string]*fnv1.Resource{"a": str(structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue(bad)}}))}},
		"InAStruct":           {Resources: map[string]*fnv1.Resource{"a": str(structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"n": structpb.NewStringValue(bad)}}))}},
	} {
		t.Run(name, func(t *testing.T) {
			rsp := &fnv1.RunFunctionResponse{Desired: state}
			_, want := proto.Marshal(rsp)
			if want == nil {
				t.Fatal("protobuf-go encodes it: the case tests nothing")
			}
			if _, err := marshal(rsp); err == nil || err.Error() != want.Error() {
				t.Errorf("Marshal(): error %v, want protobuf-go's %v", err, want)
			}
		})
	}
}

// TestStructSize checks structSize against vtprotobuf's SizeVT, which
// sizes what vtprotobuf writes, on every Struct of the recorded responses
// and on the shapes TestMarshal leaves to each encoder.
func TestStructSize(t *testing.T) {
	structs := map[string]*structpb.Struct{}
	for name, rsp := range recorded(t) {
		structs[name+"/composite"] = rsp.GetDesired().GetComposite().GetResource()
		for r, res := range rsp.GetDesired().GetResources() {
			structs[name+"/"+r] = res.GetResource()
		}
	}
	in := func(v *structpb.Value) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{"k": v}}
	}
	// Every kind, at the lengths where a varint gains a byte.
	for _, n := range []int{0, 1, 127, 128, 16383, 16384} {
		long := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		list := make([]*structpb.Value, n/64)
		for i := range list {
			list[i] = structpb.NewNumberValue(float64(i))
		}
		structs[fmt.Sprintf("Length%d", n)] = &structpb.Struct{Fields: map[string]*structpb.Value{
			long:     structpb.NewStringValue(long),
			"null":   structpb.NewNullValue(),
			"number": structpb.NewNumberValue(-1.5),
			"true":   structpb.NewBoolValue(true),
			"false":  structpb.NewBoolValue(false),
			"struct": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{long: structpb.NewStringValue("")}}),
			"list":   structpb.NewListValue(&structpb.ListValue{Values: list}),
		}}
	}
	structs["Empty"] = &structpb.Struct{}
	structs["NilValue"] = in(nil)
	structs["ValueWithoutKind"] = in(&structpb.Value{})
	structs["NilInAList"] = in(structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{nil, {}}}))
	for name, s := range structs {
		if s == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			got, ok := structSize(s)
			if !ok {
				t.Fatal("refused")
			}
			if want := (*vtstructpb.Struct)(s).SizeVT(); got != want {
				t.Errorf("structSize() = %d, vtprotobuf's SizeVT() = %d", got, want)
			}
		})
	}
}

// TestKnowsEveryField fails when function-sdk-go's messages gain a field
// the codec does not know: it would then leave every
// response to protobuf-go. Write the field, then list it in fields.
func TestKnowsEveryField(t *testing.T) {
	if !known() {
		t.Fatal("a RunFunctionResponse, State or Resource has a field the codec does not know")
	}
}

// TestCodec checks that the codec round-trips a RunFunctionResponse, and
// encodes everything else, and decodes everything, as gRPC's protobuf
// codec does.
func TestCodec(t *testing.T) {
	c := New()
	if c.Name() != "proto" {
		t.Errorf("Name() = %q, want proto: gRPC matches a call's content subtype to it", c.Name())
	}
	rsp := everyField(t)
	for name, tc := range map[string]struct {
		msg  proto.Message
		into proto.Message
	}{
		"RunFunctionResponse": {msg: rsp, into: &fnv1.RunFunctionResponse{}},
		// Large enough for a buffer from gRPC's pool.
		"RecordedResponse":    {msg: recorded(t)["full-observed"], into: &fnv1.RunFunctionResponse{}},
		"RunFunctionRequest":  {msg: &fnv1.RunFunctionRequest{Meta: &fnv1.RequestMeta{Tag: "t"}}, into: &fnv1.RunFunctionRequest{}},
		"V1Beta1Response":     {msg: &fnv1beta1.RunFunctionResponse{Meta: &fnv1beta1.ResponseMeta{Tag: "t"}}, into: &fnv1beta1.RunFunctionResponse{}},
		"HealthCheckResponse": {msg: &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, into: &grpc_health_v1.HealthCheckResponse{}},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := c.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			defer data.Free()
			if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data.Materialize())}, tc.into); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.msg, tc.into, protocmp.Transform()); diff != "" {
				t.Errorf("round trip: -want, +got:\n%s", diff)
			}
		})
	}
	// RunFunction may return (nil, nil): gRPC encodes it as an empty message.
	nilRsp, err := c.Marshal((*fnv1.RunFunctionResponse)(nil))
	if err != nil {
		t.Fatalf("Marshal(nil response): %v", err)
	}
	if n := nilRsp.Len(); n != 0 {
		t.Errorf("Marshal(nil response): %d bytes, want none", n)
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("Marshal(string): no error, want gRPC's protobuf codec's")
	}
}

// benchCompared runs op as the sub-benchmarks name/grpc and name/codec, with
// gRPC's protobuf codec and with this one.
func benchCompared(b *testing.B, name string, op func(encoding.CodecV2) error) {
	for codec, c := range map[string]encoding.CodecV2{"grpc": encoding.GetCodecV2(grpcproto.Name), "codec": New()} {
		b.Run(name+"/"+codec, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshal compares the codec with gRPC's protobuf codec on the
// full example's responses, each buffer returned as gRPC returns it.
func BenchmarkMarshal(b *testing.B) {
	rsps := recorded(b)
	for _, name := range []string{"full-create", "full-observed"} {
		rsp := rsps[name]
		benchCompared(b, name, func(c encoding.CodecV2) error {
			data, err := c.Marshal(rsp)
			if err != nil {
				return err
			}
			data.Free()
			return nil
		})
		// The walk that sizes the Structs and decides the codec may
		// write them.
		b.Run(name+"/size", func(b *testing.B) {
			for b.Loop() {
				if _, ok := sizeState(rsp.GetDesired(), nil); !ok {
					b.Fatal("not for vtprotobuf")
				}
			}
		})
		// The response as the function's server hands it over: its
		// resources encoded already (Response), as the builders write them.
		encoded := &Response{Msg: proto.CloneOf(rsp), Resources: map[string]Encoded{}}
		for name, r := range encoded.Msg.GetDesired().GetResources() {
			s, err := proto.Marshal(r.GetResource())
			if err != nil {
				b.Fatal(err)
			}
			encoded.Resources[name] = Encoded{Struct: s, Ready: r.GetReady()}
			delete(encoded.Msg.Desired.Resources, name)
		}
		b.Run(name+"/codec-encoded", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := New().Marshal(encoded)
				if err != nil {
					b.Fatal(err)
				}
				data.Free()
			}
		})
	}
}

// TestMarshalEncodedResources encodes Responses, a response and resources
// already encoded, and checks that the bytes decode to Decoded's response
// and are as long as protobuf-go's encoding of it; the codec writes the
// desired state itself (its encoding comes out at the size planned) but
// where protobuf-go must (a name twice, where the encoded resource
// replaces the message's; a name that is not UTF-8; no message).
func TestMarshalEncodedResources(t *testing.T) {
	bucket, err := proto.Marshal(&structpb.Struct{Fields: map[string]*structpb.Value{
		"kind": structpb.NewStringValue("Bucket"),
		"spec": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"long": structpb.NewStringValue(strings.Repeat("x", 300))}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	encoded := func() map[string]Encoded {
		return map[string]Encoded{
			"bucket":    {Struct: bucket, Ready: fnv1.Ready_READY_TRUE},
			"unready":   {Struct: bucket},
			"no-struct": {},
			"is-false":  {Struct: bucket, Ready: fnv1.Ready_READY_FALSE},
		}
	}
	cases := map[string]struct {
		rsp       func() *Response
		itself    bool
		wantNames []string
	}{
		"WithEveryField": {
			rsp:    func() *Response { return &Response{Msg: everyField(t), Resources: encoded()} },
			itself: true,
		},
		"NoDesiredState": {
			rsp:    func() *Response { return &Response{Msg: &fnv1.RunFunctionResponse{}, Resources: encoded()} },
			itself: true,
		},
		"NoMessage": {
			rsp:    func() *Response { return &Response{Resources: encoded()} },
			itself: false,
		},
		"NoResources": {
			rsp:    func() *Response { return &Response{Msg: everyField(t)} },
			itself: true,
		},
		"NameTwice": {
			rsp: func() *Response {
				r := &Response{Msg: everyField(t), Resources: encoded()}
				r.Resources["a"] = Encoded{Struct: bucket}
				return r
			},
			wantNames: []string{"a"},
		},
		"Nil": {
			rsp:    func() *Response { return nil },
			itself: false,
		},
		"NameNotUTF8": {
			rsp: func() *Response {
				r := &Response{Msg: &fnv1.RunFunctionResponse{}, Resources: encoded()}
				r.Resources["\xff"] = Encoded{Struct: bucket}
				return r
			},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := c.rsp()
			var msg *fnv1.RunFunctionResponse
			var res map[string]Encoded
			if r != nil {
				msg, res = r.Msg, r.Resources
			}
			e, itself := plan(msg, res)
			if itself != c.itself {
				t.Errorf("writes the desired state itself: %t, want %t", itself, c.itself)
			}
			if itself {
				if _, err := e.append(make([]byte, 0, e.size)); err != nil {
					t.Errorf("the codec's encoding: %v", err)
				}
			}
			data, err := New().Marshal(r)
			if name == "NameNotUTF8" {
				if err == nil {
					t.Error("encoded a resource name that is not UTF-8; protobuf-go refuses it")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b := data.Materialize()
			data.Free()
			want, err := c.rsp().Decoded()
			if err != nil {
				t.Fatal(err)
			}
			if got, n := len(b), proto.Size(want); got != n {
				t.Errorf("encoded %d bytes, protobuf-go %d", got, n)
			}
			got := &fnv1.RunFunctionResponse{}
			if err := proto.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("decoded: -Decoded, +got:\n%s", diff)
			}
			// An encoded resource replaces the message's of its name.
			for _, name := range c.wantNames {
				res := got.GetDesired().GetResources()[name].GetResource()
				if kind := res.GetFields()["kind"].GetStringValue(); kind != "Bucket" {
					t.Errorf("desired resource %s has kind %q, want the encoded resource's, Bucket", name, kind)
				}
			}
		})
	}
}

// TestDecodedRefusesABadEncoding: a resource whose bytes are not a Struct
// is an error naming it.
func TestDecodedRefusesABadEncoding(t *testing.T) {
	r := &Response{Resources: map[string]Encoded{"bucket": {Struct: []byte{0xff}}}}
	if _, err := r.Decoded(); err == nil || !strings.Contains(err.Error(), "bucket") {
		t.Errorf("Decoded() error = %v, want one naming bucket", err)
	}
}
