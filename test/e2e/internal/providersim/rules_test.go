package providersim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

var (
	bucketKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "s3.aws.upbound.io", Version: "v1beta1", Kind: "Bucket"},
		Resource:         schema.GroupVersionResource{Group: "s3.aws.upbound.io", Version: "v1beta1", Resource: "buckets"},
		atProviderFields: map[string]bool{"arn": true, "id": true},
	}
	projectKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "codebuild.aws.upbound.io", Version: "v1beta1", Kind: "Project"},
		Resource:         schema.GroupVersionResource{Group: "codebuild.aws.upbound.io", Version: "v1beta1", Resource: "projects"},
		atProviderFields: map[string]bool{"arn": true, "id": true},
		refs:             []refField{{Path: []string{"cache"}, Field: "location", Target: bucketKind.GVK.GroupKind()}},
	}
	connectionKindSim = &Kind{
		GVK:              schema.GroupVersionKind{Group: "codestarconnections.aws.upbound.io", Version: "v1beta1", Kind: "Connection"},
		Resource:         schema.GroupVersionResource{Group: "codestarconnections.aws.upbound.io", Version: "v1beta1", Resource: "connections"},
		atProviderFields: map[string]bool{"arn": true, "id": true, "connectionStatus": true},
	}
)

// simEnv is a simulator on a fake API server.
type simEnv struct {
	t      *testing.T
	client dynamic.Interface
	sim    *Simulator
}

func newSimEnv(t *testing.T, kinds ...*Kind) *simEnv {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{}
	for _, k := range kinds {
		lists[k.Resource] = k.GVK.Kind + "List"
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists)
	sim := New(client, kinds, Config{Account: "123456789012", DefaultRegion: "us-east-1"})
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &simEnv{t: t, client: client, sim: sim}
}

