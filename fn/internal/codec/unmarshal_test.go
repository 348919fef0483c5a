package codec

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/fnrequest"
)

// requests are the examples' requests (fnrequest.Example: both scopes,
// the first call and the steady state), encoded by protobuf-go.
func requests(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	dir := filepath.Join("..", "..", "..", "examples")
	for name, xr := range map[string]string{
		"full": "xr-full.yaml", "minimal": "xr-minimal.yaml",
		"namespaced-full": "namespaced-full.yaml", "namespaced-minimal": "namespaced-minimal.yaml",
	} {
		for scenario, observed := range map[string]string{"create": "", "reconcile": filepath.Join(dir, "observed", name+".yaml")} {
			req, err := fnrequest.Read(filepath.Join(dir, xr), observed)
			if err != nil {
				t.Fatal(err)
			}
			b, err := proto.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			out[name+"-"+scenario] = b
		}
	}
	return out
}

// field is a length-delimited field of the values' bytes.
func field(num protowire.Number, values ...[]byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(values, nil))
}

// varint is a varint field.
func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

// str is a string field.
func str(num protowire.Number, s string) []byte { return field(num, []byte(s)) }

// In a request: the observed composite resource's Struct holding one
// entry of key and value (a Value's fields), an observed resource, and a
// required resource.
func withValue(key string, value ...[]byte) []byte {
	return withValues(kv(key, value...))
}

// withValues: the Struct's entries are kvs.
func withValues(kvs ...[]byte) []byte {
	return field(requestObserved, field(stateComposite, field(resourceStruct, kvs...)))
}

// kv is a Struct's entry.
func kv(key string, value ...[]byte) []byte {
	return field(structFields, str(mapKey, key), field(mapValue, value...))
}

func withResource(name string, resource ...[]byte) []byte {
	return withResources(res(name, resource...))
}

// withResources: the observed state's resources are entries.
func withResources(entries ...[]byte) []byte {
	return field(requestObserved, entries...)
}

// res is a State's resource entry.
func res(name string, resource ...[]byte) []byte {
	return field(stateResources, str(mapKey, name), field(mapValue, resource...))
}

func withRequired(name string, items ...[]byte) []byte {
	return field(requestRequiredResources, str(mapKey, name), field(mapValue, items...))
}

