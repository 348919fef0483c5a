package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
)

// TestFixedTagsWin gives the claim tags with the keys of the fixed tags:
// every tagged resource must carry the fixed values, and the claim's other
// tags beside them.
func TestFixedTagsWin(t *testing.T) {
	spec := minimalSpec + `  tags:
    environment: prod
    cicd.platform.dev/claim: other/claim
    cicd.platform.dev/composite: other-xr
    managed-by: someone
    team: payments
`
	_, rsp := converge(t, xrFromYAML(t, minimalXR(spec)), nil)
	want := map[string]any{
		compose.TagEnvironment: "dev",
		compose.TagClaim:       "team-shop/shop",
		compose.TagComposite:   "shop-x7k2p",
		compose.TagManagedBy:   "crossplane",
		"team":                 "payments",
	}
	tagged := 0
	for name, u := range desired(rsp) {
		tags, found, err := unstructured.NestedMap(u.Object, "spec", "forProvider", "tags")
		if err != nil || !found {
			continue
		}
		tagged++
		got := map[string]any{}
		for k := range want {
			got[k] = tags[k]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: tags -want, +got:\n%s", name, diff)
		}
	}
	// Repository, buckets, projects, connection, pipeline, table, topic,
	// rule and roles are tagged.
	if tagged < 10 {
		t.Errorf("only %d composed resources carry tags; the test examined too few to mean anything", tagged)
	}
}
