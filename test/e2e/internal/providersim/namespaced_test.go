package providersim

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/providercrds"
)

// provider-aws v2's namespaced twins (*.aws.m.upbound.io) of the kinds in
// rules_test.go.
var (
	nsBucketKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "s3.aws.m.upbound.io", Version: "v1beta1", Kind: "Bucket"},
		Resource:         schema.GroupVersionResource{Group: "s3.aws.m.upbound.io", Version: "v1beta1", Resource: "buckets"},
		Namespaced:       true,
		atProviderFields: map[string]bool{"arn": true, "id": true},
	}
	nsProjectKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "codebuild.aws.m.upbound.io", Version: "v1beta1", Kind: "Project"},
		Resource:         schema.GroupVersionResource{Group: "codebuild.aws.m.upbound.io", Version: "v1beta1", Resource: "projects"},
		Namespaced:       true,
		atProviderFields: map[string]bool{"arn": true, "id": true},
		refs:             []refField{{Path: []string{"cache"}, Field: "location", Target: nsBucketKind.GVK.GroupKind()}},
	}
	nsConnectionKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "codestarconnections.aws.m.upbound.io", Version: "v1beta1", Kind: "Connection"},
		Resource:         schema.GroupVersionResource{Group: "codestarconnections.aws.m.upbound.io", Version: "v1beta1", Resource: "connections"},
		Namespaced:       true,
		atProviderFields: map[string]bool{"arn": true, "id": true, "connectionStatus": true},
	}
)

// namespacedManaged is a namespaced managed resource controlled by the XR
// with uid xr, with the provider config reference the CRD requires.
func namespacedManaged(k *Kind, namespace, name, xr string, labels map[string]string, forProvider map[string]any) *unstructured.Unstructured {
	u := managed(k, name, xr, labels, forProvider)
	u.SetNamespace(namespace)
	u.SetUID(types.UID(namespace + "/" + name))
	_ = unstructured.SetNestedMap(u.Object, map[string]any{"kind": "ClusterProviderConfig", "name": "default"}, "spec", "providerConfigRef")
	return u
}