// TestUnmarshal checks that the codec decodes a request as protobuf-go
// does, to the same message or the same error, and which requests it
// decodes itself.
func TestUnmarshal(t *testing.T) {
	type tc struct {
		data []byte
		// itself: the codec decodes the request, not protobuf-go.
		itself bool
	}
	cases := map[string]tc{}
	for name, b := range requests(t) {
		cases[name] = tc{data: b, itself: true}
	}
	bad := "\xffx"
	// Lists in lists: the innermost Value is at depth 4 + 2 x levels
	// (the request's observed State 1, its composite 2, its Struct 3).
	nested := func(levels int) []byte {
		v := varint(valueNull, 0)
		for range levels {
			v = field(valueList, field(listValues, v))
		}
		return v
	}
	// Structs in Structs: as deep for the codec, 3 levels each for
	// protobuf-go.
	nestedStructs := func(levels int) []byte {
		v := varint(valueNull, 0)
		for range levels {
			v = field(valueStruct, kv("k", v))
		}
		return v
	}
	maps.Copy(cases, map[string]tc{
		"Empty":                       {data: nil, itself: true},
		"EveryValueKind":              {data: withValues(kv("n", varint(valueNull, 0)), kv("b", varint(valueBool, 2)), kv("s", str(valueString, "é")), kv("e"), kv("l", field(valueList)), kv("o", field(valueStruct))), itself: true},
		"NullOtherThanZero":           {data: withValue("n", varint(valueNull, 7)), itself: true},
		"Number":                      {data: withValue("x", protowire.AppendFixed64(protowire.AppendTag(nil, valueNumber, protowire.Fixed64Type), 0x400921fb54442d18)), itself: true},
		"KeyTwice":                    {data: bytes.Join([][]byte{withValues(kv("k", str(valueString, "first")), kv("k")), withRequired("r"), withRequired("r", field(resourcesItems))}, nil), itself: true},
		"ResourceNameTwice":           {data: withResources(res("r"), res("r", varint(resourceReady, 1))), itself: true},
		"ReadyOutOfRange":             {data: withResource("r", varint(resourceReady, 1<<40)), itself: true},
		"ConnectionDetails":           {data: withResource("r", field(resourceConnection, str(mapKey, "password"), str(mapValue, "secret")), field(resourceConnection, str(mapKey, "empty"), field(mapValue))), itself: true},
		"RequiredResources":           {data: withRequired("cfg", field(resourcesItems, field(resourceStruct)), field(resourcesItems)), itself: true},
		"ExtraResources":              {data: field(requestExtraResources, str(mapKey, "cfg"), field(mapValue, field(resourcesItems))), itself: true},
		"InputAndContext":             {data: bytes.Join([][]byte{field(requestInput), field(requestContext, field(structFields, str(mapKey, "k"), field(mapValue, str(valueString, "v"))))}, nil), itself: true},
		"MetaAndCredentials":          {data: bytes.Join([][]byte{field(1, str(1, "tag")), field(7, str(mapKey, "creds"), field(mapValue, field(2, field(1, str(mapKey, "k"), str(mapValue, "v"))))), withValue("k")}, nil), itself: true},
		"UnknownInTheRequest":         {data: bytes.Join([][]byte{varint(99, 1), withValue("k"), str(98, "x")}, nil), itself: true},
		"WrongTypeInRequest":          {data: bytes.Join([][]byte{varint(requestObserved, 1), withValue("k")}, nil), itself: true},
		"AsDeepAsTheCodecGoes":        {data: withValue("k", nested((maxDepth-4)/2)), itself: true},
		"StructsAsDeepAsTheCodecGoes": {data: withValue("k", nestedStructs((maxDepth-4)/2)), itself: true},
		"NaN":                         {data: withValue("x", protowire.AppendFixed64(protowire.AppendTag(nil, valueNumber, protowire.Fixed64Type), 0x7ff8000000000001)), itself: true},
		// Left to protobuf-go.
		"NotUTF8Key":           {data: withValue(bad, varint(valueNull, 0))},
		"NotUTF8String":        {data: withValue("k", str(valueString, bad))},
		"NotUTF8ResourceName":  {data: withResource(bad)},
		"NotUTF8ConnectionKey": {data: withResource("r", field(resourceConnection, str(mapKey, bad), str(mapValue, "v")))},
		"NotUTF8RequiredName":  {data: withRequired(bad)},
		"NotUTF8Meta":          {data: field(1, str(1, bad))},
		"TwoKinds":             {data: withValue("k", varint(valueNull, 0), varint(valueBool, 1))},
		"StructValueTwice":     {data: withValue("k", field(valueStruct, field(structFields, str(mapKey, "a"), field(mapValue))), field(valueStruct, field(structFields, str(mapKey, "b"), field(mapValue))))},
		"ObservedTwice":        {data: bytes.Join([][]byte{withValue("a"), withValue("b")}, nil)},
		"CompositeTwice":       {data: field(requestObserved, field(stateComposite), field(stateComposite))},
		"ResourceStructTwice":  {data: withResource("r", field(resourceStruct), field(resourceStruct))},
		"InputTwice":           {data: bytes.Join([][]byte{field(requestInput), field(requestInput)}, nil)},
		"EntryWithoutKey":      {data: field(requestObserved, field(stateResources, field(mapValue)))},
		"EntryWithoutValue":    {data: field(requestObserved, field(stateResources, str(mapKey, "r")))},
		"EntryKeyTwice":        {data: field(requestObserved, field(stateResources, str(mapKey, "r"), str(mapKey, "s"), field(mapValue)))},
		"UnknownInAnEntry":     {data: field(requestObserved, field(stateResources, str(mapKey, "r"), field(mapValue), varint(3, 1)))},
		"UnknownInAState":      {data: field(requestObserved, varint(9, 1))},
		"UnknownInAResource":   {data: withResource("r", str(9, "x"))},
		"UnknownInResources":   {data: withRequired("cfg", str(9, "x"))},
		"UnknownInAStruct":     {data: field(requestInput, varint(2, 1))},
		"UnknownInAValue":      {data: withValue("k", str(9, "x"))},
		"UnknownInAList":       {data: withValue("k", field(valueList, varint(2, 1)))},
		"WrongTypeInAValue":    {data: withValue("k", str(valueNull, "x"))},
		"WrongTypeInAResource": {data: withResource("r", varint(resourceStruct, 1))},
		"TooDeepForTheCodec":   {data: withValue("k", nested((maxDepth-4)/2+1))},
		"TooDeepForProtobufGo": {data: withValue("k", nested(maxDepth+10))},
		// Structs in Structs: protobuf-go also counts each map entry.
		"StructsTooDeepForTheCodec":   {data: withValue("k", nestedStructs((maxDepth-4)/2+1))},
		"StructsTooDeepForProtobufGo": {data: withValue("k", nestedStructs(10000/3+1))},
		"NonMinimalTag":               {data: withValue("k", []byte{0x98, 0x80, 0x00, 0x01})},
		"GroupInAStruct":              {data: field(requestInput, protowire.AppendTag(nil, 3, protowire.StartGroupType), protowire.AppendTag(nil, 3, protowire.EndGroupType))},
		"NumberAboveTheMaximum":       {data: withResource("r", protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3|uint64(protowire.VarintType)), []byte{1})},
		"EntryValueTwice":             {data: field(requestObserved, field(stateResources, str(mapKey, "r"), field(mapValue), field(mapValue, varint(resourceReady, 1))))},
		"Truncated":                   {data: withValue("k", str(valueString, "value"))[:12]},
		"TruncatedTag":                {data: []byte{0x80}},
		"TruncatedInTheRest":          {data: append(withValue("k"), 0x0a, 0x05, 'x')},
		"GroupInTheRequest":           {data: protowire.AppendTag(nil, 10, protowire.StartGroupType)},
		"TruncatedNumber":             {data: withValue("k", protowire.AppendTag(nil, valueNumber, protowire.Fixed64Type), []byte{1, 2})},
		"TruncatedReady":              {data: withResource("r", protowire.AppendTag(nil, resourceReady, protowire.VarintType), []byte{0x80})},
		"ReadyOfAnotherWireType":      {data: withResource("r", protowire.AppendFixed32(protowire.AppendTag(nil, resourceReady, protowire.Fixed32Type), 1))},
	})
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if itself := decodeRequest(c.data, &fnv1.RunFunctionRequest{}); itself != c.itself {
				t.Errorf("decodes the request itself: %t, want %t", itself, c.itself)
			}
			compare(t, c.data)
		})
	}
}

