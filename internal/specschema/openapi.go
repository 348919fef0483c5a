package specschema

import (
	"encoding/json"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
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
		v, ok := err.(*openapierrors.Validation)
		if !ok {
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
					b, _ := json.Marshal(allowed)
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
