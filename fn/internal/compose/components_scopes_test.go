package compose

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/crossplane/function-sdk-go/resource/composed"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	clusterapis "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/cluster"
	namespacedapis "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis/namespaced"
)

// TestEveryComponentHasANamespacedKind: each row's kind is known to
// newKind at the same version in its namespaced group, or a namespaced XR
// could not compose it ("provider-aws has no namespaced ..."). newKind knows
// what fn/internal/awsapis/namespaced/scheme.go lists, which go generate
// writes from awsapis.Kinds; a row of a kind or group not generated fails
// here (and TestKindsAreComponents).
func TestEveryComponentHasANamespacedKind(t *testing.T) {
	for _, c := range Components {
		gvk := c.Kind()
		group, ok := strings.CutSuffix(gvk.Group, ClusterGroupSuffix)
		if !ok {
			t.Errorf("%s: %s is not a provider-aws cluster-scoped group", c.Name, gvk.Group)
			continue
		}
		gvk.Group = group + NamespacedGroupSuffix
		if _, ok := newKind(gvk); !ok {
			t.Errorf("%s: newKind has no %s: add %s to awsapis.Kinds[%q] and run go generate ./fn/internal/awsapis",
				c.Name, gvk, gvk.Kind, group)
		}
	}
}

// awsScheme registers both scopes' generated groups in a runtime.Scheme, as
// composed.Scheme would hold them.
func awsScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clusterapis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := namespacedapis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// registerInSDKScheme registers both scopes' kinds in composed.Scheme, for
// tests that compare with composed.From: the function itself never does.
var registerInSDKScheme = sync.OnceValue(func() error {
	if err := clusterapis.AddToScheme(composed.Scheme); err != nil {
		return err
	}
	return namespacedapis.AddToScheme(composed.Scheme)
})

// awsapisPath is the Go package path of fn/internal/awsapis.
const awsapisPath = "github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/awsapis"

// TestKindsAsScheme: kindOf and newKind find what a runtime.Scheme of the
// generated groups finds (ObjectKinds, New), for every kind it registers
// in those groups, and nothing else.
func TestKindsAsScheme(t *testing.T) {
	s := awsScheme(t)
	n := 0
	for gvk, typ := range s.AllKnownTypes() {
		if !strings.HasPrefix(typ.PkgPath(), awsapisPath+"/") || strings.HasSuffix(gvk.Kind, "List") {
			continue // The meta types each group registers, and the lists.
		}
		n++
		want, err := s.New(gvk)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := newKind(gvk)
		if !ok {
			t.Errorf("newKind(%s): none, the scheme's is %s", gvk, typ)
			continue
		}
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("newKind(%s) is a %T, the scheme's a %T", gvk, got, want)
		}
		wantGVKs, _, err := s.ObjectKinds(want)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := kindOf(want); !ok || len(wantGVKs) != 1 || got.gvk != wantGVKs[0] {
			t.Errorf("kindOf(%T) = %s, %t; the scheme's kinds %v", want, got.gvk, ok, wantGVKs)
		}
	}
	// As each group's scheme.Builder did, AddToScheme adds the meta types
	// (metav1.AddToGroupVersion) to every group.
	for gvk := range kinds().byGVK {
		if !s.Recognizes(gvk.GroupVersion().WithKind("WatchEvent")) {
			t.Errorf("the scheme has no meta types in %s", gvk.GroupVersion())
		}
	}
	if n == 0 || n != len(kinds().byType) || n != len(kinds().byGVK) {
		t.Errorf("the scheme registers %d kinds, kindIndex knows %d types and %d kinds", n, len(kinds().byType), len(kinds().byGVK))
	}
	if _, ok := newKind(schema.GroupVersionKind{Group: "s3" + NamespacedGroupSuffix, Version: "v1beta1", Kind: "Nothing"}); ok {
		t.Error("newKind knows a kind no group registers")
	}
	if _, ok := kindOf(&runtime.Unknown{}); ok {
		t.Error("kindOf knows a type that is not a composed kind")
	}
}
