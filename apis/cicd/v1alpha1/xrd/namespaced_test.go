package xrd_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	namespaced "github.com/cicd-platform/crossplane-cicd-pipeline/apis/namespaced/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/badclaims"
)

// TestNamespacedXRD checks what makes the second XRD a Crossplane v2
// namespaced API: v2, scope Namespaced, no claims, its own group.
func TestNamespacedXRD(t *testing.T) {
	got := &xrd.CompositeResourceDefinition{}
	if err := yaml.UnmarshalStrict(xrd.NamespacedDefinition, got); err != nil {
		t.Fatal(err)
	}
	want := struct{ APIVersion, Scope, Group, Kind, Name string }{"apiextensions.crossplane.io/v2", "Namespaced", "cicd.m.platform.dev", "CicdPipeline", "cicdpipelines.cicd.m.platform.dev"}
	if diff := cmp.Diff(want, struct{ APIVersion, Scope, Group, Kind, Name string }{got.APIVersion, got.Spec.Scope, got.Spec.Group, got.Spec.Names.Kind, got.Metadata.Name}); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
	if got.Spec.ClaimNames != nil {
		t.Errorf("a v2 namespaced XRD has no claims, got claimNames %+v", got.Spec.ClaimNames)
	}
	if got.Spec.DefaultCompositionRef.Name != got.Metadata.Name {
		t.Errorf("defaultCompositionRef %q, want the XRD's own name", got.Spec.DefaultCompositionRef.Name)
	}
}

// TestNamespacedSpecIsTheClaimsSpec: the two APIs have the same parameters
// and status (one source: the embedded Go types); the namespaced spec only
// replaces providerConfigName with providerConfigRef and has no
// deletionPolicy, which namespaced managed resources do not have.
func TestNamespacedSpecIsTheClaimsSpec(t *testing.T) {
	claim, err := xrd.Schema()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := xrd.NamespacedSchema()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(claim.Properties["status"], ns.Properties["status"]); diff != "" {
		t.Errorf("the status schemas differ: -claim, +namespaced:\n%s", diff)
	}
	claimSpec, nsSpec := claim.Properties["spec"], ns.Properties["spec"]
	if _, ok := nsSpec.Properties["providerConfigRef"]; !ok {
		t.Error("the namespaced spec has no providerConfigRef")
	}
	for _, f := range []string{"deletionPolicy", "providerConfigName"} {
		if _, ok := nsSpec.Properties[f]; ok {
			t.Errorf("the namespaced spec has %s, which has no meaning for namespaced managed resources", f)
		}
		if _, ok := claimSpec.Properties[f]; !ok {
			t.Errorf("the claim's spec lost %s", f)
		}
	}
	strip := func(s apiextensionsv1.JSONSchemaProps, fields ...string) apiextensionsv1.JSONSchemaProps {
		props := maps.Clone(s.Properties)
		for _, f := range fields {
			delete(props, f)
		}
		s.Properties = props
		s.Description = ""
		return s
	}
	if diff := cmp.Diff(strip(claimSpec, "deletionPolicy", "providerConfigName"), strip(nsSpec, "providerConfigRef")); diff != "" {
		t.Errorf("the shared parameters differ: -claim, +namespaced:\n%s", diff)
	}
}

// namespacedXR is a namespaced CicdPipeline manifest with this spec.
func namespacedXR(spec string) string {
	if spec == "" {
		return ""
	}
	return "apiVersion: " + namespaced.APIVersion + "\nkind: CicdPipeline\nmetadata:\n  name: shop\n  namespace: team-shop\nspec:\n" + spec
}

// TestNamespacedBadSpecsAreRejected: every bad claim of the catalogue is
// rejected by the namespaced XRD with the same message, except the ones
// about fields the namespaced API does not have.
func TestNamespacedBadSpecsAreRejected(t *testing.T) {
	for name, tc := range badclaims.Catalogue() {
		if strings.Contains(tc.Spec, "deletionPolicy:") || strings.Contains(tc.Spec, "providerConfigName:") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			got := validate(t, namespacedXR(tc.Spec), namespacedXR(tc.Old))
			for _, w := range tc.Want {
				if !strings.Contains(got, w) {
					t.Errorf("want an error containing\n  %s\ngot\n  %s", w, got)
				}
			}
		})
	}
}

// TestNamespacedOnlyFields: the claim API's resource-level fields are
// refused by the namespaced API, and its provider config kind is checked.
func TestNamespacedOnlyFields(t *testing.T) {
	const ok = "  environmentSuffix: dev\n  source:\n    repository: acme/shop\n"
	cases := map[string]struct {
		spec string
		want string
	}{
		"DeletionPolicy":        {ok + "  deletionPolicy: Orphan\n", `spec.deletionPolicy: Invalid value: "": field not declared in schema`},
		"ProviderConfigName":    {ok + "  providerConfigName: default\n", `spec.providerConfigName: Invalid value: "": field not declared in schema`},
		"ProviderConfigKind":    {ok + "  providerConfigRef:\n    kind: Secret\n    name: aws\n", `spec.providerConfigRef.kind: Unsupported value: "Secret"`},
		"ProviderConfigEmpty":   {ok + "  providerConfigRef:\n    name: \"\"\n", `spec.providerConfigRef.name: Invalid value: "": spec.providerConfigRef.name in body should be at least 1 chars long`},
		"ClusterProviderConfig": {ok + "  providerConfigRef:\n    kind: ClusterProviderConfig\n    name: aws\n", ""},
		"ProviderConfig":        {ok + "  providerConfigRef:\n    kind: ProviderConfig\n    name: aws\n", ""},
		"Orphan":                {ok + "  managementPolicies: [Create, Observe, Update, LateInitialize]\n", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := validate(t, namespacedXR(tc.spec), "")
			if tc.want == "" && got != "" {
				t.Fatalf("rejected: %s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("want an error containing\n  %s\ngot\n  %s", tc.want, got)
			}
		})
	}
}