func (e *simEnv) createIn(k *Kind, u *unstructured.Unstructured) {
	e.t.Helper()
	if _, err := e.client.Resource(k.Resource).Namespace(u.GetNamespace()).Create(e.t.Context(), u, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *simEnv) getIn(k *Kind, namespace, name string) *unstructured.Unstructured {
	e.t.Helper()
	u, err := e.client.Resource(k.Resource).Namespace(namespace).Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *simEnv) updateIn(k *Kind, u *unstructured.Unstructured) {
	e.t.Helper()
	if _, err := e.client.Resource(k.Resource).Namespace(u.GetNamespace()).Update(e.t.Context(), u, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// cacheLocation returns a project's resolved cache location and reference.
func cacheLocation(u *unstructured.Unstructured) (location any, ref map[string]any) {
	cache, _, _ := unstructured.NestedSlice(u.Object, "spec", "forProvider", "cache")
	if len(cache) != 1 {
		return nil, nil
	}
	c, _ := cache[0].(map[string]any)
	ref, _ = c["locationRef"].(map[string]any)
	return c["location"], ref
}

// TestNamespacedSelectorStaysInNamespace: a namespaced managed resource's
// selector matches only objects in its own namespace, even without
// matchControllerRef, and records the namespace in the reference as
// crossplane-runtime's namespaced resolver does. Two teams with a bucket
// labelled alike never resolve to each other's.
func TestNamespacedSelectorStaysInNamespace(t *testing.T) {
	e := newSimEnv(t, nsBucketKind, nsProjectKind)
	for _, ns := range []string{"team-a", "team-b"} {
		b := namespacedManaged(nsBucketKind, ns, "cache", "xr-"+ns, map[string]string{"component": "cache-bucket"}, map[string]any{})
		b.SetAnnotations(map[string]string{annotationExternalName: ns + "-build-cache"})
		e.createIn(nsBucketKind, b)
	}
	// Labels only: in a cluster-wide search this would match both buckets.
	labelsOnly := map[string]any{"cache": []any{map[string]any{
		"type":             "S3",
		"locationSelector": map[string]any{"matchLabels": map[string]any{"component": "cache-bucket"}},
	}}}
	e.createIn(nsProjectKind, namespacedManaged(nsProjectKind, "team-a", "build", "xr-team-a", nil, labelsOnly))
	e.createIn(nsProjectKind, namespacedManaged(nsProjectKind, "team-c", "build", "xr-team-c", nil, labelsOnly))

	e.waitFor("team-a's cache location never resolved to team-a's bucket", func() error {
		u := e.getIn(nsProjectKind, "team-a", "build")
		location, ref := cacheLocation(u)
		if diff := cmp.Diff(map[string]any{"name": "cache", "namespace": "team-a"}, ref); location != "team-a-build-cache" || diff != "" {
			return fmt.Errorf("cache[0].location = %v, locationRef (-want +got):\n%s", location, diff)
		}
		return want(u, "True", "True", "")
	})
	e.waitFor("a selector in a namespace without a bucket matched another namespace's", func() error {
		return want(e.getIn(nsProjectKind, "team-c", "build"), "False", "False", "cache.location: no Bucket matches the selector")
	})
	// The namespaced kinds report what their cluster-scoped twins do.
	e.waitFor("the namespaced bucket never reported its ARN", func() error {
		if got, _, _ := unstructured.NestedString(e.getIn(nsBucketKind, "team-b", "cache").Object, "status", "atProvider", "arn"); got != "arn:aws:s3:::team-b-build-cache" {
			return fmt.Errorf("status.atProvider.arn = %q", got)
		}
		return nil
	})
}

// TestNamespacedReferenceToAnotherNamespaceRefused: crossplane-runtime
// would follow a reference or selector that names another namespace; the
// simulator refuses it, since the function never composes one and such a
// reference would reach another team's resources.
func TestNamespacedReferenceToAnotherNamespaceRefused(t *testing.T) {
	cases := map[string]map[string]any{
		"Selector": {"type": "S3", "locationSelector": map[string]any{
			"namespace": "team-b", "matchLabels": map[string]any{"component": "cache-bucket"},
		}},
		"Reference": {"type": "S3", "locationRef": map[string]any{"name": "cache", "namespace": "team-b"}},
	}
	for name, cache := range cases {
		t.Run(name, func(t *testing.T) {
			e := newSimEnv(t, nsBucketKind, nsProjectKind)
			e.createIn(nsBucketKind, namespacedManaged(nsBucketKind, "team-b", "cache", "xr-b", map[string]string{"component": "cache-bucket"}, map[string]any{}))
			e.createIn(nsProjectKind, namespacedManaged(nsProjectKind, "team-a", "build", "xr-a", nil, map[string]any{"cache": []any{cache}}))
			e.waitFor("a reference into another namespace was followed", func() error {
				return want(e.getIn(nsProjectKind, "team-a", "build"), "False", "False", `names namespace "team-b", outside the managed resource's namespace "team-a"`)
			})
			time.Sleep(2 * resync)
			if location, _ := cacheLocation(e.getIn(nsProjectKind, "team-a", "build")); location != nil {
				t.Errorf("cache[0].location = %v, want it unresolved", location)
			}
		})
	}
}

// TestNamespacedReferenceResolvesInNamespace: an explicit reference without
// a namespace resolves in the managed resource's namespace and is kept as
// written.
func TestNamespacedReferenceResolvesInNamespace(t *testing.T) {
	e := newSimEnv(t, nsBucketKind, nsProjectKind)
	for _, ns := range []string{"team-a", "team-b"} {
		b := namespacedManaged(nsBucketKind, ns, "cache", "xr-"+ns, nil, map[string]any{})
		b.SetAnnotations(map[string]string{annotationExternalName: ns + "-build-cache"})
		e.createIn(nsBucketKind, b)
	}
	e.createIn(nsProjectKind, namespacedManaged(nsProjectKind, "team-b", "build", "xr-team-b", nil, map[string]any{"cache": []any{
		map[string]any{"type": "S3", "locationRef": map[string]any{"name": "cache"}},
	}}))
	e.waitFor("the reference never resolved to the bucket in the same namespace", func() error {
		u := e.getIn(nsProjectKind, "team-b", "build")
		location, ref := cacheLocation(u)
		if diff := cmp.Diff(map[string]any{"name": "cache"}, ref); location != "team-b-build-cache" || diff != "" {
			return fmt.Errorf("cache[0].location = %v, locationRef (-want +got):\n%s", location, diff)
		}
		return want(u, "True", "True", "")
	})
}

// TestNamespacedDeletionByManagementPolicies: namespaced managed resources
// have no deletionPolicy; leaving Delete out of managementPolicies orphans
// the AWS resource. AWS knows no scopes: the resource is found under either
// scope's group.
func TestNamespacedDeletionByManagementPolicies(t *testing.T) {
	cases := map[string]struct {
		managementPolicies []any
		wantKept           bool
	}{
		"Default":                 {wantKept: false},
		"All":                     {managementPolicies: []any{"*"}, wantKept: false},
		"ManagementWithoutDelete": {managementPolicies: []any{"Observe", "Create", "Update", "LateInitialize"}, wantKept: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newSimEnv(t, nsBucketKind)
			b := namespacedManaged(nsBucketKind, "team-a", "bucket-1", "xr-1", nil, map[string]any{})
			b.SetAnnotations(map[string]string{annotationExternalName: "team-a-artifacts"})
			if tc.managementPolicies != nil {
				_ = unstructured.SetNestedSlice(b.Object, tc.managementPolicies, "spec", "managementPolicies")
			}
			e.createIn(nsBucketKind, b)
			e.waitFor("the bucket was never created", func() error {
				if _, ok := e.sim.External(nsBucketKind.GVK.GroupKind(), "team-a-artifacts"); !ok {
					return fmt.Errorf("not in AWS")
				}
				if len(e.getIn(nsBucketKind, "team-a", "bucket-1").GetFinalizers()) == 0 {
					return fmt.Errorf("no finalizer")
				}
				return nil
			})
			if _, ok := e.sim.External(bucketKind.GVK.GroupKind(), "team-a-artifacts"); !ok {
				t.Error("the bucket is not found under the cluster-scoped group: AWS has one namespace of names")
			}
			u := e.getIn(nsBucketKind, "team-a", "bucket-1")
			u.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
			e.updateIn(nsBucketKind, u)
			e.waitFor("the finalizer was never removed", func() error {
				if f := e.getIn(nsBucketKind, "team-a", "bucket-1").GetFinalizers(); len(f) != 0 {
					return fmt.Errorf("finalizers %v", f)
				}
				return nil
			})
			if _, kept := e.sim.External(nsBucketKind.GVK.GroupKind(), "team-a-artifacts"); kept != tc.wantKept {
				t.Errorf("AWS resource kept = %t, want %t", kept, tc.wantKept)
			}
		})
	}
}

// TestNamespacedProviderConfigKind: the provider accepts a namespaced
// managed resource's providerConfigRef only to a ProviderConfig or a
// ClusterProviderConfig; the CRD accepts any kind.
func TestNamespacedProviderConfigKind(t *testing.T) {
	e := newSimEnv(t, nsBucketKind)
	for name, kind := range map[string]string{"cluster": "ClusterProviderConfig", "local": "ProviderConfig", "bad": "Secret"} {
		b := namespacedManaged(nsBucketKind, "team-a", name, "xr-1", nil, map[string]any{})
		_ = unstructured.SetNestedField(b.Object, kind, "spec", "providerConfigRef", "kind")
		e.createIn(nsBucketKind, b)
	}
	for _, name := range []string{"cluster", "local"} {
		e.waitFor(name+" provider config refused", func() error { return want(e.getIn(nsBucketKind, "team-a", name), "True", "True", "") })
	}
	e.waitFor("a provider config of kind Secret was accepted", func() error {
		return want(e.getIn(nsBucketKind, "team-a", "bad"), "False", "False", `cannot get provider config: spec.providerConfigRef.kind "Secret"`)
	})
	if _, ok := e.sim.External(nsBucketKind.GVK.GroupKind(), "bad"); ok {
		t.Error("created in AWS without a provider config the provider accepts")
	}
}

// TestNamespacedConnectionHandshake: a namespaced XR's connections become
// AVAILABLE only after the handshake for that XR, in that namespace.
func TestNamespacedConnectionHandshake(t *testing.T) {
	e := newSimEnv(t, nsConnectionKind)
	e.createIn(nsConnectionKind, namespacedManaged(nsConnectionKind, "team-a", "conn", "xr-1", map[string]string{labelComposite: "shop"}, map[string]any{"providerType": "GitHub"}))
	status := func() string {
		s, _, _ := unstructured.NestedString(e.getIn(nsConnectionKind, "team-a", "conn").Object, "status", "atProvider", "connectionStatus")
		return s
	}
	e.waitFor("the connection never reported PENDING", func() error {
		if s := status(); s != "PENDING" {
			return fmt.Errorf("connectionStatus = %q", s)
		}
		return nil
	})
	e.sim.CompleteCompositeHandshake("team-b", "shop")
	time.Sleep(2 * resync)
	if s := status(); s != "PENDING" {
		t.Errorf("a handshake in another namespace made this connection %s", s)
	}
	e.sim.CompleteCompositeHandshake("team-a", "shop")
	e.waitFor("the handshake never made the connection AVAILABLE", func() error {
		if s := status(); s != "AVAILABLE" {
			return fmt.Errorf("connectionStatus = %q", s)
		}
		return nil
	})
}

// TestNamespacedKindsFromRealCRDs reads provider-aws's namespaced CRDs:
// the kind is namespaced, its references target the namespaced kinds, and
// the ARN-valued fields are the cluster kinds' (same resolvers).
func TestNamespacedKindsFromRealCRDs(t *testing.T) {
	cases := map[string]struct {
		gk   schema.GroupKind
		want refField
	}{
		"BuildCache": {
			gk:   schema.GroupKind{Group: "codebuild.aws.m.upbound.io", Kind: "Project"},
			want: refField{Path: []string{"cache"}, Field: "location", Target: schema.GroupKind{Group: "s3.aws.m.upbound.io", Kind: "Bucket"}},
		},
		"LambdaRoleIsAnARN": {
			gk:   schema.GroupKind{Group: "lambda.aws.m.upbound.io", Kind: "Function"},
			want: refField{Field: "role", Target: schema.GroupKind{Group: "iam.aws.m.upbound.io", Kind: "Role"}, ARN: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file, err := providercrds.File(tc.gk)
			if err != nil {
				t.Fatal(err)
			}
			kinds, err := LoadKinds(file)
			if err != nil {
				t.Fatal(err)
			}
			if !kinds[0].Namespaced {
				t.Errorf("%s: not namespaced", tc.gk)
			}
			for _, r := range kinds[0].refs {
				if cmp.Equal(r, tc.want) {
					return
				}
			}
			t.Errorf("%s: no reference %+v among %+v", tc.gk, tc.want, kinds[0].refs)
		})
	}
}
