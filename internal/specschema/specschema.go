package specschema

import (
	"fmt"
	"slices"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// A Validator checks objects against one version of a CRD's schema. It is
// safe for concurrent use.
type Validator struct {
	structural *structuralschema.Structural
	openAPI    *validate.SchemaValidator
	rules      *Rules
}

// New returns a Validator for the OpenAPI v3 schema of a resource, with its
// CEL rules compiled ahead of time (celcompile). rules may be nil for a
// schema without CEL rules; New fails if a rule of the schema is not among
// them, so a rule is never skipped unnoticed.
func New(props *apiextensionsv1.JSONSchemaProps, rules *Rules) (*Validator, error) {
	internal, s, err := Structural(props)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		rules = &Rules{}
	}
	if err := rules.Verify(s); err != nil {
		return nil, err
	}
	// The kube-openapi schema apiextensions-apiserver validates a custom
	// resource with (validation.NewSchemaValidator).
	o := &spec.Schema{}
	if err := toOpenAPI(internal, o); err != nil {
		return nil, fmt.Errorf("cannot convert the OpenAPI schema: %w", err)
	}
	compilePatterns(s)
	return &Validator{
		structural: s,
		openAPI:    validate.NewSchemaValidator(o, nil, "", strfmt.Default),
		rules:      rules,
	}, nil
}

// compilePatterns has kube-openapi compile the schema's patterns now, into
// the cache its validator compiles them into on first use: the first
// validation otherwise spends most of its time compiling them. A pattern
// that does not compile is left for validation to report, as it would.
func compilePatterns(s *structuralschema.Structural) {
	for _, p := range Patterns(s) {
		_ = validate.Pattern("", "", "", p)
	}
}

// Patterns returns the patterns of s and its nodes. Patterns under allOf,
// anyOf, oneOf or not are left out: compiled when first used.
func Patterns(s *structuralschema.Structural) []string {
	var ps []string
	_ = eachNode(s, nil, func(_ *field.Path, n *structuralschema.Structural) error {
		if n.ValueValidation != nil && n.ValueValidation.Pattern != "" {
			ps = append(ps, n.ValueValidation.Pattern)
		}
		return nil
	})
	return ps
}

// Structural returns the API server's internal form of a CRD's schema and
// its structural schema, which its pruning, defaulting and CEL validation
// walk.
func Structural(props *apiextensionsv1.JSONSchemaProps) (*apiextensions.JSONSchemaProps, *structuralschema.Structural, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, internal, nil); err != nil {
		return nil, nil, fmt.Errorf("cannot convert the OpenAPI schema: %w", err)
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, nil, fmt.Errorf("the OpenAPI schema is not structural: %w", err)
	}
	return internal, s, nil
}

// Default applies the schema's defaults to obj in place, as the API server
// does when it reads or writes the object.
func (v *Validator) Default(obj map[string]any) {
	applyDefaults(obj, v.structural)
}

// applyDefaults is apiextensions-apiserver's structural defaulting
// (pkg/apiserver/schema/defaulting/algorithm.go, Default), whose package
// links the API server's CEL libraries: a missing field, or a null one its
// schema does not allow, gets a copy of its default, then every field is
// defaulted in turn.
func applyDefaults(x any, s *structuralschema.Structural) {
	if s == nil {
		return
	}
	switch x := x.(type) {
	case map[string]any:
		for k, prop := range s.Properties {
			if prop.Default.Object == nil {
				continue
			}
			if _, found := x[k]; !found || nonNullableNull(x[k], &prop) {
				x[k] = runtime.DeepCopyJSONValue(prop.Default.Object)
			}
		}
		for k := range x {
			if prop, found := s.Properties[k]; found {
				applyDefaults(x[k], &prop)
			} else if s.AdditionalProperties != nil {
				if nonNullableNull(x[k], s.AdditionalProperties.Structural) {
					x[k] = runtime.DeepCopyJSONValue(s.AdditionalProperties.Structural.Default.Object)
				}
				applyDefaults(x[k], s.AdditionalProperties.Structural)
			}
		}
	case []any:
		for i := range x {
			if nonNullableNull(x[i], s.Items) {
				x[i] = runtime.DeepCopyJSONValue(s.Items.Default.Object)
			}
			applyDefaults(x[i], s.Items)
		}
	}
}

func nonNullableNull(x any, s *structuralschema.Structural) bool {
	return x == nil && s != nil && !s.Nullable
}

// Validate returns every violation of the schema by obj, as the API server
// reports them on create: fields the schema does not know, OpenAPI rules
// (types, enums, patterns, bounds), then CEL rules, unless an OpenAPI
// error blocks them (CELBlockedBy). There is no old object,
// so transition rules are not evaluated. obj is not modified. Within each
// of the three parts the order is fixed (sorted), where the API server's
// follows Go's map iteration.
func (v *Validator) Validate(obj map[string]any) field.ErrorList {
	var errs field.ErrorList

	// Pruning reports unknown fields; prune a copy so obj is left alone.
	pruned := runtime.DeepCopyJSON(obj)
	unknown := structuralpruning.PruneWithOptions(pruned, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	slices.Sort(unknown)
	for _, p := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(p), "", "field not declared in schema"))
	}

	if r := v.openAPI.Validate(obj); !r.IsValid() {
		errs = append(errs, openAPIErrors(r)...)
	}
	if blocked := CELBlockedBy(errs); blocked != nil {
		return append(errs, blocked)
	}
	return append(errs, v.rules.Check(v.structural, obj)...)
}

// CELBlockedBy is what kube-apiserver reports instead of evaluating the CEL
// rules when the OpenAPI rules found a value of the wrong type, a missing
// required field, a value outside its enum, or one too long or with too
// many items (apiextensions-apiserver pkg/registry/customresource,
// hasBlockingErr): the rules assume a well-formed object, and their cost is
// bounded by the schema's limits only when it is. nil when none of errs
// blocks them.
func CELBlockedBy(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}
