package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
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
				gb, err := json.Marshal(got.Object)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(sameIDs.Replace(string(gb))), &got.Object); err != nil {
					t.Fatal(err)
				}
				// The composite tag names the namespaced XR by namespace/name.
				want := cl[n].DeepCopy()
				b, err := json.Marshal(want.Object)
				if err != nil {
					t.Fatal(err)
				}
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

// TestNamespacedDeletion: namespaced managed resources have no
// deletionPolicy; a pipeline that must outlive its CicdPipeline is composed
// with management policies without Delete, whether the team says so or the
// platform's deletionPolicy Orphan does.
func TestNamespacedDeletion(t *testing.T) {
	orphanPlatform := envConfig(t, "acme", "", "  defaults:\n    deletionPolicy: Orphan\n")
	cases := map[string]struct {
		spec    string
		configs []*structpb.Struct
		want    []any
	}{
		"Default":                   {spec: minimalSpec, want: []any{"*"}},
		"TeamOrphans":               {spec: minimalSpec + "  managementPolicies: [Observe, Create, Update, LateInitialize]\n", want: []any{"Observe", "Create", "Update", "LateInitialize"}},
		"PlatformOrphan":            {spec: minimalSpec, configs: []*structpb.Struct{orphanPlatform}, want: []any{"Observe", "Create", "Update", "LateInitialize"}},
		"PlatformOrphanObserveOnly": {spec: minimalSpec + "  managementPolicies: [Observe]\n", configs: []*structpb.Struct{orphanPlatform}, want: []any{"Observe"}},
		"PlatformOrphanDropsDelete": {spec: minimalSpec + "  managementPolicies: [Observe, Create, Delete]\n", configs: []*structpb.Struct{orphanPlatform}, want: []any{"Observe", "Create"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, rsp := convergeWith(t, xrFromYAML(t, namespacedXR("team-shop", tc.spec)), tc.configs, nil)
			d := desired(rsp)
			if len(d) == 0 {
				t.Fatal("nothing composed")
			}
			for _, n := range sortedNames(d) {
				got, _, _ := unstructured.NestedSlice(d[n].Object, "spec", "managementPolicies")
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s: managementPolicies -want, +got:\n%s", n, diff)
				}
				if _, found, _ := unstructured.NestedFieldNoCopy(d[n].Object, "spec", "deletionPolicy"); found {
					t.Errorf("%s: has a deletionPolicy", n)
				}
			}
		})
	}
}

// TestNamespacedProviderConfig: the provider config reference names its
// kind; the platform defaults and enforces its name as it does a claim's
// providerConfigName, and status.effective spells it as the namespaced API
// does.
func TestNamespacedProviderConfig(t *testing.T) {
	platform := envConfig(t, "acme", "", "  defaults:\n    providerConfigName: team-account\n")
	enforced := envConfig(t, "acme", "", "  defaults:\n    providerConfigName: team-account\n  enforced: [providerConfigName]\n")
	cases := map[string]struct {
		spec      string
		configs   []*structpb.Struct
		wantRef   map[string]any
		wantEff   map[string]string
		wantFatal string
	}{
		"Default": {spec: minimalSpec, wantRef: map[string]any{"kind": "ClusterProviderConfig", "name": "default"},
			wantEff: map[string]string{"providerConfigRef.kind": "ClusterProviderConfig (default)", "providerConfigRef.name": "default (default)"}},
		"NamespaceProviderConfig": {spec: minimalSpec + "  providerConfigRef:\n    kind: ProviderConfig\n    name: shop-aws\n", wantRef: map[string]any{"kind": "ProviderConfig", "name": "shop-aws"},
			wantEff: map[string]string{"providerConfigRef.kind": "ProviderConfig (claim)", "providerConfigRef.name": "shop-aws (claim)"}},
		"KindOnlyNameFromPlatform": {spec: minimalSpec + "  providerConfigRef:\n    kind: ProviderConfig\n", configs: []*structpb.Struct{platform}, wantRef: map[string]any{"kind": "ProviderConfig", "name": "team-account"},
			wantEff: map[string]string{"providerConfigRef.kind": "ProviderConfig (claim)", "providerConfigRef.name": "team-account (platform:acme)"}},
		"Enforced": {spec: minimalSpec + "  providerConfigRef:\n    name: other\n", configs: []*structpb.Struct{enforced},
			wantFatal: "other is not allowed: the platform enforces team-account (EnvironmentConfig acme)"},
		"DeletionPolicyRefused": {spec: minimalSpec + "  deletionPolicy: Orphan\n",
			wantFatal: `invalid XCicdPipeline "shop": spec.deletionPolicy: Invalid value: "": field not declared in schema`},
		"ProviderConfigNameRefused": {spec: minimalSpec + "  providerConfigName: default\n",
			wantFatal: `spec.providerConfigName: Invalid value: "": field not declared in schema`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.wantFatal != "" {
				rsp := run(t, withConfigs(newRequest(xrFromYAML(t, namespacedXR("team-shop", tc.spec)), nil), tc.configs...))
				if got := fatalMessage(rsp); !strings.Contains(got, tc.wantFatal) {
					t.Errorf("fatal result %q, want it to contain %q", got, tc.wantFatal)
				}
				if len(rsp.GetDesired().GetResources()) != 0 {
					t.Error("a refused CicdPipeline composed resources")
				}
				return
			}
			_, rsp := convergeWith(t, xrFromYAML(t, namespacedXR("team-shop", tc.spec)), tc.configs, nil)
			for n, u := range desired(rsp) {
				got, _, _ := unstructured.NestedMap(u.Object, "spec", "providerConfigRef")
				if diff := cmp.Diff(tc.wantRef, got); diff != "" {
					t.Errorf("%s: providerConfigRef -want, +got:\n%s", n, diff)
				}
			}
			eff := effective(rsp)
			for f, want := range tc.wantEff {
				if eff[f] != want {
					t.Errorf("status.effective %s = %q, want %q", f, eff[f], want)
				}
			}
			if _, ok := eff["providerConfigName"]; ok {
				t.Error("status.effective names providerConfigName, which the namespaced API does not have")
			}
		})
	}
}

