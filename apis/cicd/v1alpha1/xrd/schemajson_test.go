package xrd_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1/xrd"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema/celcompile"
)

// TestSchemaJSONIsFresh: the embedded schema JSON the function reads is
// what `go generate ./...` writes from the embedded XRD, and decodes to the
// XRD's schema as its YAML gives it.
func TestSchemaJSONIsFresh(t *testing.T) {
	for name, tc := range map[string]struct {
		definition, schemaJSON []byte
		schema                 func() (*apiextensionsv1.JSONSchemaProps, error)
		file                   string
	}{
		"Claim":      {definition: xrd.Definition, schemaJSON: xrd.SchemaJSON, schema: xrd.Schema, file: "schema.json"},
		"Namespaced": {definition: xrd.NamespacedDefinition, schemaJSON: xrd.NamespacedSchemaJSON, schema: xrd.NamespacedSchema, file: "namespaced-schema.json"},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := xrd.SchemaJSONOf(tc.definition)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(tc.schemaJSON)); diff != "" {
				t.Errorf("apis/cicd/v1alpha1/xrd/%s is stale; run `go generate ./...`: -want, +got:\n%s", tc.file, diff)
			}
			x := &xrd.CompositeResourceDefinition{}
			if err := yaml.Unmarshal(tc.definition, x); err != nil {
				t.Fatal(err)
			}
			got, err := tc.schema()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(x.Spec.Versions[0].Schema.OpenAPIV3Schema, got); diff != "" {
				t.Errorf("the schema differs from the XRD's: -XRD, +schema:\n%s", diff)
			}
		})
	}
}

// TestRulesJSONIsFresh: the compiled CEL rules the function embeds are what
// `go generate ./...` compiles from the embedded schema.
func TestRulesJSONIsFresh(t *testing.T) {
	for name, tc := range map[string]struct {
		rulesJSON []byte
		schema    func() (*apiextensionsv1.JSONSchemaProps, error)
		file      string
	}{
		"Claim":      {rulesJSON: xrd.RulesJSON, schema: xrd.Schema, file: "rules.json"},
		"Namespaced": {rulesJSON: xrd.NamespacedRulesJSON, schema: xrd.NamespacedSchema, file: "namespaced-rules.json"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := tc.schema()
			if err != nil {
				t.Fatal(err)
			}
			want, err := celcompile.Compile(s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(tc.rulesJSON)); diff != "" {
				t.Errorf("apis/cicd/v1alpha1/xrd/%s is stale; run `go generate ./...`: -want, +got:\n%s", tc.file, diff)
			}
		})
	}
}
