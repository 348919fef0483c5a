package specschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// openAPIErrors are a kube-openapi result as the API server reports it
// (apiextensions-apiserver pkg/apiserver/validation, kubeOpenAPIResultToFieldErrors,
// whose package links the API server's CEL libraries), sorted: kube-openapi
// visits an object's properties in Go's map order, so the API server's order
// of several errors differs from call to call, and the function's must not.
func openAPIErrors(result *validate.Result) field.ErrorList {
	var errs field.ErrorList
	for _, err := range result.Errors {
		var v *openapierrors.Validation
		if !errors.As(err, &v) {
			errs = append(errs, field.Invalid(nil, "", err.Error()))
			continue
		}
		var p *field.Path
		if len(v.Name) > 0 && v.Name != "." {
			p = p.Child(strings.TrimPrefix(v.Name, "."))
		}
		switch v.Code() {
		case openapierrors.RequiredFailCode:
			errs = append(errs, field.Required(p, ""))
		case openapierrors.EnumFailCode:
			values := []string{}
			for _, allowed := range v.Values {
				if s, ok := allowed.(string); ok {
					values = append(values, s)
				} else {
					b, _ := json.Marshal(allowed) //nolint:errchkjson // As the API server: an enum value decoded from JSON encodes.
					values = append(values, string(b))
				}
			}
			errs = append(errs, field.NotSupported(p, v.Value, values))
		case openapierrors.TooLongFailCode:
			errs = append(errs, field.TooLong(p, "", int(int64Or(v.Valid, -1))))
		case openapierrors.MaxItemsFailCode, openapierrors.TooManyPropertiesCode:
			errs = append(errs, field.TooMany(p, int(int64Or(v.Value, -1)), int(int64Or(v.Valid, -1))))
		case openapierrors.InvalidTypeCode:
			errs = append(errs, field.TypeInvalid(p, valueOrEmpty(v.Value), v.Error()))
		default:
			errs = append(errs, field.Invalid(p, valueOrEmpty(v.Value), v.Error()))
		}
	}
	return sorted(errs)
}

func int64Or(v any, otherwise int64) int64 {
	if i, ok := v.(int64); ok {
		return i
	}
	return otherwise
}

func valueOrEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// sorted orders errors by their message, which starts with the field path.
func sorted(errs field.ErrorList) field.ErrorList {
	slices.SortStableFunc(errs, func(a, b *field.Error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// supportedFormats are the formats apiextensions-apiserver v0.35 validates
// at its default compatibility version (1.34), normalized as go-openapi
// names them (no dashes): the union of supportedVersionedFormats in its
// validation/formats.go. Other formats are stripped from the schema, as
// StripUnsupportedFormatsPostProcessorForVersion does (TestFormatsMatch
// checks the set against the API server's).
var supportedFormats = sets.New(
	"bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac",
	"uuid", "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard",
	"ssn", "hexcolor", "rgbcolor", "byte", "password", "date", "duration",
	"datetime", "k8sshortname", "k8slongname",
)

// stripUnsupportedFormat is the API server's format post-processor.
func stripUnsupportedFormat(s *spec.Schema) {
	if s.Format != "" && !supportedFormats.Has(strings.ReplaceAll(s.Format, "-", "")) {
		s.Format = ""
	}
}

// toOpenAPI converts an internal JSONSchemaProps to kube-openapi's schema
// as apiextensions' validation.ConvertJSONSchemaPropsWithPostProcess does
// with the unsupported-format post-processor, but without serializing
// x-kubernetes-validations into an extension: kube-openapi's validator does
// not read it (the CEL rules are checked by Rules).
func toOpenAPI(in *apiextensions.JSONSchemaProps, out *spec.Schema) error { //nolint:gocognit // The API server's conversion, field by field.
	if in == nil {
		return nil
	}

	out.ID = in.ID
	out.Schema = spec.SchemaURL(in.Schema)
	out.Description = in.Description
	if in.Type != "" {
		out.Type = spec.StringOrArray([]string{in.Type})
	}
	if in.XIntOrString {
		out.AddExtension("x-kubernetes-int-or-string", true)
		out.Type = spec.StringOrArray{"integer", "string"}
	}
	out.Nullable = in.Nullable
	out.Format = in.Format
	out.Title = in.Title
	out.Maximum = in.Maximum
	out.ExclusiveMaximum = in.ExclusiveMaximum
	out.Minimum = in.Minimum
	out.ExclusiveMinimum = in.ExclusiveMinimum
	out.MaxLength = in.MaxLength
	out.MinLength = in.MinLength
	out.Pattern = in.Pattern
	out.MaxItems = in.MaxItems
	out.MinItems = in.MinItems
	out.UniqueItems = in.UniqueItems
	out.MultipleOf = in.MultipleOf
	out.MaxProperties = in.MaxProperties
	out.MinProperties = in.MinProperties
	out.Required = in.Required

	if in.Default != nil {
		out.Default = *(in.Default)
	}
	if in.Example != nil {
		out.Example = *(in.Example)
	}
	if in.Enum != nil {
		out.Enum = make([]any, len(in.Enum))
		for k, v := range in.Enum {
			out.Enum[k] = v
		}
	}

	var err error
	if out.AllOf, err = toOpenAPISlice(in.AllOf, out.AllOf); err != nil {
		return err
	}
	if out.OneOf, err = toOpenAPISlice(in.OneOf, out.OneOf); err != nil {
		return err
	}
	if out.AnyOf, err = toOpenAPISlice(in.AnyOf, out.AnyOf); err != nil {
		return err
	}
	if in.Not != nil {
		out.Not = new(spec.Schema)
		if err := toOpenAPI(in.Not, out.Not); err != nil {
			return err
		}
	}
	if out.Properties, err = toOpenAPIMap(in.Properties); err != nil {
		return err
	}
	if out.PatternProperties, err = toOpenAPIMap(in.PatternProperties); err != nil {
		return err
	}
	if out.Definitions, err = toOpenAPIMap(in.Definitions); err != nil {
		return err
	}
	if in.Ref != nil {
		// NewStructural rejects a $ref first; were it to pass, kube-openapi's
		// validator would panic on it.
		return fmt.Errorf("$ref %q: schema references are not supported", *in.Ref)
	}
	if in.AdditionalProperties != nil {
		out.AdditionalProperties = &spec.SchemaOrBool{}
		if err := toOpenAPIOrBool(in.AdditionalProperties, out.AdditionalProperties); err != nil {
			return err
		}
	}
	if in.AdditionalItems != nil {
		out.AdditionalItems = &spec.SchemaOrBool{}
		if err := toOpenAPIOrBool(in.AdditionalItems, out.AdditionalItems); err != nil {
			return err
		}
	}
	if in.Items != nil {
		out.Items = &spec.SchemaOrArray{}
		if in.Items.Schema != nil {
			out.Items.Schema = new(spec.Schema)
			if err := toOpenAPI(in.Items.Schema, out.Items.Schema); err != nil {
				return err
			}
		}
		if in.Items.JSONSchemas != nil {
			out.Items.Schemas = make([]spec.Schema, len(in.Items.JSONSchemas))
			for i := range in.Items.JSONSchemas {
				if err := toOpenAPI(&in.Items.JSONSchemas[i], &out.Items.Schemas[i]); err != nil {
					return err
				}
			}
		}
	}
	if in.Dependencies != nil {
		out.Dependencies = make(spec.Dependencies, len(in.Dependencies))
		for key, val := range in.Dependencies {
			d := spec.SchemaOrStringArray{Property: val.Property}
			if val.Schema != nil {
				d.Schema = new(spec.Schema)
				if err := toOpenAPI(val.Schema, d.Schema); err != nil {
					return err
				}
			}
			out.Dependencies[key] = d
		}
	}
	if in.ExternalDocs != nil {
		out.ExternalDocs = &spec.ExternalDocumentation{Description: in.ExternalDocs.Description, URL: in.ExternalDocs.URL}
	}

	stripUnsupportedFormat(out)

	if in.XPreserveUnknownFields != nil {
		out.AddExtension("x-kubernetes-preserve-unknown-fields", *in.XPreserveUnknownFields)
	}
	if in.XEmbeddedResource {
		out.AddExtension("x-kubernetes-embedded-resource", true)
	}
	if len(in.XListMapKeys) != 0 {
		keys := make([]any, 0, len(in.XListMapKeys))
		for _, k := range in.XListMapKeys {
			keys = append(keys, k)
		}
		out.AddExtension("x-kubernetes-list-map-keys", keys)
	}
	if in.XListType != nil {
		out.AddExtension("x-kubernetes-list-type", *in.XListType)
	}
	if in.XMapType != nil {
		out.AddExtension("x-kubernetes-map-type", *in.XMapType)
	}
	return nil
}

func toOpenAPISlice(in []apiextensions.JSONSchemaProps, out []spec.Schema) ([]spec.Schema, error) {
	for i := range in {
		s := spec.Schema{}
		if err := toOpenAPI(&in[i], &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func toOpenAPIMap(in map[string]apiextensions.JSONSchemaProps) (map[string]spec.Schema, error) {
	if in == nil {
		return nil, nil //nolint:nilnil // No map converts to no map, as in the API server's conversion.
	}
	out := make(map[string]spec.Schema, len(in))
	for k, p := range in {
		s := spec.Schema{}
		if err := toOpenAPI(&p, &s); err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

func toOpenAPIOrBool(in *apiextensions.JSONSchemaPropsOrBool, out *spec.SchemaOrBool) error {
	out.Allows = in.Allows
	if in.Schema != nil {
		out.Schema = new(spec.Schema)
		return toOpenAPI(in.Schema, out.Schema)
	}
	return nil
}