func (e *simEnv) create(k *Kind, u *unstructured.Unstructured) {
	e.t.Helper()
	if _, err := e.client.Resource(k.Resource).Create(e.t.Context(), u, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *simEnv) get(k *Kind, name string) *unstructured.Unstructured {
	e.t.Helper()
	u, err := e.client.Resource(k.Resource).Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *simEnv) update(k *Kind, u *unstructured.Unstructured) {
	e.t.Helper()
	if _, err := e.client.Resource(k.Resource).Update(e.t.Context(), u, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// waitFor polls check until it returns nil.
func (e *simEnv) waitFor(what string, check func() error) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func conditionIn(u *unstructured.Unstructured, typ string) (status, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return s, msg
		}
	}
	return "", ""
}

// want checks a resource's Ready and Synced conditions.
func want(u *unstructured.Unstructured, ready, synced, syncedMessage string) error {
	r, _ := conditionIn(u, "Ready")
	s, msg := conditionIn(u, "Synced")
	if r != ready || s != synced || !strings.Contains(msg, syncedMessage) {
		return fmt.Errorf("Ready=%s Synced=%s %q, want Ready=%s Synced=%s %q", r, s, msg, ready, synced, syncedMessage)
	}
	return nil
}

func cacheSelector(component string) map[string]any {
	return map[string]any{"cache": []any{map[string]any{
		"type":             "S3",
		"locationSelector": map[string]any{"matchControllerRef": true, "matchLabels": map[string]any{"component": component}},
	}}}
}

// TestNestedSelectorResolves: a selector inside a nested block (a CodeBuild
// project's cache location) resolves to the bucket's name.
func TestNestedSelectorResolves(t *testing.T) {
	e := newSimEnv(t, bucketKind, projectKind)
	b := managed(bucketKind, "cache-1", "xr-1", map[string]string{"component": "cache-bucket"}, map[string]any{})
	b.SetAnnotations(map[string]string{annotationExternalName: "shop-build-cache-dev"})
	e.create(bucketKind, b)
	e.create(projectKind, managed(projectKind, "build-1", "xr-1", nil, cacheSelector("cache-bucket")))
	e.waitFor("the cache location never resolved", func() error {
		u := e.get(projectKind, "build-1")
		cache, _, _ := unstructured.NestedSlice(u.Object, "spec", "forProvider", "cache")
		if len(cache) != 1 {
			return fmt.Errorf("cache = %v", cache)
		}
		c := cache[0].(map[string]any)
		if c["location"] != "shop-build-cache-dev" {
			return fmt.Errorf("cache[0].location = %v", c["location"])
		}
		if ref, _ := c["locationRef"].(map[string]any); ref["name"] != "cache-1" {
			return fmt.Errorf("cache[0].locationRef = %v", c["locationRef"])
		}
		return want(u, "True", "True", "")
	})
}

// TestSelectorMustMatchExactlyOne: a single-valued selector that matches two
// objects, or none, is an error: not Ready, Synced=False with the reason.
// Such a resource is never created, so it never becomes Ready.
func TestSelectorMustMatchExactlyOne(t *testing.T) {
	e := newSimEnv(t, bucketKind, projectKind)
	for _, n := range []string{"bucket-a", "bucket-b"} {
		e.create(bucketKind, managed(bucketKind, n, "xr-1", map[string]string{"component": "cache-bucket"}, map[string]any{}))
	}
	e.create(projectKind, managed(projectKind, "two", "xr-1", nil, cacheSelector("cache-bucket")))
	e.create(projectKind, managed(projectKind, "none", "xr-1", nil, cacheSelector("no-such-bucket")))
	e.waitFor("a selector matching two buckets was accepted", func() error {
		return want(e.get(projectKind, "two"), "False", "False", "cache.location: the selector matches 2 Bucket objects (bucket-a, bucket-b), want exactly one")
	})
	e.waitFor("a selector matching nothing was accepted", func() error {
		return want(e.get(projectKind, "none"), "False", "False", "cache.location: no Bucket matches the selector")
	})
	// Long after, still not Ready: references that never resolve never do.
	time.Sleep(2 * resync)
	for _, n := range []string{"two", "none"} {
		u := e.get(projectKind, n)
		if r, _ := conditionIn(u, "Ready"); r != "False" {
			t.Errorf("%s: Ready=%s with references that never resolve", n, r)
		}
		if _, found, _ := unstructured.NestedMap(u.Object, "status", "atProvider"); found {
			t.Errorf("%s: reports atProvider although it was never created", n)
		}
		if _, ok := e.sim.External(projectKind.GVK.GroupKind(), n); ok {
			t.Errorf("%s: exists in AWS although its references never resolved", n)
		}
	}
}

// TestConnectionsStartPending: AWS creates a CodeStar connection PENDING; it
// becomes AVAILABLE only once someone completes the handshake.
func TestConnectionsStartPending(t *testing.T) {
	e := newSimEnv(t, connectionKindSim)
	c := managed(connectionKindSim, "conn-1", "xr-1", map[string]string{labelClaimNamespace: "team", labelClaimName: "shop"}, map[string]any{"name": "shop-src-dev", "providerType": "GitHub"})
	e.create(connectionKindSim, c)
	status := func() string {
		s, _, _ := unstructured.NestedString(e.get(connectionKindSim, "conn-1").Object, "status", "atProvider", "connectionStatus")
		return s
	}
	e.waitFor("the connection never reported a status", func() error {
		if s := status(); s != "PENDING" {
			return fmt.Errorf("connectionStatus = %q, want PENDING", s)
		}
		return want(e.get(connectionKindSim, "conn-1"), "True", "True", "")
	})
	e.sim.CompleteHandshake("team", "other-claim")
	time.Sleep(2 * resync)
	if s := status(); s != "PENDING" {
		t.Errorf("another claim's handshake made this connection %s", s)
	}
	e.sim.CompleteHandshake("team", "shop")
	e.waitFor("the handshake never made the connection AVAILABLE", func() error {
		if s := status(); s != "AVAILABLE" {
			return fmt.Errorf("connectionStatus = %q", s)
		}
		return nil
	})
}

// TestDeletionHonoursPolicies: deleting a managed resource deletes the AWS
// resource with deletionPolicy Delete, and keeps it with Orphan or with
// management policies that do not include Delete.
func TestDeletionHonoursPolicies(t *testing.T) {
	cases := map[string]struct {
		deletionPolicy     string
		managementPolicies []any
		wantKept           bool
	}{
		"Default":                 {wantKept: false},
		"Delete":                  {deletionPolicy: "Delete", wantKept: false},
		"Orphan":                  {deletionPolicy: "Orphan", wantKept: true},
		"AllManagementPolicies":   {managementPolicies: []any{"*"}, wantKept: false},
		"ManagementWithoutDelete": {managementPolicies: []any{"Observe", "Create", "Update", "LateInitialize"}, wantKept: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newSimEnv(t, bucketKind)
			b := managed(bucketKind, "bucket-1", "xr-1", nil, map[string]any{})
			if tc.deletionPolicy != "" {
				_ = unstructured.SetNestedField(b.Object, tc.deletionPolicy, "spec", "deletionPolicy")
			}
			if tc.managementPolicies != nil {
				_ = unstructured.SetNestedSlice(b.Object, tc.managementPolicies, "spec", "managementPolicies")
			}
			e.create(bucketKind, b)
			e.waitFor("the bucket was never created", func() error {
				if _, ok := e.sim.External(bucketKind.GVK.GroupKind(), "bucket-1"); !ok {
					return fmt.Errorf("not in AWS")
				}
				if len(e.get(bucketKind, "bucket-1").GetFinalizers()) == 0 {
					return fmt.Errorf("no finalizer")
				}
				return nil
			})
			// The fake API server deletes at once; mark the deletion the way
			// the real one does while a finalizer holds the object.
			u := e.get(bucketKind, "bucket-1")
			u.SetDeletionTimestamp(&metav1.Time{Time: time.Now()})
			e.update(bucketKind, u)
			e.waitFor("the finalizer was never removed", func() error {
				if f := e.get(bucketKind, "bucket-1").GetFinalizers(); len(f) != 0 {
					return fmt.Errorf("finalizers %v", f)
				}
				return nil
			})
			if _, kept := e.sim.External(bucketKind.GVK.GroupKind(), "bucket-1"); kept != tc.wantKept {
				t.Errorf("AWS resource kept = %t, want %t", kept, tc.wantKept)
			}
		})
	}
}

