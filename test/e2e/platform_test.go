//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Ways to install the platform: through Crossplane's package manager from a
// local registry (the real path), or by applying the XRD and Composition
// directly with a hand-made FunctionRevision (the fallback).
const (
	packageModeXpkg   = "xpkg"
	packageModeDirect = "direct"
)

var xrdGVK = schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v1", Kind: "CompositeResourceDefinition"}

// waitXRDReady waits until Crossplane established an XRD and offers its
// claim, and returns how long that took.
func waitXRDReady(t *testing.T, name string) time.Duration {
	t.Helper()
	return eventually(t, readyTimeout, "XRD "+name+" never became established and offered", func(ctx context.Context) error {
		u, err := env.client.Get(ctx, xrdGVK, "", name)
		if err != nil {
			return err
		}
		for _, typ := range []string{"Established", "Offered"} {
			if status, _, _, _ := condition(u, typ); status != "True" {
				return fmt.Errorf("%s: %s", typ, conditionsSummary(u))
			}
		}
		return nil
	})
}

func nestedString(u *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	return s
}