// compare fails unless the codec decodes data as protobuf-go does.
func compare(t *testing.T, data []byte) {
	t.Helper()
	want := &fnv1.RunFunctionRequest{}
	wantErr := proto.Unmarshal(data, want)
	got := &fnv1.RunFunctionRequest{Meta: &fnv1.RequestMeta{Tag: "left over"}}
	// A buffer gRPC reuses: the decoded request must not share it.
	buf := bytes.Clone(data)
	gotErr := New().Unmarshal(mem.BufferSlice{mem.SliceBuffer(buf)}, got)
	clear(buf)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("Unmarshal(): error %v, protobuf-go's %v", gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	// proto.Equal first: cmp's walk of a deeply nested message is slow.
	if !proto.Equal(want, got) {
		t.Errorf("decoded: -protobuf-go, +codec:\n%s", cmp.Diff(want, got, protocmp.Transform()))
	}
	if !bytes.Equal(want.ProtoReflect().GetUnknown(), got.ProtoReflect().GetUnknown()) {
		t.Errorf("unknown fields %x, protobuf-go's %x", got.ProtoReflect().GetUnknown(), want.ProtoReflect().GetUnknown())
	}
}

// TestRefusedRequestCostsLittle: what the codec allocates before it
// leaves a request to protobuf-go stays well below the request's size,
// whatever the request claims: nothing is sized from fields it has not
// decoded yet.
func TestRefusedRequestCostsLittle(t *testing.T) {
	for name, entry := range map[string][]byte{
		"UnknownFields":       str(2, ""),
		"EntriesWithoutAKey":  field(structFields),
		"EntriesOfAnUnknown":  field(structFields, varint(3, 1), varint(4, 1)),
		"EntriesWithoutValue": field(structFields, str(mapKey, "k"), str(3, "")),
	} {
		t.Run(name, func(t *testing.T) {
			data := field(requestInput, bytes.Repeat(entry, 100_000))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			itself := decodeRequest(data, &fnv1.RunFunctionRequest{})
			runtime.ReadMemStats(&after)
			if itself {
				t.Fatal("decoded by the codec: the case tests nothing")
			}
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > uint64(len(data))/4 {
				t.Errorf("allocated %d bytes for a %d-byte request it leaves to protobuf-go", allocated, len(data))
			}
		})
	}
}

// TestUnmarshalRandomRequests compares the codec with protobuf-go on
// random requests: Structs of every kind of value, nested, with keys and
// strings of many lengths and characters.
func TestUnmarshalRandomRequests(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		req := &fnv1.RunFunctionRequest{
			Meta:              &fnv1.RequestMeta{Tag: randomString(r)},
			Observed:          randomState(r),
			Desired:           randomState(r),
			RequiredResources: map[string]*fnv1.Resources{randomString(r): {Items: []*fnv1.Resource{randomResource(r), randomResource(r)}}},
		}
		if r.IntN(2) == 0 {
			req.Input, req.Context = randomStruct(r, 2), &structpb.Struct{}
		}
		data, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if !decodeRequest(data, &fnv1.RunFunctionRequest{}) {
				t.Error("left to protobuf-go")
			}
			compare(t, data)
		})
	}
}