// TestUpdateReachesAWS: a changed spec is applied to the AWS resource, and
// the provider reports the generation it applied.
func TestUpdateReachesAWS(t *testing.T) {
	e := newSimEnv(t, bucketKind)
	e.create(bucketKind, managed(bucketKind, "bucket-1", "xr-1", nil, map[string]any{"forceDestroy": false}))
	e.waitFor("the bucket was never created", func() error {
		return want(e.get(bucketKind, "bucket-1"), "True", "True", "")
	})
	u := e.get(bucketKind, "bucket-1")
	_ = unstructured.SetNestedField(u.Object, true, "spec", "forProvider", "forceDestroy")
	// The fake API server does not count generations; the real one does.
	u.SetGeneration(u.GetGeneration() + 1)
	e.update(bucketKind, u)
	e.waitFor("the update never reached AWS", func() error {
		ext, ok := e.sim.External(bucketKind.GVK.GroupKind(), "bucket-1")
		if !ok || ext.ForProvider["forceDestroy"] != true || ext.Generation != u.GetGeneration() {
			return fmt.Errorf("AWS has %+v, want forceDestroy true at generation %d", ext, u.GetGeneration())
		}
		got := e.get(bucketKind, "bucket-1")
		if g, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration"); g != u.GetGeneration() {
			return fmt.Errorf("status.observedGeneration = %d, want %d", g, u.GetGeneration())
		}
		return nil
	})
}

// TestPolicyPrincipalMustExist: AWS refuses a policy that names as
// principal a role that does not exist (providerfake.UnknownPrincipals):
// the resource is not created, Synced=False says why, and once the role
// exists the next reconcile creates it.
func TestPolicyPrincipalMustExist(t *testing.T) {
	e := newSimEnv(t, bucketKind, roleKind)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/shop-reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shop/*"}]}`
	bucket := managed(bucketKind, "bucket-1", "xr-1", nil, map[string]any{"policy": policy})
	e.create(bucketKind, bucket)
	e.waitFor("a policy naming a missing role was accepted", func() error {
		return want(e.get(bucketKind, "bucket-1"), "False", "False", "Invalid principal in policy: arn:aws:iam::123456789012:role/shop-reader")
	})
	if _, ok := e.sim.External(bucketKind.GVK.GroupKind(), "bucket-1"); ok {
		t.Errorf("the bucket exists in AWS although its policy was refused")
	}
	role := managed(roleKind, "role-1", "xr-1", nil, map[string]any{})
	role.SetAnnotations(map[string]string{annotationExternalName: "shop-reader"})
	e.create(roleKind, role)
	e.waitFor("the policy was never accepted once the role existed", func() error {
		return want(e.get(bucketKind, "bucket-1"), "True", "True", "")
	})
}
