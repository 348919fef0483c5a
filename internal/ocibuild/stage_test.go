package ocibuild

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const configurationMeta = `apiVersion: meta.pkg.crossplane.io/v1
kind: Configuration
metadata:
  name: crossplane-cicd-pipeline
  annotations:
    meta.crossplane.io/license: Apache-2.0
spec:
  crossplane:
    version: ">=v1.17.0"
  dependsOn:
    - provider: xpkg.upbound.io/upbound/provider-aws-s3
      version: ">=v2.5.0"
    - function: xpkg.example.org/placeholder/fn
      version: ">=v0.0.0-0"
`

const composition = `# The pipeline.
apiVersion: apiextensions.crossplane.io/v1
kind: Composition
metadata:
  name: xcicdpipelines
spec:
  mode: Pipeline
  pipeline:
    - step: render
      functionRef:
        name: crossplane-cicd-pipeline-fn
    - step: other
      functionRef:
        name: function-auto-ready
`

func TestFunctionDependencyName(t *testing.T) {
	cases := map[string]struct {
		pkg, want string
		wantErr   bool
	}{
		"Org":          {pkg: "xpkg.crossplane.io/cicd-platform/crossplane-cicd-pipeline-fn", want: "cicd-platform-crossplane-cicd-pipeline-fn"},
		"RegistryRoot": {pkg: "127.0.0.1:5000/crossplane-cicd-pipeline-fn", want: "crossplane-cicd-pipeline-fn"},
		"Nested":       {pkg: "ghcr.io/a/b.c/fn", want: "a-b-c-fn"},
		"Invalid":      {pkg: "UPPER/Case", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := FunctionDependencyName(tc.pkg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("FunctionDependencyName(%q) error = %v, want error %t", tc.pkg, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("FunctionDependencyName(%q) = %q, want %q", tc.pkg, got, tc.want)
			}
		})
	}
}

func readYAML(t *testing.T, p string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStage(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"crossplane.yaml":  configurationMeta,
		"composition.yaml": composition,
		"definition.yaml":  "apiVersion: apiextensions.crossplane.io/v1\nkind: CompositeResourceDefinition\nmetadata:\n  name: x\n",
		"README.md":        "not part of the package",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(src, n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Configuration", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "staged")
		written, err := Stage(StageOptions{
			Source: src, Out: out, Version: "v0.3.0-2-gabcdef0",
			FunctionPackage: "xpkg.example.org/platform/crossplane-cicd-pipeline-fn",
			FunctionRefName: "crossplane-cicd-pipeline-fn",
		})
		if err != nil {
			t.Fatal(err)
		}
		wantFiles := []string{filepath.Join(out, "composition.yaml"), filepath.Join(out, "crossplane.yaml"), filepath.Join(out, "definition.yaml")}
		if diff := cmp.Diff(wantFiles, written); diff != "" {
			t.Errorf("files: -want +got:\n%s", diff)
		}

		meta := readYAML(t, filepath.Join(out, "crossplane.yaml"))
		wantMeta := map[string]any{
			"apiVersion": "meta.pkg.crossplane.io/v1",
			"kind":       "Configuration",
			"metadata": map[string]any{
				"name": "crossplane-cicd-pipeline",
				"annotations": map[string]any{
					"meta.crossplane.io/license": "Apache-2.0",
					"cicd.platform.dev/version":  "v0.3.0-2-gabcdef0",
				},
			},
			"spec": map[string]any{
				"crossplane": map[string]any{"version": ">=v1.17.0"},
				"dependsOn": []any{
					map[string]any{"provider": "xpkg.upbound.io/upbound/provider-aws-s3", "version": ">=v2.5.0"},
					map[string]any{"function": "xpkg.example.org/platform/crossplane-cicd-pipeline-fn", "version": "v0.3.0-2-gabcdef0"},
				},
			},
		}
		if diff := cmp.Diff(wantMeta, meta); diff != "" {
			t.Errorf("crossplane.yaml: -want +got:\n%s", diff)
		}

		comp := readYAML(t, filepath.Join(out, "composition.yaml"))
		var refs []any
		for _, s := range comp["spec"].(map[string]any)["pipeline"].([]any) {
			refs = append(refs, s.(map[string]any)["functionRef"].(map[string]any)["name"])
		}
		if diff := cmp.Diff([]any{"platform-crossplane-cicd-pipeline-fn", "function-auto-ready"}, refs); diff != "" {
			t.Errorf("functionRef names: -want +got:\n%s", diff)
		}

		def, err := os.ReadFile(filepath.Join(out, "definition.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if string(def) != files["definition.yaml"] {
			t.Errorf("definition.yaml changed:\n%s", def)
		}
	})

	t.Run("FunctionWithoutDependencies", func(t *testing.T) {
		fnSrc := t.TempDir()
		meta := "apiVersion: meta.pkg.crossplane.io/v1beta1\nkind: Function\nmetadata:\n  name: fn\n"
		if err := os.WriteFile(filepath.Join(fnSrc, "crossplane.yaml"), []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "staged")
		if _, err := Stage(StageOptions{Source: fnSrc, Out: out, Version: "v1.0.0"}); err != nil {
			t.Fatal(err)
		}
		got := readYAML(t, filepath.Join(out, "crossplane.yaml"))
		want := map[string]any{
			"apiVersion": "meta.pkg.crossplane.io/v1beta1",
			"kind":       "Function",
			"metadata":   map[string]any{"name": "fn", "annotations": map[string]any{"cicd.platform.dev/version": "v1.0.0"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("crossplane.yaml: -want +got:\n%s", diff)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		noMeta := t.TempDir()
		if _, err := Stage(StageOptions{Source: noMeta, Out: filepath.Join(t.TempDir(), "o"), Version: "v1"}); err == nil {
			t.Error("Stage accepted a source without crossplane.yaml")
		}
		if _, err := Stage(StageOptions{Source: filepath.Join(noMeta, "missing"), Out: filepath.Join(t.TempDir(), "o")}); err == nil {
			t.Error("Stage accepted a missing source")
		}
		twoFns := t.TempDir()
		meta := "apiVersion: meta.pkg.crossplane.io/v1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  dependsOn:\n  - function: a/b\n  - function: c/d\n"
		if err := os.WriteFile(filepath.Join(twoFns, "crossplane.yaml"), []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Stage(StageOptions{Source: twoFns, Out: filepath.Join(t.TempDir(), "o"), Version: "v1", FunctionPackage: "r.io/x/fn", FunctionRefName: "fn"}); err == nil {
			t.Error("Stage accepted a Configuration that depends on two Functions")
		}
	})
}

func TestSplitYAML(t *testing.T) {
	cases := map[string]struct {
		in   string
		want []string
	}{
		"One":            {in: "a: 1\n", want: []string{"a: 1\n"}},
		"LeadingMarker":  {in: "---\na: 1\n", want: []string{"a: 1\n"}},
		"Two":            {in: "a: 1\n---\nb: 2\n", want: []string{"a: 1", "b: 2\n"}},
		"MarkerComment":  {in: "a: 1\n--- # next\nb: 2\n", want: []string{"a: 1", "b: 2\n"}},
		"EmptyDocuments": {in: "---\n---\na: 1\n---\n", want: []string{"a: 1"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, d := range splitYAML([]byte(tc.in)) {
				got = append(got, string(d))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("splitYAML(%q): -want +got:\n%s", tc.in, diff)
			}
		})
	}
}
