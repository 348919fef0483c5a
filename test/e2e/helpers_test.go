//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
	"github.com/cicd-platform/crossplane-cicd-pipeline/test/e2e/internal/stack"
)

// Generous deadlines: the tests poll and fail only when something never
// happens; how long it took is reported, not asserted.
const (
	readyTimeout  = 3 * time.Minute
	deleteTimeout = 3 * time.Minute
)

var namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

// condition returns a condition of an object's status, if present.
var condition = testhelp.Condition

// conditionsSummary renders all conditions, for failure messages.
func conditionsSummary(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	parts := make([]string, 0, len(conds))
	for _, c := range conds {
		m, _ := c.(map[string]any)
		parts = append(parts, fmt.Sprintf("%v=%v (%v: %v)", m["type"], m["status"], m["reason"], m["message"]))
	}
	if len(parts) == 0 {
		return "no conditions"
	}
	return strings.Join(parts, "; ")
}

// eventually polls check until it passes and fails the test with the last
// error if it never does within timeout. It returns how long it took.
func eventually(t *testing.T, timeout time.Duration, what string, check func(ctx context.Context) error) time.Duration {
	t.Helper()
	began := time.Now()
	if err := stack.Eventually(env.ctx, timeout, check); err != nil {
		if stackErr := env.stack.CheckRunning(); stackErr != nil {
			t.Fatalf("%s: %v\nstack: %v", what, err, stackErr)
		}
		t.Fatalf("%s: %v", what, err)
	}
	return time.Since(began)
}

// waitReady waits until an object reports Ready=True and returns it.
func waitReady(t *testing.T, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, time.Duration) {
	t.Helper()
	var obj *unstructured.Unstructured
	took := eventually(t, readyTimeout, fmt.Sprintf("%s %s/%s never became Ready", gvk.Kind, namespace, name), func(ctx context.Context) error {
		u, err := env.client.Get(ctx, gvk, namespace, name)
		if err != nil {
			return err
		}
		if status, _, _, _ := condition(u, "Ready"); status != "True" {
			return fmt.Errorf("not Ready: %s", conditionsSummary(u))
		}
		obj = u
		return nil
	})
	return obj, took
}

// waitGone waits until an object no longer exists.
func waitGone(t *testing.T, gvk schema.GroupVersionKind, namespace, name string) {
	t.Helper()
	eventually(t, deleteTimeout, fmt.Sprintf("%s %s/%s was never deleted", gvk.Kind, namespace, name), func(ctx context.Context) error {
		u, err := env.client.Get(ctx, gvk, namespace, name)
		if kerrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still exists (finalizers %v, deletion requested %v)", u.GetFinalizers(), u.GetDeletionTimestamp() != nil)
	})
}

// createNamespace creates a namespace for one test and deletes it after.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &unstructured.Unstructured{}
	ns.SetGroupVersionKind(namespaceGVK)
	ns.SetName(name)
	if _, err := env.client.Apply(env.ctx, ns); err != nil {
		t.Fatalf("cannot create namespace: %v", err)
	}
	t.Cleanup(func() {
		ri, err := env.client.Resource(namespaceGVK, "")
		if err == nil {
			err = ri.Delete(context.Background(), name, metav1.DeleteOptions{})
		}
		if err != nil && !kerrors.IsNotFound(err) {
			t.Logf("cannot delete namespace %s: %v", name, err)
		}
	})
}

// deleteObject deletes an object in the foreground if it exists.
func deleteObject(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) error {
	ri, err := env.client.Resource(gvk, namespace)
	if err != nil {
		return err
	}
	fg := metav1.DeletePropagationForeground
	err = ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if kerrors.IsNotFound(err) {
		return nil
	}
	return err
}

// readYAML decodes a YAML file of the repository.
func readYAML(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cannot read %s: %v", path, err)
	}
	objs, err := stack.DecodeYAML(data)
	if err != nil {
		t.Fatalf("cannot decode %s: %v", path, err)
	}
	return objs
}

// events lists the events about an object, for failure messages and for
// asserting that an explanation reached the user.
func events(ctx context.Context, namespace, name string) ([]corev1.Event, error) {
	items, err := env.client.List(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Event"}, namespace, "")
	if err != nil {
		return nil, err
	}
	var out []corev1.Event
	for _, it := range items {
		var ev corev1.Event
		if err := fromUnstructured(&it, &ev); err != nil {
			return nil, err
		}
		if ev.InvolvedObject.Name == name {
			out = append(out, ev)
		}
	}
	return out, nil
}
