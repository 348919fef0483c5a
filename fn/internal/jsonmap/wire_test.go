package jsonmap

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/jsonmap/jsonmaptest"
)

// prefix is written before each encoding under test: AppendStruct appends.
var prefix = []byte("prefix")

// viaMap is what AppendStruct's bytes decode to: Of, then
// structpb.NewStruct (as the SDK's response.SetDesiredComposedResources
// converts a composed resource).
func viaMap(v any) (*structpb.Struct, error) {
	obj, err := Object(v)
	if err != nil {
		return nil, err
	}
	return structpb.NewStruct(obj)
}

// diffWire compares AppendStruct(v, omit...) with viaMap(v) less omit:
// the error, the decoded message, and the encoding's length, which must
// be protobuf-go's.
func diffWire(t *testing.T, v any, omit ...string) string {
	t.Helper()
	want, wantErr := viaMap(v)
	got, err := AppendStruct(append([]byte(nil), prefix...), v, omit...)
	if errString(err) != errString(wantErr) {
		return "error " + errString(err) + ", want " + errString(wantErr)
	}
	if wantErr != nil {
		return ""
	}
	return diffEncoded(t, want, got, omit...)
}

func diffEncoded(t *testing.T, want *structpb.Struct, got []byte, omit ...string) string {
	t.Helper()
	if !bytes.HasPrefix(got, prefix) {
		return "the bytes before it were changed"
	}
	got = got[len(prefix):]
	for _, name := range omit {
		delete(want.Fields, name)
	}
	decoded := &structpb.Struct{}
	if err := proto.Unmarshal(got, decoded); err != nil {
		return "cannot decode it: " + err.Error()
	}
	if diff := cmp.Diff(want, decoded, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
		return diff
	}
	if n := proto.Size(want); len(got) != n {
		t.Errorf("%d bytes, protobuf-go's encoding is %d", len(got), n)
	}
	return ""
}

// emptyByPointer holds omitempty members that are empty only once
// encoded: the walk cannot tell without encoding them.
type emptyByPointer struct {
	List *[]string `json:"list,omitempty"`
	Any  any       `json:"any,omitempty"`
	Kept *bool     `json:"kept,omitempty"`
}

type long struct {
	S   string            `json:"s"`
	M   map[string]string `json:"m,omitempty"`
	L   []inner           `json:"l,omitempty"`
	Sub *long             `json:"sub,omitempty"`
}

// TestAppendStructAsOf compares AppendStruct with Of then
// structpb.NewStruct, error for error: on values Of leaves to the round
// trip, values it refuses, contents whose lengths take one, two and three
// bytes, omitted members, and randomly filled values of the rules type;
// the provider's types are compared in package compose.
func TestAppendStructAsOf(t *testing.T) {
	nested := &long{S: strings.Repeat("x", 20000)}
	for range 3 {
		nested = &long{S: strings.Repeat("é", 70), M: map[string]string{"k": strings.Repeat("v", 130)}, L: []inner{{A: "a"}, {}}, Sub: nested}
	}
	cases := map[string]struct {
		in   any
		omit []string
	}{
		"conflicting names":     {in: &conflict{X1: X1{X: "a"}, X2: X2{X: "b"}, Y: "y"}},
		"tag options":           {in: &options{N: 5}},
		"invalid UTF-8":         {in: &inner{A: "\xff"}},
		"invalid UTF-8 key":     {in: map[string]int{"\xff": 1}},
		"invalid UTF-8 nested":  {in: &long{Sub: &long{M: map[string]string{"k": "\xff"}}}},
		"invalid key nested":    {in: &long{Sub: &long{M: map[string]string{"\xff": "v"}}}},
		"empty list by pointer": {in: &emptyByPointer{List: &[]string{}, Any: []any{}, Kept: new(false)}},
		"list by pointer":       {in: &emptyByPointer{List: &[]string{"a"}, Any: map[string]any{}}},
		"non-string map key":    {in: map[int]string{1: "a"}},
		"map":                   {in: map[string]int{"a": 1, "b": 2}, omit: []string{"b"}},
		"rules zero":            {in: &rules{}},
		"rules by value":        {in: rules{Plain: "p"}},
		"not an object":         {in: []string{"a"}},
		"nil pointer":           {in: (*inner)(nil)},
		"nil":                   {in: nil},
		"pointer to pointer":    {in: new(&inner{A: "a"})},
		"lengths":               {in: nested},
		"omitted":               {in: &rules{Plain: "p", Float32: 1.5}, omit: []string{"plain", "absent", "float32"}},
		"omitted, round trip":   {in: &conflict{X1: X1{X: "a"}, X2: X2{X: "b"}, Y: "y"}, omit: []string{"y"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := diffWire(t, tc.in, tc.omit...); diff != "" {
				t.Errorf("-Of and NewStruct, +AppendStruct:\n%s", diff)
			}
		})
	}
	f := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(15, 5)), MaxDepth: 6}
	for i := range 2000 {
		v := reflect.New(reflect.TypeFor[rules]())
		f.Fill(v.Elem())
		var omit []string
		if i%2 == 1 {
			omit = []string{"any", "plain"}
		}
		if diff := diffWire(t, v.Interface(), omit...); diff != "" {
			t.Fatalf("value %d: -Of and NewStruct, +AppendStruct:\n%s", i, diff)
		}
	}
}

