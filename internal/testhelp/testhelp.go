// Package testhelp holds what the module's tests need in more than one
// package: the repository root, YAML documents, golden files, conditions of
// an object, the package's provider dependencies and what a package links.
package testhelp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// RepoRoot is the directory of the module's go.mod, found from the test's
// working directory (its package's directory) upwards.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Documents splits a multi-document YAML (or JSON) stream into objects,
// leaving out empty documents.
func Documents(tb testing.TB, b []byte) []*unstructured.Unstructured {
	tb.Helper()
	var out []*unstructured.Unstructured
	d := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		obj := map[string]any{}
		if err := d.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			tb.Fatalf("cannot parse YAML: %v", err)
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// Golden compares got with the golden file at path, or with update first
// rewrites the file; how names the command that rewrites it.
func Golden(tb testing.TB, path string, got []byte, update bool, how string) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (%s creates it)", err, how)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s is stale (%s rewrites it): -want, +got:\n%s", path, how, diff)
	}
}

// Condition returns a condition of an object's status, if present.
func Condition(u *unstructured.Unstructured, typ string) (status, reason, message string, found bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		status, _ = m["status"].(string)
		reason, _ = m["reason"].(string)
		message, _ = m["message"].(string)
		return status, reason, message, true
	}
	return "", "", "", false
}

// ProviderPrefix is how package/crossplane.yaml names a provider-aws family
// member: the prefix, then the API group (ecr for ecr.aws.upbound.io).
const ProviderPrefix = "xpkg.upbound.io/upbound/provider-aws-"

// PackageProviderGroups are the provider-aws groups the Configuration
// package (package/crossplane.yaml under root) depends on, in its order.
func PackageProviderGroups(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "package", "crossplane.yaml"))
	if err != nil {
		return nil, err
	}
	var meta struct {
		Spec struct {
			DependsOn []struct {
				Provider string `json:"provider"`
			} `json:"dependsOn"`
		} `json:"spec"`
	}
	if err := sigsyaml.Unmarshal(b, &meta); err != nil {
		return nil, err
	}
	var groups []string
	for _, d := range meta.Spec.DependsOn {
		if g, ok := strings.CutPrefix(d.Provider, ProviderPrefix); ok {
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// Deps are the packages pkg builds on (`go list -deps`), for tests that
// keep a package from linking something. It fails the test unless want is
// among them, so such a test cannot pass by listing the wrong package.
func Deps(tb testing.TB, pkg, want string) []string {
	tb.Helper()
	out, err := exec.CommandContext(tb.Context(), "go", "list", "-deps", pkg).Output()
	if err != nil {
		tb.Fatalf("cannot list the dependencies of %s: %v", pkg, err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, want) {
		tb.Fatalf("%s does not build on %s; its dependencies: %v", pkg, want, deps)
	}
	return deps
}