func randomString(r *rand.Rand) string {
	const chars = "aZ09-_./ é€\x00\n\"\\"
	runes := []rune(chars)
	var b strings.Builder
	for range r.IntN([]int{2, 20, 200}[r.IntN(3)]) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func randomState(r *rand.Rand) *fnv1.State {
	s := &fnv1.State{}
	if r.IntN(4) > 0 {
		s.Composite = randomResource(r)
	}
	for range r.IntN(4) {
		if s.Resources == nil {
			s.Resources = map[string]*fnv1.Resource{}
		}
		s.Resources[randomString(r)] = randomResource(r)
	}
	return s
}

func randomResource(r *rand.Rand) *fnv1.Resource {
	res := &fnv1.Resource{Ready: fnv1.Ready(r.IntN(3))}
	if r.IntN(5) > 0 {
		res.Resource = randomStruct(r, 3)
	}
	if r.IntN(3) == 0 {
		res.ConnectionDetails = map[string][]byte{randomString(r): []byte(randomString(r)), "": nil}
	}
	return res
}

func randomStruct(r *rand.Rand, depth int) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for range r.IntN(6) {
		s.Fields[randomString(r)] = randomValue(r, depth)
	}
	return s
}

func randomValue(r *rand.Rand, depth int) *structpb.Value {
	kinds := 4
	if depth > 0 {
		kinds = 6
	}
	switch r.IntN(kinds) {
	case 0:
		return structpb.NewNullValue()
	case 1:
		return structpb.NewNumberValue([]float64{0, -1.5, 1e300, r.NormFloat64()}[r.IntN(4)])
	case 2:
		return structpb.NewBoolValue(r.IntN(2) == 0)
	case 3:
		return structpb.NewStringValue(randomString(r))
	case 4:
		return structpb.NewStructValue(randomStruct(r, depth-1))
	default:
		l := &structpb.ListValue{}
		for range r.IntN(5) {
			l.Values = append(l.Values, randomValue(r, depth-1))
		}
		return structpb.NewListValue(l)
	}
}

