// Package xrd holds the two CompositeResourceDefinitions generated from the
// Go types: the claim API of apis/cicd/v1alpha1 (a legacy,
// apiextensions.crossplane.io/v1 XRD) and the namespaced API of
// apis/namespaced/cicd/v1alpha1 (apiextensions.crossplane.io/v2), and turns
// controller-gen's CRDs into them.
package xrd

import (
	_ "embed" // For the generated XRD.
	"encoding/json"
	"fmt"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	namespaced "github.com/cicd-platform/crossplane-cicd-pipeline/apis/namespaced/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// Definition is the generated XRD (also committed as package/definition.yaml).
//
//go:embed definition.yaml
var Definition []byte

// NamespacedDefinition is the generated XRD of the namespaced API (also
// committed as package/definition-namespaced.yaml).
//
//go:embed namespaced.yaml
var NamespacedDefinition []byte

// SchemaJSON is the OpenAPI schema of Definition's single version as JSON
// (SchemaJSONOf): the function reads the schema at start-up, and decoding
// it from JSON takes a sixth of the time parsing the XRD's YAML does.
//
//go:embed schema.json
var SchemaJSON []byte

// NamespacedSchemaJSON is NamespacedDefinition's schema as JSON.
//
//go:embed namespaced-schema.json
var NamespacedSchemaJSON []byte

// RulesJSON are the CEL rules of Definition's schema, compiled ahead of
// time by go generate (internal/specschema/celcompile), so that the
// function does not compile them when it starts.
//
//go:embed rules.json
var RulesJSON []byte

// NamespacedRulesJSON are NamespacedDefinition's CEL rules, compiled.
//
//go:embed namespaced-rules.json
var NamespacedRulesJSON []byte

// Name of the XRD, and of the Composition that is its default.
const Name = v1alpha1.CompositePlural + "." + v1alpha1.Group

// NamespacedName of the namespaced API's XRD, and of its Composition.
const NamespacedName = namespaced.Plural + "." + namespaced.Group

// CompositeResourceDefinition is the subset of Crossplane's
// apiextensions.crossplane.io/v1 and v2 XRDs that these APIs use. It is declared here
// rather than imported so the function's module does not depend on
// Crossplane core.
type CompositeResourceDefinition struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata of the XRD.
type Metadata struct {
	Name string `json:"name"`
}

// Spec of the XRD.
type Spec struct {
	Group string `json:"group"`
	Names Names  `json:"names"`
	// Scope is set only in a v2 XRD (Namespaced); a v1 XRD is cluster-scoped
	// with claims.
	Scope                 string    `json:"scope,omitempty"`
	ClaimNames            *Names    `json:"claimNames,omitempty"`
	DefaultCompositionRef NameRef   `json:"defaultCompositionRef"`
	Versions              []Version `json:"versions"`
}

// Names of a kind.
type Names struct {
	Kind       string   `json:"kind"`
	Plural     string   `json:"plural"`
	Categories []string `json:"categories,omitempty"`
}

// NameRef refers to an object by name.
type NameRef struct {
	Name string `json:"name"`
}

// Version of the XRD.
type Version struct {
	Name                     string                                           `json:"name"`
	Served                   bool                                             `json:"served"`
	Referenceable            bool                                             `json:"referenceable"`
	AdditionalPrinterColumns []apiextensionsv1.CustomResourceColumnDefinition `json:"additionalPrinterColumns,omitempty"`
	Schema                   apiextensionsv1.CustomResourceValidation         `json:"schema"`
}

// printerColumns are shown by kubectl get for the claim and the XR, beside the
// SYNCED and READY columns Crossplane adds itself.
var printerColumns = []apiextensionsv1.CustomResourceColumnDefinition{
	{Name: "ENV", Type: "string", JSONPath: ".spec.environmentSuffix"},
	{Name: "PIPELINE", Type: "string", JSONPath: ".status.pipelineName"},
	{Name: "CONNECTION", Type: "string", JSONPath: ".status.connectionStatus"},
}

// FromCRD converts the CRD controller-gen generates for XCicdPipeline into
// the XRD: the same spec and status schema, served as a legacy
// (apiextensions.crossplane.io/v1) XRD with claims.
func FromCRD(crdYAML []byte) ([]byte, error) {
	versions, err := versionsOf(crdYAML, v1alpha1.CompositeKind, v1alpha1.Version)
	if err != nil {
		return nil, err
	}
	return marshal(CompositeResourceDefinition{
		APIVersion: "apiextensions.crossplane.io/v1",
		Kind:       "CompositeResourceDefinition",
		Metadata:   Metadata{Name: Name},
		Spec: Spec{
			Group:                 v1alpha1.Group,
			Names:                 Names{Kind: v1alpha1.CompositeKind, Plural: v1alpha1.CompositePlural, Categories: []string{"crossplane", "composite", "cicd"}},
			ClaimNames:            &Names{Kind: v1alpha1.ClaimKind, Plural: v1alpha1.ClaimPlural, Categories: []string{"crossplane", "claim", "cicd"}},
			DefaultCompositionRef: NameRef{Name: Name},
			Versions:              versions,
		},
	}, "apis/cicd/v1alpha1")
}

// FromNamespacedCRD converts the CRD controller-gen generates for the
// namespaced CicdPipeline into its XRD: a Crossplane v2
// (apiextensions.crossplane.io/v2) XRD with scope Namespaced and no claims.
func FromNamespacedCRD(crdYAML []byte) ([]byte, error) {
	versions, err := versionsOf(crdYAML, namespaced.Kind, namespaced.Version)
	if err != nil {
		return nil, err
	}
	return marshal(CompositeResourceDefinition{
		APIVersion: "apiextensions.crossplane.io/v2",
		Kind:       "CompositeResourceDefinition",
		Metadata:   Metadata{Name: NamespacedName},
		Spec: Spec{
			Group:                 namespaced.Group,
			Names:                 Names{Kind: namespaced.Kind, Plural: namespaced.Plural, Categories: []string{"crossplane", "composite", "cicd"}},
			Scope:                 "Namespaced",
			DefaultCompositionRef: NameRef{Name: NamespacedName},
			Versions:              versions,
		},
	}, "apis/namespaced/cicd/v1alpha1")
}

// versionsOf returns the XRD version of the CRD of kind at version: its spec
// and status schema, served and referenceable.
func versionsOf(crdYAML []byte, kind, version string) ([]Version, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crdYAML, crd); err != nil {
		return nil, fmt.Errorf("cannot parse the generated CRD: %w", err)
	}
	if crd.Spec.Names.Kind != kind || len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != version {
		return nil, fmt.Errorf("expected the CRD of %s %s, got %s with %d versions", kind, version, crd.Spec.Names.Kind, len(crd.Spec.Versions))
	}
	generated := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	spec, ok := generated.Properties["spec"]
	if !ok {
		return nil, fmt.Errorf("the generated CRD has no spec")
	}
	status, ok := generated.Properties["status"]
	if !ok {
		return nil, fmt.Errorf("the generated CRD has no status")
	}
	return []Version{{
		Name:                     version,
		Served:                   true,
		Referenceable:            true,
		AdditionalPrinterColumns: printerColumns,
		Schema: apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
			Description: generated.Description,
			Type:        "object",
			Required:    []string{"spec"},
			Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"spec":   spec,
				"status": status,
			},
		}},
	}}, nil
}

