package compose

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ecr "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster/ecr/v1beta1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/jsonmap/jsonmaptest"
)

// TestFromTypedAsSDK fills every typed struct the function composes, in
// both scopes, with random contents and checks that fromTyped gives what
// composed.From (the SDK's JSON round trip) gives, error for error.
func TestFromTypedAsSDK(t *testing.T) {
	if err := registerInSDKScheme(); err != nil { // composed.From reads the kinds from it.
		t.Fatal(err)
	}
	f := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(14, 2)), MaxDepth: 10, Special: fillSpecial}
	for _, o := range composedKinds(t) {
		tp := reflect.TypeOf(o).Elem()
		t.Run(tp.PkgPath()+"."+tp.Name(), func(t *testing.T) {
			for i := range 200 {
				v := reflect.New(tp)
				if i > 0 { // The first is the zero value.
					f.Fill(v.Elem())
				}
				obj := v.Interface().(runtime.Object)
				want, wantErr := composed.From(obj.DeepCopyObject())
				got, err := fromTyped(obj)
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("value %d: error %v, composed.From's %v", i, err, wantErr)
				}
				if err != nil {
					continue
				}
				if diff := cmp.Diff(want.Object, got.Object); diff != "" {
					t.Fatalf("value %d: -composed.From, +fromTyped:\n%s", i, diff)
				}
			}
		})
	}
}

// TestFromTypedLeavesTheStructAlone: converting a typed struct writes its
// apiVersion and kind into the result, not into the caller's struct
// (through its GetObjectKind), in both conversions and both scopes.
func TestFromTypedLeavesTheStructAlone(t *testing.T) {
	f := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(7, 1)), MaxDepth: 10, Special: fillSpecial}
	for _, o := range composedKinds(t) {
		v := reflect.New(reflect.TypeOf(o).Elem())
		f.Fill(v.Elem())
		obj := v.Interface().(runtime.Object)
		obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{}) // As the builders leave it.
		k, _ := kindOf(obj)
		v.Elem().FieldByIndex(k.meta).SetZero() // As encodeTyped takes it.
		before := obj.DeepCopyObject()
		if _, err := fromTyped(obj); err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		if _, err := encodeTyped(nil, obj, k, "c", "name"); err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		if diff := cmp.Diff(before, obj); diff != "" {
			t.Errorf("%T: converting changed the struct (-before, +after):\n%s", obj, diff)
		}
	}
}

// composedKinds is a value of every typed struct the function composes, in
// both scopes, each type once.
func composedKinds(t *testing.T) []runtime.Object {
	t.Helper()
	var objects []runtime.Object
	seen := map[reflect.Type]bool{}
	for _, c := range Components {
		gvk := c.Kind()
		gvk.Group = strings.TrimSuffix(gvk.Group, ClusterGroupSuffix) + NamespacedGroupSuffix
		namespaced, ok := newKind(gvk)
		if !ok {
			t.Fatalf("no namespaced %s", gvk)
		}
		for _, o := range []runtime.Object{c.Object, namespaced} {
			if tp := reflect.TypeOf(o).Elem(); !seen[tp] {
				seen[tp] = true
				objects = append(objects, o)
			}
		}
	}
	return objects
}

// fillSpecial fills the types with their own JSON encoding that provider
// structs hold with values that encode, and leaves the rest (ObjectMeta's
// managed fields) empty.
func fillSpecial(r *rand.Rand, v reflect.Value) bool {
	switch v.Interface().(type) {
	case metav1.Time:
		if r.IntN(2) == 0 {
			v.Set(reflect.ValueOf(metav1.NewTime(time.Date(2026, 12, 1, 6, r.IntN(60), 0, 0, time.UTC))))
		}
		return true
	case []metav1.ManagedFieldsEntry, *metav1.Time:
		return true
	}
	return false
}

// TestEncodeTypedAsMap fills every typed struct the function composes, in
// both scopes, with random contents (ObjectMeta left empty, as the
// builders leave it) and checks that encodeTyped's bytes decode to the
// Struct encodeMap encodes in the cluster scope, error for error, and are
// as long.
func TestEncodeTypedAsMap(t *testing.T) {
	f := jsonmaptest.Filler{Rand: rand.New(rand.NewPCG(11, 3)), MaxDepth: 10, Special: fillSpecial}
	for _, o := range composedKinds(t) {
		tp := reflect.TypeOf(o).Elem()
		t.Run(tp.PkgPath()+"."+tp.Name(), func(t *testing.T) {
			k, ok := kindOf(o)
			if !ok {
				t.Fatalf("%T has no kind", o)
			}
			for i := range 200 {
				v := reflect.New(tp)
				if i > 0 { // The first is the zero value.
					f.Fill(v.Elem())
				}
				v.Elem().FieldByIndex(k.meta).SetZero()
				obj := v.Interface().(runtime.Object)
				externalName := ""
				if i%2 == 1 {
					externalName = "name"
				}
				if !typedMetaEmpty(obj, k) {
					t.Fatalf("value %d: metadata not empty", i)
				}
				want, wantErr := encodeMap(nil, obj, "c", externalName, ClusterScope{}, nil)
				got, err := encodeTyped(nil, obj, k, "c", externalName)
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("value %d: error %v, encodeMap's %v", i, err, wantErr)
				}
				if err != nil {
					continue
				}
				if diff := diffEncoded(want, got); diff != "" {
					t.Fatalf("value %d: -encodeMap, +encodeTyped:\n%s", i, diff)
				}
			}
		})
	}
}

// diffEncoded compares two Struct encodings as messages, and their lengths.
func diffEncoded(want, got []byte) string {
	w, g := &structpb.Struct{}, &structpb.Struct{}
	if err := proto.Unmarshal(want, w); err != nil {
		return "cannot decode the wanted Struct: " + err.Error()
	}
	if err := proto.Unmarshal(got, g); err != nil {
		return "cannot decode it: " + err.Error()
	}
	if !proto.Equal(w, g) {
		return cmp.Diff(w, g, protocmp.Transform())
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
	}
	return ""
}

// TestEncodeKeepsTypedMetadata: a typed struct whose metadata the builders
// did set (none does today) keeps it, with the component label and the
// external name set over its own.
func TestEncodeKeepsTypedMetadata(t *testing.T) {
	c := &composer{in: Input{Scope: ClusterScope{}}}
	obj := &ecr.Repository{}
	obj.Name, obj.Labels = "repo", map[string]string{"mine": "x"}
	got, err := c.encode(nil, ECRRepository, "aws-name", obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &structpb.Struct{}
	if err := proto.Unmarshal(got, s); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":        "repo",
		"labels":      map[string]any{LabelComponent: string(ECRRepository)},
		"annotations": map[string]any{AnnotationExternalName: "aws-name"},
	}
	if diff := cmp.Diff(want, s.GetFields()["metadata"].GetStructValue().AsMap()); diff != "" {
		t.Errorf("metadata: -want, +got:\n%s", diff)
	}
}