// TestAppendObjectAsNewStruct compares AppendObject with structpb.NewStruct.
func TestAppendObjectAsNewStruct(t *testing.T) {
	cases := map[string]map[string]any{
		"empty":         {},
		"json":          {"s": "é", "n": 1.5, "b": false, "z": nil, "o": map[string]any{"l": []any{"a", 2.0, true, nil, []any{}, map[string]any{}}}},
		"long":          {"s": strings.Repeat("x", 300), "o": map[string]any{"l": []any{strings.Repeat("y", 20000)}}},
		"not finite":    {"nan": math.NaN(), "inf": math.Inf(-1)},
		"other numbers": {"i": 3, "i64": int64(-4), "u": uint32(5)},
		"invalid UTF-8": {"s": "\xff"},
		"invalid key":   {"o": map[string]any{"\xff": "v"}},
		"not JSON":      {"c": make(chan int)},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantErr := structpb.NewStruct(in)
			got, err := AppendObject(append([]byte(nil), prefix...), in)
			if errString(err) != errString(wantErr) {
				t.Fatalf("error %s, want %s", errString(err), errString(wantErr))
			}
			if wantErr != nil {
				return
			}
			if diff := diffEncoded(t, want, got); diff != "" {
				t.Errorf("-NewStruct, +AppendObject:\n%s", diff)
			}
		})
	}
}

// TestAppendMember checks a member against the Struct holding it, and that
// a value that is not JSON-shaped is refused with b as it was.
func TestAppendMember(t *testing.T) {
	value := map[string]any{"labels": map[string]any{"a": "b"}}
	got, err := AppendMember(append([]byte(nil), prefix...), "metadata", value)
	if err != nil {
		t.Fatal(err)
	}
	want, err := structpb.NewStruct(map[string]any{"metadata": value})
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffEncoded(t, want, got); diff != "" {
		t.Errorf("-NewStruct, +AppendMember:\n%s", diff)
	}
	for _, bad := range []any{3, "\xff", map[string]any{"k": []any{int64(1)}}} {
		got, err := AppendMember(append([]byte(nil), prefix...), "m", bad)
		if err == nil || string(got) != string(prefix) {
			t.Errorf("AppendMember(%#v) = %q, %v; want prefix and an error", bad, got, err)
		}
	}
}

// FuzzAppendStruct compares AppendStruct with Of then NewStruct on values
// of the rules type filled from the fuzzer's seed.
func FuzzAppendStruct(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		fill := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(seed, seed>>32)), MaxDepth: 6}
		v := reflect.New(reflect.TypeFor[rules]())
		fill.Fill(v.Elem())
		if diff := diffWire(t, v.Interface()); diff != "" {
			t.Fatalf("-Of and NewStruct, +AppendStruct:\n%s", diff)
		}
	})
}

func BenchmarkAppendStruct(b *testing.B) {
	fill := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(1, 2)), MaxDepth: 6}
	v := reflect.New(reflect.TypeFor[rules]())
	fill.Fill(v.Elem())
	in := v.Interface()
	b.Run("Of+NewStruct+Marshal", func(b *testing.B) {
		for b.Loop() {
			s, err := viaMap(in)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := proto.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendStruct", func(b *testing.B) {
		for b.Loop() {
			if _, err := AppendStruct(nil, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
