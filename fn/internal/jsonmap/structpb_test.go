package jsonmap

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/crossplane/function-sdk-go/errors"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/jsonmap/jsonmaptest"
)

// viaMap is what Struct replaces: Of, then structpb.NewStruct (as the SDK's
// response.SetDesiredComposedResources converts a composed resource).
func viaMap(v any) (*structpb.Struct, error) {
	m, err := Of(v)
	if err != nil {
		return nil, err
	}
	obj, ok := m.(map[string]any)
	if !ok {
		return nil, errors.Errorf("%T is not a JSON object", v)
	}
	return structpb.NewStruct(obj)
}

func diffStruct(t *testing.T, in any) string {
	t.Helper()
	want, wantErr := viaMap(in)
	got, err := Struct(in)
	if errString(err) != errString(wantErr) {
		return "error " + errString(err) + ", want " + errString(wantErr)
	}
	return cmp.Diff(want, got, protocmp.Transform())
}

// TestStructAsOf compares Struct with Of then structpb.NewStruct, error
// for error, on the values Of leaves to the round trip and on randomly
// filled values of the rules type; the provider's types are compared in
// package compose.
func TestStructAsOf(t *testing.T) {
	cases := map[string]any{
		"conflicting names":  &conflict{X1: X1{X: "a"}, X2: X2{X: "b"}, Y: "y"},
		"tag options":        &options{N: 5},
		"invalid UTF-8":      &inner{A: "\xff"},
		"invalid UTF-8 key":  map[string]int{"\xff": 1},
		"non-string map key": map[int]string{1: "a"},
		"rules zero":         &rules{},
		"not an object":      []string{"a"},
		"nil pointer":        (*inner)(nil),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := diffStruct(t, in); diff != "" {
				t.Errorf("-Of and NewStruct, +Struct:\n%s", diff)
			}
		})
	}
	f := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(14, 4)), MaxDepth: 6}
	for i := range 2000 {
		v := reflect.New(reflect.TypeFor[rules]())
		f.Fill(v.Elem())
		if diff := diffStruct(t, v.Interface()); diff != "" {
			t.Fatalf("value %d: -Of and NewStruct, +Struct:\n%s", i, diff)
		}
	}
}