// TestNamespacedNamesDoNotCollide: two teams' CicdPipelines of the same name
// in two namespaces get disjoint AWS names (S3 bucket names are global, IAM
// role names per account), and each pipeline's names are the same on every
// reconcile.
func TestNamespacedNamesDoNotCollide(t *testing.T) {
	awsNames := func(ns string) map[string]string {
		_, rsp := converge(t, xrFromYAML(t, namespacedXR(ns, minimalSpec)), nil)
		out := map[string]string{}
		for n, u := range desired(rsp) {
			name := u.GetAnnotations()[compose.AnnotationExternalName]
			if fp, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "name"); fp != "" {
				name = fp
			}
			if name != "" {
				out[n] = name
			}
		}
		return out
	}
	a, b := awsNames("team-a"), awsNames("team-b")
	if len(a) < 10 {
		t.Fatalf("found only %d AWS names: %v", len(a), a)
	}
	seen := map[string]string{}
	for n, name := range a {
		seen[name] = n
	}
	for n, name := range b {
		if other, ok := seen[name]; ok {
			t.Errorf("team-b's %s and team-a's %s are both named %s in AWS", n, other, name)
		}
	}
	if diff := cmp.Diff(a, awsNames("team-a")); diff != "" {
		t.Errorf("the names changed between reconciles: %s", diff)
	}
	if got, want := a[string(compose.ArtifactBucket)], namespacedPrefix("team-a", "shop")+"-artifacts-dev"; got != want {
		t.Errorf("artifact bucket %q, want %q", got, want)
	}
}

// TestNamespacedDeterministic: the same request gives a byte-identical
// response.
func TestNamespacedDeterministic(t *testing.T) {
	xr := xrFile(t, "namespaced-full.yaml")
	observed, _ := converge(t, xr, nil)
	opts := proto.MarshalOptions{Deterministic: true}
	first, err := opts.Marshal(run(t, newRequest(xr, observed)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		b, err := opts.Marshal(run(t, newRequest(xr, observed)))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(first) {
			t.Fatalf("run %d gave a different response", i+1)
		}
	}
}

// TestNamespacedFirstRound: on a fresh namespaced CicdPipeline the function
// composes what needs no observed value, in the namespaced groups only, and
// reports the rest as waiting; the XR is not Ready.
func TestNamespacedFirstRound(t *testing.T) {
	rsp := run(t, newRequest(xrFile(t, "namespaced-minimal.yaml"), nil))
	if f := fatalMessage(rsp); f != "" {
		t.Fatal(f)
	}
	d := desired(rsp)
	validateComposed(t, d)
	for n, u := range d {
		if !strings.HasSuffix(u.GroupVersionKind().Group, compose.NamespacedGroupSuffix) {
			t.Errorf("%s is %s, not a namespaced provider-aws kind", n, u.GroupVersionKind())
		}
		if ns := u.GetNamespace(); ns != "" {
			t.Errorf("%s names namespace %q: Crossplane puts it in the XR's", n, ns)
		}
		// Selectors must resolve in the XR's namespace: none names another.
		b, err := json.Marshal(u.Object["spec"])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"namespace":`) {
			t.Errorf("%s: a selector or reference names a namespace: %s", n, b)
		}
	}
	if c := condition(rsp, string(v1alpha1.TypeResourcesComposed)); c == nil || c.GetStatus() != fnv1.Status_STATUS_CONDITION_FALSE {
		t.Errorf("ResourcesComposed = %v, want False while resources wait for observed ARNs", c)
	}
	if got := rsp.GetDesired().GetComposite().GetReady(); got == fnv1.Ready_READY_TRUE {
		t.Error("a fresh CicdPipeline is Ready")
	}
}
