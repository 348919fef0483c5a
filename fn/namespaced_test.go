package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/fn/internal/compose"
)

// namespacedXR is a namespaced CicdPipeline named shop in namespace ns with
// the spec.
func namespacedXR(ns, spec string) string {
	return `
apiVersion: cicd.m.platform.dev/v1alpha1
kind: CicdPipeline
metadata:
  name: shop
  namespace: ` + ns + `
spec:
  crossplane:
    compositionRef:
      name: cicdpipelines.cicd.m.platform.dev
` + spec
}

// legacyTwin is the claim API's XR that must compose the same resources as
// namespacedXR("team-shop", spec), but cluster-scoped: named with the
// namespaced XR's AWS name prefix, so the names agree.
func legacyTwin(spec string) string {
	return `
apiVersion: cicd.platform.dev/v1alpha1
kind: XCicdPipeline
metadata:
  name: ` + namespacedPrefix("team-shop", "shop") + `
spec:
` + spec
}

// clusterForm turns a namespaced managed resource back into the cluster
// form the builders produce, as the namespaced scope is specified to
// change it: the group, the provider config kind and the deletion policy
// (expressed through management policies).
func clusterForm(t *testing.T, u *unstructured.Unstructured, deletionPolicy string) *unstructured.Unstructured {
	t.Helper()
	c := u.DeepCopy()
	gvk := c.GroupVersionKind()
	group, ok := strings.CutSuffix(gvk.Group, compose.NamespacedGroupSuffix)
	if !ok {
		t.Fatalf("%s is not a namespaced provider-aws kind", gvk)
	}
	gvk.Group = group + compose.ClusterGroupSuffix
	c.SetGroupVersionKind(gvk)
	unstructured.RemoveNestedField(c.Object, "spec", "providerConfigRef", "kind")
	if err := unstructured.SetNestedField(c.Object, deletionPolicy, "spec", "deletionPolicy"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNamespacedComposesTheSameResources: a namespaced CicdPipeline composes
// exactly the resources its claim twin composes, in every round until Ready,
// each the namespaced twin of the cluster one (validated against the
// namespaced CRD of its kind by converge), so no builder exists twice.
func TestNamespacedComposesTheSameResources(t *testing.T) {
	cases := map[string]struct {
		namespacedSpec, claimSpec string
		providerConfigKind        string
	}{
		"Minimal": {minimalSpec, minimalSpec, "ClusterProviderConfig"},
		// examples/namespaced-full.yaml is examples/claim-full.yaml with the
		// provider config as a reference to a ProviderConfig in the namespace.
		"Full": {specOf(t, "namespaced-full.yaml"), specOf(t, "xr-full.yaml"), "ProviderConfig"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			nsObserved, nsRsp := converge(t, xrFromYAML(t, namespacedXR("team-shop", tc.namespacedSpec)), nil)
			clObserved, clRsp := converge(t, xrFromYAML(t, legacyTwin(tc.claimSpec)), nil)
			if diff := cmp.Diff(slices.Sorted(maps.Keys(clObserved)), slices.Sorted(maps.Keys(nsObserved))); diff != "" {
				t.Fatalf("the scopes compose different resources: -cluster, +namespaced:\n%s", diff)
			}
			ns, cl := desired(nsRsp), desired(clRsp)
			// The fake provider derives generated IDs (a connection's UUID)
			// from the composed resource's name, which Crossplane derives
			// from the XR's: use the cluster twin's.
			var pairs []string
			for n, o := range nsObserved {
				for _, f := range []string{"arn", "id"} {
					a, _, _ := unstructured.NestedString(o.Object, "status", "atProvider", f)
					b, _, _ := unstructured.NestedString(clObserved[n].Object, "status", "atProvider", f)
					if a != "" && a != b {
						pairs = append(pairs, a, b)
					}
				}
			}
			sameIDs := strings.NewReplacer(pairs...)
			for _, n := range sortedNames(cl) {
				if kind, _, _ := unstructured.NestedString(ns[n].Object, "spec", "providerConfigRef", "kind"); kind != tc.providerConfigKind {
					t.Errorf("%s: providerConfigRef.kind %q, want %q", n, kind, tc.providerConfigKind)
				}
				if _, found, _ := unstructured.NestedFieldNoCopy(ns[n].Object, "spec", "deletionPolicy"); found {
					t.Errorf("%s: a namespaced managed resource has no deletionPolicy", n)
				}
				got := clusterForm(t, ns[n], "Delete")
				gb, _ := json.Marshal(got.Object)
				if err := json.Unmarshal([]byte(sameIDs.Replace(string(gb))), &got.Object); err != nil {
					t.Fatal(err)
				}
				// The composite tag names the namespaced XR by namespace/name.
				want := cl[n].DeepCopy()
				b, _ := json.Marshal(want.Object)
				b = []byte(strings.ReplaceAll(string(b), `"`+compose.TagComposite+`":"`+namespacedPrefix("team-shop", "shop")+`"`, `"`+compose.TagComposite+`":"team-shop/shop"`))
				if err := json.Unmarshal(b, &want.Object); err != nil {
					t.Fatal(err)
				}
				// The namespaced v1beta1 kinds declare Terraform's
				// single-item blocks as objects, not lists of one.
				unwrapLike(want.Object, got.Object)
				if diff := cmp.Diff(want.Object, got.Object); diff != "" {
					t.Errorf("%s: the namespaced resource is not the cluster one in the namespaced group: -cluster, +namespaced (back in cluster form):\n%s", n, diff)
				}
				if got, want := ns[n].GetAPIVersion(), strings.Replace(cl[n].GetAPIVersion(), ".aws.upbound.io/", ".aws.m.upbound.io/", 1); got != want {
					t.Errorf("%s: apiVersion %s, want %s", n, got, want)
				}
			}
			if got := nsRsp.GetDesired().GetComposite().GetReady(); got != fnv1.Ready_READY_TRUE {
				t.Errorf("the namespaced XR is %s once everything is observed Ready, want Ready", got)
			}
			if diff := cmp.Diff(clRsp.GetDesired().GetComposite().GetResource().AsMap()["status"], nsRsp.GetDesired().GetComposite().GetResource().AsMap()["status"]); diff != "" && name == "Minimal" {
				// Outputs are the same; only status.effective spells the
				// provider config as providerConfigRef.
				t.Logf("status differs (expected only in effective): %s", diff)
			}
		})
	}
}

// unwrapLike replaces, in cluster, each list of one object where namespaced
// has an object by that object.
func unwrapLike(cluster, namespaced any) {
	switch n := namespaced.(type) {
	case map[string]any:
		c, ok := cluster.(map[string]any)
		if !ok {
			return
		}
		for k, nv := range n {
			if list, ok := c[k].([]any); ok && len(list) == 1 {
				if _, isObj := nv.(map[string]any); isObj {
					c[k] = list[0]
				}
			}
			unwrapLike(c[k], nv)
		}
	case []any:
		c, ok := cluster.([]any)
		if !ok || len(c) != len(n) {
			return
		}
		for i := range n {
			unwrapLike(c[i], n[i])
		}
	}
}

// specOf returns the spec block of an example XR, indented under spec:.
func specOf(t *testing.T, file string) string {
	t.Helper()
	obj := xrFile(t, file).AsMap()
	spec := obj["spec"].(map[string]any)
	delete(spec, "claimRef")
	b, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			out.WriteString("  " + line)
		}
	}
	return out.String()
}
