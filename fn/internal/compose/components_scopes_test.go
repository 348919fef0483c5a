package compose

import (
	"strings"
	"testing"
)

// TestEveryComponentHasANamespacedKind: each row's kind is registered in
// namespacedScheme at the same version in its namespaced group, or a
// namespaced XR could not compose it ("provider-aws has no namespaced ...").
// namespacedScheme registers what fn/internal/awsapis/namespaced/scheme.go
// lists, which go generate writes from awsapis.Kinds; a row of a kind or
// group not generated fails here (and TestKindsAreComponents).
func TestEveryComponentHasANamespacedKind(t *testing.T) {
	scheme, err := namespacedScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Components {
		gvk := c.Kind()
		group, ok := strings.CutSuffix(gvk.Group, ClusterGroupSuffix)
		if !ok {
			t.Errorf("%s: %s is not a provider-aws cluster-scoped group", c.Name, gvk.Group)
			continue
		}
		gvk.Group = group + NamespacedGroupSuffix
		if !scheme.Recognizes(gvk) {
			t.Errorf("%s: namespacedScheme has no %s: add %s to awsapis.Kinds[%q] and run go generate ./fn/internal/awsapis",
				c.Name, gvk, gvk.Kind, group)
		}
	}
}
