// Package xrd holds the CompositeResourceDefinition generated from the Go
// types in apis/cicd/v1alpha1, and turns controller-gen's CRD into it.
package xrd

import (
	_ "embed" // For the generated XRD.
	"fmt"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/cicd-platform/crossplane-cicd-pipeline/apis/cicd/v1alpha1"
	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/crdschema"
)

// Definition is the generated XRD (also committed as package/definition.yaml).
//
//go:embed definition.yaml
var Definition []byte

// Name of the XRD, and of the Composition that is its default.
const Name = v1alpha1.CompositePlural + "." + v1alpha1.Group

// CompositeResourceDefinition is the subset of Crossplane's
// apiextensions.crossplane.io/v1 XRD that this API uses. It is declared here
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
	Group                 string    `json:"group"`
	Names                 Names     `json:"names"`
	ClaimNames            Names     `json:"claimNames"`
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
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crdYAML, crd); err != nil {
		return nil, fmt.Errorf("cannot parse the generated CRD: %w", err)
	}
	if crd.Spec.Names.Kind != v1alpha1.CompositeKind || len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != v1alpha1.Version {
		return nil, fmt.Errorf("expected the CRD of %s %s, got %s with %d versions", v1alpha1.CompositeKind, v1alpha1.Version, crd.Spec.Names.Kind, len(crd.Spec.Versions))
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

	x := CompositeResourceDefinition{
		APIVersion: "apiextensions.crossplane.io/v1",
		Kind:       "CompositeResourceDefinition",
		Metadata:   Metadata{Name: Name},
		Spec: Spec{
			Group:                 v1alpha1.Group,
			Names:                 Names{Kind: v1alpha1.CompositeKind, Plural: v1alpha1.CompositePlural, Categories: []string{"crossplane", "composite", "cicd"}},
			ClaimNames:            Names{Kind: v1alpha1.ClaimKind, Plural: v1alpha1.ClaimPlural, Categories: []string{"crossplane", "claim", "cicd"}},
			DefaultCompositionRef: NameRef{Name: Name},
			Versions: []Version{{
				Name:                     v1alpha1.Version,
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
			}},
		},
	}
	out, err := yaml.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("cannot marshal the XRD: %w", err)
	}
	return append([]byte("# Generated by `make generate` from apis/cicd/v1alpha1. DO NOT EDIT.\n"), out...), nil
}

// Schema returns the OpenAPI schema of the XR's single version.
func Schema() (*apiextensionsv1.JSONSchemaProps, error) {
	x := &CompositeResourceDefinition{}
	if err := yaml.Unmarshal(Definition, x); err != nil {
		return nil, fmt.Errorf("cannot parse the embedded XRD: %w", err)
	}
	if len(x.Spec.Versions) != 1 || x.Spec.Versions[0].Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("the embedded XRD must have exactly one version with a schema")
	}
	return x.Spec.Versions[0].Schema.OpenAPIV3Schema, nil
}

var (
	validatorOnce sync.Once
	validator     *crdschema.Validator
	errValidator  error
)

// Validator returns a validator for XRs (and claims' spec) built from the
// embedded XRD; it is built once, on first use.
func Validator() (*crdschema.Validator, error) {
	validatorOnce.Do(func() {
		s, err := Schema()
		if err != nil {
			errValidator = err
			return
		}
		validator, errValidator = crdschema.New(s)
	})
	return validator, errValidator
}