// FuzzUnmarshal: whatever the bytes, the codec decodes them as
// protobuf-go does (`go test -fuzz FuzzUnmarshal ./fn/internal/codec`;
// `make test` runs the seeds).
func FuzzUnmarshal(f *testing.F) {
	// The examples' first calls: the steady state's requests are 100 KB,
	// which the fuzzer is slow to shrink (-fuzzminimizetime 0 helps).
	for name, b := range requests(f) {
		if strings.HasSuffix(name, "-create") {
			f.Add(b)
		}
	}
	f.Add(withValue("k", field(valueList, field(listValues, str(valueString, "v")), field(listValues, varint(valueBool, 1)))))
	f.Add(withResource("r", field(resourceConnection, str(mapKey, "k"), str(mapValue, "v")), varint(resourceReady, 1)))
	f.Add(withRequired("cfg", field(resourcesItems, field(resourceStruct, field(structFields, str(mapKey, "a"), field(mapValue, varint(valueNull, 0)))))))
	f.Fuzz(func(t *testing.T, data []byte) {
		compare(t, data)
	})
}

// TestKnowsTheRequestFields: the field numbers the codec decodes itself
// are the fields it takes them for, and the messages it decodes itself
// have no others.
func TestKnowsTheRequestFields(t *testing.T) {
	for msg, want := range map[proto.Message]map[protowire.Number]string{
		&fnv1.RunFunctionRequest{}: {
			requestObserved: "observed", requestDesired: "desired", requestInput: "input", requestContext: "context",
			requestExtraResources: "extra_resources", requestRequiredResources: "required_resources",
		},
		&fnv1.State{}:         {stateComposite: "composite", stateResources: "resources"},
		&fnv1.Resources{}:     {resourcesItems: "items"},
		&fnv1.Resource{}:      {resourceStruct: "resource", resourceConnection: "connection_details", resourceReady: "ready"},
		&structpb.Struct{}:    {structFields: "fields"},
		&structpb.ListValue{}: {listValues: "values"},
		&structpb.Value{}: {
			valueNull: "null_value", valueNumber: "number_value", valueString: "string_value",
			valueBool: "bool_value", valueStruct: "struct_value", valueList: "list_value",
		},
	} {
		d := msg.ProtoReflect().Descriptor()
		// A field the codec does not know leaves every request that has
		// it to protobuf-go, but one of RunFunctionRequest's, which
		// protobuf-go decodes beside the codec.
		if _, isRequest := msg.(*fnv1.RunFunctionRequest); !isRequest && d.Fields().Len() != len(want) {
			t.Errorf("%s has %d fields, the codec knows %d", d.FullName(), d.Fields().Len(), len(want))
		}
		for num, name := range want {
			if f := d.Fields().ByNumber(num); f == nil || string(f.Name()) != name {
				t.Errorf("%s: field %d is %v, the codec takes it for %s", d.FullName(), num, f, name)
			}
		}
	}
}

// BenchmarkUnmarshal compares the codec with gRPC's protobuf codec on the
// full example's requests.
func BenchmarkUnmarshal(b *testing.B) {
	reqs := requests(b)
	for _, name := range []string{"full-create", "full-reconcile"} {
		data := reqs[name]
		benchCompared(b, name, func(c encoding.CodecV2) error {
			return c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, &fnv1.RunFunctionRequest{})
		})
	}
}
