package examples

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/testhelp"
)

// xrSuffixes is the random suffix Crossplane would add to each example
// claim's name to name its XR, fixed so that the renders are reproducible.
var xrSuffixes = map[string]string{"minimal": "x7k2p", "full": "9fz4d"}

// xrFromClaim is the composite resource (XR) Crossplane creates for an
// example claim: the claim's spec, comments and order kept, plus the claim
// reference and labels, named after the claim with a suffix.
func xrFromClaim(example string, claim []byte, suffix string) ([]byte, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(claim, &meta); err != nil {
		return nil, err
	}
	if want := v1alpha1.Group + "/" + v1alpha1.Version; meta.APIVersion != want || meta.Kind != v1alpha1.ClaimKind {
		return nil, fmt.Errorf("claim-%s.yaml is a %s %s, not a %s claim", example, meta.APIVersion, meta.Kind, v1alpha1.ClaimKind)
	}
	_, spec, ok := bytes.Cut(claim, []byte("\nspec:\n"))
	if !ok || meta.Metadata.Name == "" || meta.Metadata.Namespace == "" {
		return nil, fmt.Errorf("claim-%s.yaml needs metadata.name, metadata.namespace and a top-level spec", example)
	}
	name, ns := meta.Metadata.Name, meta.Metadata.Namespace
	var b strings.Builder
	b.WriteString("# Generated from claim-" + example + ".yaml by `go generate ./examples`. DO NOT EDIT.\n" +
		"# The composite resource (XR) Crossplane creates for that claim: the same\n" +
		"# spec plus the claim reference, named after the claim with Crossplane's\n" +
		"# random suffix. `make render` renders this file.\n")
	b.WriteString("apiVersion: " + meta.APIVersion + "\nkind: " + v1alpha1.CompositeKind + "\n")
	b.WriteString("metadata:\n  name: " + name + "-" + suffix + "\n  labels:\n" +
		"    crossplane.io/claim-name: " + name + "\n    crossplane.io/claim-namespace: " + ns + "\n")
	b.WriteString("spec:\n  claimRef:\n    apiVersion: " + meta.APIVersion + "\n    kind: " + meta.Kind +
		"\n    name: " + name + "\n    namespace: " + ns + "\n")
	b.Write(spec)
	return []byte(b.String()), nil
}

// TestXRsAreGeneratedFromClaims keeps each xr-<example>.yaml what
// xrFromClaim makes of claim-<example>.yaml (`go generate ./examples`
// rewrites them), and checks that the XR has exactly the claim's spec.
func TestXRsAreGeneratedFromClaims(t *testing.T) {
	claims, err := filepath.Glob("claim-*.yaml")
	if err != nil || len(claims) == 0 {
		t.Fatalf("no example claims (%v)", err)
	}
	for _, path := range claims {
		example := strings.TrimSuffix(strings.TrimPrefix(path, "claim-"), ".yaml")
		t.Run(example, func(t *testing.T) {
			suffix, ok := xrSuffixes[example]
			if !ok {
				t.Fatalf("%s has no XR name suffix: add one to xrSuffixes", path)
			}
			claim, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			xr, err := xrFromClaim(example, claim, suffix)
			if err != nil {
				t.Fatal(err)
			}
			testhelp.Golden(t, "xr-"+example+".yaml", xr, *update, "go generate ./examples")

			// Not only the same text: the same spec, once parsed.
			var c, x struct {
				Spec map[string]any `json:"spec"`
			}
			if err := yaml.Unmarshal(claim, &c); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(xr, &x); err != nil {
				t.Fatal(err)
			}
			ref, _ := x.Spec["claimRef"].(map[string]any)
			delete(x.Spec, "claimRef")
			if diff := cmp.Diff(c.Spec, x.Spec); diff != "" {
				t.Errorf("the XR's spec differs from the claim's: -claim, +xr:\n%s", diff)
			}
			if ref["kind"] != v1alpha1.ClaimKind || ref["name"] == nil || ref["namespace"] == nil {
				t.Errorf("the XR's claimRef is %v, want the claim's kind, name and namespace", ref)
			}
		})
	}
}