func marshal(x CompositeResourceDefinition, source string) ([]byte, error) {
	out, err := yaml.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("cannot marshal the XRD: %w", err)
	}
	return append([]byte("# Generated by `make generate` from "+source+". DO NOT EDIT.\n"), out...), nil
}

// Schema returns the OpenAPI schema of the claim API's XR.
func Schema() (*apiextensionsv1.JSONSchemaProps, error) { return schemaFromJSON(SchemaJSON) }

// NamespacedSchema returns the OpenAPI schema of the namespaced
// CicdPipeline.
func NamespacedSchema() (*apiextensionsv1.JSONSchemaProps, error) {
	return schemaFromJSON(NamespacedSchemaJSON)
}

// SchemaJSONOf returns the OpenAPI schema of an XRD's single version as
// JSON: what xrdgen writes beside the XRD (schema.json), generated from it
// so the XRD stays the one source (TestSchemaJSONIsFresh).
func SchemaJSONOf(definition []byte) ([]byte, error) {
	s, err := schemaOf(definition)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the XRD's schema: %w", err)
	}
	return append(b, '\n'), nil
}

// schemaOf returns the OpenAPI schema of an XRD's single version.
func schemaOf(definition []byte) (*apiextensionsv1.JSONSchemaProps, error) {
	x := &CompositeResourceDefinition{}
	if err := yaml.Unmarshal(definition, x); err != nil {
		return nil, fmt.Errorf("cannot parse the embedded XRD: %w", err)
	}
	if len(x.Spec.Versions) != 1 || x.Spec.Versions[0].Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("the embedded XRD must have exactly one version with a schema")
	}
	return x.Spec.Versions[0].Schema.OpenAPIV3Schema, nil
}

func schemaFromJSON(b []byte) (*apiextensionsv1.JSONSchemaProps, error) {
	s := &apiextensionsv1.JSONSchemaProps{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("cannot parse the embedded XRD's schema: %w", err)
	}
	return s, nil
}

// Validator returns a validator for XRs (and claims' spec) built from the
// embedded XRD's schema and compiled rules; it is built once, on first use.
var Validator = sync.OnceValues(func() (*specschema.Validator, error) {
	return validator(Schema, Rules)
})

// NamespacedValidator returns a validator for namespaced CicdPipelines,
// built from the embedded namespaced XRD once, on first use.
var NamespacedValidator = sync.OnceValues(func() (*specschema.Validator, error) {
	return validator(NamespacedSchema, NamespacedRules)
})

// Rules are the embedded XRD's CEL rules, planned once, on first use.
var Rules = sync.OnceValues(func() (*specschema.Rules, error) { return specschema.LoadRules(RulesJSON) })

// NamespacedRules are the embedded namespaced XRD's CEL rules, planned once.
var NamespacedRules = sync.OnceValues(func() (*specschema.Rules, error) {
	return specschema.LoadRules(NamespacedRulesJSON)
})

func validator(schema func() (*apiextensionsv1.JSONSchemaProps, error), rules func() (*specschema.Rules, error)) (*specschema.Validator, error) {
	s, err := schema()
	if err != nil {
		return nil, err
	}
	r, err := rules()
	if err != nil {
		return nil, err
	}
	return specschema.New(s, r)
}
