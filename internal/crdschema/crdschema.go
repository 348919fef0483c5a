// Package crdschema validates and defaults objects the way kube-apiserver does
// for a custom resource: OpenAPI schema, unknown fields, CEL
// (x-kubernetes-validations) rules and structural defaults, using the
// apiextensions-apiserver libraries themselves rather than a re-implementation.
//
// The composition function uses it to check an XR against the XRD it ships;
// the tests use it to check every composed resource against the real
// provider-aws CRD of its kind.
package crdschema

import (
	"context"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/cicd-platform/crossplane-cicd-pipeline/internal/specschema"
)

// A Validator checks objects against one version of a CRD's schema.
type Validator struct {
	structural *structuralschema.Structural
	schema     validation.SchemaValidator
	cel        *cel.Validator
}

// New returns a Validator for the supplied OpenAPI v3 schema of a resource.
func New(props *apiextensionsv1.JSONSchemaProps) (*Validator, error) {
	internal, s, err := specschema.Structural(props)
	if err != nil {
		return nil, err
	}
	sv, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, fmt.Errorf("cannot build a schema validator: %w", err)
	}
	return &Validator{
		structural: s,
		schema:     sv,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
	}, nil
}

// Default applies the schema's defaults to obj in place, as the API server
// does when it reads or writes the object.
func (v *Validator) Default(obj map[string]any) {
	structuraldefaulting.Default(obj, v.structural)
}

// Validate returns every violation of the schema by obj: fields the schema
// does not know, OpenAPI rules (types, enums, patterns, bounds) and CEL
// rules. old is the previous version of the object for transition rules
// (such as immutability); pass nil on create. obj is not modified.
func (v *Validator) Validate(obj, old map[string]any) field.ErrorList {
	var errs field.ErrorList

	// Pruning reports unknown fields; prune a copy so obj is left alone.
	pruned := runtime.DeepCopyJSON(obj)
	unknown := structuralpruning.PruneWithOptions(pruned, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(p), "", "field not declared in schema"))
	}

	if old == nil {
		errs = append(errs, validation.ValidateCustomResource(nil, obj, v.schema)...)
	} else {
		errs = append(errs, validation.ValidateCustomResourceUpdate(nil, obj, old, v.schema)...)
	}

	var oldObj any
	if old != nil {
		oldObj = old
	}
	// kube-apiserver does not evaluate the rules after these errors
	// (customresource's hasBlockingErr, which specschema repeats).
	if blocked := specschema.CELBlockedBy(errs); blocked != nil {
		return append(errs, blocked)
	}
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// Summary renders a list of violations as specschema.Summary does.
func Summary(errs field.ErrorList) string { return specschema.Summary(errs) }
