package compose

import (
	"strings"
	"testing"
)

// TestEveryComponentHasANamespacedKind: each row's kind is registered in
// namespacedScheme at the same version in its namespaced group, or a
// namespaced XR could not compose it ("provider-aws has no namespaced ...").
// Go imports packages by path, so a row of a new provider group also needs
// that group's namespaced package's AddToScheme in namespaced.go; this test
// says so.
func TestEveryComponentHasANamespacedKind(t *testing.T) {
	for _, c := range Components {
		gvk := c.Kind()
		group, ok := strings.CutSuffix(gvk.Group, ClusterGroupSuffix)
		if !ok {
			t.Errorf("%s: %s is not a provider-aws cluster-scoped group", c.Name, gvk.Group)
			continue
		}
		gvk.Group = group + NamespacedGroupSuffix
		if !namespacedScheme.Recognizes(gvk) {
			t.Errorf("%s: namespacedScheme has no %s: generate fn/internal/awsapis/namespaced/%s/%s (awsapis.Kinds) and add its AddToScheme to it (namespaced.go)",
				c.Name, gvk, group, gvk.Version)
		}
	}
}
