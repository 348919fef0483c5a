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
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

var (
	roleKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "iam.aws.upbound.io", Version: "v1beta1", Kind: "Role"},
		Resource:         schema.GroupVersionResource{Group: "iam.aws.upbound.io", Version: "v1beta1", Resource: "roles"},
		atProviderFields: map[string]bool{"arn": true, "id": true, "uniqueId": true},
	}
	functionKind = &Kind{
		GVK:              schema.GroupVersionKind{Group: "lambda.aws.upbound.io", Version: "v1beta1", Kind: "Function"},
		Resource:         schema.GroupVersionResource{Group: "lambda.aws.upbound.io", Version: "v1beta1", Resource: "functions"},
		atProviderFields: map[string]bool{"arn": true, "id": true, "role": true, "region": true},
		refs:             []refField{{Field: "role", Target: schema.GroupKind{Group: "iam.aws.upbound.io", Kind: "Role"}, ARN: true}},
	}
)

// managed returns a managed resource controlled by the XR with uid xr.
func managed(k *Kind, name, xr string, labels map[string]string, forProvider map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"forProvider": forProvider}}}
	u.SetGroupVersionKind(k.GVK)
	u.SetName(name)
	u.SetUID(types.UID(name + "-uid"))
	u.SetLabels(labels)
	u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "example.org/v1", Kind: "XR", Name: "xr", UID: types.UID(xr), Controller: new(true)}})
	return u
}

// TestSimulatorPlaysTheProvider runs the simulator against a fake API server:
// it must resolve a selector to the target's ARN, report atProvider and
// conditions, and hold and release a fault.
func TestSimulatorPlaysTheProvider(t *testing.T) {
	ctx := t.Context()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		roleKind.Resource:     "RoleList",
		functionKind.Resource: "FunctionList",
	})
	sim := New(client, []*Kind{roleKind, functionKind}, Config{Account: "123456789012", DefaultRegion: "us-east-1"})
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}

	role := managed(roleKind, "role-1", "xr-1", map[string]string{"component": "deployer-role"}, map[string]any{})
	role.SetAnnotations(map[string]string{annotationExternalName: "shop-deployer"})
	selector := map[string]any{"matchControllerRef": true, "matchLabels": map[string]any{"component": "deployer-role"}}
	fn := managed(functionKind, "fn-1", "xr-1", nil, map[string]any{"roleSelector": selector})
	// Another XR's function must not resolve to this XR's role.
	orphan := managed(functionKind, "fn-2", "xr-2", nil, map[string]any{"roleSelector": selector})
	for _, u := range []*unstructured.Unstructured{role, fn, orphan} {
		gvr := roleKind.Resource
		if u.GetKind() == "Function" {
			gvr = functionKind.Resource
		}
		if _, err := client.Resource(gvr).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	get := func(name string) *unstructured.Unstructured {
		u, err := client.Resource(functionKind.Resource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	waitFor := func(what string, check func() error) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := check()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	conditionOf := func(u *unstructured.Unstructured, typ string) (status, message string) {
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

	const roleARN = "arn:aws:iam::123456789012:role/shop-deployer"
	waitFor("function never became Ready with its role resolved", func() error {
		u := get("fn-1")
		if got, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "role"); got != roleARN {
			return fmt.Errorf("spec.forProvider.role = %q", got)
		}
		if got, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "roleRef", "name"); got != "role-1" {
			return fmt.Errorf("spec.forProvider.roleRef.name = %q", got)
		}
		if got, _, _ := unstructured.NestedString(u.Object, "status", "atProvider", "arn"); got != "arn:aws:lambda:us-east-1:123456789012:function:fn-1" {
			return fmt.Errorf("status.atProvider.arn = %q", got)
		}
		if s, _ := conditionOf(u, "Ready"); s != "True" {
			return fmt.Errorf("not Ready")
		}
		if len(u.GetFinalizers()) != 1 || u.GetFinalizers()[0] != finalizer {
			return fmt.Errorf("finalizers = %v", u.GetFinalizers())
		}
		return nil
	})

	waitFor("a selector matching nothing never gave Synced=False", func() error {
		s, msg := conditionOf(get("fn-2"), "Synced")
		if s != "False" || !strings.Contains(msg, "cannot resolve references") {
			return fmt.Errorf("Synced=%s %q", s, msg)
		}
		return nil
	})

	release := sim.Hold(Fault{Kind: "Function", SyncError: "boom"})
	waitFor("a held error never showed", func() error {
		if s, msg := conditionOf(get("fn-1"), "Synced"); s != "False" || msg != "boom" {
			return fmt.Errorf("Synced=%s %q", s, msg)
		}
		return nil
	})
	release()
	waitFor("a released error never cleared", func() error {
		if s, _ := conditionOf(get("fn-1"), "Synced"); s != "True" {
			return fmt.Errorf("Synced=%s", s)
		}
		return nil
	})
}
